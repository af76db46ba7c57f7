package sqlstore

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/throughline/throughline/domain"
)

// ideaGraph is what links ideas to delivery records, loaded in a few
// batched queries for many ideas at once.
type ideaGraph struct {
	links       map[string][]eventIdeaRow   // idea → its direct links
	changes     map[string][]string         // idea → change ids
	artifacts   map[string][]string         // idea → artifact ids (packaging its changes, or linked)
	artChanges  map[string][]string         // artifact → its changes (of those ideas)
	firstDeploy map[string]changeDeployRow  // change → first production deployment anywhere
	deployPKs   map[string][]int64          // idea → production deployments carrying its changes
	services    map[string]map[string]bool  // idea → services its changes reached in production
	firstOn     map[string]map[string]int64 // idea → service → first production deployment carrying its changes (µs)
}

func (s *Store) loadIdeaGraph(ctx context.Context, db bun.IDB, keys []string) (*ideaGraph, error) {
	g := &ideaGraph{links: map[string][]eventIdeaRow{}, changes: map[string][]string{}, artifacts: map[string][]string{},
		artChanges: map[string][]string{}, firstDeploy: map[string]changeDeployRow{}, deployPKs: map[string][]int64{},
		services: map[string]map[string]bool{}, firstOn: map[string]map[string]int64{}}
	if len(keys) == 0 {
		return g, nil
	}
	var links []eventIdeaRow
	if err := db.NewSelect().Model(&links).Where("idea_key IN (?)", bun.List(keys)).Order("at").Scan(ctx); err != nil {
		return nil, err
	}
	allChanges := map[string][]string{} // change → ideas
	for _, l := range links {
		g.links[l.IdeaKey] = append(g.links[l.IdeaKey], l)
		kind := domain.EventKind(l.Kind)
		if kind.IsChange() {
			if !contains(g.changes[l.IdeaKey], l.Ref) {
				g.changes[l.IdeaKey] = append(g.changes[l.IdeaKey], l.Ref)
				allChanges[l.Ref] = append(allChanges[l.Ref], l.IdeaKey)
			}
		}
		if kind.Subject() == "artifact" && !contains(g.artifacts[l.IdeaKey], l.Ref) {
			g.artifacts[l.IdeaKey] = append(g.artifacts[l.IdeaKey], l.Ref)
		}
	}
	changeIDs := keysOf(allChanges)
	for start := 0; start < len(changeIDs); start += insertChunk {
		chunk := changeIDs[start:min(start+insertChunk, len(changeIDs))]
		var acs []artifactChangeRow
		if err := db.NewSelect().Model(&acs).Where("change_id IN (?)", bun.List(chunk)).Scan(ctx); err != nil {
			return nil, err
		}
		for _, ac := range acs {
			g.artChanges[ac.ArtifactID] = append(g.artChanges[ac.ArtifactID], ac.ChangeID)
			for _, idea := range allChanges[ac.ChangeID] {
				if !contains(g.artifacts[idea], ac.ArtifactID) {
					g.artifacts[idea] = append(g.artifacts[idea], ac.ArtifactID)
				}
			}
		}
		var cds []changeDeployRow
		if err := db.NewSelect().Model(&cds).Where("change_id IN (?)", bun.List(chunk)).Scan(ctx); err != nil {
			return nil, err
		}
		for _, cd := range cds {
			if cur, ok := g.firstDeploy[cd.ChangeID]; !ok || cd.DeployAt < cur.DeployAt {
				g.firstDeploy[cd.ChangeID] = cd
			}
			for _, idea := range allChanges[cd.ChangeID] {
				if !containsPK(g.deployPKs[idea], cd.DeployPK) {
					g.deployPKs[idea] = append(g.deployPKs[idea], cd.DeployPK)
				}
				if g.services[idea] == nil {
					g.services[idea] = map[string]bool{}
				}
				g.services[idea][cd.Service] = true
				g.noteFirstOn(idea, cd.Service, cd.DeployAt)
			}
		}
	}
	return g, nil
}

