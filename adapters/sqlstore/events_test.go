package sqlstore_test

import (
	"context"
	"fmt"
	"math/rand"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/throughline/throughline/adapters/sqlstore"
	"github.com/throughline/throughline/adapters/sqlstore/sqltest"
	"github.com/throughline/throughline/domain"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// storeClock puts the stores of these tests on the day after t0, so that the
// history is recent enough for minute rollups.
var storeOpts = sqlstore.Options{Now: func() time.Time { return t0.Add(24 * time.Hour) }}

func at(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }

func rec(seq uint64, ev domain.Event) domain.EventRecord {
	if ev.Source == "" {
		ev.Source = "/test"
	}
	ev.Type = "dev.cdevents." + string(ev.Kind) + ".0.3.0"
	return domain.EventRecord{Event: ev, Raw: []byte(fmt.Sprintf(`{"id":%q}`, ev.ID)), Subject: "throughline.events.delivery.x", StreamSeq: seq}
}

// history is a small delivery story: a change, its artifact, deployments, an
// incident, and telemetry — written so that order matters if projections are
// wrong.
func history() []domain.EventRecord {
	evs := []domain.Event{
		{Identity: domain.Identity{ID: "c1-created"}, Kind: domain.KindChangeCreated, Time: at(0), SubjectID: "shop#1", Repository: "shop", Ideas: []string{"CHK-1"}},
		{Identity: domain.Identity{ID: "c1-merged"}, Kind: domain.KindChangeMerged, Time: at(60), SubjectID: "shop#1", Repository: "shop"},
		{Identity: domain.Identity{ID: "c1-reviewed"}, Kind: domain.KindChangeReviewed, Time: at(30), SubjectID: "shop#1"},
		{Identity: domain.Identity{ID: "a1-packaged"}, Kind: domain.KindArtifactPackaged, Time: at(70), SubjectID: "art:1", Artifact: "art:1", Change: "shop#1"},
		{Identity: domain.Identity{ID: "a1-published"}, Kind: domain.KindArtifactPublish, Time: at(75), SubjectID: "art:1", Artifact: "art:1"},
		{Identity: domain.Identity{ID: "b1"}, Kind: domain.KindBuildFinished, Time: at(72), SubjectID: "build-1", Artifact: "art:1"},
		{Identity: domain.Identity{ID: "t1"}, Kind: "testsuiterun.finished", Time: at(80), SubjectID: "suite-1", Environment: "staging", Outcome: domain.OutcomeSuccess},
		{Identity: domain.Identity{ID: "d-staging"}, Kind: domain.KindServiceDeployed, Time: at(90), SubjectID: "checkout", Service: "checkout", Environment: "staging", Artifact: "art:1", Team: "payments"},
		{Identity: domain.Identity{ID: "d-prod"}, Kind: domain.KindServiceDeployed, Time: at(120), SubjectID: "checkout", Service: "checkout", Environment: "Production", Artifact: "art:1", Team: "payments-v2"},
		{Identity: domain.Identity{ID: "i1-resolved"}, Kind: domain.KindIncidentResolved, Time: at(200), SubjectID: "inc-1", Environment: "production", Service: "checkout"},
		{Identity: domain.Identity{ID: "i1-reported"}, Kind: domain.KindIncidentReported, Time: at(150), SubjectID: "inc-1", Environment: "production", Service: "checkout", Artifact: "art:1"},
		{Identity: domain.Identity{ID: "i1-detected"}, Kind: domain.KindIncidentDetected, Time: at(140), SubjectID: "inc-1", Environment: "production", Service: "checkout"},
		{Identity: domain.Identity{ID: "rb"}, Kind: domain.KindServiceRollback, Time: at(160), SubjectID: "checkout", Service: "checkout", Environment: "production", Artifact: "art:0"},
		{Identity: domain.Identity{ID: "tel-1"}, Kind: domain.KindTelemetry, Time: at(0), Samples: []domain.Sample{
			{Metric: "checkout.conversion", Value: 0.03, Time: at(1), Attributes: map[string]string{"service": "checkout", "env": "production"}},
			{Metric: "checkout.conversion", Value: 0.05, Time: at(1).Add(30 * time.Second), Attributes: map[string]string{"env": "production", "service": "checkout"}},
		}},
		{Identity: domain.Identity{ID: "tel-2"}, Kind: domain.KindTelemetry, Time: at(0), Samples: []domain.Sample{
			{Metric: "checkout.conversion", Value: 0.01, Time: at(61), Attributes: map[string]string{"service": "checkout", "env": "production"}},
		}},
	}
	out := make([]domain.EventRecord, len(evs))
	for i, ev := range evs {
		out[i] = rec(uint64(i+1), ev)
	}
	return out
}

func storeAll(t *testing.T, s *sqlstore.Store, recs []domain.EventRecord, batch int) []domain.StoreOutcome {
	t.Helper()
	var out []domain.StoreOutcome
	for start := 0; start < len(recs); start += batch {
		got, err := s.StoreEvents(context.Background(), recs[start:min(start+batch, len(recs))])
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, got...)
	}
	return out
}

