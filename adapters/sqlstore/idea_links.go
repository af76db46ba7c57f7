package sqlstore

import (
	"context"
	"sort"

	"github.com/uptrace/bun"

	"github.com/throughline/throughline/domain"
)

// IdeaLinks lists what is linked to one idea.
func (s *Store) IdeaLinks(ctx context.Context, key string) (domain.IdeaLinks, error) {
	var out domain.IdeaLinks
	g, err := s.loadIdeaGraph(ctx, s.db, []string{key})
	if err != nil {
		return out, err
	}
	changes := g.changes[key]
	if len(changes) > 0 {
		var rows []changeRow
		if err := s.db.NewSelect().Model(&rows).Where("change_id IN (?)", bun.List(changes)).Order("first_at").Scan(ctx); err != nil {
			return out, err
		}
		for _, r := range rows {
			lc := domain.LinkedChange{ID: r.ChangeID, Repository: r.Repository, Start: fromMicros(r.FirstAt), Merged: fromMicrosPtr(r.MergedAt)}
			if cd, ok := g.firstDeploy[r.ChangeID]; ok {
				lc.InProduction = fromMicros(cd.DeployAt)
			}
			out.Changes = append(out.Changes, lc)
		}
	}
	arts := g.artifacts[key]
	runPKs := map[int64]bool{}
	for _, l := range g.links[key] {
		if k := domain.EventKind(l.Kind); k.IsBuild() || k.IsTestRun() {
			runPKs[l.EventPK] = true
		}
	}
	var runs []runRow
	q := s.db.NewSelect().Model(&runs).Order("at")
	switch {
	case len(arts) > 0 && len(runPKs) > 0:
		q = q.Where("artifact_id IN (?) OR event_pk IN (?)", bun.List(arts), bun.List(pkList(runPKs)))
	case len(arts) > 0:
		q = q.Where("artifact_id IN (?)", bun.List(arts))
	case len(runPKs) > 0:
		q = q.Where("event_pk IN (?)", bun.List(pkList(runPKs)))
	default:
		q = nil
	}
	if q != nil {
		if err := q.Scan(ctx); err != nil {
			return out, err
		}
		for _, r := range runs {
			out.Runs = append(out.Runs, domain.LinkedRun{Kind: domain.EventKind(r.Kind), SubjectID: r.SubjectID, Artifact: r.ArtifactID,
				Environment: r.Environment, Outcome: domain.Outcome(r.Outcome), At: fromMicros(r.At)})
		}
	}
	if len(arts) > 0 {
		var artRows []artifactRow
		if err := s.db.NewSelect().Model(&artRows).Where("artifact_id IN (?)", bun.List(arts)).Scan(ctx); err != nil {
			return out, err
		}
		for _, a := range artRows {
			out.Artifacts = append(out.Artifacts, domain.LinkedArtifact{ID: a.ArtifactID, Packaged: fromMicrosPtr(a.PackagedAt), Published: fromMicrosPtr(a.PublishedAt)})
		}
		sort.Slice(out.Artifacts, func(i, j int) bool { return out.Artifacts[i].Packaged.Before(out.Artifacts[j].Packaged) })
	}
	if err := s.ideaDeployments(ctx, key, arts, &out); err != nil {
		return out, err
	}
	incidents, err := s.ideaIncidents(ctx, g.deployPKs[key], arts)
	if err != nil {
		return out, err
	}
	out.Incidents = incidents
	return out, nil
}