func (g *ideaGraph) noteFirstOn(idea, service string, at int64) {
	if g.firstOn[idea] == nil {
		g.firstOn[idea] = map[string]int64{}
	}
	if cur, ok := g.firstOn[idea][service]; !ok || at < cur {
		g.firstOn[idea][service] = at
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func containsPK(xs []int64, x int64) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func (g *ideaGraph) allArtifacts() []string {
	set := map[string]bool{}
	for _, as := range g.artifacts {
		for _, a := range as {
			set[a] = true
		}
	}
	return keys(set)
}

func (g *ideaGraph) allDeployPKs() []int64 {
	set := map[int64]bool{}
	for _, ps := range g.deployPKs {
		for _, p := range ps {
			set[p] = true
		}
	}
	out := make([]int64, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// computeFlowItems works out, from the projections, when each trigger of
// the stage rules happened to each idea (domain.Signals), and which
// services its changes reached. It runs inside the transaction that changed
// what the ideas depend on.
func (s *Store) computeFlowItems(ctx context.Context, db bun.IDB, rows []ideaRow, krs map[string][]int64) ([]domain.FlowItem, error) {
	ideaKeys := make([]string, len(rows))
	for i, r := range rows {
		ideaKeys[i] = r.Key
	}
	g, err := s.loadIdeaGraph(ctx, db, ideaKeys)
	if err != nil {
		return nil, err
	}
	arts := g.allArtifacts()
	firstBuild := map[string]int64{} // artifact → earliest build/pipeline run
	firstTest := map[string]int64{}  // artifact → earliest test run
	artRow := map[string]artifactRow{}
	preProd := map[string]int64{} // artifact → earliest deployment outside production
	for start := 0; start < len(arts); start += insertChunk {
		chunk := arts[start:min(start+insertChunk, len(arts))]
		var runs []runRow
		if err := db.NewSelect().Model(&runs).Column("kind", "artifact_id", "at").Where("artifact_id IN (?)", bun.List(chunk)).Scan(ctx); err != nil {
			return nil, err
		}
		for _, r := range runs {
			m := firstTest
			if domain.EventKind(r.Kind).IsBuild() {
				m = firstBuild
			}
			if cur, ok := m[r.ArtifactID]; !ok || r.At < cur {
				m[r.ArtifactID] = r.At
			}
		}
		var ars []artifactRow
		if err := db.NewSelect().Model(&ars).Where("artifact_id IN (?)", bun.List(chunk)).Scan(ctx); err != nil {
			return nil, err
		}
		for _, a := range ars {
			artRow[a.ArtifactID] = a
		}
		var deps []deploymentRow
		if err := db.NewSelect().Model(&deps).Column("artifact_id", "at").Where("artifact_id IN (?)", bun.List(chunk)).Where("production = ?", false).
			Where("kind IN (?)", bun.List(deployKinds)).Scan(ctx); err != nil {
			return nil, err
		}
		for _, d := range deps {
			if cur, ok := preProd[d.ArtifactID]; !ok || d.At < cur {
				preProd[d.ArtifactID] = d.At
			}
		}
	}
	changeTimes := map[string]changeRow{}
	allChanges := map[string]bool{}
	for _, cs := range g.changes {
		for _, c := range cs {
			allChanges[c] = true
		}
	}
	ids := keys(allChanges)
	for start := 0; start < len(ids); start += insertChunk {
		var cs []changeRow
		if err := db.NewSelect().Model(&cs).Where("change_id IN (?)", bun.List(ids[start:min(start+insertChunk, len(ids))])).Scan(ctx); err != nil {
			return nil, err
		}
		for _, c := range cs {
			changeTimes[c.ChangeID] = c
		}
	}
	// Deployments that name an idea themselves.
	var depPKs []int64
	for _, ls := range g.links {
		for _, l := range ls {
			if k := domain.EventKind(l.Kind); k.Subject() == "service" && k.IsDeployment() {
				depPKs = append(depPKs, l.EventPK)
			}
		}
	}
	directDeploy := map[int64]deploymentRow{}
	for start := 0; start < len(depPKs); start += insertChunk {
		var deps []deploymentRow
		if err := db.NewSelect().Model(&deps).Column("event_pk", "service", "artifact_id", "at", "production", "rollback").
			Where("event_pk IN (?)", bun.List(depPKs[start:min(start+insertChunk, len(depPKs))])).Scan(ctx); err != nil {
			return nil, err
		}
		for _, d := range deps {
			directDeploy[d.EventPK] = d
		}
	}

	for key, ls := range g.links {
		for _, l := range ls {
			if d, ok := directDeploy[l.EventPK]; ok && d.Production && !d.Rollback {
				if !containsPK(g.deployPKs[key], d.EventPK) {
					g.deployPKs[key] = append(g.deployPKs[key], d.EventPK)
				}
				g.noteFirstOn(key, d.Service, d.At)
			}
		}
	}
	rolledBack, err := s.ideasRolledBack(ctx, db, g, directDeploy)
	if err != nil {
		return nil, err
	}
	incidents, err := s.incidentsOfDeployments(ctx, db, g.allDeployPKs())
	if err != nil {
		return nil, err
	}

	out := make([]domain.FlowItem, len(rows))
	for i := range rows {
		r := &rows[i]
		it := domain.FlowItem{
			Key: r.Key, Title: r.Title, Type: domain.FlowType(r.FlowType), Horizon: domain.Horizon(r.Horizon), Team: r.Team,
			Archived: r.Archived, HasKeyResult: len(krs[r.Key]) > 0,
		}
		if r.VerdictAt != nil {
			it.Verdict = *r.VerdictAt
		}
		it.RolledBack = rolledBack[r.Key]
		sig := &it.Signals
		note := func(t domain.Trigger, us int64) {
			if us != 0 && (sig[t] == 0 || us < sig[t]) {
				sig[t] = us
			}
		}
		notePtr := func(t domain.Trigger, us *int64) {
			if us != nil {
				note(t, *us)
			}
		}
		var directServices []string
		note(domain.TrigIdeaCreated, r.CreatedAt)
		notePtr(domain.TrigIdeaPlanned, r.PlannedAt)
		for _, l := range g.links[r.Key] {
			switch k := domain.EventKind(l.Kind); {
			case k.IsChange():
				note(domain.TrigChange, l.At)
				switch k {
				case domain.KindChangeCreated:
					note(domain.TrigChangeCreated, l.At)
				case domain.KindChangeReviewed:
					note(domain.TrigChangeReviewed, l.At)
				case domain.KindChangeMerged:
					note(domain.TrigChangeMerged, l.At)
				}
			case k.IsBuild():
				note(domain.TrigBuild, l.At)
			case k.IsTestRun():
				note(domain.TrigTest, l.At)
			case k == domain.KindArtifactPackaged:
				note(domain.TrigArtifactPackaged, l.At)
			case k == domain.KindArtifactPublish:
				note(domain.TrigArtifactPublished, l.At)
			case k.Subject() == "service" && k.IsDeployment():
				if d, ok := directDeploy[l.EventPK]; ok && !d.Rollback {
					if d.Production {
						note(domain.TrigDeployProd, d.At)
						directServices = append(directServices, d.Service)
					} else {
						note(domain.TrigDeployNonProd, d.At)
					}
				}
			}
		}
		for _, c := range g.changes[r.Key] {
			if ct, ok := changeTimes[c]; ok {
				note(domain.TrigChange, ct.FirstAt)
				notePtr(domain.TrigChangeCreated, ct.CreatedAt)
				notePtr(domain.TrigChangeReviewed, ct.ReviewedAt)
				notePtr(domain.TrigChangeMerged, ct.MergedAt)
			}
			if cd, ok := g.firstDeploy[c]; ok {
				note(domain.TrigDeployProd, cd.DeployAt)
			}
		}
		for _, a := range g.artifacts[r.Key] {
			note(domain.TrigBuild, firstBuild[a])
			note(domain.TrigTest, firstTest[a])
			if ar, ok := artRow[a]; ok {
				notePtr(domain.TrigArtifactPackaged, ar.PackagedAt)
				notePtr(domain.TrigArtifactPublished, ar.PublishedAt)
			}
			note(domain.TrigDeployNonProd, preProd[a])
		}
		var incs []domain.ProdIncident
		for _, pk := range g.deployPKs[r.Key] {
			incs = append(incs, incidents[pk]...)
		}
		if op := domain.OperateWhileLive(sig.At(domain.TrigDeployProd), incs, it.RolledBack); !op.IsZero() {
			note(domain.TrigOperate, op.UnixMicro())
			if it.HasKeyResult {
				note(domain.TrigKeyResult, op.UnixMicro())
			}
		}
		services := map[string]bool{}
		for _, sv := range splitList(r.Services) {
			services[sv] = true
		}
		for sv := range g.services[r.Key] {
			services[sv] = true
		}
		for _, sv := range directServices {
			services[sv] = true
		}
		it.Services = keys(services)
		out[i] = it
	}
	return out, nil
}

// incidentsOfDeployments returns the incidents attributed to deployments.
func (s *Store) incidentsOfDeployments(ctx context.Context, db bun.IDB, pks []int64) (map[int64][]domain.ProdIncident, error) {
	out := map[int64][]domain.ProdIncident{}
	for start := 0; start < len(pks); start += insertChunk {
		type row struct {
			incidentRow
			DeployPK int64 `bun:"deploy_pk"`
		}
		var rows []row
		if err := db.NewSelect().TableExpr("incident_attributions AS ia").ColumnExpr("i.*, ia.deploy_pk").
			Join("JOIN incidents AS i ON i.incident_id = ia.incident_id").
			Where("ia.deploy_pk IN (?)", bun.List(pks[start:min(start+insertChunk, len(pks))])).Scan(ctx, &rows); err != nil {
			return nil, err
		}
		for _, r := range rows {
			out[r.DeployPK] = append(out[r.DeployPK], domain.ProdIncident{ID: r.IncidentID, Service: r.Service, Artifact: r.ArtifactID,
				Start: fromMicrosPtr(r.StartedAt), Resolved: fromMicrosPtr(r.ResolvedAt)})
		}
	}
	return out, nil
}

// matchingSeries returns the ids of a metric's series whose attributes
// include every attribute of the filter.
func (s *Store) matchingSeries(ctx context.Context, metric string, filter map[string]string) ([]int64, error) {
	var rows []seriesRow
	if err := s.db.NewSelect().Model(&rows).Where("metric = ?", metric).Scan(ctx); err != nil {
		return nil, err
	}
	var ids []int64
	for _, r := range rows {
		var attrs map[string]string
		_ = json.Unmarshal([]byte(r.Attrs), &attrs)
		ok := true
		for k, v := range filter {
			if attrs[k] != v {
				ok = false
				break
			}
		}
		if ok {
			ids = append(ids, r.ID)
		}
	}
	return ids, nil
}

// resolution names a rollup resolution.
func resolution(bucket string) (string, error) {
	switch strings.ToLower(bucket) {
	case "minute", "m":
		return "m", nil
	case "hour", "h", "":
		return "h", nil
	case "day", "d":
		return "d", nil
	}
	return "", domain.Errorf(domain.EINVALID, "bucket must be minute, hour or day, not %q.", bucket)
}

// MetricSeries returns a metric's buckets in [from, to), summed over the
// series that match the attribute filter.
func (s *Store) MetricSeries(ctx context.Context, metric string, filter map[string]string, bucket string, from, to time.Time) ([]domain.MetricPoint, error) {
	res, err := resolution(bucket)
	if err != nil {
		return nil, err
	}
	ids, err := s.matchingSeries(ctx, metric, filter)
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	var rows []struct {
		Bucket int64   `bun:"bucket"`
		N      int64   `bun:"n"`
		Sum    float64 `bun:"sum"`
		Min    float64 `bun:"min"`
		Max    float64 `bun:"max"`
	}
	if err := s.db.NewSelect().Model((*rollupRow)(nil)).
		ColumnExpr("bucket, SUM(n) AS n, SUM(sum) AS sum, MIN(min) AS min, MAX(max) AS max").
		Where("series_id IN (?)", bun.List(ids)).Where("res = ?", res).
		Where("bucket >= ?", micros(from)).Where("bucket < ?", micros(to)).
		Group("bucket").Order("bucket").Scan(ctx, &rows); err != nil {
		return nil, err
	}
	out := make([]domain.MetricPoint, len(rows))
	for i, r := range rows {
		out[i] = domain.MetricPoint{Start: fromMicros(r.Bucket), Count: r.N, Sum: r.Sum, Min: r.Min, Max: r.Max}
	}
	return out, nil
}

// MetricDaily returns a metric's daily means over matching series.
func (s *Store) MetricDaily(ctx context.Context, metric string, filter map[string]string, from, to time.Time) ([]domain.DailyValue, error) {
	pts, err := s.MetricSeries(ctx, metric, filter, "day", from, to)
	if err != nil {
		return nil, err
	}
	out := make([]domain.DailyValue, len(pts))
	for i, p := range pts {
		out[i] = domain.DailyValue{Day: p.Start, Value: p.Mean()}
	}
	return out, nil
}

// MetricNames lists the telemetry metrics seen.
func (s *Store) MetricNames(ctx context.Context) ([]string, error) {
	var names []string
	err := s.db.NewSelect().Model((*seriesRow)(nil)).ColumnExpr("DISTINCT metric").Order("metric").Scan(ctx, &names)
	return names, err
}
