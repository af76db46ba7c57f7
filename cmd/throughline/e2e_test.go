package main

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/throughline/throughline/domain/domaintest"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/throughline/throughline/adapters/natsbus"
	"github.com/throughline/throughline/adapters/natsbus/natstest"
	"github.com/throughline/throughline/adapters/sqlstore/sqltest"
)

// syncBuffer is a bytes.Buffer safe for a writer goroutine and a test reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testConfig is the embedded default on free ports in a temp dir.
func testConfig(t testing.TB) Config {
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.Addr = "127.0.0.1:0"
	cfg.NATSListen = "127.0.0.1:0"
	return cfg
}

// startAppOnExternalNATS starts the app on the external NATS server of the
// test environment (cfg.NATS names it afterwards), with streams and
// subjects of its own that are deleted when the test ends.
func startAppOnExternalNATS(t *testing.T, cfg *Config) (*App, *syncBuffer, natsbus.Names) {
	t.Helper()
	cfg.NATS = natstest.ExternalURL(t)
	names := natstest.UniqueNames(t, nil)
	cfg.StreamPrefix, cfg.SubjectPrefix = names.StreamPrefix, names.SubjectPrefix
	app, out := startApp(t, *cfg)
	t.Cleanup(func() {
		ctx := context.Background()
		_ = app.Bus.JetStream().DeleteStream(ctx, names.EventsStream())
		_ = app.Bus.JetStream().DeleteStream(ctx, names.DLQStream())
	})
	return app, out, names
}

// startApp runs an App and closes it when the test ends.
func startApp(t *testing.T, cfg Config) (*App, *syncBuffer) {
	t.Helper()
	out := new(syncBuffer)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	app := NewApp(cfg, log, out)
	if err := app.Run(context.Background()); err != nil {
		app.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	return app, out
}

var firstAdmin = regexp.MustCompile(`sign in as (\S+) with password (\S+)`)

func adminFrom(t *testing.T, out string) (string, string) {
	t.Helper()
	m := firstAdmin.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no first admin sign-in in output:\n%s", out)
	}
	return m[1], m[2]
}

func getJSON(t testing.TB, u, token string, into any) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if into != nil {
		if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
			t.Fatalf("decode %s: %v", u, err)
		}
	}
	return resp.StatusCode
}

// signInHTTP signs in with a plain HTTP client and returns it.
func signInHTTP(t *testing.T, base, email, password string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Get(base + "/signin")
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := goquery.NewDocumentFromReader(resp.Body)
	resp.Body.Close()
	csrf, _ := doc.Find(`input[name="_csrf"]`).Attr("value")
	resp, err = c.PostForm(base+"/signin", url.Values{"_csrf": {csrf}, "email": {email}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/" {
		t.Fatalf("sign-in as %s: %d at %s", email, resp.StatusCode, resp.Request.URL)
	}
	return c
}

func TestServeOnTheEmbeddedDefault(t *testing.T) {
	cfg := testConfig(t)
	app, out := startApp(t, cfg)

	var ready struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	if code := getJSON(t, app.URL()+"/readyz", "", &ready); code != 200 || ready.Checks["database"] != "ok" || ready.Checks["nats"] != "ok" {
		t.Fatalf("readyz: %d %+v", code, ready)
	}
	email, password := adminFrom(t, out.String())
	if !strings.Contains(out.String(), app.URL()) {
		t.Errorf("address not printed: %s", out)
	}
	signInHTTP(t, app.URL(), email, password)

	// The SQLite file and the JetStream store live under the data dir.
	for _, p := range []string{"throughline.db", "nats/jetstream"} {
		if _, err := os.Stat(filepath.Join(cfg.DataDir, p)); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}

	// Shutdown is quick, and a restart on the same data keeps the admin and
	// does not print a password again.
	start := time.Now()
	if err := app.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("shutdown took %v", d)
	}
	app2, out2 := startApp(t, cfg)
	if strings.Contains(out2.String(), "password") {
		t.Errorf("password printed again on restart:\n%s", out2)
	}
	signInHTTP(t, app2.URL(), email, password)
}

