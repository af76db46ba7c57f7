package sqlstore

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/uptrace/bun"

	"github.com/throughline/throughline/domain"
)

// Projection rows. Every upsert below is commutative (MIN, MAX, SUM, or a
// recomputation from all of an entity's events), so the projections do not
// depend on the order events arrive in, and concurrent writers agree.

type changeRow struct {
	bun.BaseModel `bun:"table:changes,alias:ch"`

	ChangeID    string `bun:"change_id,pk"`
	FirstAt     int64  `bun:"first_at"`
	CreatedAt   *int64 `bun:"created_at"`
	ReviewedAt  *int64 `bun:"reviewed_at"`
	MergedAt    *int64 `bun:"merged_at"`
	AbandonedAt *int64 `bun:"abandoned_at"`
	Repository  string `bun:"repository"`
	Source      string `bun:"source"`
}

type artifactChangeRow struct {
	bun.BaseModel `bun:"table:artifact_changes,alias:ac"`

	ArtifactID string `bun:"artifact_id,pk"`
	ChangeID   string `bun:"change_id,pk"`
	PackagedAt int64  `bun:"packaged_at"`
}

type artifactRow struct {
	bun.BaseModel `bun:"table:artifacts,alias:ar"`

	ArtifactID  string `bun:"artifact_id,pk"`
	PackagedAt  *int64 `bun:"packaged_at"`
	PublishedAt *int64 `bun:"published_at"`
}

type deploymentRow struct {
	bun.BaseModel `bun:"table:deployments,alias:d"`

	EventPK     int64  `bun:"event_pk,pk"`
	EventID     string `bun:"event_id"`
	Source      string `bun:"source"`
	Service     string `bun:"service"`
	Environment string `bun:"environment"`
	ArtifactID  string `bun:"artifact_id"`
	At          int64  `bun:"at"`
	Kind        string `bun:"kind"`
	Production  bool   `bun:"production"`
	Rollback    bool   `bun:"rollback"`
	Hotfix      bool   `bun:"hotfix"`
	Team        string `bun:"team"`
}

type incidentEventRow struct {
	bun.BaseModel `bun:"table:incident_events,alias:ie"`

	EventPK     int64  `bun:"event_pk,pk"`
	IncidentID  string `bun:"incident_id"`
	Kind        string `bun:"kind"`
	At          int64  `bun:"at"`
	Service     string `bun:"service"`
	ArtifactID  string `bun:"artifact_id"`
	Environment string `bun:"environment"`
}

type incidentRow struct {
	bun.BaseModel `bun:"table:incidents,alias:i"`

	IncidentID  string `bun:"incident_id,pk"`
	Service     string `bun:"service"`
	ArtifactID  string `bun:"artifact_id"`
	Environment string `bun:"environment"`
	Production  bool   `bun:"production"`
	StartedAt   *int64 `bun:"started_at"`
	ResolvedAt  *int64 `bun:"resolved_at"`
}

type runRow struct {
	bun.BaseModel `bun:"table:runs,alias:r"`

	EventPK     int64  `bun:"event_pk,pk"`
	Kind        string `bun:"kind"`
	SubjectID   string `bun:"subject_id"`
	ArtifactID  string `bun:"artifact_id"`
	Environment string `bun:"environment"`
	Pipeline    string `bun:"pipeline"`
	Outcome     string `bun:"outcome"`
	At          int64  `bun:"at"`
}

type eventIdeaRow struct {
	bun.BaseModel `bun:"table:event_ideas,alias:ei"`

	IdeaKey string `bun:"idea_key,pk"`
	EventPK int64  `bun:"event_pk,pk"`
	Kind    string `bun:"kind"`
	Ref     string `bun:"ref"`
	At      int64  `bun:"at"`
}

type serviceRow struct {
	bun.BaseModel `bun:"table:services,alias:sv"`

	Service    string `bun:"service,pk"`
	Team       string `bun:"team"`
	TeamAt     int64  `bun:"team_at"`
	TeamByUser bool   `bun:"team_by_user"`
}

