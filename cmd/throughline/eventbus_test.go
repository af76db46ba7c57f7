package main

import (
	"bufio"
	"context"
	"fmt"
	"github.com/throughline/throughline/domain/domaintest"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/throughline/throughline/adapters/demo"
	"github.com/throughline/throughline/adapters/natsbus"
	"github.com/throughline/throughline/domain"
)

// The event bus under attack (issue 18): names that once stopped all
// ingestion, a connection closed for good, a deleted consumer, and an
// embedded server anyone could reach.

var structured = http.Header{"Content-Type": {"application/cloudevents+json"}}

// waitUntil polls cond until it holds or the deadline passes.
func waitUntil(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// A service of 5,000 characters, over HTTP, over NATS and in an SLO the
// alert publisher reads, is refused with a reason; ingestion goes on.
func TestLongNamesCannotStopIngestion(t *testing.T) {
	cfg := testConfig(t)
	cfg.SLOInterval = 50 * time.Millisecond
	cfg.GitHubWebhookSecret = e2eGitHubSecret
	app, _ := startApp(t, cfg)
	tok := token(t, app, domain.ScopeIngest, domain.ScopeRead)
	long := strings.Repeat("s", 5000)

	// A signed GitHub deployment whose payload names the service.
	hook := `{"action": "created", "deployment_status": {"id": 7, "state": "success", "environment": "production",
		"created_at": "2026-03-03T10:00:00Z", "updated_at": "2026-03-03T10:00:00Z"},
		"deployment": {"id": 9, "sha": "` + ghSHA + `", "ref": "main", "task": "deploy", "payload": {"service": "` + long + `"},
		"environment": "production", "created_at": "2026-03-03T09:55:00Z"}, ` + ghRepoJSON + `}`
	if code, body := postHook(t, app, "/webhooks/github", github("deployment_status", "long-1", hook), hook); code >= 500 || fmt.Sprint(body["rejected"]) == "<nil>" {
		t.Fatalf("webhook naming a 5,000-character service: %d %.300v", code, body)
	}

	for i := 0; i < 3; i++ { // a retrying client: every answer the same
		code, body := postEvents(t, app, tok, structured, []byte(deployEvent("long-http", long, time.Now())))
		rejected, _ := body["rejected"].([]any)
		if code != http.StatusBadRequest || len(rejected) != 1 || rejected[0].(map[string]any)["reason"] != domain.ReasonInvalidContent {
			t.Fatalf("attempt %d: %d %.300v; want 400 invalid_content", i, code, body)
		}
	}
	js := natsPublisher(t, app.Embedded.ClientURL())
	if _, err := js.Publish(context.Background(), "throughline.events.delivery.x", []byte(deployEvent("long-nats", long, time.Now()))); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, app, tok, ingestStatus{DeadLetters: 1})

	// An SLO stored before names were limited, burning its budget: its
	// alerts go to a bounded subject, evaluation after evaluation, and the
	// connection stays up.
	at := time.Now().Add(-2 * time.Minute).UTC().Format(time.RFC3339)
	telemetry := `{"specversion":"1.0","id":"burn","source":"/test","type":"dev.throughline.telemetry.samples.v1","data":{"samples":[` +
		`{"metric":"good","value":50,"time":"` + at + `","attributes":{"service":"checkout"}},{"metric":"all","value":100,"time":"` + at + `","attributes":{"service":"checkout"}}]}}`
	if code, body := postEvents(t, app, tok, structured, []byte(telemetry)); code != http.StatusAccepted {
		t.Fatalf("telemetry: %d %v", code, body)
	}
	waitStatus(t, app, tok, ingestStatus{Stored: 1, DeadLetters: 1})
	if _, err := app.Store.DB().ExecContext(context.Background(),
		`INSERT INTO slos (name, display_name, description, service, good_metric, good_attrs, total_metric, total_attrs, target, window_days, created_at, updated_at)
		 VALUES ('long-service', '', '', ?, 'good', '{}', 'all', '{}', 0.99, 28, 0, 0)`, long); err != nil {
		t.Fatal(err)
	}
	stream, err := app.Bus.JetStream().Stream(context.Background(), app.Bus.Names().AlertsStream())
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the long SLO's alert state", 20*time.Second, func() bool {
		info, err := stream.Info(context.Background())
		return err == nil && info.State.Msgs > 0
	})
	if err := app.Bus.Ping(context.Background()); err != nil {
		t.Fatalf("after the SLO alert: %v", err)
	}
	code, body := postEvents(t, app, tok, structured, []byte(deployEvent("ok", "checkout", time.Now())))
	if code != http.StatusAccepted {
		t.Fatalf("a good event after the long names: %d %v", code, body)
	}
	waitStatus(t, app, tok, ingestStatus{Stored: 2, DeadLetters: 1})
}

