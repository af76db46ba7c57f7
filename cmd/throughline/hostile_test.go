package main

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/throughline/throughline/adapters/natsbus"
	"github.com/throughline/throughline/domain"
)

// Hostile events, end to end: each ends in a clear 4xx over HTTP and in the
// dead-letter stream, with a clear reason, over NATS; duplicates are stored
// once and are no dead letter. The decoder's own tests and fuzzers cover the
// reasons in detail; these prove that the app around it keeps them.

// hostileEvent builds a change.created CloudEvent with the given id JSON,
// extra attributes and data.
func hostileEvent(id, extra, data string) string {
	return `{"specversion":"1.0","id":` + id + `,"source":"/hostile","type":"dev.cdevents.change.created.0.4.0"` + extra + `,"data":` + data + `}`
}

// deployEvent is a production service.deployed of service at a time.
func deployEvent(id, service string, at time.Time) string {
	return `{"specversion":"1.0","id":"` + id + `","source":"/hostile","type":"dev.cdevents.service.deployed.0.2.0","data":{"context":{"version":"0.4.1","timestamp":"` +
		at.UTC().Format(time.RFC3339) + `"},"subject":{"id":"` + service + `","content":{"environment":{"id":"production"},"artifactId":"a-1"}}}}`
}

const okData = `{"context":{"version":"0.4.1","timestamp":"2026-03-02T10:00:00Z"},"subject":{"id":"c-1"}}`

// hostileEvents are the bodies every transport must refuse, by the reason
// (dead-letter code) they must be refused with.
func hostileEvents() map[string]struct{ reason, body string } {
	nested := strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000)
	return map[string]struct{ reason, body string }{
		"oversize":       {domain.ReasonTooLarge, hostileEvent(`"big"`, "", `{"pad":"`+strings.Repeat("x", 2<<20)+`"}`)},
		"deeply nested":  {domain.ReasonNotJSON, hostileEvent(`"deep"`, "", `{"context":{"timestamp":"2026-03-02T10:00:00Z"},"subject":{"id":"c"},"x":`+nested+`}`)},
		"id a number":    {domain.ReasonNotCloudEvent, hostileEvent(`42`, "", okData)},
		"time an object": {domain.ReasonNotCloudEvent, hostileEvent(`"t-obj"`, `,"time":{"at":"2026-03-02T10:00:00Z"}`, okData)},
		"subject a string": {domain.ReasonInvalidContent, hostileEvent(`"s-str"`, "",
			`{"context":{"version":"0.4.1","timestamp":"2026-03-02T10:00:00Z"},"subject":"c-1"}`)},
		"not JSON":       {domain.ReasonNotJSON, "\x00\x01 this is not JSON"},
		"NUL in an id":   {domain.ReasonInvalidContent, hostileEvent(`"nul\u0000id"`, "", okData)},
		"NUL in content": {domain.ReasonInvalidContent, hostileEvent(`"nul-subject"`, "", `{"context":{"version":"0.4.1","timestamp":"2026-03-02T10:00:00Z"},"subject":{"id":"c\u0000"}}`)},
		// A name of 5,000 characters once made a subject the NATS server
		// refused, closing the connection for good; an id over 64 KiB a
		// Nats-Msg-Id header JetStream refused, for ever.
		"service of 5,000 characters": {domain.ReasonInvalidContent, deployEvent("long-service", strings.Repeat("s", 5000), time.Now())},
		"id over 64 KiB":              {domain.ReasonInvalidContent, hostileEvent(`"`+strings.Repeat("i", 64<<10+1)+`"`, "", okData)},
		"metric of 300 bytes": {domain.ReasonInvalidContent, `{"specversion":"1.0","id":"long-metric","source":"/hostile","type":"dev.throughline.telemetry.samples.v1","data":{"samples":[` +
			`{"metric":"` + strings.Repeat("m", 300) + `","value":1,"time":"2026-03-02T10:00:00Z"}]}}`},
		"attributes of 3 KiB": {domain.ReasonInvalidContent, `{"specversion":"1.0","id":"long-attrs","source":"/hostile","type":"dev.throughline.telemetry.samples.v1","data":{"samples":[` +
			`{"metric":"m","value":1,"time":"2026-03-02T10:00:00Z","attributes":{"route":"` + strings.Repeat("r", 3000) + `"}}]}}`},
		// Dated more than a day after arrival, or before 2000 (a clock at 0).
		"from the future": {domain.ReasonFutureTime, deployEvent("future", "checkout", time.Now().Add(48*time.Hour))},
		"dated 1970":      {domain.ReasonBadTimestamp, deployEvent("epoch", "checkout", time.Unix(0, 0))},
		"a sample from the future": {domain.ReasonFutureTime, `{"specversion":"1.0","id":"future-sample","source":"/hostile","type":"dev.throughline.telemetry.samples.v1","data":{"samples":[` +
			`{"metric":"m","value":1,"time":"2026-03-02T10:00:00Z"},{"metric":"m","value":1,"time":"` + time.Now().Add(25*time.Hour).UTC().Format(time.RFC3339) + `"}]}}`},
		"sums overflow": {domain.ReasonBadValue, `{"specversion":"1.0","id":"huge","source":"/hostile","type":"dev.throughline.telemetry.samples.v1","data":{"samples":[` +
			`{"metric":"m","value":1.7e308,"time":"2026-03-02T10:00:00Z"},{"metric":"m","value":1.7e308,"time":"2026-03-02T10:00:01Z"}]}}`},
	}
}