func TestStoreEventsAndProjections(t *testing.T) {
	sqltest.EachDialectWith(t, storeOpts, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		h := history()
		for i, o := range storeAll(t, s, h, 100) {
			if o != domain.Stored {
				t.Fatalf("event %d: %v", i, o)
			}
		}
		dump, err := s.DumpProjections(ctx)
		if err != nil {
			t.Fatal(err)
		}
		us := func(min int) string { return fmt.Sprint(at(min).UnixMicro()) }
		want := map[string][]string{
			// first_at is the earliest change.* event; merged is known.
			"changes":          {"shop#1|" + us(0) + "|" + us(0) + "|" + us(60) + "|NULL|shop||" + us(30)},
			"artifact_changes": {"art:1|shop#1|" + us(70)},
			"artifacts":        {"art:1|" + us(70) + "|" + us(75)},
			// The incident starts at its earliest detected/reported event and
			// takes the artifact from the one event that names it.
			"incidents": {"inc-1|checkout|art:1|production|1|" + us(140) + "|" + us(200)},
			// The team comes from the latest event that names one.
			"services": {"checkout|payments-v2|" + us(120) + "|0"},
		}
		for table, lines := range want {
			if !reflect.DeepEqual(dump[table], lines) {
				t.Errorf("%s:\n got %q\nwant %q", table, dump[table], lines)
			}
		}
		if n := len(dump["deployments"]); n != 3 {
			t.Errorf("deployments: %d rows", n)
		}
		if !strings.Contains(strings.Join(dump["deployments"], "\n"), "/test|d-prod|checkout|Production|art:1|"+us(120)+"|deployed|1|0|0|payments-v2") {
			t.Errorf("production deployment (environment matched case-insensitively):\n%s", strings.Join(dump["deployments"], "\n"))
		}
		if len(dump["runs"]) != 2 || len(dump["event_ideas"]) != 1 || len(dump["incident_events"]) != 3 {
			t.Errorf("runs %v ideas %v incident events %v", dump["runs"], dump["event_ideas"], dump["incident_events"])
		}
		// Two samples in one minute: n 2, sum 0.08, min 0.03, max 0.05;
		// the hour bucket holds both, the next hour the third sample.
		attrs := `{"env":"production","service":"checkout"}`
		for _, line := range []string{
			"checkout.conversion|" + attrs + "|m|" + us(1) + "|2|0.08|0.03|0.05",
			"checkout.conversion|" + attrs + "|h|" + us(0) + "|2|0.08|0.03|0.05",
			"checkout.conversion|" + attrs + "|h|" + us(60) + "|1|0.01|0.01|0.01",
			"checkout.conversion|" + attrs + "|d|" + fmt.Sprint(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC).UnixMicro()) + "|3|0.09|0.01|0.05",
		} {
			found := false
			for _, l := range dump["metric_rollups"] {
				found = found || l == line
			}
			if !found {
				t.Errorf("rollup %q missing from %q", line, dump["metric_rollups"])
			}
		}
		st, err := s.IngestStatus(ctx)
		if err != nil || st != (domain.IngestStatus{Stored: int64(len(h)), Derived: int64(len(h))}) {
			t.Fatalf("status %+v %v", st, err)
		}
	})
}

func TestDuplicatesAndRedeliveries(t *testing.T) {
	sqltest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		h := history()
		storeAll(t, s, h, 5)
		before, _ := s.DumpProjections(ctx)

		// The same messages again (a crash before the acks): not counted.
		for i, o := range storeAll(t, s, h, 7) {
			if o != domain.Redelivered {
				t.Fatalf("redelivery %d: %v", i, o)
			}
		}
		// The same identities from other messages: duplicates.
		again := history()
		for i := range again {
			again[i].StreamSeq += 1000
		}
		for i, o := range storeAll(t, s, again, 100) {
			if o != domain.Duplicate {
				t.Fatalf("duplicate %d: %v", i, o)
			}
		}
		// Repeated inside one batch: the first is stored, the second a duplicate.
		pair := []domain.EventRecord{
			rec(5000, domain.Event{Identity: domain.Identity{ID: "new"}, Kind: domain.KindChangeCreated, Time: at(1), SubjectID: "shop#2"}),
			rec(5001, domain.Event{Identity: domain.Identity{ID: "new"}, Kind: domain.KindChangeCreated, Time: at(1), SubjectID: "shop#2"}),
		}
		got := storeAll(t, s, pair, 2)
		if got[0] != domain.Stored || got[1] != domain.Duplicate {
			t.Fatalf("in-batch: %v", got)
		}
		st, _ := s.IngestStatus(ctx)
		if st.Stored != int64(len(h))+1 || st.Duplicates != int64(len(h))+1 {
			t.Fatalf("status %+v", st)
		}
		after, _ := s.DumpProjections(ctx)
		delete(after, "changes")
		delete(before, "changes")
		if !reflect.DeepEqual(before, after) {
			t.Fatal("duplicates changed the projections")
		}
	})
}