func TestServeOnPostgresAndExternalNATS(t *testing.T) {
	cfg := testConfig(t)
	cfg.DB = sqltest.PostgresDSN(t)
	var app *App
	app, out, names := startAppOnExternalNATS(t, &cfg)
	if app.Embedded != nil {
		t.Fatal("embedded NATS started although --nats was given")
	}
	var ready struct{ Checks map[string]string }
	if code := getJSON(t, app.URL()+"/readyz", "", &ready); code != 200 {
		t.Fatalf("readyz %d %+v", code, ready)
	}
	if _, err := app.Bus.JetStream().Stream(context.Background(), names.EventsStream()); err != nil {
		t.Fatalf("events stream on the external server: %v", err)
	}
	email, password := adminFrom(t, out.String())
	signInHTTP(t, app.URL(), email, password)
}

func runCLI(t *testing.T, stdin string, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestUserAndTokenCommandsWhileServing(t *testing.T) {
	cfg := testConfig(t)
	app, _ := startApp(t, cfg)

	code, out, errOut := runCLI(t, "a long enough password\n", nil, "user", "add", "--email", "pm@example.com", "--role", "editor", "--data-dir", cfg.DataDir)
	if code != 0 || !strings.Contains(out, "added pm@example.com (editor)") || strings.Contains(out, "password") {
		t.Fatalf("user add: %d %q %q", code, out, errOut)
	}
	signInHTTP(t, app.URL(), "pm@example.com", "a long enough password")

	code, out, _ = runCLI(t, "", nil, "user", "add", "--email", "cto@example.com", "--role", "viewer", "--data-dir", cfg.DataDir)
	m := regexp.MustCompile(`password: (\S+)`).FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("generated password not printed: %d %q", code, out)
	}
	signInHTTP(t, app.URL(), "cto@example.com", m[1])

	if code, _, errOut := runCLI(t, "short\n", nil, "user", "add", "--email", "x@example.com", "--data-dir", cfg.DataDir); code == 0 || !strings.Contains(errOut, "at least") {
		t.Fatalf("short password accepted: %d %q", code, errOut)
	}
	if code, _, errOut := runCLI(t, "", nil, "user", "add", "--email", "pm@example.com", "--data-dir", cfg.DataDir); code == 0 || !strings.Contains(errOut, "already exists") {
		t.Fatalf("duplicate accepted: %d %q", code, errOut)
	}

	// The data dir comes from the environment here, as it would in a container.
	code, out, errOut = runCLI(t, "", map[string]string{"THROUGHLINE_DATA_DIR": cfg.DataDir}, "token", "create", "--name", "ci", "--scope", "ingest,read")
	token := strings.TrimSpace(out)
	if code != 0 || !strings.HasPrefix(token, "tl_") || !strings.Contains(errOut, "shown only this once") {
		t.Fatalf("token create: %d %q %q", code, out, errOut)
	}
	var who struct {
		Name   string   `json:"name"`
		Scopes []string `json:"scopes"`
	}
	if code := getJSON(t, app.URL()+"/api/v1/token", token, &who); code != 200 || who.Name != "ci" || strings.Join(who.Scopes, ",") != "ingest,read" {
		t.Fatalf("token from the CLI: %d %+v", code, who)
	}
	if code, _, errOut := runCLI(t, "", nil, "token", "create", "--name", "x", "--scope", "deploy", "--data-dir", cfg.DataDir); code == 0 || !strings.Contains(errOut, "Unknown scope") {
		t.Fatalf("bad scope accepted: %d %q", code, errOut)
	}
}

func TestHelpAndBadEnvironment(t *testing.T) {
	code, out, _ := runCLI(t, "", nil, "--help")
	for _, sub := range []string{"serve", "migrate", "user", "token"} {
		if code != 0 || !strings.Contains(out, sub) {
			t.Fatalf("help lacks %s: %d\n%s", sub, code, out)
		}
	}
	code, out, _ = runCLI(t, "", nil, "serve", "--help")
	for _, want := range []string{"--data-dir", "$THROUGHLINE_DATA_DIR", "--nats-listen", "$THROUGHLINE_NATS_LISTEN", "--demo"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("serve --help lacks %q", want)
		}
	}
	code, _, errOut := runCLI(t, "", map[string]string{"THROUGHLINE_RETENTION": "forever"}, "serve")
	if code == 0 || !strings.Contains(errOut, "THROUGHLINE_RETENTION") {
		t.Fatalf("bad env accepted: %d %q", code, errOut)
	}
}

