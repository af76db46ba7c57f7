package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/throughline/throughline/adapters/sqlstore"
	"github.com/throughline/throughline/adapters/sqlstore/sqltest"
	"github.com/throughline/throughline/domain"
	"github.com/throughline/throughline/domain/domaintest"
)

// Coverage starts at the day of the earliest stored delivery event, moves
// earlier when an earlier one arrives (even one that changes no DORA figure),
// ignores telemetry, and the rates per day of cached reports follow it.
func TestCoverageFollowsTheEarliestDeliveryEvent(t *testing.T) {
	sqltest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		cov, err := s.Coverage(ctx)
		if err != nil || !cov.From.IsZero() {
			t.Fatalf("empty store: coverage %+v, %v", cov, err)
		}
		// The story starts with change c1 at -48h: Saturday 28 February.
		storeEvents(t, s, domaintest.DORAStory(), 100)
		if cov, err = s.Coverage(ctx); err != nil || cov.From.Format(domain.DateLayout) != "2026-02-28" {
			t.Fatalf("coverage from %v, %v; want 2026-02-28", cov.From, err)
		}
		// 9 deployments between 2 and 5 March; the window 23 Feb – 8 Mar has
		// 14 days of which 9 are covered (28 Feb – 8 Mar): 1 per day.
		w := window(t, "2026-02-23", "2026-03-08")
		r, err := s.DORAReport(ctx, w, domain.DORAFilter{})
		if err != nil || r.CoveredDays != 9 || r.PerDay == nil || *r.PerDay != 1 {
			t.Fatalf("covered %d per day %v (%v); want 9 and 1", r.CoveredDays, r.PerDay, err)
		}
		// Telemetry from earlier does not cover delivery.
		early := time.Date(2026, 2, 20, 12, 0, 0, 0, time.UTC)
		storeAll(t, s, []domain.EventRecord{{Event: domain.Event{Identity: domain.Identity{Source: "/otel", ID: "t-early"}, Type: "t",
			Kind: domain.KindTelemetry, Time: early, Samples: []domain.Sample{{Metric: "m", Value: 1, Time: early}}}, Raw: []byte(`{}`), StreamSeq: 1000}}, 1)
		if r, _ = s.DORAReport(ctx, w, domain.DORAFilter{}); r.CoveredDays != 9 {
			t.Errorf("telemetry moved coverage: %d covered days", r.CoveredDays)
		}
		// A change opened on 24 February covers from then on: 13 days.
		storeEvents(t, s, []domain.Event{{Identity: domain.Identity{Source: "/late", ID: "c0"}, Type: "dev.cdevents.change.created.0.3.0",
			Kind: domain.KindChangeCreated, Time: time.Date(2026, 2, 24, 8, 0, 0, 0, time.UTC), SubjectID: "c0"}}, 1)
		if r, _ = s.DORAReport(ctx, w, domain.DORAFilter{}); r.CoveredDays != 13 || *r.PerDay != 9.0/13 {
			t.Errorf("after an earlier change: covered %d per day %v; want 13 and 9/13", r.CoveredDays, *r.PerDay)
		}
		trend, err := s.DORATrend(ctx, w, domain.BucketWeek, domain.DORAFilter{})
		if err != nil || len(trend) != 2 || trend[0].CoveredDays != 6 || trend[1].CoveredDays != 7 {
			t.Fatalf("weeks %+v %v", trend, err)
		}
	})
}

// Imported events (a bulk load) cover their days too.
func TestImportedEventsCoverTheirDays(t *testing.T) {
	s := sqltest.Open(t, sqlstore.SQLite)
	ctx := context.Background()
	at := time.Date(2025, 11, 3, 10, 0, 0, 0, time.UTC)
	if _, err := s.ImportEvents(ctx, []domain.EventRecord{
		{Event: domain.Event{Identity: domain.Identity{Source: "/x", ID: "1"}, Type: "t", Kind: domain.KindTelemetry, Time: at.AddDate(0, -1, 0)}, Raw: []byte(`{}`)},
		{Event: domain.Event{Identity: domain.Identity{Source: "/x", ID: "2"}, Type: "dev.cdevents.change.created.0.3.0", Kind: domain.KindChangeCreated, Time: at, SubjectID: "c"}, Raw: []byte(`{}`)},
	}); err != nil {
		t.Fatal(err)
	}
	cov, err := s.Coverage(ctx)
	if err != nil || cov.From.Format(domain.DateLayout) != "2025-11-03" {
		t.Fatalf("coverage from %v (%v); want 2025-11-03", cov.From, err)
	}
}
