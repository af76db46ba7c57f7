package main

import (
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/throughline/throughline/adapters/sqlstore"
	"github.com/throughline/throughline/domain"
)

// TestSLOAlertsArePublishedToNATS subscribes to the alert subjects like any
// other system would and watches an SLO go from firing to resolved.
func TestSLOAlertsArePublishedToNATS(t *testing.T) {
	cfg := testConfig(t)
	cfg.SLOInterval = 0 // rounds are driven by the test
	app, _ := startApp(t, cfg)
	ctx := t.Context()

	nc, err := nats.Connect(app.Embedded.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	sub, err := nc.SubscribeSync("throughline.alerts.slo.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}

	now := time.Now().UTC()
	slo := checkoutOutage(t, app.Store, now)

	type alert struct {
		SpecVersion string `json:"specversion"`
		Type        string `json:"type"`
		Source      string `json:"source"`
		Subject     string `json:"subject"`
		ID          string `json:"id"`
		Data        struct {
			SLO             string   `json:"slo"`
			Service         string   `json:"service"`
			State           string   `json:"state"`
			Posture         string   `json:"posture"`
			PreviousPosture string   `json:"previous_posture"`
			BudgetRemaining *float64 `json:"budget_remaining"`
			Firing          []struct {
				Name         string   `json:"name"`
				LongBurnRate *float64 `json:"long_burn_rate"`
			} `json:"firing"`
		} `json:"data"`
	}
	next := func() (alert, *nats.Msg) {
		t.Helper()
		msg, err := sub.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatalf("no alert message: %v", err)
		}
		var a alert
		if err := json.Unmarshal(msg.Data, &a); err != nil {
			t.Fatalf("alert is not JSON: %v\n%s", err, msg.Data)
		}
		return a, msg
	}

	if err := app.evaluateSLOs(ctx); err != nil {
		t.Fatal(err)
	}
	a, msg := next()
	if msg.Subject != "throughline.alerts.slo.checkout" || msg.Header.Get("Content-Type") != "application/cloudevents+json" {
		t.Errorf("subject %q, content type %q", msg.Subject, msg.Header.Get("Content-Type"))
	}
	if a.SpecVersion != "1.0" || a.Type != "dev.throughline.slo.alert.v1" || a.Subject != "checkout" || a.ID == "" || a.Source != "/throughline/slos/checkout-availability" {
		t.Errorf("CloudEvent attributes %+v", a)
	}
	if a.Data.State != "firing" || a.Data.Posture != "change-freeze" || a.Data.PreviousPosture != "" || len(a.Data.Firing) != 4 {
		t.Errorf("firing alert data %+v", a.Data)
	}
	if r := a.Data.BudgetRemaining; r == nil || math.Abs(*r+99) > 1e-9 {
		t.Errorf("budget remaining %v, want -99", r)
	}
	if b := a.Data.Firing[0].LongBurnRate; b == nil || math.Abs(*b-100) > 1e-9 {
		t.Errorf("1h burn rate %v, want 100", b)
	}

	// The same state again publishes nothing.
	if err := app.evaluateSLOs(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := sub.NextMsg(300 * time.Millisecond); !errors.Is(err, nats.ErrTimeout) {
		t.Errorf("a repeated state was published again (%v)", err)
	}

	// The SLO now counts the requests as good: the alerts resolve and the
	// posture is back to normal.
	if _, err := app.Store.UpdateSLO(ctx, slo.ID, "test", func(s *domain.SLO) error { s.Good.Metric = "checkout.requests"; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := app.evaluateSLOs(ctx); err != nil {
		t.Fatal(err)
	}
	a, _ = next()
	if a.Data.State != "resolved" || a.Data.Posture != "normal" || a.Data.PreviousPosture != "change-freeze" || len(a.Data.Firing) != 0 {
		t.Errorf("resolved alert data %+v", a.Data)
	}

	// Systems that subscribe late find both in the alerts stream.
	js, err := app.Bus.JetStream().Stream(ctx, "THROUGHLINE_ALERTS")
	if err != nil {
		t.Fatal(err)
	}
	info, err := js.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 2 {
		t.Errorf("alerts stream holds %d messages, want 2", info.State.Msgs)
	}
}

// checkoutOutage stores ten minutes up to now in which every request to
// checkout failed — 1,000 bad of 1,000 against a 99% target (10 allowed):
// budget left 1 − 1000/10 = −99, and every window burns at 1 / 0.01 = 100× —
// and the SLO that says so.
func checkoutOutage(t *testing.T, store *sqlstore.Store, now time.Time) domain.SLO {
	t.Helper()
	var samples []domain.Sample
	for k := 1; k <= 10; k++ {
		at := now.Add(-time.Duration(k) * time.Minute)
		samples = append(samples, domain.Sample{Metric: "checkout.requests", Value: 100, Time: at}, domain.Sample{Metric: "checkout.ok", Value: 0, Time: at})
	}
	if _, err := store.StoreEvents(t.Context(), []domain.EventRecord{{Event: domain.Event{Identity: domain.Identity{Source: "/t", ID: "outage"},
		Kind: domain.KindTelemetry, Type: "dev.throughline.telemetry.v1", Time: now, Samples: samples}, Raw: []byte(`{}`), StreamSeq: 1}}); err != nil {
		t.Fatal(err)
	}
	slo, err := store.CreateSLO(t.Context(), domain.SLO{Name: "checkout-availability", Service: "checkout", Good: domain.MetricQuery{Metric: "checkout.ok"},
		Total: domain.MetricQuery{Metric: "checkout.requests"}, Target: 0.99, WindowDays: 28}, "test")
	if err != nil {
		t.Fatal(err)
	}
	return slo
}