func TestHostileEventsOverHTTP(t *testing.T) {
	app, _ := startApp(t, testConfig(t))
	tok := token(t, app, domain.ScopeIngest, domain.ScopeRead)
	structured := http.Header{"Content-Type": {"application/cloudevents+json"}}

	for name, tc := range hostileEvents() {
		code, body := postEvents(t, app, tok, structured, []byte(tc.body))
		rejected, _ := body["rejected"].([]any)
		if code != http.StatusBadRequest || len(rejected) != 1 || rejected[0].(map[string]any)["reason"] != tc.reason {
			t.Errorf("%s: %d %.300v; want 400 with reason %s", name, code, body, tc.reason)
			continue
		}
		if msg, _ := rejected[0].(map[string]any)["message"].(string); msg == "" || len(msg) > 1000 {
			t.Errorf("%s: message %.300q", name, msg)
		}
	}
	// A batch that nests too deeply is refused whole, with the reason.
	deep := []byte(strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000))
	code, body := postEvents(t, app, tok, http.Header{"Content-Type": {"application/cloudevents-batch+json"}}, deep)
	if rejected, _ := body["rejected"].([]any); code != http.StatusBadRequest || len(rejected) != 1 || rejected[0].(map[string]any)["reason"] != domain.ReasonNotJSON {
		t.Errorf("deep batch: %d %.300v", code, body)
	}

	// A body over the limit without a Content-Length (chunked) is cut off
	// while it is read: 413, as JSON.
	req, _ := http.NewRequest(http.MethodPost, app.URL()+"/api/v1/events", io.MultiReader(strings.NewReader(`{"pad":"`), endless{}))
	req.Header.Set("Content-Type", "application/cloudevents+json")
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(raw), `"too_large"`) {
		t.Errorf("chunked oversize: %d %.300s", resp.StatusCode, raw)
	}
	waitStatus(t, app, tok, ingestStatus{})
}

// endless is a body that never ends.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

