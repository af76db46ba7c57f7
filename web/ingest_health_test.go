package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/throughline/throughline/adapters/sqlstore"
	"github.com/throughline/throughline/adapters/sqlstore/sqltest"
	"github.com/throughline/throughline/assets"
	"github.com/throughline/throughline/domain"
	"github.com/throughline/throughline/web"
)

// consumerEnv is a server whose ingest consumer and liveness the test sets.
func consumerEnv(t *testing.T, consumer func() (web.ConsumerStatus, error), live func() error) *hostileEnv {
	t.Helper()
	store := sqltest.Open(t, sqlstore.SQLite)
	a, err := assets.New()
	if err != nil {
		t.Fatal(err)
	}
	s, err := web.New(web.Config{Version: "test", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, web.Deps{
		Auth: store, Admin: store, Assets: a, Ingest: store, DORA: store, Roadmap: store, ValueStreams: store, StoredEvents: store,
		Events:   gatewayFunc(func(context.Context, http.Header, []byte) ([]web.EventResult, error) { return nil, nil }),
		Replayer: replayFunc(func(context.Context, int64) error { return nil }),
		Consumer: func(context.Context) (web.ConsumerStatus, error) { return consumer() },
		Live:     []web.Check{{Name: "nats", Ping: func(context.Context) error { return live() }}},
		Checks: []web.Check{{Name: "consumer", Ping: func(context.Context) error {
			st, err := consumer()
			if err == nil && st.Problem != "" {
				err = errors.New(st.Problem)
			}
			return err
		}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	e := &hostileEnv{handler: s.Handler(), store: store}
	e.seed(t)
	return e
}

// A deleted (or stalled) consumer shows on /readyz, /metrics and the
// ingestion page; a NATS connection that cannot be opened again fails
// /healthz, so that an orchestrator restarts the process.
func TestConsumerAndConnectionProblemsAreReported(t *testing.T) {
	st := web.ConsumerStatus{Present: true, Pending: 12, AckPending: 3}
	var liveErr error
	e := consumerEnv(t, func() (web.ConsumerStatus, error) { return st, nil }, func() error { return liveErr })
	metric := func(name string) string {
		t.Helper()
		rec := e.do(http.MethodGet, &url.URL{Path: "/metrics"}, nil, http.Header{"Authorization": {"Bearer " + e.token}})
		for _, line := range strings.Split(rec.Body.String(), "\n") {
			if v, ok := strings.CutPrefix(line, name+" "); ok {
				return v
			}
		}
		return "absent"
	}
	if rec := e.get("/readyz"); rec.Code != http.StatusOK {
		t.Fatalf("ready with the consumer flowing: %d %s", rec.Code, rec.Body.String())
	}
	if got := metric("throughline_consumer_present") + " " + metric("throughline_consumer_pending_messages") + " " + metric("throughline_consumer_stalled_seconds"); got != "1 12 0" {
		t.Errorf("metrics while flowing: %s", got)
	}

	st = web.ConsumerStatus{Problem: "consumer throughline-ingest is missing on stream THROUGHLINE_EVENTS"}
	rec := e.get("/readyz")
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "missing") {
		t.Errorf("readyz without the consumer: %d %s", rec.Code, rec.Body.String())
	}
	if got := metric("throughline_consumer_present") + " " + metric("throughline_consumer_pending_messages"); got != "0 absent" {
		t.Errorf("metrics without the consumer: %s", got)
	}
	if rec := e.get("/settings/ingest"); !strings.Contains(rec.Body.String(), `data-testid="consumer-problem"`) || !strings.Contains(rec.Body.String(), "is missing on stream") {
		t.Errorf("the ingestion page does not say the consumer is missing: %d", rec.Code)
	}

	st = web.ConsumerStatus{Present: true, Pending: 40, Stalled: 5 * time.Minute, Problem: "consumer throughline-ingest stalled: 40 messages waiting, none finished for 5 min"}
	if rec := e.get("/readyz"); rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "stalled") {
		t.Errorf("readyz while stalled: %d %s", rec.Code, rec.Body.String())
	}
	if got := metric("throughline_consumer_stalled_seconds"); got != "300" {
		t.Errorf("stalled seconds %s; want 300", got)
	}

	if rec := e.get("/healthz"); rec.Code != http.StatusOK {
		t.Errorf("healthz while live: %d", rec.Code)
	}
	liveErr = errors.New("the NATS connection closed 3 min ago (nats: maximum control line exceeded) and could not be opened again")
	rec = e.get("/healthz")
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "maximum control line") {
		t.Errorf("healthz with the connection dead: %d %s", rec.Code, rec.Body.String())
	}
}

// POST /api/v1/events says what became of each event, and when the events
// stream stops taking them part-way it answers 503 saying exactly which
// were accepted before, instead of "nothing was accepted".
func TestPostEventsSaysWhichWereAccepted(t *testing.T) {
	var results []web.EventResult
	var failure error
	e := newEnvWith(t, envOptions{events: func(*sqlstore.Store) web.EventGateway {
		return gatewayFunc(func(context.Context, http.Header, []byte) ([]web.EventResult, error) {
			out := append([]web.EventResult(nil), results...)
			return out, failure
		})
	}})
	_, secret, err := e.store.CreateToken(context.Background(), "ci", []domain.Scope{domain.ScopeIngest})
	if err != nil {
		t.Fatal(err)
	}
	post := func() (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/api/v1/events", strings.NewReader("[]"))
		req.Header.Set("Authorization", "Bearer "+secret)
		req.Header.Set("Content-Type", "application/cloudevents-batch+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	statuses := func(body map[string]any) string {
		var out []string
		list, _ := body["results"].([]any)
		for _, r := range list {
			out = append(out, r.(map[string]any)["status"].(string))
		}
		return strings.Join(out, ",")
	}
	results = []web.EventResult{
		{Index: 0, ID: "a", Source: "/ci", Accepted: true},
		{Index: 1, ID: "b", Source: "/ci", Accepted: true, Duplicate: true},
		{Index: 2, ID: "c", Source: "/ci", Reason: domain.ReasonInvalidContent, Message: "id is 65537 bytes long; the limit is 1024"},
		{Index: 3, ID: "d", Source: "/ci"},
	}
	failure = domain.Errorf(domain.EUNAVAILABLE, "The events stream did not acknowledge the event (timeout); it was not accepted, try again.")
	code, body := post()
	msg, _ := body["error"].(map[string]any)["message"].(string)
	if code != http.StatusServiceUnavailable || body["accepted"] != 2.0 || statuses(body) != "accepted,duplicate,rejected,not_published" ||
		!strings.Contains(msg, "2 of 4 events were accepted") || strings.Contains(msg, "nothing was accepted") {
		t.Errorf("a batch cut short: %d %v", code, body)
	}

	results[3].Accepted, failure = true, nil
	code, body = post()
	rejected, _ := body["rejected"].([]any)
	if code != http.StatusAccepted || body["accepted"] != 3.0 || statuses(body) != "accepted,duplicate,rejected,accepted" || len(rejected) != 1 {
		t.Errorf("a batch with one refused: %d %v", code, body)
	}

	results = results[2:3]
	code, body = post()
	if code != http.StatusBadRequest || statuses(body) != "rejected" {
		t.Errorf("one refused event: %d %v", code, body)
	}
}