type seriesRow struct {
	bun.BaseModel `bun:"table:metric_series,alias:ms"`

	ID     int64  `bun:"id,pk,autoincrement"`
	Metric string `bun:"metric"`
	Attrs  string `bun:"attrs"`
}

type rollupRow struct {
	bun.BaseModel `bun:"table:metric_rollups,alias:mr"`

	SeriesID int64   `bun:"series_id,pk"`
	Res      string  `bun:"res,pk"`
	Bucket   int64   `bun:"bucket,pk"`
	N        int64   `bun:"n"`
	Sum      float64 `bun:"sum"`
	Min      float64 `bun:"min"`
	Max      float64 `bun:"max"`
}

// Rollup resolutions and their bucket widths.
var resolutions = []struct {
	name  string
	width time.Duration
}{{"m", time.Minute}, {"h", time.Hour}, {"d", 24 * time.Hour}}

// minExpr keeps the smaller non-NULL value of a column on upsert.
func minExpr(alias, col string) string {
	return fmt.Sprintf("%[2]s = CASE WHEN EXCLUDED.%[2]s IS NULL THEN %[1]s.%[2]s WHEN %[1]s.%[2]s IS NULL OR EXCLUDED.%[2]s < %[1]s.%[2]s THEN EXCLUDED.%[2]s ELSE %[1]s.%[2]s END", alias, col)
}

// firstNonEmpty keeps an existing non-empty text column.
func firstNonEmpty(alias, col string) string {
	return fmt.Sprintf("%[2]s = CASE WHEN %[1]s.%[2]s = '' THEN EXCLUDED.%[2]s ELSE %[1]s.%[2]s END", alias, col)
}

func minPtr(a *int64, b int64) *int64 {
	if a == nil || b < *a {
		return &b
	}
	return a
}

// txState collects what a transaction learned that may be cached once it
// commits (and must be forgotten if it does not).
type txState struct {
	newSeries   map[seriesKey]int64
	skipDora    bool
	doraTouched bool // DORA state changed: readers' caches must refresh
	flowTouched bool // idea flow rows changed
}

type seriesKey struct{ metric, attrs string }

// remember caches what a committed transaction learned.
func (s *Store) remember(st *txState) {
	if len(st.newSeries) == 0 {
		return
	}
	s.seriesMu.Lock()
	defer s.seriesMu.Unlock()
	for k, id := range st.newSeries {
		s.series[k] = id
	}
}