// ideaDeployments lists the deployments of an idea's artifacts, the
// rollbacks that replaced them and the deployment that took the idea out of
// production, in time order.
func (s *Store) ideaDeployments(ctx context.Context, key string, arts []string, out *domain.IdeaLinks) error {
	type depRow struct {
		deploymentRow
		Failed     *bool  `bun:"failed"`
		RollbackPK *int64 `bun:"rollback_pk"`
	}
	query := func(where func(*bun.SelectQuery) *bun.SelectQuery) ([]depRow, error) {
		var deps []depRow
		q := s.db.NewSelect().TableExpr("deployments AS d").ColumnExpr("d.*, df.failed, df.rollback_pk").
			Join("LEFT JOIN deployment_facts AS df ON df.event_pk = d.event_pk").
			Where("d.kind IN (?)", bun.List(deployKinds)).Order("d.at", "d.event_pk")
		return deps, where(q).Scan(ctx, &deps)
	}
	var deps []depRow
	if len(arts) > 0 {
		var err error
		if deps, err = query(func(q *bun.SelectQuery) *bun.SelectQuery { return q.Where("d.artifact_id IN (?)", bun.List(arts)) }); err != nil {
			return err
		}
	}
	listed := map[int64]bool{}
	for _, d := range deps {
		listed[d.EventPK] = true
	}
	carrying := len(deps)
	var rollbacks []int64
	for _, d := range deps {
		if d.RollbackPK != nil && !listed[*d.RollbackPK] {
			rollbacks = append(rollbacks, *d.RollbackPK)
			listed[*d.RollbackPK] = true
		}
	}
	if len(rollbacks) > 0 {
		more, err := query(func(q *bun.SelectQuery) *bun.SelectQuery { return q.Where("d.event_pk IN (?)", bun.List(rollbacks)) })
		if err != nil {
			return err
		}
		deps = append(deps, more...)
	}
	flow, err := s.IdeaFlow(ctx, []string{key})
	if err != nil {
		return err
	}
	var removal *domain.Removal
	if it, ok := flow[key]; ok && it.RolledBack != nil {
		removal = it.RolledBack
		more, err := query(func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("d.source = ?", removal.Event.Source).Where("d.event_id = ?", removal.Event.ID)
		})
		if err != nil {
			return err
		}
		for _, d := range more {
			if !listed[d.EventPK] {
				deps = append(deps, d)
			}
		}
	}
	ids := map[int64]domain.Identity{}
	for _, d := range deps {
		ids[d.EventPK] = domain.Identity{Source: d.Source, ID: d.EventID}
	}
	for i, d := range deps {
		ld := domain.LinkedDeployment{
			Event: domain.Identity{Source: d.Source, ID: d.EventID}, Service: d.Service, Environment: d.Environment,
			Artifact: d.ArtifactID, At: fromMicros(d.At), Production: d.Production, Rollback: d.Rollback, Failed: d.Failed != nil && *d.Failed,
			Carries: i < carrying,
		}
		if d.RollbackPK != nil {
			if id, ok := ids[*d.RollbackPK]; ok {
				ld.RolledBackBy = &id
			}
		}
		ld.TookOut = removal != nil && removal.Event == ld.Event
		out.Deployments = append(out.Deployments, ld)
	}
	sort.SliceStable(out.Deployments, func(i, j int) bool { return out.Deployments[i].At.Before(out.Deployments[j].At) })
	return nil
}

// ideaIncidents lists the production incidents attributed to an idea's
// deployments or naming one of its artifacts, with their attribution and,
// for those not attributed, why.
func (s *Store) ideaIncidents(ctx context.Context, deployPKs []int64, arts []string) ([]domain.LinkedIncident, error) {
	if len(deployPKs) == 0 && len(arts) == 0 {
		return nil, nil
	}
	var rows []struct {
		incidentRow
		DeployPK      *int64  `bun:"deploy_pk"`
		Rule          string  `bun:"rule"`
		Reason        string  `bun:"reason"`
		Source        *string `bun:"dep_source"`
		EventID       *string `bun:"dep_event_id"`
		DeployService *string `bun:"dep_service"`
		DeployAt      *int64  `bun:"dep_at"`
	}
	q := s.db.NewSelect().TableExpr("incidents AS i").
		ColumnExpr("i.*, ia.deploy_pk, COALESCE(ia.rule, '') AS rule, COALESCE(ia.reason, '') AS reason").
		ColumnExpr("d.source AS dep_source, d.event_id AS dep_event_id, d.service AS dep_service, d.at AS dep_at").
		Join("LEFT JOIN incident_attributions AS ia ON ia.incident_id = i.incident_id").
		Join("LEFT JOIN deployments AS d ON d.event_pk = ia.deploy_pk").
		Where("i.production = ?", true).
		WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			if len(deployPKs) > 0 {
				q = q.WhereOr("ia.deploy_pk IN (?)", bun.List(deployPKs))
			}
			if len(arts) > 0 {
				q = q.WhereOr("i.artifact_id IN (?)", bun.List(arts))
			}
			return q
		}).Order("i.started_at", "i.incident_id")
	if err := q.Scan(ctx, &rows); err != nil {
		return nil, err
	}
	out := make([]domain.LinkedIncident, len(rows))
	for i, r := range rows {
		li := domain.LinkedIncident{IncidentRecord: domain.IncidentRecord{
			Incident: domain.ProdIncident{ID: r.IncidentID, Service: r.Service, Artifact: r.ArtifactID,
				Start: fromMicrosPtr(r.StartedAt), Resolved: fromMicrosPtr(r.ResolvedAt)},
			Environment: r.Environment, Rule: domain.FailureRule(r.Rule), Unattributed: r.Reason,
		}}
		switch {
		case r.DeployPK != nil && r.Source != nil:
			li.DeploymentPK = *r.DeployPK
			li.DeploymentEvent = domain.Identity{Source: *r.Source, ID: *r.EventID}
			li.DeploymentService, li.DeploymentAt = *r.DeployService, fromMicros(*r.DeployAt)
		case r.StartedAt == nil:
			li.Unattributed = "it has no detected or reported event, so its start is unknown"
		case li.Unattributed == "":
			li.Unattributed = "no production deployment of " + r.Service + " matched"
		}
		out[i] = li
	}
	return out, nil
}

func pkList(m map[int64]bool) []int64 {
	out := make([]int64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
