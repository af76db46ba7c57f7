package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/throughline/throughline/adapters/demo"
	"github.com/throughline/throughline/adapters/natsbus"
	"github.com/throughline/throughline/domain"
)

// httpGet answers a plain GET's status and body.
func httpGet(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// natsServerBinary is Debian's nats-server (CI has it; so does this machine).
const natsServerBinary = "/usr/sbin/nats-server"

// TestNATSRestartDuringIngestion stops the NATS server Throughline reads
// from in the middle of ingestion: /readyz reports the outage while it
// lasts, the app reconnects when the server is back, and every event is
// stored exactly once (those in flight at the crash after their ack wait).
func TestNATSRestartDuringIngestion(t *testing.T) {
	if _, err := os.Stat(natsServerBinary); err != nil {
		if os.Getenv("THROUGHLINE_TEST_STRICT") == "1" {
			t.Fatalf("%s: %v", natsServerBinary, err)
		}
		t.Skipf("no %s", natsServerBinary)
	}
	port, store := freePort(t), t.TempDir()
	startNATS := func() *exec.Cmd {
		cmd := exec.Command(natsServerBinary, "-a", "127.0.0.1", "-p", port, "-js", "-sd", store)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	nats := startNATS()
	t.Cleanup(func() { _ = nats.Process.Kill(); _ = nats.Wait() })
	url := "nats://127.0.0.1:" + port
	time.Sleep(300 * time.Millisecond)

	cfg := testConfig(t)
	cfg.NATS, cfg.NATSListen, cfg.IngestBatch = url, "", 50
	app, _ := startApp(t, cfg)
	tok := token(t, app, domain.ScopeRead)

	ctx := context.Background()
	bus, err := natsbus.Connect(ctx, natsbus.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	n, _, err := publishDemo(ctx, bus, demo.Options{Days: 120, Seed: 4, End: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)})
	bus.Close()
	if err != nil {
		t.Fatal(err)
	}

	// Stop the server while events are still being stored.
	time.Sleep(150 * time.Millisecond)
	before := status(t, app, tok)
	_ = nats.Process.Signal(syscall.SIGKILL)
	_ = nats.Wait()
	if before.Stored >= int64(n) {
		t.Fatalf("ingestion finished (%d of %d) before the outage; the test proves nothing", before.Stored, n)
	}
	// /readyz says so while it lasts.
	waitUnready(t, app, "nats")
	time.Sleep(2 * time.Second) // a real outage, not a blip
	nats = startNATS()

	// Messages that were in flight when the server died (delivered, their
	// acks or naks lost) come back when their ack wait (1 min) expires.
	back := time.Now()
	got := waitStored(t, app, tok, n, 2*time.Minute)
	if got.Stored != int64(n) || got.DeadLetters != 0 {
		var msgs uint64
		if st, err := app.Bus.JetStream().Stream(ctx, "THROUGHLINE_EVENTS"); err == nil {
			if info, err := st.Info(ctx); err == nil {
				msgs = info.State.Msgs
			}
		}
		pending, ackPending, _ := app.Bus.ConsumerLag(ctx)
		t.Fatalf("after the outage: %+v, want %d stored and no dead letters; the stream holds %d messages, consumer pending %d, ack pending %d",
			got, n, msgs, pending, ackPending)
	}
	if code, body := httpGet(t, app.URL()+"/readyz"); code != 200 {
		t.Errorf("/readyz after the outage: %d %s", code, body)
	}
	t.Logf("%d events; %d stored when NATS went down; all stored once, %s after it came back", n, before.Stored, time.Since(back).Round(time.Second))
}