// applyProjections updates every projection for newly stored events. A
// rebuild skips the DORA derived state (st.skipDora) and computes it once at
// the end.
func (s *Store) applyProjections(ctx context.Context, tx bun.Tx, st *txState, items []applied) error {
	if len(items) == 0 {
		return nil
	}
	if err := s.lockDerived(ctx, tx); err != nil {
		return err
	}
	changes := map[string]*changeRow{}
	artifactChanges := map[[2]string]*artifactChangeRow{}
	artifacts := map[string]*artifactRow{}
	services := map[string]*serviceRow{}
	var deployments []deploymentRow
	var incidentEvents []incidentEventRow
	incidentIDs := map[string]bool{}
	var runs []runRow
	var ideaLinks []eventIdeaRow
	var telemetry []domain.Event

	noteService := func(name, team string, at int64) {
		if name == "" {
			return
		}
		sv := services[name]
		if sv == nil {
			sv = &serviceRow{Service: name}
			services[name] = sv
		}
		if team != "" && at >= sv.TeamAt {
			sv.Team, sv.TeamAt = team, at
		}
	}

	for _, it := range items {
		ev := it.ev
		at := micros(ev.Time)
		ref := ev.SubjectID
		switch k := ev.Kind; {
		case k.IsChange():
			c := changes[ev.SubjectID]
			if c == nil {
				c = &changeRow{ChangeID: ev.SubjectID, FirstAt: at}
				changes[ev.SubjectID] = c
			}
			c.FirstAt = min(c.FirstAt, at)
			switch k {
			case domain.KindChangeCreated:
				c.CreatedAt = minPtr(c.CreatedAt, at)
			case domain.KindChangeReviewed:
				c.ReviewedAt = minPtr(c.ReviewedAt, at)
			case domain.KindChangeMerged:
				c.MergedAt = minPtr(c.MergedAt, at)
			case domain.KindChangeAbandoned:
				c.AbandonedAt = minPtr(c.AbandonedAt, at)
			}
			if c.Repository == "" {
				c.Repository = ev.Repository
			}
			if c.Source == "" {
				c.Source = ev.SubjectSource
			}
		case k == domain.KindArtifactPackaged:
			key := [2]string{ev.Artifact, ev.Change}
			if ac := artifactChanges[key]; ac == nil {
				artifactChanges[key] = &artifactChangeRow{ArtifactID: ev.Artifact, ChangeID: ev.Change, PackagedAt: at}
			} else {
				ac.PackagedAt = min(ac.PackagedAt, at)
			}
			a := artifacts[ev.Artifact]
			if a == nil {
				a = &artifactRow{ArtifactID: ev.Artifact}
				artifacts[ev.Artifact] = a
			}
			a.PackagedAt = minPtr(a.PackagedAt, at)
		case k == domain.KindArtifactPublish:
			a := artifacts[ev.Artifact]
			if a == nil {
				a = &artifactRow{ArtifactID: ev.Artifact}
				artifacts[ev.Artifact] = a
			}
			a.PublishedAt = minPtr(a.PublishedAt, at)
		case k.Subject() == "service" && (k.IsDeployment() || k == domain.KindServiceRemoved):
			deployments = append(deployments, deploymentRow{
				EventPK: it.pk, EventID: ev.ID, Source: ev.Source, Service: ev.Service,
				Environment: ev.Environment, ArtifactID: ev.Artifact, At: at, Kind: ev.Kind.Predicate(),
				Production: s.prodEnvs.Contains(ev.Environment), Rollback: k == domain.KindServiceRollback,
				Hotfix: ev.Hotfix, Team: ev.Team,
			})
			noteService(ev.Service, ev.Team, at)
			ref = ev.Artifact
		case k.Subject() == "incident":
			incidentEvents = append(incidentEvents, incidentEventRow{
				EventPK: it.pk, IncidentID: ev.SubjectID, Kind: ev.Kind.Predicate(), At: at,
				Service: ev.Service, ArtifactID: ev.Artifact, Environment: ev.Environment,
			})
			incidentIDs[ev.SubjectID] = true
			noteService(ev.Service, ev.Team, at)
		case k.IsBuild() || k.IsTestRun():
			runs = append(runs, runRow{
				EventPK: it.pk, Kind: string(k), SubjectID: ev.SubjectID, ArtifactID: ev.Artifact,
				Environment: ev.Environment, Pipeline: ev.PipelineName, Outcome: string(ev.Outcome), At: at,
			})
		case k == domain.KindTelemetry:
			telemetry = append(telemetry, ev)
		}
		for _, key := range ev.Ideas {
			ideaLinks = append(ideaLinks, eventIdeaRow{IdeaKey: key, EventPK: it.pk, Kind: string(ev.Kind), Ref: ref, At: at})
		}
	}

	w := newDoraWork()
	for id := range changes {
		w.leadChanges[id] = true
	}
	for _, d := range deployments {
		if d.Production && d.Kind != "removed" {
			w.service(d.Service, d.At)
		}
	}
	if err := s.markArtifactServices(ctx, tx, artifactChanges, w); err != nil {
		return err
	}
	if err := s.projectProgressive(ctx, tx, items, w); err != nil {
		return err
	}
	oldTeams, err := s.teamsOf(ctx, tx, keysOf(services))
	if err != nil {
		return err
	}

	if err := upsertAll(ctx, tx, values(changes), "change_id",
		"first_at = CASE WHEN EXCLUDED.first_at < ch.first_at THEN EXCLUDED.first_at ELSE ch.first_at END",
		minExpr("ch", "created_at"), minExpr("ch", "reviewed_at"), minExpr("ch", "merged_at"), minExpr("ch", "abandoned_at"),
		firstNonEmpty("ch", "repository"), firstNonEmpty("ch", "source")); err != nil {
		return fmt.Errorf("project changes: %w", err)
	}
	if err := upsertAll(ctx, tx, values(artifactChanges), "artifact_id, change_id",
		"packaged_at = CASE WHEN EXCLUDED.packaged_at < ac.packaged_at THEN EXCLUDED.packaged_at ELSE ac.packaged_at END"); err != nil {
		return fmt.Errorf("project artifact changes: %w", err)
	}
	if err := upsertAll(ctx, tx, values(artifacts), "artifact_id", minExpr("ar", "packaged_at"), minExpr("ar", "published_at")); err != nil {
		return fmt.Errorf("project artifacts: %w", err)
	}
	if err := insertAll(ctx, tx, deployments, "event_pk"); err != nil {
		return fmt.Errorf("project deployments: %w", err)
	}
	if err := insertAll(ctx, tx, runs, "event_pk"); err != nil {
		return fmt.Errorf("project runs: %w", err)
	}
	if err := insertAll(ctx, tx, dedupeLinks(ideaLinks), "idea_key, event_pk"); err != nil {
		return fmt.Errorf("project idea links: %w", err)
	}
	if err := upsertAll(ctx, tx, values(services), "service",
		"team = CASE WHEN sv.team_by_user OR EXCLUDED.team = '' OR EXCLUDED.team_at < sv.team_at THEN sv.team ELSE EXCLUDED.team END",
		"team_at = CASE WHEN sv.team_by_user OR EXCLUDED.team = '' OR EXCLUDED.team_at < sv.team_at THEN sv.team_at ELSE EXCLUDED.team_at END"); err != nil {
		return fmt.Errorf("project services: %w", err)
	}
	if err := insertAll(ctx, tx, incidentEvents, "event_pk"); err != nil {
		return fmt.Errorf("project incident events: %w", err)
	}
	if err := s.recomputeIncidents(ctx, tx, keys(incidentIDs), w); err != nil {
		return err
	}
	if err := s.markTeamChanges(ctx, tx, oldTeams, w); err != nil {
		return err
	}
	if !st.skipDora && !w.empty() {
		if err := s.processDora(ctx, tx, w); err != nil {
			return err
		}
		st.doraTouched = true
	}
	if !st.skipDora {
		// A rebuild recomputes every idea's flow once at the end instead.
		fw := newFlowWork()
		for _, l := range ideaLinks {
			fw.ideas[l.IdeaKey] = true
		}
		for id := range changes {
			fw.changes[id] = true
		}
		for _, ac := range artifactChanges {
			fw.changes[ac.ChangeID] = true
		}
		for c := range w.changed {
			fw.changes[c] = true
		}
		for id := range artifacts {
			fw.artifacts[id] = true
		}
		for _, r := range runs {
			if r.ArtifactID != "" {
				fw.artifacts[r.ArtifactID] = true
			}
		}
		for _, d := range deployments {
			if d.ArtifactID != "" {
				fw.artifacts[d.ArtifactID] = true
			}
		}
		if err := s.markReplacements(ctx, tx, deployments, fw); err != nil {
			return fmt.Errorf("find ideas to refresh: %w", err)
		}
		ideas, err := s.affectedIdeas(ctx, tx, fw)
		if err != nil {
			return fmt.Errorf("find ideas to refresh: %w", err)
		}
		touched, err := s.refreshFlow(ctx, tx, ideas)
		if err != nil {
			return fmt.Errorf("refresh idea flow: %w", err)
		}
		st.flowTouched = st.flowTouched || touched
	}
	return s.rollUp(ctx, tx, st, telemetry)
}

func keysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// markArtifactServices marks the services whose production deployments
// shipped an artifact that just gained a change: which changes those
// deployments carried may have changed.
func (s *Store) markArtifactServices(ctx context.Context, tx bun.Tx, links map[[2]string]*artifactChangeRow, w *doraWork) error {
	if len(links) == 0 {
		return nil
	}
	arts := map[string]bool{}
	for k := range links {
		arts[k[0]] = true
	}
	var rows []struct {
		Service string `bun:"service"`
		At      int64  `bun:"at"`
	}
	if err := tx.NewSelect().Model((*deploymentRow)(nil)).Column("service").ColumnExpr("MIN(at) AS at").
		Where("artifact_id IN (?)", bun.List(keys(arts))).Where("production = ?", true).Where("kind IN (?)", bun.List(deployKinds)).
		Group("service").Scan(ctx, &rows); err != nil {
		return err
	}
	for _, r := range rows {
		w.service(r.Service, r.At)
	}
	return nil
}

// markTeamChanges refreshes both teams' rollups for every day of a service
// that moved from one team to another.
func (s *Store) markTeamChanges(ctx context.Context, tx bun.Tx, before map[string]string, w *doraWork) error {
	if len(before) == 0 {
		return nil
	}
	after, err := s.teamsOf(ctx, tx, keysOf(before))
	if err != nil {
		return err
	}
	for svc, old := range before {
		if after[svc] == old {
			continue
		}
		if err := s.markAllDays(ctx, tx, svc, []string{old, after[svc]}, w); err != nil {
			return err
		}
	}
	return nil
}