func TestHostileEventsOverNATS(t *testing.T) {
	app, _ := startApp(t, testConfig(t))
	tok := token(t, app, domain.ScopeRead)
	js := natsPublisher(t, app.Embedded.ClientURL())
	ctx := context.Background()

	bad := hostileEvents()
	subjects := map[string]string{}
	i := 0
	for name, tc := range bad {
		i++
		subject := "throughline.events.delivery.hostile" + string(rune('a'+i))
		subjects[subject] = name
		if _, err := js.Publish(ctx, subject, []byte(tc.body)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	// The same event twice with the same Nats-Msg-Id (JetStream absorbs the
	// second) and once more in binary mode without one (the consumer
	// recognises it): stored once, never a dead letter.
	good := hostileEvent(`"dup"`, "", okData)
	for i := 0; i < 2; i++ {
		msg := nats.NewMsg("throughline.events.delivery.dup")
		msg.Data = []byte(good)
		msg.Header.Set(jetstream.MsgIDHeader, "/hostile dup")
		if _, err := js.PublishMsg(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	bin := nats.NewMsg("throughline.events.delivery.dup")
	for k, v := range map[string]string{"ce-specversion": "1.0", "ce-id": "dup", "ce-source": "/hostile",
		"ce-type": "dev.cdevents.change.created.0.4.0", "Content-Type": "application/json"} {
		bin.Header.Set(k, v)
	}
	bin.Data = []byte(okData)
	if _, err := js.PublishMsg(ctx, bin); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, app, tok, ingestStatus{Stored: 1, Duplicates: 1, DeadLetters: int64(len(bad))})

	var got struct {
		DeadLetters []struct {
			Subject string `json:"subject"`
			Reason  string `json:"reason"`
			Code    string `json:"code"`
		} `json:"dead_letters"`
	}
	if code := getJSON(t, app.URL()+"/api/v1/dead-letters?limit=50", tok, &got); code != 200 || len(got.DeadLetters) != len(bad) {
		t.Fatalf("dead letters: %d %+v", code, got)
	}
	stream, err := app.Bus.JetStream().Stream(ctx, "THROUGHLINE_DLQ")
	if err != nil {
		t.Fatal(err)
	}
	for _, dl := range got.DeadLetters {
		name := subjects[dl.Subject]
		if want := bad[name].reason; dl.Code != want || len(dl.Reason) < len(want)+10 || len(dl.Reason) > 1000 {
			t.Errorf("%s: dead letter %s %.300q; want %s with a message", name, dl.Code, dl.Reason, want)
		}
		if m, err := dlqCopy(stream, "throughline.dlq."+dl.Code); err != nil || m.Header.Get(natsbus.HeaderError) == "" {
			t.Errorf("%s: no copy on the dead-letter stream: %v", name, err)
		}
	}
}

// dlqCopy waits for the last copy on a dead-letter subject: the database
// records a dead letter before the copy is sent.
func dlqCopy(stream jetstream.Stream, subject string) (*jetstream.RawStreamMsg, error) {
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		m, err := stream.GetLastMsgForSubject(context.Background(), subject)
		if err == nil || time.Now().After(deadline) {
			return m, err
		}
	}
}

// TestEventsAtTheNATSPayloadLimit: an event that just fits the server's
// max_payload cannot be copied to the dead-letter stream with the reason
// added. It is still dead-lettered once (the copy carries the reason without
// the message; the database keeps all of it), not retried for ever.
func TestEventsAtTheNATSPayloadLimit(t *testing.T) {
	app, _ := startApp(t, testConfig(t))
	tok := token(t, app, domain.ScopeRead)
	ctx := context.Background()
	limit := int(app.Bus.Conn().MaxPayload())
	body := hostileEvent(`"at-limit"`, "", `{"pad":"`+strings.Repeat("x", limit-200)+`"}`)
	if _, err := natsPublisher(t, app.Embedded.ClientURL()).Publish(ctx, "throughline.events.delivery.limit", []byte(body)); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, app, tok, ingestStatus{DeadLetters: 1})
	stream, err := app.Bus.JetStream().Stream(ctx, "THROUGHLINE_DLQ")
	if err != nil {
		t.Fatal(err)
	}
	m, err := dlqCopy(stream, "throughline.dlq."+domain.ReasonTooLarge)
	if err != nil || m.Header.Get(natsbus.HeaderError) == "" || m.Header.Get(natsbus.HeaderOmitted) != strconv.Itoa(len(body)) {
		t.Fatalf("dead-letter copy: %v %v", err, m)
	}
	dls, err := app.Store.DeadLetters(ctx, 1)
	if err != nil || len(dls) != 1 || string(dls[0].Data) != body {
		t.Fatalf("the database must keep the whole message: %v %d", err, len(dls))
	}
}

// TestHostileEventsOnExternalNATS: with a server at its default max_payload
// (1 MiB), a valid event posted over HTTP that does not fit with its
// headers is a clear 400, and one published over NATS that is refused is
// dead-lettered once.
func TestHostileEventsOnExternalNATS(t *testing.T) {
	cfg := testConfig(t)
	app, _, names := startAppOnExternalNATS(t, &cfg)
	tok := token(t, app, domain.ScopeIngest, domain.ScopeRead)
	limit := int(app.Bus.Conn().MaxPayload())
	if limit > 1<<20 {
		t.Skipf("the server takes %d bytes; this test needs the default 1 MiB", limit)
	}
	data := `{"context":{"version":"0.4.1","timestamp":"2026-03-02T10:00:00Z"},"subject":{"id":"c-1"},"pad":"` + strings.Repeat("x", limit-120) + `"}`
	binary := http.Header{"ce-specversion": {"1.0"}, "ce-id": {"big"}, "ce-source": {"/hostile"}, "ce-type": {"dev.cdevents.change.created.0.4.0"}, "Content-Type": {"application/json"}}
	code, body := postEvents(t, app, tok, binary, []byte(data))
	if msg, _ := body["error"].(map[string]any)["message"].(string); code != http.StatusBadRequest || !strings.Contains(msg, "NATS server takes") {
		t.Errorf("event over max_payload: %d %.300v", code, body)
	}
	bad := hostileEvent(`"bad"`, "", `{"context":{"timestamp":"soon"},"subject":{"id":"c"},"pad":"`+strings.Repeat("x", limit-250)+`"}`)
	if _, err := natsPublisher(t, cfg.NATS).Publish(context.Background(), names.SubjectPrefix+".events.delivery.big", []byte(bad)); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, app, tok, ingestStatus{DeadLetters: 1})
}
