package main

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/throughline/throughline/domain/domaintest"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/throughline/throughline/adapters/demo"
	"github.com/throughline/throughline/adapters/natsbus"
)

// buildBinary compiles throughline once for the tests that run it as a
// separate process.
func buildBinary(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "throughline")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// server is a throughline process on a data dir that outlives it.
type server struct {
	t              *testing.T
	bin, dir       string
	http, natsPort string
	cmd            *exec.Cmd
	log            bytes.Buffer
}

func (s *server) start() {
	s.t.Helper()
	s.cmd = exec.Command(s.bin, "serve", "--data-dir", s.dir, "--addr", "127.0.0.1:"+s.http,
		"--nats-listen", "127.0.0.1:"+s.natsPort, "--ingest-batch", "50", "--slo-interval", "0")
	s.cmd.Stdout, s.cmd.Stderr = &s.log, &s.log
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://127.0.0.1:" + s.http + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.t.Fatalf("not ready in 30 s:\n%s", s.log.String())
}

func (s *server) kill() {
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	_ = s.cmd.Wait()
}

func (s *server) stop() {
	_ = s.cmd.Process.Signal(os.Interrupt)
	_ = s.cmd.Wait()
}

func (s *server) get(path, token string, into any) []byte {
	s.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:"+s.http+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		s.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	if into != nil {
		if err := json.Unmarshal(b, into); err != nil {
			s.t.Fatal(err)
		}
	}
	return b
}

// ingestRun publishes a year of demo history to a fresh server, kills it
// with SIGKILL kills times at random moments while it ingests, restarts it
// each time, and returns what the API says once everything is stored: the
// ingest status and the DORA reports of two windows. mid counts the kills
// that landed with events still to store.
func ingestRun(t *testing.T, bin string, opts demo.Options, kills int, seed uint64) (st ingestStatus, dora []string, mid int) {
	s := &server{t: t, bin: bin, dir: t.TempDir(), http: freePort(t), natsPort: freePort(t)}
	s.start()
	defer func() {
		if s.cmd.ProcessState == nil {
			s.stop()
		}
	}()
	out, err := exec.Command(bin, "token", "create", "--data-dir", s.dir, "--name", "t", "--scope", "read").Output()
	if err != nil {
		t.Fatalf("token create: %v", err)
	}
	token := strings.TrimSpace(string(out))
	if i := strings.LastIndex(token, "\n"); i >= 0 {
		token = strings.TrimSpace(token[i+1:])
	}
	ctx := context.Background()
	bus, err := natsbus.Connect(ctx, natsbus.Config{URL: "nats://127.0.0.1:" + s.natsPort})
	if err != nil {
		t.Fatal(err)
	}
	n, _, err := publishDemo(ctx, bus, opts)
	bus.Close()
	if err != nil {
		t.Fatal(err)
	}

	rnd := rand.New(rand.NewPCG(seed, 1))
	for k := 0; k < kills; k++ {
		time.Sleep(time.Duration(50+rnd.IntN(350)) * time.Millisecond)
		s.kill()
		// What the database holds right after the kill.
		s.start()
		var now ingestStatus
		s.get("/api/v1/ingest/status", token, &now)
		if now.Stored < int64(n) {
			mid++
		}
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		s.get("/api/v1/ingest/status", token, &st)
		if st.Stored >= int64(n) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st.Stored != int64(n) {
		t.Fatalf("stored %d of %d events", st.Stored, n)
	}
	end := opts.End.AddDate(0, 0, -1).Format("2006-01-02")
	for _, from := range []string{opts.End.AddDate(0, 0, -90).Format("2006-01-02"), opts.End.AddDate(0, 0, -opts.Days).Format("2006-01-02")} {
		dora = append(dora, string(s.get("/api/v1/dora?from="+from+"&to="+end, token, nil)))
	}
	dora = append(dora, string(s.get("/api/v1/dora/trend?bucket=month&from="+opts.End.AddDate(0, 0, -opts.Days).Format("2006-01-02")+"&to="+end, token, nil)))
	s.stop()
	return st, dora, mid
}

// TestKillNineLosesNothing is issue 9's crash test: a year of demo history
// is ingested once without interruption and once through 20 SIGKILLs at
// random moments; every event is stored exactly once and the DORA figures
// are the same.
func TestKillNineLosesNothing(t *testing.T) {
	domaintest.Slow(t)
	if testing.Short() {
		t.Skip("builds the binary and runs it many times")
	}
	bin := buildBinary(t)
	opts := demo.Options{Days: 365, Seed: 11, End: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)}
	clean, cleanDORA, _ := ingestRun(t, bin, opts, 0, 1)
	killed, killedDORA, mid := ingestRun(t, bin, opts, 20, 2)
	t.Logf("%d events; %d of 20 kills landed mid-ingest; clean %+v, killed %+v", clean.Stored, mid, clean, killed)
	if mid < 5 {
		t.Errorf("only %d kills landed while events were still being stored; the test proves little", mid)
	}
	if killed.Stored != clean.Stored || killed.DeadLetters != 0 || clean.DeadLetters != 0 {
		t.Errorf("stored %d (clean %d), dead letters %d / %d", killed.Stored, clean.Stored, killed.DeadLetters, clean.DeadLetters)
	}
	for i := range cleanDORA {
		if killedDORA[i] != cleanDORA[i] {
			t.Errorf("DORA answer %d differs after the kills:\n clean  %s\n killed %s", i, cleanDORA[i], killedDORA[i])
		}
	}
	if !strings.Contains(cleanDORA[0], `"deployments":`) {
		t.Fatalf("unexpected DORA answer %s", cleanDORA[0])
	}

}