// markAllDays marks every day with DORA data of a service in the given teams' scopes.
func (s *Store) markAllDays(ctx context.Context, tx bun.IDB, service string, teams []string, w *doraWork) error {
	var days []int64
	if err := tx.NewRaw(`SELECT day FROM deployment_facts WHERE service = ?
		UNION SELECT day FROM change_deploys WHERE service = ?`, service, service).Scan(ctx, &days); err != nil {
		return err
	}
	var resolved []int64
	if err := tx.NewSelect().Model((*incidentRow)(nil)).Column("resolved_at").Where("service = ?", service).
		Where("resolved_at IS NOT NULL").Scan(ctx, &resolved); err != nil {
		return err
	}
	for _, r := range resolved {
		days = append(days, dayOf(r))
	}
	for _, t := range teams {
		if t == "" {
			continue
		}
		for _, d := range days {
			w.days[scopeDay{scopeTeam(t), d}] = true
		}
	}
	return nil
}

// recomputeIncidents derives each incident from all its events: the start is
// the earliest detected/reported, the resolution the earliest resolved, and
// service, artifact and environment come from the earliest event naming them.
func (s *Store) recomputeIncidents(ctx context.Context, tx bun.Tx, ids []string, w *doraWork) error {
	for start := 0; start < len(ids); start += insertChunk {
		chunk := ids[start:min(start+insertChunk, len(ids))]
		var before []incidentRow
		if err := tx.NewSelect().Model(&before).Where("incident_id IN (?)", bun.List(chunk)).Scan(ctx); err != nil {
			return fmt.Errorf("read incidents: %w", err)
		}
		var evs []incidentEventRow
		if err := tx.NewSelect().Model(&evs).Where("incident_id IN (?)", bun.List(chunk)).Order("incident_id", "at", "event_pk").Scan(ctx); err != nil {
			return fmt.Errorf("read incident events: %w", err)
		}
		byID := map[string]*incidentRow{}
		for _, e := range evs {
			r := byID[e.IncidentID]
			if r == nil {
				r = &incidentRow{IncidentID: e.IncidentID}
				byID[e.IncidentID] = r
			}
			if r.Service == "" {
				r.Service = e.Service
			}
			if r.ArtifactID == "" {
				r.ArtifactID = e.ArtifactID
			}
			if r.Environment == "" {
				r.Environment = e.Environment
			}
			switch domain.EventKind("incident." + e.Kind) {
			case domain.KindIncidentDetected, domain.KindIncidentReported:
				r.StartedAt = minPtr(r.StartedAt, e.At)
			case domain.KindIncidentResolved:
				r.ResolvedAt = minPtr(r.ResolvedAt, e.At)
			}
		}
		rows := values(byID)
		for i := range rows {
			rows[i].Production = s.prodEnvs.Contains(rows[i].Environment)
		}
		if len(rows) == 0 {
			continue
		}
		if _, err := tx.NewInsert().Model(&rows).On("CONFLICT (incident_id) DO UPDATE").
			Set("service = EXCLUDED.service").Set("artifact_id = EXCLUDED.artifact_id").
			Set("environment = EXCLUDED.environment").Set("production = EXCLUDED.production").
			Set("started_at = EXCLUDED.started_at").Set("resolved_at = EXCLUDED.resolved_at").
			Exec(ctx); err != nil {
			return fmt.Errorf("project incidents: %w", err)
		}
		if err := s.markIncidents(ctx, tx, before, rows, w); err != nil {
			return err
		}
	}
	return nil
}

