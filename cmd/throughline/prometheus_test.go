package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/throughline/throughline/adapters/cdevents"
	"github.com/throughline/throughline/domain"
	"github.com/throughline/throughline/domain/domaintest"
)

// recentStory is the DORA story of domaintest moved so that its Monday is
// ten days ago: all of it (two days before Monday to Friday morning) falls
// inside the trailing 30-day window of the DORA gauges.
func recentStory() (evs []domain.Event, shift time.Duration) {
	monday := domain.Midnight(time.Now()).AddDate(0, 0, -10)
	shift = monday.Sub(domaintest.Monday)
	for _, ev := range domaintest.DORAStory() {
		ev.Time = ev.Time.Add(shift)
		evs = append(evs, ev)
	}
	return evs, shift
}

// postEventsBatch sends events as one CloudEvents batch.
func postEventsBatch(t *testing.T, app *App, ingest string, evs []domain.Event) {
	t.Helper()
	var batch bytes.Buffer
	batch.WriteString("[")
	for i, ev := range evs {
		ce, err := cdevents.FromEvent(ev)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := cdevents.EncodeStructured(ce)
		if i > 0 {
			batch.WriteString(",")
		}
		batch.Write(b)
	}
	batch.WriteString("]")
	code, body := postEvents(t, app, ingest, http.Header{"Content-Type": {cdevents.ContentTypeBatch}}, batch.Bytes())
	if code != http.StatusAccepted || body["accepted"] != float64(len(evs)) {
		t.Fatalf("post events: %d %v", code, body)
	}
}

// scrape reads /metrics the way Prometheus does and parses it with
// Prometheus's own parser.
func scrape(t *testing.T, app *App, tok string) map[string]*dto.MetricFamily {
	t.Helper()
	code, raw := getRaw(t, app.URL()+"/metrics", tok)
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d %s", code, raw)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, raw)
	}
	return fams
}