// A connection nats.go closed for good is opened again, and the app goes on
// taking and storing events; /healthz stays live and /readyz comes back.
func TestClosedNATSConnectionIsReopened(t *testing.T) {
	app, _ := startApp(t, testConfig(t))
	tok := token(t, app, domain.ScopeIngest, domain.ScopeRead)
	old := app.Bus.Conn()
	// The closure the long names caused, provoked on the app's connection.
	if err := old.Publish("throughline.events.delivery."+strings.Repeat("x", 5000), nil); err != nil {
		t.Fatal(err)
	}
	_ = old.Flush()
	waitUntil(t, "the server to close the connection", 10*time.Second, old.IsClosed)
	waitUntil(t, "an event to be accepted again", 30*time.Second, func() bool {
		code, _ := postEvents(t, app, tok, structured, []byte(deployEvent("after-close", "checkout", time.Now())))
		return code == http.StatusAccepted
	})
	waitStatus(t, app, tok, ingestStatus{Stored: 1})
	waitUntil(t, "ready", 10*time.Second, func() bool { return getJSON(t, app.URL()+"/readyz", "", nil) == http.StatusOK })
	if code := getJSON(t, app.URL()+"/healthz", "", nil); code != http.StatusOK {
		t.Errorf("healthz: %d", code)
	}
}

// The durable consumer deleted while a month of history is being stored
// (on a real NATS server): it is created again, every event is stored
// exactly once, nothing becomes a dead letter, and /readyz and /metrics
// show it present afterwards.
func TestDeletedConsumerMidIngestion(t *testing.T) {
	domaintest.Slow(t)
	cfg := testConfig(t)
	cfg.IngestBatch = 20
	var app *App
	var names natsbus.Names
	if os.Getenv("THROUGHLINE_TEST_NATS") != "" {
		app, _, names = startAppOnExternalNATS(t, &cfg)
	} else {
		app, _ = startApp(t, cfg)
		names = app.Bus.Names()
	}
	tok := token(t, app, domain.ScopeRead)
	ctx := context.Background()
	n, _, err := publishDemo(ctx, app.Bus, demo.Options{Days: 30, Seed: 11, End: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "some events stored", 30*time.Second, func() bool { return status(t, app, tok).Stored > 0 })
	mid := status(t, app, tok).Stored
	if err := app.Bus.JetStream().DeleteConsumer(ctx, names.EventsStream(), natsbus.ConsumerName); err != nil {
		t.Fatal(err)
	}
	if mid >= int64(n) {
		t.Fatalf("all %d events were stored before the deletion: the test proves nothing", n)
	}
	waitStatus(t, app, tok, ingestStatus{Stored: int64(n), Duplicates: status(t, app, tok).Duplicates})
	if st := status(t, app, tok); st.DeadLetters != 0 {
		t.Errorf("dead letters after the deletion: %+v", st)
	}
	if _, err := app.Bus.JetStream().Consumer(ctx, names.EventsStream(), natsbus.ConsumerName); err != nil {
		t.Fatalf("consumer not recreated: %v", err)
	}
	waitUntil(t, "ready", 10*time.Second, func() bool { return getJSON(t, app.URL()+"/readyz", "", nil) == http.StatusOK })
	if v, ok := sample(scrape(t, app, tok), "throughline_consumer_present", map[string]string{}); !ok || v != 1 {
		t.Errorf("throughline_consumer_present %v %v", v, ok)
	}
	t.Logf("deleted the consumer with %d of %d events stored", mid, n)
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:4222": true, "127.3.2.1:0": true, "[::1]:4222": true, "localhost:4222": true, "LocalHost:1": true,
		"0.0.0.0:4222": false, ":4222": false, "[::]:4222": false, "10.0.0.5:4222": false, "example.com:4222": false,
		"localhost.example.com:4222": false, "4222": false, "": false,
	} {
		if got := isLoopback(addr); got != want {
			t.Errorf("isLoopback(%q) = %v, want %v", addr, got, want)
		}
	}
}

