package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/throughline/throughline/adapters/cdevents"
	"github.com/throughline/throughline/adapters/demo"
	"github.com/throughline/throughline/adapters/sqlstore/sqltest"
	"github.com/throughline/throughline/domain"
)

// conformanceEvents wraps every CDEvents conformance example in a CloudEvent
// with an id unique to tag (the examples share one context id).
func conformanceEvents(t *testing.T, tag string) []domain.CloudEvent {
	t.Helper()
	files, err := filepath.Glob("../../adapters/cdevents/testdata/conformance/v*/*.json")
	if err != nil || len(files) < 90 {
		t.Fatalf("conformance examples: %d %v", len(files), err)
	}
	var out []domain.CloudEvent
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var cd struct {
			Context struct{ Source, Type string } `json:"context"`
		}
		if err := json.Unmarshal(data, &cd); err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(filepath.Dir(f)) + "/" + strings.TrimSuffix(filepath.Base(f), ".json")
		out = append(out, domain.CloudEvent{
			SpecVersion: "1.0", ID: name + "/" + tag, Source: cd.Context.Source, Type: cd.Context.Type,
			DataContentType: "application/json", Data: data,
		})
	}
	return out
}

type ingestStatus struct {
	Stored      int64 `json:"stored"`
	Duplicates  int64 `json:"duplicates"`
	DeadLetters int64 `json:"dead_letters"`
}

func status(t testing.TB, app *App, token string) ingestStatus {
	t.Helper()
	var st ingestStatus
	if code := getJSON(t, app.URL()+"/api/v1/ingest/status", token, &st); code != 200 {
		t.Fatalf("status: %d", code)
	}
	return st
}

func waitStatus(t *testing.T, app *App, token string, want ingestStatus) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var got ingestStatus
	for time.Now().Before(deadline) {
		if got = status(t, app, token); got == want {
			waitDerived(t, app, token)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("ingest status %+v; want %+v", got, want)
}

// waitDerived waits (30 s at most) until derivation has caught up with what
// is stored (derived == stored), so that every figure includes every stored
// event: derivation follows ingestion asynchronously (DESIGN.md section 1).
func waitDerived(t testing.TB, app *App, token string) {
	t.Helper()
	var st struct {
		Stored  int64 `json:"stored"`
		Derived int64 `json:"derived"`
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if code := getJSON(t, app.URL()+"/api/v1/ingest/status", token, &st); code != 200 {
			t.Fatalf("status: %d", code)
		}
		if st.Derived == st.Stored {
			return
		}
	}
	t.Fatalf("derivation behind: %d of %d stored events derived", st.Derived, st.Stored)
}

func token(t testing.TB, app *App, scopes ...domain.Scope) string {
	t.Helper()
	_, secret, err := app.Store.CreateToken(context.Background(), "test", scopes)
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

func postEvents(t *testing.T, app *App, token string, header http.Header, body []byte) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, app.URL()+"/api/v1/events", bytes.NewReader(body))
	for k, v := range header {
		req.Header[k] = v
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("response %d is not JSON: %s", resp.StatusCode, raw)
	}
	return resp.StatusCode, out
}