func TestMigrateCommand(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := runCLI(t, "", nil, "migrate", "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "applied") {
		t.Fatalf("migrate: %d %q %q", code, out, errOut)
	}
	code, out, _ = runCLI(t, "", nil, "migrate", "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "up to date") {
		t.Fatalf("second migrate: %d %q", code, out)
	}
}

// TestInterruptShutsDownCleanly runs the real binary and presses Ctrl-C.
func TestInterruptShutsDownCleanly(t *testing.T) {
	domaintest.Slow(t)
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "throughline")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	dir := t.TempDir()
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0", "--data-dir", dir)
	stdout := new(syncBuffer)
	stderr := new(syncBuffer)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	addr := regexp.MustCompile(`running at (http://\S+)`)
	deadline := time.Now().Add(20 * time.Second)
	var base string
	for base == "" && time.Now().Before(deadline) {
		if m := addr.FindStringSubmatch(stdout.String()); m != nil {
			base = m[1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	if base == "" {
		t.Fatalf("never ready:\n%s\n%s", stdout, stderr)
	}
	if code := getJSON(t, base+"/readyz", "", nil); code != 200 {
		t.Fatalf("readyz %d", code)
	}
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, stderr)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("still running 10s after Ctrl-C:\n%s", stderr)
	}
	t.Logf("shutdown took %v", time.Since(start))
	if !strings.Contains(stderr.String(), "stopped") {
		t.Errorf("no clean stop logged:\n%s", stderr)
	}
}

// TestSecretsStayOutOfTheLog signs in, creates a token and a user through the
// pages, and checks that no password or token reached the log.
func TestSecretsStayOutOfTheLog(t *testing.T) {
	var logs syncBuffer
	cfg := testConfig(t)
	out := new(syncBuffer)
	app := NewApp(cfg, slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})), out)
	if err := app.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	email, password := adminFrom(t, out.String())
	c := signInHTTP(t, app.URL(), email, password)
	// A failed sign-in with a password-like string.
	jar, _ := cookiejar.New(nil)
	other := &http.Client{Jar: jar}
	resp, _ := other.Get(app.URL() + "/signin")
	doc, _ := goquery.NewDocumentFromReader(resp.Body)
	resp.Body.Close()
	csrf, _ := doc.Find(`input[name="_csrf"]`).Attr("value")
	resp, _ = other.PostForm(app.URL()+"/signin", url.Values{"_csrf": {csrf}, "email": {email}, "password": {"wrong-Secret-123"}})
	resp.Body.Close()
	// Create a token through the page.
	resp, _ = c.Get(app.URL() + "/settings/tokens")
	doc, _ = goquery.NewDocumentFromReader(resp.Body)
	resp.Body.Close()
	csrf, _ = doc.Find(`input[name="_csrf"]`).Attr("value")
	resp, err := c.PostForm(app.URL()+"/settings/tokens", url.Values{"_csrf": {csrf}, "name": {"ci"}, "scope": {"ingest"}})
	if err != nil {
		t.Fatal(err)
	}
	doc, _ = goquery.NewDocumentFromReader(resp.Body)
	resp.Body.Close()
	secret := doc.Find(`[data-testid="new-token"] code`).Text()
	if !strings.HasPrefix(secret, "tl_") {
		t.Fatalf("no token shown: %q", secret)
	}
	// Use it, including a wrong one.
	getJSON(t, app.URL()+"/api/v1/token", secret, nil)
	getJSON(t, app.URL()+"/api/v1/token", "tl_wrong-token-value", nil)
	app.Close()
	text := logs.String()
	if !strings.Contains(text, "signed in") {
		t.Fatalf("the log has no sign-in line; did logging work?\n%s", text)
	}
	for _, s := range []string{password, "wrong-Secret-123", secret, "tl_wrong-token-value", csrf} {
		if strings.Contains(text, s) {
			t.Errorf("the log contains a secret (%.6s…)", s)
		}
	}
}