// An embedded server on an address others can reach needs a token: serve
// refuses to start without one, naming the flag, and creates nothing.
func TestEmbeddedNATSOffLoopbackNeedsAToken(t *testing.T) {
	for _, listen := range []string{"0.0.0.0:0", ":0", "[::]:0"} {
		dir := t.TempDir()
		code, _, stderr := runCLI(t, "", nil, "serve", "--data-dir", dir, "--addr", "127.0.0.1:0", "--nats-listen", listen)
		if code == 0 || !strings.Contains(stderr, "--nats-token") || !strings.Contains(stderr, "loopback") {
			t.Errorf("--nats-listen %s without a token: exit %d, %q", listen, code, stderr)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("--nats-listen %s: the refused start left %d files", listen, len(entries))
		}
	}
	// The same through the environment (as a container sets it).
	code, _, stderr := runCLI(t, "", map[string]string{"THROUGHLINE_NATS_LISTEN": "0.0.0.0:0"}, "serve", "--data-dir", t.TempDir(), "--addr", "127.0.0.1:0")
	if code == 0 || !strings.Contains(stderr, "--nats-token") {
		t.Errorf("THROUGHLINE_NATS_LISTEN=0.0.0.0:0 without a token: exit %d, %q", code, stderr)
	}
}

// With a token the embedded server refuses clients without it, and the
// app, publish and demo use it.
func TestEmbeddedNATSRequiresTheToken(t *testing.T) {
	cfg := testConfig(t)
	cfg.NATSToken = "s3cret-token"
	app, out := startApp(t, cfg)
	tok := token(t, app, domain.ScopeIngest, domain.ScopeRead)
	url := app.Embedded.ClientURL()
	if nc, err := nats.Connect(url); err == nil {
		nc.Close()
		t.Fatal("connected without the token")
	} else if !strings.Contains(strings.ToLower(err.Error()), "authorization") {
		t.Errorf("without the token: %v", err)
	}
	if nc, err := nats.Connect(url, nats.Token("wrong")); err == nil {
		nc.Close()
		t.Fatal("connected with a wrong token")
	}
	nc, err := nats.Connect(url, nats.Token(cfg.NATSToken))
	if err != nil {
		t.Fatalf("with the token: %v", err)
	}
	nc.Close()
	// As other clients give it (README): in the URL.
	nc, err = nats.Connect(strings.Replace(url, "nats://", "nats://"+cfg.NATSToken+"@", 1))
	if err != nil {
		t.Fatalf("with the token in the URL: %v", err)
	}
	nc.Close()

	// The app's own connection carries it: a posted event is stored.
	if code, body := postEvents(t, app, tok, structured, []byte(deployEvent("with-token", "checkout", time.Now()))); code != http.StatusAccepted {
		t.Fatalf("post: %d %v", code, body)
	}
	waitStatus(t, app, tok, ingestStatus{Stored: 1})

	file := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(file, []byte(deployEvent("published", "checkout", time.Now())), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, "", nil, "publish", "--nats", url, file); code == 0 {
		t.Errorf("publish without the token succeeded")
	} else if !strings.Contains(stderr, "--nats-token") {
		t.Errorf("publish without the token does not say which flag: %q", stderr)
	}
	if code, stdout, stderr := runCLI(t, "", nil, "publish", "--nats", url, "--nats-token", cfg.NATSToken, file); code != 0 {
		t.Fatalf("publish with the token: %d %s %s", code, stdout, stderr)
	}
	if code, stdout, stderr := runCLI(t, "", map[string]string{"THROUGHLINE_NATS_TOKEN": cfg.NATSToken}, "demo", "--nats", url, "--days", "2"); code != 0 {
		t.Fatalf("demo with the token from the environment: %d %s %s", code, stdout, stderr)
	}
	waitUntil(t, "the published event", 30*time.Second, func() bool { return status(t, app, tok).Stored > 2 })
	if strings.Contains(out.String(), cfg.NATSToken) {
		t.Error("the token was printed")
	}
}