func TestProjectionsIgnoreArrivalOrder(t *testing.T) {
	sqltest.EachDialectWith(t, storeOpts, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		createIdea(t, s, "CHK-1")
		h := history()
		storeAll(t, s, h, 100)
		want, _ := s.DumpProjections(ctx)
		if len(want["idea_flow"]) != 1 || !strings.Contains(want["idea_flow"][0], "checkout") {
			t.Fatalf("idea flow %v", want["idea_flow"])
		}
		for seed := int64(1); seed <= 3; seed++ {
			other := sqltest.OpenWith(t, s.Dialect(), storeOpts)
			createIdea(t, other, "CHK-1")
			shuffled := history()
			rand.New(rand.NewSource(seed)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			storeAll(t, other, shuffled, int(seed)) // batches of 1, 2 and 3
			got, _ := other.DumpProjections(ctx)
			if !reflect.DeepEqual(got, want) {
				for k := range want {
					if !reflect.DeepEqual(got[k], want[k]) {
						t.Errorf("seed %d, %s:\n got %q\nwant %q", seed, k, got[k], want[k])
					}
				}
			}
		}
	})
}

func TestRebuildReproducesProjections(t *testing.T) {
	sqltest.EachDialectWith(t, storeOpts, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		createIdea(t, s, "CHK-1")
		h := history()
		storeAll(t, s, h, 4)
		want, _ := s.DumpProjections(ctx)
		byID := map[string]domain.Event{}
		for _, r := range h {
			byID[r.Event.ID] = r.Event
		}
		gen, err := s.BeginRebuild(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if empty, _ := s.DumpProjections(ctx); len(empty["deployments"]) != 0 {
			t.Fatal("projections not emptied")
		}
		var after int64
		for {
			page, err := s.EventsAfter(ctx, after, 3)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			var items []sqlstore.Reapply
			for _, e := range page {
				items = append(items, sqlstore.Reapply{PK: e.PK, Event: byID[e.Identity.ID]})
				after = e.PK
			}
			if err := s.ReapplyEvents(ctx, gen, items); err != nil {
				t.Fatal(err)
			}
			// Applying the same page twice (a rebuild resumed) changes nothing.
			if err := s.ReapplyEvents(ctx, gen, items); err != nil {
				t.Fatal(err)
			}
		}
		if mid, _ := s.DumpProjections(ctx); reflect.DeepEqual(mid["idea_flow"], want["idea_flow"]) {
			t.Fatalf("idea flow not cleared by the rebuild: %v", mid["idea_flow"])
		}
		if err := s.RecomputeDerived(ctx); err != nil {
			t.Fatal(err)
		}
		got, _ := s.DumpProjections(ctx)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("rebuild differs:\n got %v\nwant %v", got, want)
		}
		if err := s.ReapplyEvents(ctx, gen-1, []sqlstore.Reapply{{PK: 1, Event: byID["c1-created"]}}); domain.ErrorCode(err) != domain.ECONFLICT {
			t.Fatalf("stale generation: %v", err)
		}
	})
}

func TestDeadLettersAreRecordedOnce(t *testing.T) {
	sqltest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		dl := domain.DeadLetter{StreamSeq: 42, Subject: "throughline.events.delivery.x", Reason: domain.ReasonNotJSON,
			Message: "body is not valid JSON", Data: []byte{0xff, 0x00}, Header: map[string][]string{"Nats-Msg-Id": {"x"}}}
		for i := 0; i < 3; i++ {
			ok, err := s.RecordDeadLetter(ctx, dl)
			if err != nil || ok != (i == 0) {
				t.Fatalf("attempt %d: recorded %v err %v", i, ok, err)
			}
		}
		// Without a stream sequence (never reached the stream) each one counts.
		dl.StreamSeq = 0
		for i := 0; i < 2; i++ {
			if ok, err := s.RecordDeadLetter(ctx, dl); err != nil || !ok {
				t.Fatal(ok, err)
			}
		}
		st, _ := s.IngestStatus(ctx)
		list, _ := s.DeadLetters(ctx, 10)
		if st.DeadLetters != 3 || len(list) != 3 || string(list[2].Data) != "\xff\x00" || list[2].Header["Nats-Msg-Id"][0] != "x" {
			t.Fatalf("status %+v list %+v", st, list)
		}
		if err := s.MarkReplayed(ctx, list[0].ID); err != nil {
			t.Fatal(err)
		}
		got, err := s.DeadLetter(ctx, list[0].ID)
		if err != nil || got.ReplayedAt.IsZero() {
			t.Fatalf("replayed: %+v %v", got, err)
		}
		if _, err := s.DeadLetter(ctx, 999); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Fatal(err)
		}
	})
}