// markIncidents marks what a changed incident can affect: the services it
// names (re-evaluated from its start), and the days it was and is resolved
// on (time to restore).
func (s *Store) markIncidents(ctx context.Context, tx bun.Tx, before, after []incidentRow, w *doraWork) error {
	svcs := map[string]bool{}
	for _, set := range [][]incidentRow{before, after} {
		for _, r := range set {
			svcs[r.Service] = true
		}
	}
	teams, err := s.teamsOf(ctx, tx, keysOf(svcs))
	if err != nil {
		return err
	}
	for _, set := range [][]incidentRow{before, after} {
		for _, r := range set {
			if !r.Production {
				continue
			}
			if r.StartedAt != nil {
				w.service(r.Service, *r.StartedAt)
			}
			if r.ResolvedAt != nil {
				markServiceDays(w, r.Service, teams[r.Service], dayOf(*r.ResolvedAt))
			}
		}
	}
	return nil
}

// rollUp adds telemetry samples to minute, hour and day buckets.
func (s *Store) rollUp(ctx context.Context, tx bun.Tx, st *txState, events []domain.Event) error {
	if len(events) == 0 {
		return nil
	}
	type bucketKey struct {
		series seriesKey
		res    string
		bucket int64
	}
	agg := map[bucketKey]*rollupRow{}
	seriesSet := map[seriesKey]bool{}
	minuteHorizon := micros(s.now().Add(-s.minuteRetention))
	for _, ev := range events {
		for _, smp := range ev.Samples {
			sk := seriesKey{smp.Metric, canonicalAttrs(smp.Attributes)}
			seriesSet[sk] = true
			us := micros(smp.Time)
			for _, r := range resolutions {
				if r.name == "m" && us < minuteHorizon {
					continue // older than the minute retention: hour and day only
				}
				w := r.width.Microseconds()
				b := us - ((us%w)+w)%w
				k := bucketKey{sk, r.name, b}
				row := agg[k]
				if row == nil {
					agg[k] = &rollupRow{Res: r.name, Bucket: b, N: 1, Sum: smp.Value, Min: smp.Value, Max: smp.Value}
					continue
				}
				row.N++
				row.Sum += smp.Value
				row.Min = math.Min(row.Min, smp.Value)
				row.Max = math.Max(row.Max, smp.Value)
			}
		}
	}
	ids := make(map[seriesKey]int64, len(seriesSet))
	var missing []seriesRow
	s.seriesMu.RLock()
	for sk := range seriesSet {
		if id, ok := s.series[sk]; ok {
			ids[sk] = id
		} else {
			missing = append(missing, seriesRow{Metric: sk.metric, Attrs: sk.attrs})
		}
	}
	s.seriesMu.RUnlock()
	if len(missing) > 0 {
		sort.Slice(missing, func(i, j int) bool {
			if missing[i].Metric != missing[j].Metric {
				return missing[i].Metric < missing[j].Metric
			}
			return missing[i].Attrs < missing[j].Attrs
		})
		if err := insertAll(ctx, tx, missing, "metric, attrs"); err != nil {
			return fmt.Errorf("register series: %w", err)
		}
		metrics := map[string]bool{}
		for _, m := range missing {
			metrics[m.Metric] = true
		}
		var found []seriesRow
		if err := tx.NewSelect().Model(&found).Where("metric IN (?)", bun.List(keys(metrics))).Scan(ctx); err != nil {
			return fmt.Errorf("read series: %w", err)
		}
		if st.newSeries == nil {
			st.newSeries = map[seriesKey]int64{}
		}
		for _, f := range found {
			k := seriesKey{f.Metric, f.Attrs}
			ids[k] = f.ID
			st.newSeries[k] = f.ID
		}
	}
	rows := make([][]any, 0, len(agg))
	for k, r := range agg {
		id := ids[k.series]
		if id == 0 {
			return fmt.Errorf("series %s %s not registered", k.series.metric, k.series.attrs)
		}
		rows = append(rows, []any{id, r.Res, r.Bucket, r.N, r.Sum, r.Min, r.Max})
	}
	// A stable order keeps concurrent writers from deadlocking on row locks.
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a[0].(int64) != b[0].(int64) {
			return a[0].(int64) < b[0].(int64)
		}
		if a[1].(string) != b[1].(string) {
			return a[1].(string) < b[1].(string)
		}
		return a[2].(int64) < b[2].(int64)
	})
	return s.bulkExec(ctx, tx, bulkSpec{
		table: "metric_rollups AS mr",
		cols:  []string{"series_id", "res", "bucket", "n", "sum", "min", "max"},
		suffix: "ON CONFLICT (series_id, res, bucket) DO UPDATE SET n = mr.n + EXCLUDED.n, sum = mr.sum + EXCLUDED.sum, " +
			"min = CASE WHEN EXCLUDED.min < mr.min THEN EXCLUDED.min ELSE mr.min END, " +
			"max = CASE WHEN EXCLUDED.max > mr.max THEN EXCLUDED.max ELSE mr.max END",
	}, rows)
}