// dockerfileEnv reads the ENV instructions of the Dockerfile (both the
// KEY=value and the KEY value forms, over continued lines).
func dockerfileEnv(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	cont := false
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if cont {
			lines[len(lines)-1] += " " + strings.TrimSuffix(line, `\`)
		} else if strings.HasPrefix(line, "ENV ") {
			lines = append(lines, strings.TrimSuffix(strings.TrimPrefix(line, "ENV "), `\`))
		}
		cont = (cont || strings.HasPrefix(line, "ENV ")) && strings.HasSuffix(line, `\`)
	}
	env := map[string]string{}
	for _, l := range lines {
		fields := strings.Fields(l)
		if len(fields) == 2 && !strings.Contains(fields[0], "=") {
			env[fields[0]] = fields[1]
			continue
		}
		for _, kv := range fields {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				t.Fatalf("cannot read ENV %q", l)
			}
			env[k] = strings.Trim(v, `"`)
		}
	}
	if len(env) == 0 {
		t.Fatal("no ENV in the Dockerfile")
	}
	return env
}

// The container image never listens unauthenticated. There is no Docker
// daemon here, so the binary runs with the Dockerfile's environment (the
// data directory and the ports moved to free ones, the addresses kept):
// without a token it refuses to start, naming the flag; with one its NATS
// refuses clients that do not send it.
func TestDockerImageNeverListensUnauthenticated(t *testing.T) {
	image := dockerfileEnv(t)
	listen, ok := image["THROUGHLINE_NATS_LISTEN"]
	if !ok {
		t.Fatal("the Dockerfile does not set THROUGHLINE_NATS_LISTEN")
	}
	if _, set := image["THROUGHLINE_NATS_TOKEN"]; set {
		t.Fatal("the Dockerfile bakes a NATS token into the image")
	}
	bin := buildBinary(t)
	natsPort := freePort(t)
	host := listen[:strings.LastIndex(listen, ":")]
	env := os.Environ()
	for k, v := range image {
		env = append(env, k+"="+v)
	}
	env = append(env, "THROUGHLINE_DATA_DIR="+t.TempDir(), "THROUGHLINE_ADDR=127.0.0.1:"+freePort(t),
		"THROUGHLINE_NATS_LISTEN="+host+":"+natsPort, "THROUGHLINE_SLO_INTERVAL=0")

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "serve")
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("the image's settings without a token: still serving after a minute\n%s", out)
	}
	if err == nil || !strings.Contains(string(out), "--nats-token") {
		t.Fatalf("the image's settings without a token: %v\n%s", err, out)
	}

	cmd = exec.Command(bin, "serve")
	cmd.Env = append(env, "THROUGHLINE_NATS_TOKEN=image-token")
	var log syncBuffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	url := "nats://127.0.0.1:" + natsPort
	waitUntil(t, "the image's NATS to accept its token", 60*time.Second, func() bool {
		nc, err := nats.Connect(url, nats.Token("image-token"))
		if err == nil {
			nc.Close()
		}
		return err == nil
	})
	if nc, err := nats.Connect(url); err == nil {
		nc.Close()
		t.Fatalf("the image's NATS took a client without the token\n%s", log.String())
	}
}

// An event dated more than 24 hours after it arrives is refused with
// future_time over HTTP (against the time the request came) and becomes a
// dead letter on throughline.dlq.future_time over NATS (against the time
// the stream stored it); within the day it is stored.
func TestFutureEvents(t *testing.T) {
	app, _ := startApp(t, testConfig(t))
	tok := token(t, app, domain.ScopeIngest, domain.ScopeRead)
	code, body := postEvents(t, app, tok, structured, []byte(deployEvent("tomorrow-ish", "checkout", time.Now().Add(23*time.Hour))))
	if code != http.StatusAccepted {
		t.Fatalf("23 h ahead: %d %v", code, body)
	}
	code, body = postEvents(t, app, tok, structured, []byte(deployEvent("too-far", "checkout", time.Now().Add(25*time.Hour))))
	rejected, _ := body["rejected"].([]any)
	if code != http.StatusBadRequest || len(rejected) != 1 || rejected[0].(map[string]any)["reason"] != domain.ReasonFutureTime {
		t.Fatalf("25 h ahead: %d %v", code, body)
	}
	js := natsPublisher(t, app.Embedded.ClientURL())
	if _, err := js.Publish(context.Background(), "throughline.events.delivery.checkout", []byte(deployEvent("nats-future", "checkout", time.Now().Add(48*time.Hour)))); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, app, tok, ingestStatus{Stored: 1, DeadLetters: 1})
	stream, err := app.Bus.JetStream().Stream(context.Background(), "THROUGHLINE_DLQ")
	if err != nil {
		t.Fatal(err)
	}
	m, err := dlqCopy(stream, "throughline.dlq.future_time")
	if err != nil || !strings.Contains(m.Header.Get(natsbus.HeaderError), "24 hours") {
		t.Fatalf("dead letter on throughline.dlq.future_time: %v %v", err, m)
	}
}