func TestProductionEnvsChange(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	open := func(envs string) *sqlstore.Store {
		s, err := sqlstore.Open(ctx, sqlstore.Options{DataDir: dir, ProductionEnvs: domain.ParseProductionEnvs(envs)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := open("production,prod")
	if changed, err := s.SyncProductionEnvs(ctx); err != nil || changed {
		t.Fatal(changed, err)
	}
	storeAll(t, s, history(), 100)
	s.Close()
	s = open("live")
	defer s.Close()
	if changed, err := s.SyncProductionEnvs(ctx); err != nil || !changed {
		t.Fatal(changed, err)
	}
	dump, _ := s.DumpProjections(ctx)
	for _, l := range dump["deployments"] {
		if strings.Contains(l, "|1|0|0|") || strings.Contains(l, "|1|1|0|") {
			t.Errorf("still production after the change: %s", l)
		}
	}
}

func TestMinuteRollupsAreKeptForTheRetention(t *testing.T) {
	now := t0.Add(24 * time.Hour)
	clock := func() time.Time { return now }
	sqltest.EachDialectWith(t, sqlstore.Options{Now: clock, MinuteRetention: 2 * time.Hour}, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		sample := func(id string, ago time.Duration) domain.EventRecord {
			return rec(0, domain.Event{Identity: domain.Identity{ID: id}, Kind: domain.KindTelemetry, Time: now,
				Samples: []domain.Sample{{Metric: "m", Value: 1, Time: now.Add(-ago)}}})
		}
		storeAll(t, s, []domain.EventRecord{sample("recent", time.Hour), sample("old", 3*time.Hour)}, 10)
		count := func(res string) int {
			var n int
			if err := s.DB().NewRaw("SELECT count(*) FROM metric_rollups WHERE res = ?", res).Scan(ctx, &n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		// The old sample gets hour and day buckets but no minute bucket.
		if m, h := count("m"), count("h"); m != 1 || h != 2 {
			t.Fatalf("minute rows %d hour rows %d; want 1 and 2", m, h)
		}
		now = now.Add(2 * time.Hour)
		if n, err := s.PruneMinuteRollups(ctx); err != nil || n != 1 || count("m") != 0 || count("h") != 2 {
			t.Fatalf("pruned %d (%v); minute rows %d", n, err, count("m"))
		}
	})
}

func TestRawEventsAreCompressedAndReadBack(t *testing.T) {
	s := sqltest.Open(t, sqlstore.SQLite)
	ctx := context.Background()
	body := []byte(`{"specversion":"1.0","id":"x","source":"/s","type":"t","data":{"a":"` + strings.Repeat("abc", 200) + `"}}`)
	r := rec(1, domain.Event{Identity: domain.Identity{ID: "x"}, Kind: domain.KindChangeCreated, Time: t0, SubjectID: "c"})
	r.Raw = body
	storeAll(t, s, []domain.EventRecord{r}, 1)
	var stored []byte
	if err := s.DB().NewRaw("SELECT data FROM events").Scan(ctx, &stored); err != nil {
		t.Fatal(err)
	}
	if len(stored) >= len(body)/2 {
		t.Errorf("stored %d bytes for a %d-byte event", len(stored), len(body))
	}
	got, err := s.EventsAfter(ctx, 0, 10)
	if err != nil || len(got) != 1 || string(got[0].Data) != string(body) {
		t.Fatalf("read back %+v %v", got, err)
	}
}

// createIdea adds an idea in Now, planned at the start of the story.
func createIdea(t *testing.T, s *sqlstore.Store, key string) {
	t.Helper()
	if _, err := s.CreateIdea(context.Background(), domain.Idea{Key: key, Title: "Idea " + key, Horizon: domain.HorizonNow,
		FlowType: domain.FlowFeature, PlannedAt: at(-60)}, "pm"); err != nil {
		t.Fatal(err)
	}
}