// sample finds the value of the series with exactly these labels.
func sample(fams map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
	for _, m := range f.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			if l.GetValue() != "" {
				got[l.GetName()] = l.GetValue()
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(labels) {
			continue
		}
		switch {
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

func TestPrometheusMetricsMatchHandComputedNumbers(t *testing.T) {
	app, _ := startApp(t, testConfig(t))
	ingest := token(t, app, domain.ScopeIngest)
	read := token(t, app, domain.ScopeRead)
	evs, _ := recentStory()
	postEventsBatch(t, app, ingest, evs)

	// One duplicate (the first event again, without Nats-Msg-Id so that
	// JetStream lets it through) and one dead letter.
	js := natsPublisher(t, app.Embedded.ClientURL())
	ce, _ := cdevents.FromEvent(evs[0])
	first, _ := cdevents.EncodeStructured(ce)
	for _, body := range [][]byte{first, []byte(`{{{`)} {
		if _, err := js.Publish(context.Background(), "throughline.events.delivery.checkout", body); err != nil {
			t.Fatal(err)
		}
	}
	waitStatus(t, app, read, ingestStatus{Stored: int64(len(evs)), Duplicates: 1, DeadLetters: 1})

	// A request whose route has a parameter, to see the template, not the URL.
	getRaw(t, app.URL()+"/api/v1/ideas/NOPE-1", read)
	fams := scrape(t, app, read)

	for name, want := range map[string]float64{
		"throughline_events_stored_total":     float64(len(evs)),
		"throughline_events_duplicates_total": 1,
		"throughline_dead_letters_total":      1,
	} {
		if got, ok := sample(fams, name, map[string]string{}); !ok || got != want {
			t.Errorf("%s = %v (present %v); want %v", name, got, ok, want)
		}
		if fams[name].GetType() != dto.MetricType_COUNTER {
			t.Errorf("%s is a %v; want a counter", name, fams[name].GetType())
		}
	}
	for _, dep := range []string{"database", "nats"} {
		if got, ok := sample(fams, "throughline_dependency_up", map[string]string{"dependency": dep}); !ok || got != 1 {
			t.Errorf("throughline_dependency_up{dependency=%q} = %v, %v", dep, got, ok)
		}
	}
	for _, name := range []string{"throughline_consumer_pending_messages", "throughline_consumer_ack_pending_messages"} {
		if _, ok := sample(fams, name, map[string]string{}); !ok {
			t.Errorf("%s missing", name)
		}
	}

	// The story's arithmetic is in domain/dora_test.go; over the whole
	// story (rather than Monday to Thursday) incident I4 (1h) also counts
	// towards time to restore: median of 0.5h, 1h, 2h, 4h = 1.5h.
	// search deployed once (c1, started 48h before Monday, at 5h: 53h); all
	// services count c1 once, at checkout's D1.
	// The story starts with change c1 two days before its Monday (ten days
	// ago): the 30-day window has 13 covered days, and deployments per day
	// divide by them.
	const none = -1.0
	want := map[[2]string]map[string]float64{
		{"checkout", "payments"}: {"deployments": 8, "covered_days": 13, "deployments_per_day": 8.0 / 13, "lead_time_median_seconds": 36000,
			"lead_time_p90_seconds": 172800, "change_failure_rate": 4.0 / 7, "recovery_time_median_seconds": 5400,
			"time_to_restore_median_seconds": 5400, "rework_rate": 3.0 / 8},
		{"search", "discovery"}: {"deployments": 1, "covered_days": 13, "deployments_per_day": 1.0 / 13, "lead_time_median_seconds": 190800,
			"lead_time_p90_seconds": 190800, "change_failure_rate": 0, "recovery_time_median_seconds": none,
			"time_to_restore_median_seconds": none, "rework_rate": 0},
		{"", ""}: {"deployments": 9, "covered_days": 13, "deployments_per_day": 9.0 / 13, "lead_time_median_seconds": 36000,
			"lead_time_p90_seconds": 172800, "change_failure_rate": 0.5, "recovery_time_median_seconds": 5400,
			"time_to_restore_median_seconds": 5400, "rework_rate": 3.0 / 9},
	}
	for who, metrics := range want {
		labels := map[string]string{}
		if who[0] != "" {
			labels = map[string]string{"service": who[0], "team": who[1]}
		}
		for metric, v := range metrics {
			name := "throughline_dora_" + metric
			got, ok := sample(fams, name, labels)
			switch {
			case v == none && ok:
				t.Errorf("%s%v = %v; want it left out (no data)", name, labels, got)
			case v != none && (!ok || !near(got, v)):
				t.Errorf("%s%v = %v (present %v); want %v", name, labels, got, ok, v)
			}
		}
	}
	if h := fams["throughline_dora_deployments"].GetHelp(); !strings.Contains(h, "last 30 whole days ending today") {
		t.Errorf("HELP does not name the window: %q", h)
	}

	// Requests by route template, method and status class.
	if n, ok := sample(fams, "throughline_http_request_duration_seconds",
		map[string]string{"route": "/api/v1/ideas/:key", "method": "GET", "code": "4xx"}); !ok || n < 1 {
		t.Errorf("no request histogram for /api/v1/ideas/:key: %v %v", n, ok)
	}
	if n, ok := sample(fams, "throughline_http_request_duration_seconds",
		map[string]string{"route": "/api/v1/events", "method": "POST", "code": "2xx"}); !ok || n != 1 {
		t.Errorf("POST /api/v1/events counted %v times (present %v); want 1", n, ok)
	}
	for _, m := range fams["throughline_http_request_duration_seconds"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "route" && strings.Contains(l.GetValue(), "NOPE") {
				t.Errorf("a raw URL became a label: %v", m.GetLabel())
			}
		}
	}

	// A new deployment changes the DORA data: the cached gauges follow.
	next := domain.Event{Identity: domain.Identity{Source: "/story", ID: "later"}, Type: "dev.cdevents.service.deployed.0.3.0",
		Kind: domain.KindServiceDeployed, Time: time.Now().Add(-time.Hour).UTC(), SubjectID: "search", Service: "search",
		Environment: "production", Artifact: "B2", Team: "discovery"}
	postEventsBatch(t, app, ingest, []domain.Event{next})
	waitStatus(t, app, read, ingestStatus{Stored: int64(len(evs)) + 1, Duplicates: 1, DeadLetters: 1})
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, _ := sample(scrape(t, app, read), "throughline_dora_deployments", map[string]string{"service": "search", "team": "discovery"})
		if got == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("search deployments after a new one: %v; want 2", got)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Credentials: none → 401, a token without read → 403, both JSON.
	ingestOnly := ingest
	for tok, wantCode := range map[string]int{"": http.StatusUnauthorized, ingestOnly: http.StatusForbidden} {
		code, raw := getRaw(t, app.URL()+"/metrics", tok)
		if code != wantCode || !strings.Contains(string(raw), `"error"`) {
			t.Errorf("/metrics with token %q: %d %s; want %d JSON", tok, code, raw, wantCode)
		}
	}
}

func near(a, b float64) bool {
	d := a - b
	return d < 1e-9 && d > -1e-9
}
