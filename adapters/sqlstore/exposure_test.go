package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/throughline/throughline/adapters/sqlstore"
	"github.com/throughline/throughline/adapters/sqlstore/sqltest"
	"github.com/throughline/throughline/domain"
)

// An idea's exposure is the production flag changes and rollout steps that
// name it, in time order; the anchor is where it became full. Here the flag
// reaches 100 % at 12:00 and the rollout is promoted at 15:00: with both,
// the later (15:00). A staging flag change and another idea's rollout do
// not count.
func TestIdeaExposureAnchorsEvidence(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	sqltest.EachDialectWith(t, sqlstore.Options{Now: func() time.Time { return t0.AddDate(0, 0, 1) }}, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		var recs []domain.EventRecord
		add := func(id string, h int, e domain.Event) {
			e.Identity = domain.Identity{Source: "/exposure", ID: id}
			e.Time = t0.Add(time.Duration(h) * time.Hour)
			recs = append(recs, domain.EventRecord{Event: e, Raw: []byte(`{}`), StreamSeq: uint64(len(recs) + 1)})
		}
		flag := func(id string, h int, env string, pct float64, ideas ...string) {
			add(id, h, domain.Event{Kind: domain.KindFlagChanged, Environment: env, Ideas: ideas,
				Flag: &domain.FlagChange{Key: "one-tap", Enabled: true, Percentage: pct, Services: []string{"checkout"}, Environment: env}})
		}
		step := func(id string, h int, kind domain.EventKind, weight float64, ideas ...string) {
			add(id, h, domain.Event{Kind: kind, Service: "checkout", Environment: "production", Artifact: "A1", Ideas: ideas,
				Rollout: &domain.RolloutStep{Weight: &weight}})
		}
		add("dep", 8, domain.Event{Kind: domain.KindServiceDeployed, SubjectID: "checkout", Service: "checkout", Environment: "production", Artifact: "A0", Ideas: []string{"CHK-1"}})
		flag("staging-100", 9, "staging", 100, "CHK-1")
		flag("prod-5", 10, "production", 5, "CHK-1")
		flag("prod-100", 12, "production", 100, "CHK-1")
		step("r-start", 13, domain.KindRolloutStarted, 10, "CHK-1")
		step("r-promote", 15, domain.KindRolloutPromoted, 100, "CHK-1")
		step("other-promote", 11, domain.KindRolloutPromoted, 100, "CHK-2")
		if _, err := s.StoreEvents(ctx, recs); err != nil {
			t.Fatal(err)
		}
		points, err := s.IdeaExposure(ctx, "CHK-1")
		if err != nil {
			t.Fatal(err)
		}
		var got []float64
		for _, p := range points {
			got = append(got, p.Percent)
		}
		if len(points) != 4 || got[0] != 5 || got[1] != 100 || got[2] != 10 || got[3] != 100 || !points[1].Full || !points[3].Full {
			t.Fatalf("exposure %+v", points)
		}
		a := domain.EvidenceAnchor(points, t0.Add(8*time.Hour))
		if a.Kind != domain.AnchorFlagAndRollout || !a.At.Equal(t0.Add(15*time.Hour)) {
			t.Errorf("anchor %+v; want flag and rollout full at 15:00", a)
		}
		// Another idea with only a deployment anchors there.
		none, err := s.IdeaExposure(ctx, "CHK-9")
		if err != nil || len(none) != 0 {
			t.Fatalf("an idea with no flag: %v %v", none, err)
		}
	})
}
