package sqlstore_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/throughline/throughline/adapters/sqlstore"
	"github.com/throughline/throughline/adapters/sqlstore/sqltest"
	"github.com/throughline/throughline/domain"
)

// Two days of traffic ending at T, 1,000 requests an hour, of which 995 are
// good except in the last hour (500 good, spread over its minutes). Against
// 99%: window 48,000 requests, 47 × 5 + 500 = 735 bad, 480 allowed →
// budget left 1 − 735/480; the last hour burns (500/1000)/0.01 = 50×.
func TestSLOsStoredAndEvaluatedFromRollups(t *testing.T) {
	T := time.Now().UTC().Truncate(time.Hour)
	sqltest.EachDialectWith(t, sqlstore.Options{Now: func() time.Time { return T }}, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		var samples []domain.Sample
		for h := 1; h <= 48; h++ {
			if h == 1 {
				for m := 0; m < 60; m++ { // the last hour minute by minute
					at := T.Add(-time.Hour + time.Duration(m)*time.Minute)
					g := 500.0 / 60
					samples = append(samples, domain.Sample{Metric: "req.total", Value: 1000.0 / 60, Time: at, Attributes: map[string]string{"svc": "a"}},
						domain.Sample{Metric: "req.good", Value: g, Time: at, Attributes: map[string]string{"svc": "a"}})
				}
				continue
			}
			at := T.Add(-time.Duration(h) * time.Hour)
			samples = append(samples, domain.Sample{Metric: "req.total", Value: 1000, Time: at, Attributes: map[string]string{"svc": "a"}},
				domain.Sample{Metric: "req.good", Value: 995, Time: at, Attributes: map[string]string{"svc": "a"}},
				domain.Sample{Metric: "req.total", Value: 99999, Time: at, Attributes: map[string]string{"svc": "b"}})
		}
		if _, err := s.StoreEvents(ctx, []domain.EventRecord{{Event: domain.Event{Identity: domain.Identity{Source: "/t", ID: "t"},
			Kind: domain.KindTelemetry, Type: "x", Time: T, Samples: samples}, Raw: []byte(`{}`), StreamSeq: 1}}); err != nil {
			t.Fatal(err)
		}
		slo := domain.SLO{Name: "a-availability", Service: "a", Good: domain.MetricQuery{Metric: "req.good", Attributes: map[string]string{"svc": "a"}},
			Total: domain.MetricQuery{Metric: "req.total", Attributes: map[string]string{"svc": "a"}}, Target: 0.99, WindowDays: 28}
		created, err := s.CreateSLO(ctx, slo, "t")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateSLO(ctx, slo, "t"); domain.ErrorCode(err) != domain.ECONFLICT {
			t.Errorf("a second SLO of the same name: %v", err)
		}
		st, err := s.EvaluateSLO(ctx, created, T)
		if err != nil {
			t.Fatal(err)
		}
		near := func(what string, got *float64, want float64) {
			t.Helper()
			if got == nil || math.Abs(*got-want) > 1e-9*math.Max(1, math.Abs(want)) {
				t.Errorf("%s = %v, want %v", what, got, want)
			}
		}
		if math.Abs(st.Window.Total-48000) > 1e-6 || math.Abs(st.Window.Good-(47*995+500)) > 1e-6 {
			t.Errorf("window %+v", st.Window)
		}
		near("budget", st.Remaining, 1-735.0/480)
		near("1h burn", st.BurnRates[time.Hour], 50)
		near("5m burn", st.BurnRates[5*time.Minute], 50)
		// 6 h: the bad hour and five hourly samples of 5 bad: 525 of 6,000;
		// 1 d: 615 of 24,000 → 2.56, under 3: the 3× alert holds back.
		near("6h burn", st.BurnRates[6*time.Hour], 525.0/6000/0.01)
		near("1d burn", st.BurnRates[24*time.Hour], 615.0/24000/0.01)
		if st.Posture != domain.PostureFreeze || st.AlertKey() != "14.4x-1h,6x-6h,1x-3d" {
			t.Errorf("posture %q, alerts %q", st.Posture, st.AlertKey())
		}

		// Import replaces by name, all or none.
		changed := created
		changed.Target = 0.95
		other := slo
		other.Name, other.Service = "b-availability", "b"
		if c, u, err := s.ImportSLOs(ctx, []domain.SLO{changed, other}, "t"); err != nil || c != 1 || u != 1 {
			t.Fatalf("import: %d created, %d updated, %v", c, u, err)
		}
		bad := other
		bad.Name, bad.Target = "c", 2
		if _, _, err := s.ImportSLOs(ctx, []domain.SLO{{Name: "d-ok", Service: "d", Good: slo.Good, Total: slo.Total, Target: 0.9, WindowDays: 30}, bad}, "t"); domain.ErrorCode(err) != domain.EINVALID {
			t.Errorf("an invalid import: %v", err)
		}
		all, err := s.SLOs(ctx)
		if err != nil || len(all) != 2 || all[0].Target != 0.95 || all[0].Good.Attributes["svc"] != "a" {
			t.Fatalf("after imports: %+v %v", all, err)
		}

		// The published state survives; an edit does not reset it.
		if err := s.SetSLOState(ctx, created.ID, sqlstore.SLOState{AlertKey: st.AlertKey(), Posture: st.Posture, At: T}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateSLO(ctx, created.ID, "t", func(x *domain.SLO) error { x.DisplayName = "A"; return nil }); err != nil {
			t.Fatal(err)
		}
		states, err := s.SLOStates(ctx)
		if err != nil || states[created.ID].AlertKey != st.AlertKey() || states[created.ID].Posture != domain.PostureFreeze {
			t.Errorf("states %+v %v", states, err)
		}
		if err := s.DeleteSLO(ctx, created.ID, "t"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SLO(ctx, created.ID); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Errorf("deleted SLO: %v", err)
		}
	})
}