// When the events stream stops taking a batch part-way, the answer says
// exactly which events were accepted; they are stored, and sending the
// others again stores them too.
func TestBatchAnswerSaysWhichWereAccepted(t *testing.T) {
	app, _ := startApp(t, testConfig(t))
	tok := token(t, app, domain.ScopeIngest, domain.ScopeRead)
	ctx := context.Background()
	js := app.Bus.JetStream()
	// A stream that takes two messages and then refuses new ones.
	stream, err := js.Stream(ctx, "THROUGHLINE_EVENTS")
	if err != nil {
		t.Fatal(err)
	}
	sc := stream.CachedInfo().Config
	sc.MaxMsgs, sc.Discard = 2, jetstream.DiscardNew
	if _, err := js.UpdateStream(ctx, sc); err != nil {
		t.Fatal(err)
	}
	var events []string
	for _, id := range []string{"b0", "b1", "b2", "b3"} {
		events = append(events, deployEvent(id, "checkout", time.Now()))
	}
	events = append(events[:2], append([]string{hostileEvent(`"`+strings.Repeat("i", 64<<10+1)+`"`, "", okData)}, events[2:]...)...)
	batch := []byte("[" + strings.Join(events, ",") + "]")
	code, body := postEvents(t, app, tok, http.Header{"Content-Type": {"application/cloudevents-batch+json"}}, batch)
	var statuses []string
	results, _ := body["results"].([]any)
	for _, r := range results {
		statuses = append(statuses, r.(map[string]any)["status"].(string))
	}
	if code != http.StatusServiceUnavailable || body["accepted"] != 2.0 || strings.Join(statuses, ",") != "accepted,accepted,rejected,not_published,not_published" {
		t.Fatalf("a batch the stream stopped taking: %d %v", code, body)
	}
	waitStatus(t, app, tok, ingestStatus{Stored: 2})

	sc.MaxMsgs = -1
	if _, err := js.UpdateStream(ctx, sc); err != nil {
		t.Fatal(err)
	}
	code, body = postEvents(t, app, tok, http.Header{"Content-Type": {"application/cloudevents-batch+json"}}, batch)
	if code != http.StatusAccepted || body["accepted"] != 4.0 {
		t.Fatalf("the batch again: %d %v", code, body)
	}
	waitStatus(t, app, tok, ingestStatus{Stored: 4, Duplicates: 2})
}

// A binary-mode event whose headers fill JetStream's 64 KiB header limit
// cannot be copied to the dead-letter stream with the reason added: it is
// dead-lettered once (the copy without the original headers), not retried
// for ever.
func TestEventWithHeadersAtTheLimitIsDeadLettered(t *testing.T) {
	app, _ := startApp(t, testConfig(t))
	tok := token(t, app, domain.ScopeRead)
	msg := nats.NewMsg("throughline.events.delivery.headers")
	for k, v := range map[string]string{"ce-specversion": "1.0", "ce-source": "/hostile", "ce-type": "dev.cdevents.change.created.0.4.0", "Content-Type": "application/json"} {
		msg.Header.Set(k, v)
	}
	size := len("NATS/1.0\r\n\r\n")
	for k, vs := range msg.Header {
		size += len(k) + len(": \r\n") + len(vs[0])
	}
	size += len("ce-id: \r\n")
	msg.Header.Set("ce-id", strings.Repeat("i", 65535-100-size)) // 100 bytes under the limit
	msg.Data = []byte(okData)
	if _, err := natsPublisher(t, app.Embedded.ClientURL()).PublishMsg(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, app, tok, ingestStatus{DeadLetters: 1})
	stream, err := app.Bus.JetStream().Stream(context.Background(), "THROUGHLINE_DLQ")
	if err != nil {
		t.Fatal(err)
	}
	m, err := dlqCopy(stream, "throughline.dlq."+domain.ReasonInvalidContent)
	if err != nil || m.Header.Get(natsbus.HeaderError) == "" || m.Header.Get(natsbus.HeaderOmitted) == "" {
		t.Fatalf("dead-letter copy: %v %v", err, m)
	}
}