func natsPublisher(t *testing.T, url string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// publishBoth sends each event over NATS, alternating structured and binary mode.
func publishBoth(t *testing.T, js jetstream.JetStream, prefix string, evs []domain.CloudEvent) {
	t.Helper()
	ctx := context.Background()
	for i, ce := range evs {
		msg := nats.NewMsg(prefix + ".events.delivery.conformance")
		if i%2 == 0 {
			msg.Data, _ = cdevents.EncodeStructured(ce)
			msg.Header.Set("Content-Type", cdevents.ContentTypeStructured)
		} else {
			h, body := cdevents.EncodeBinary(ce)
			for k, v := range h {
				msg.Header[k] = v
			}
			msg.Data = body
		}
		msg.Header.Set(jetstream.MsgIDHeader, ce.Source+" "+ce.ID)
		if _, err := js.PublishMsg(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
}

func TestIngestConformanceExamplesOverNATSAndHTTP(t *testing.T) {
	app, _ := startApp(t, testConfig(t))
	tok := token(t, app, domain.ScopeIngest, domain.ScopeRead)

	viaNATS := conformanceEvents(t, "nats")
	publishBoth(t, natsPublisher(t, app.Embedded.ClientURL()), "throughline", viaNATS)

	viaHTTP := conformanceEvents(t, "http")
	for i, ce := range viaHTTP {
		var code int
		var body map[string]any
		if i%2 == 0 {
			b, _ := cdevents.EncodeStructured(ce)
			code, body = postEvents(t, app, tok, http.Header{"Content-Type": {cdevents.ContentTypeStructured}}, b)
		} else {
			h, b := cdevents.EncodeBinary(ce)
			code, body = postEvents(t, app, tok, http.Header(h), b)
		}
		if code != http.StatusAccepted || body["accepted"] != float64(1) {
			t.Fatalf("%s: %d %v", ce.ID, code, body)
		}
	}
	total := int64(len(viaNATS) + len(viaHTTP))
	waitStatus(t, app, tok, ingestStatus{Stored: total})

	dump, err := app.Store.DumpProjections(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Both spec versions × (NATS, HTTP) of service.deployed, upgraded,
	// rolledback and removed: 16 deployment rows in environment test123.
	deployments := 0
	for _, l := range dump["deployments"] {
		if strings.Contains(l, "|mySubject123|test123|") {
			deployments++
		}
	}
	if deployments != 16 {
		t.Errorf("deployments from the examples: %d; want 16\n%s", deployments, strings.Join(dump["deployments"], "\n"))
	}
	if want := []string{"incident-123|myApp|pkg:oci/myapp@sha256%3A0b31b1c02ff458ad9b7b81cbdf8f028bd54699fa151f221d1e8de6817db93427|prod1|0|"}; len(dump["incidents"]) != 1 || !strings.HasPrefix(dump["incidents"][0], want[0]) {
		t.Errorf("incidents %q", dump["incidents"])
	}
	if len(dump["changes"]) != 1 || !strings.HasPrefix(dump["changes"][0], "mySubject123|") || !strings.Contains(dump["changes"][0], "|TestRepo/TestOrg|") {
		t.Errorf("changes %q", dump["changes"])
	}
	if len(dump["artifact_changes"]) != 1 || !strings.HasPrefix(dump["artifact_changes"][0], "pkg:golang/mygit.com/myorg/myapp@234fd47e07d1004f0aed9c|myChange123|") {
		t.Errorf("artifact changes %q", dump["artifact_changes"])
	}
}

func TestHTTPIngestAnswersPerEvent(t *testing.T) {
	app, _ := startApp(t, testConfig(t))
	tok := token(t, app, domain.ScopeIngest, domain.ScopeRead)
	readOnly := token(t, app, domain.ScopeRead)
	ev := func(id string) []byte {
		return []byte(`{"specversion":"1.0","id":"` + id + `","source":"/ci","type":"dev.cdevents.change.merged.0.3.0",
		  "data":{"context":{"specversion":"0.5.1","id":"` + id + `","source":"/ci","type":"dev.cdevents.change.merged.0.3.0","timestamp":"2026-03-02T10:00:00Z"},
		  "subject":{"id":"shop#` + id + `","content":{"repository":{"id":"shop"}}}}}`)
	}
	structured := http.Header{"Content-Type": {"application/cloudevents+json"}}

	if code, body := postEvents(t, app, readOnly, structured, ev("x")); code != http.StatusForbidden || body["error"] == nil {
		t.Fatalf("read-only token: %d %v", code, body)
	}
	if code, body := postEvents(t, app, "", structured, ev("x")); code != http.StatusUnauthorized || body["error"] == nil {
		t.Fatalf("no token: %d %v", code, body)
	}

	// A single invalid event: 400 with the reason, nothing published.
	code, body := postEvents(t, app, tok, structured, []byte(`{"specversion":"1.0","id":"bad","source":"/ci","type":"dev.cdevents.change.merged.0.3.0","data":{"context":{"timestamp":"soon"},"subject":{"id":"c"}}}`))
	rejected, _ := body["rejected"].([]any)
	if code != http.StatusBadRequest || len(rejected) != 1 || rejected[0].(map[string]any)["reason"] != "bad_timestamp" ||
		!strings.Contains(body["error"].(map[string]any)["message"].(string), "timestamp") {
		t.Fatalf("invalid event: %d %v", code, body)
	}
	if code, _ := postEvents(t, app, tok, structured, []byte("not json")); code != http.StatusBadRequest {
		t.Fatalf("not JSON: %d", code)
	}
	if code, _ := postEvents(t, app, tok, http.Header{"Content-Type": {"text/plain"}}, ev("y")); code != http.StatusBadRequest {
		t.Fatalf("text/plain: %d", code)
	}

	// A batch: the valid ones are published, the invalid one reported.
	batch := []byte("[" + string(ev("b1")) + `,{"specversion":"1.0","id":"b2","source":"/ci"},` + string(ev("b3")) + "]")
	code, body = postEvents(t, app, tok, http.Header{"Content-Type": {"application/cloudevents-batch+json"}}, batch)
	rejected, _ = body["rejected"].([]any)
	if code != http.StatusAccepted || body["accepted"] != float64(2) || len(rejected) != 1 ||
		rejected[0].(map[string]any)["index"] != float64(1) || rejected[0].(map[string]any)["reason"] != "missing_field" {
		t.Fatalf("batch: %d %v", code, body)
	}

	// The same event twice: stored once, counted as a duplicate once.
	for i := 0; i < 2; i++ {
		if code, body := postEvents(t, app, tok, structured, ev("twice")); code != http.StatusAccepted || body["accepted"] != float64(1) {
			t.Fatalf("post %d: %d %v", i, code, body)
		}
	}
	waitStatus(t, app, tok, ingestStatus{Stored: 3, Duplicates: 1})

	// Over the limit: 413 before anything is read.
	huge := bytes.Repeat([]byte("x"), 17<<20)
	if code, _ := postEvents(t, app, tok, structured, huge); code != http.StatusRequestEntityTooLarge {
		t.Fatalf("huge body: %d", code)
	}
}

func TestDeadLettersOverNATS(t *testing.T) {
	app, _ := startApp(t, testConfig(t))
	tok := token(t, app, domain.ScopeRead)
	admin := token(t, app, domain.ScopeAdmin)
	js := natsPublisher(t, app.Embedded.ClientURL())
	ctx := context.Background()
	bad := map[string]string{
		"not_json":         `{{{`,
		"not_cloudevent":   `{"hello":"world"}`,
		"missing_field":    `{"specversion":"1.0","source":"/x","type":"dev.cdevents.change.merged.0.3.0"}`,
		"unsupported_type": `{"specversion":"1.0","id":"u","source":"/x","type":"com.example.unknown"}`,
		"bad_timestamp":    `{"specversion":"1.0","id":"t","source":"/x","type":"dev.cdevents.change.merged.0.3.0","data":{"context":{"timestamp":"yesterday"},"subject":{"id":"c"}}}`,
		"bad_value":        `{"specversion":"1.0","id":"v","source":"/x","type":"dev.throughline.telemetry.samples.v1","data":{"samples":[{"metric":"m","value":"NaN","time":"2026-01-01T00:00:00Z"}]}}`,
	}
	for reason, body := range bad {
		if _, err := js.Publish(ctx, "throughline.events.delivery."+reason, []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	// A good event, and the same identity again without Nats-Msg-Id, which
	// JetStream does not absorb: the consumer counts it as a duplicate.
	good := `{"specversion":"1.0","id":"g","source":"/x","type":"dev.cdevents.change.created.0.4.0","data":{"context":{"timestamp":"2026-01-01T00:00:00Z"},"subject":{"id":"c"}}}`
	for i := 0; i < 2; i++ {
		if _, err := js.Publish(ctx, "throughline.events.delivery.good", []byte(good)); err != nil {
			t.Fatal(err)
		}
	}
	waitStatus(t, app, tok, ingestStatus{Stored: 1, Duplicates: 1, DeadLetters: int64(len(bad))})

	var got struct {
		DeadLetters []struct {
			ID      int64  `json:"id"`
			Subject string `json:"subject"`
			Reason  string `json:"reason"`
			Code    string `json:"code"`
			Time    string `json:"time"`
			Data    string `json:"data"`
		} `json:"dead_letters"`
	}
	if code := getJSON(t, app.URL()+"/api/v1/dead-letters?limit=50", tok, &got); code != 200 || len(got.DeadLetters) != len(bad) {
		t.Fatalf("dead letters: %d %+v", code, got)
	}
	for _, dl := range got.DeadLetters {
		if bad[dl.Code] != dl.Data || dl.Subject != "throughline.events.delivery."+dl.Code || !strings.HasPrefix(dl.Reason, dl.Code+": ") || dl.Time == "" {
			t.Errorf("dead letter %+v", dl)
		}
		// Each is also on the dead-letter stream with the contract headers.
		stream, _ := app.Bus.JetStream().Stream(ctx, "THROUGHLINE_DLQ")
		m, err := stream.GetLastMsgForSubject(ctx, "throughline.dlq."+dl.Code)
		if err != nil || m.Header.Get("Throughline-Error") == "" || m.Header.Get("Throughline-Subject") != dl.Subject || string(m.Data) != dl.Data {
			t.Errorf("DLQ copy of %s: %v %v", dl.Code, err, m)
		}
	}
	if code := getJSON(t, app.URL()+"/api/v1/dead-letters?limit=0", tok, nil); code != http.StatusBadRequest {
		t.Errorf("limit=0: %d", code)
	}

	// Replaying sends the message back; still invalid, it returns as a new
	// dead letter with the reason again.
	req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/api/v1/dead-letters/%d/replay", app.URL(), got.DeadLetters[0].ID), nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("replay with a read token: %v %v", err, resp.StatusCode)
	}
	req.Header.Set("Authorization", "Bearer "+admin)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("replay: %v %v", err, resp.StatusCode)
	}
	waitStatus(t, app, tok, ingestStatus{Stored: 1, Duplicates: 1, DeadLetters: int64(len(bad)) + 1})
}

func TestPublishAndRebuildCommands(t *testing.T) {
	cfg := testConfig(t)
	app, _ := startApp(t, cfg)
	tok := token(t, app, domain.ScopeRead)
	dir := t.TempDir()
	evs := conformanceEvents(t, "cli")
	var ndjson, array bytes.Buffer
	array.WriteString("[")
	for i, ce := range evs {
		b, _ := cdevents.EncodeStructured(ce)
		if i < 40 {
			ndjson.Write(b)
			ndjson.WriteString("\n\n")
		} else {
			if i > 40 {
				array.WriteString(",")
			}
			array.Write(b)
		}
	}
	array.WriteString("]")
	os.WriteFile(filepath.Join(dir, "a.ndjson"), ndjson.Bytes(), 0o644)
	os.WriteFile(filepath.Join(dir, "b.json"), array.Bytes(), 0o644)
	single, _ := cdevents.EncodeStructured(domain.CloudEvent{SpecVersion: "1.0", ID: "stdin-1", Source: "/cli", Type: "dev.cdevents.change.created.0.4.0",
		Data: []byte(`{"context":{"timestamp":"2026-01-01T00:00:00Z"},"subject":{"id":"shop#CHK-9"}}`)})

	code, out, errOut := runCLI(t, string(single), nil, "publish", "--nats", app.Embedded.ClientURL(), filepath.Join(dir, "a.ndjson"), filepath.Join(dir, "b.json"), "-")
	if code != 0 || !strings.Contains(out, fmt.Sprintf("published %d events", len(evs)+1)) {
		t.Fatalf("publish: %d %q %q", code, out, errOut)
	}
	os.WriteFile(filepath.Join(dir, "bad.json"), []byte(`{"specversion":"1.0","id":"b","source":"/cli","type":"nope"}`), 0o644)
	code, _, errOut = runCLI(t, "", nil, "publish", "--nats", app.Embedded.ClientURL(), filepath.Join(dir, "bad.json"))
	if code == 0 || !strings.Contains(errOut, "bad.json: unsupported_type") {
		t.Fatalf("invalid file: %d %q", code, errOut)
	}
	waitStatus(t, app, tok, ingestStatus{Stored: int64(len(evs) + 1)})

	ctx := context.Background()
	before, err := app.Store.DumpProjections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(before["event_ideas"]) != 1 {
		t.Errorf("idea link from the change id: %v", before["event_ideas"])
	}
	code, out, errOut = runCLI(t, "", nil, "rebuild", "--data-dir", cfg.DataDir)
	if code != 0 || !strings.Contains(out, fmt.Sprintf("from %d events", len(evs)+1)) {
		t.Fatalf("rebuild: %d %q %q", code, out, errOut)
	}
	after, err := app.Store.DumpProjections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(before, after) {
		t.Fatal("rebuild gave different projections")
	}
}

func TestIngestOnPostgresAndExternalNATS(t *testing.T) {
	cfg := testConfig(t)
	cfg.DB = sqltest.PostgresDSN(t)
	app, _, names := startAppOnExternalNATS(t, &cfg)
	tok := token(t, app, domain.ScopeIngest, domain.ScopeRead)
	evs := conformanceEvents(t, "pg")
	publishBoth(t, natsPublisher(t, cfg.NATS), names.SubjectPrefix, evs[:60])
	var batch bytes.Buffer
	batch.WriteString("[")
	for i, ce := range evs[60:] {
		if i > 0 {
			batch.WriteString(",")
		}
		b, _ := cdevents.EncodeStructured(ce)
		batch.Write(b)
	}
	batch.WriteString("]")
	if code, body := postEvents(t, app, tok, http.Header{"Content-Type": {"application/cloudevents-batch+json"}}, batch.Bytes()); code != http.StatusAccepted {
		t.Fatalf("batch: %d %v", code, body)
	}
	publishBoth(t, natsPublisher(t, cfg.NATS), names.SubjectPrefix, []domain.CloudEvent{{SpecVersion: "1.0", ID: "x", Source: "/x", Type: "bogus"}})
	waitStatus(t, app, tok, ingestStatus{Stored: int64(len(evs)), DeadLetters: 1})
}

func TestServeDemoPublishesOnce(t *testing.T) {
	cfg := testConfig(t)
	cfg.Demo, cfg.DemoDays = true, 14
	app, _ := startApp(t, cfg)
	tok := token(t, app, domain.ScopeRead)
	want := int64(len(demo.Generate(demo.Options{Days: 14, Seed: 1}).Events))
	waitStatus(t, app, tok, ingestStatus{Stored: want})
	if err := app.Close(); err != nil {
		t.Fatal(err)
	}
	// A restart with --demo does not publish again; the command does, and
	// every repeat is recognised as a duplicate or absorbed.
	app2, _ := startApp(t, cfg)
	time.Sleep(200 * time.Millisecond)
	if st := status(t, app2, tok); st.Stored != want {
		t.Fatalf("after restart: %+v", st)
	}
	code, out, errOut := runCLI(t, "", nil, "demo", "--nats", app2.Embedded.ClientURL(), "--days", "14")
	if code != 0 || !strings.Contains(out, fmt.Sprintf("published %d demo events", want)) {
		t.Fatalf("demo: %d %q %q", code, out, errOut)
	}
	time.Sleep(300 * time.Millisecond)
	if st := status(t, app2, tok); st.Stored != want || st.DeadLetters != 0 {
		t.Fatalf("after demo again: %+v", st)
	}
}