// upsertAll inserts rows in chunks, merging with existing ones by sets.
// Rows must be unique by the conflict columns within the call.
func upsertAll[T any](ctx context.Context, tx bun.IDB, rows []T, conflict string, sets ...string) error {
	for start := 0; start < len(rows); start += insertChunk {
		chunk := rows[start:min(start+insertChunk, len(rows))]
		q := tx.NewInsert().Model(&chunk).On("CONFLICT (" + conflict + ") DO UPDATE")
		for _, s := range sets {
			q = q.Set(s)
		}
		if _, err := q.Exec(ctx); err != nil {
			return err
		}
	}
	return nil
}

// insertAll inserts rows in chunks, skipping ones that already exist.
func insertAll[T any](ctx context.Context, tx bun.IDB, rows []T, conflict string) error {
	for start := 0; start < len(rows); start += insertChunk {
		chunk := rows[start:min(start+insertChunk, len(rows))]
		if _, err := tx.NewInsert().Model(&chunk).On("CONFLICT (" + conflict + ") DO NOTHING").Exec(ctx); err != nil {
			return err
		}
	}
	return nil
}

// values returns the map's values sorted by key, so that statements (and
// the locks they take) come in a stable order.
func values[K comparable, V any](m map[K]*V) []V {
	ks := make([]K, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool { return fmt.Sprint(ks[i]) < fmt.Sprint(ks[j]) })
	out := make([]V, len(ks))
	for i, k := range ks {
		out[i] = *m[k]
	}
	return out
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func dedupeLinks(links []eventIdeaRow) []eventIdeaRow {
	seen := map[[2]any]bool{}
	out := links[:0]
	for _, l := range links {
		k := [2]any{l.IdeaKey, l.EventPK}
		if !seen[k] {
			seen[k] = true
			out = append(out, l)
		}
	}
	return out
}

// PruneMinuteRollups deletes minute-resolution rollups older than the
// retention; hour and day rollups keep the history.
func (s *Store) PruneMinuteRollups(ctx context.Context) (int64, error) {
	res, err := s.db.NewDelete().Model((*rollupRow)(nil)).
		Where("res = 'm'").Where("bucket < ?", micros(s.now().Add(-s.minuteRetention))).Exec(ctx)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
