package sqlstore

import (
	"context"

	"github.com/uptrace/bun"

	"github.com/throughline/throughline/domain"
)

// ideasRolledBack finds the ideas none of whose changes is in production any
// more (domain.PresenceOn): for each service an idea reached, the service's
// production deployments from the idea's first one there on decide.
func (s *Store) ideasRolledBack(ctx context.Context, db bun.IDB, g *ideaGraph, direct map[int64]deploymentRow) (map[string]*domain.Removal, error) {
	from := map[string]int64{} // service → earliest first deployment of any idea
	for _, svcs := range g.firstOn {
		for svc, at := range svcs {
			if cur, ok := from[svc]; !ok || at < cur {
				from[svc] = at
			}
		}
	}
	history := map[string][]domain.ProdDeployment{}
	earlier := map[string]map[string]bool{} // service → artifacts live before from[service]
	for _, svc := range keysOf(from) {
		var deps []deploymentRow
		if err := db.NewSelect().Model(&deps).Column("event_pk", "event_id", "source", "service", "artifact_id", "at", "rollback").
			Where("service = ?", svc).Where("production = ?", true).Where("kind IN (?)", bun.List(deployKinds)).
			Where("at >= ?", from[svc]).Order("at", "event_pk").Scan(ctx); err != nil {
			return nil, err
		}
		arts := map[string]bool{}
		for _, d := range deps {
			history[svc] = append(history[svc], domain.ProdDeployment{PK: d.EventPK, Event: domain.Identity{Source: d.Source, ID: d.EventID},
				Service: d.Service, Artifact: d.ArtifactID, At: fromMicros(d.At), Rollback: d.Rollback})
			arts[d.ArtifactID] = true
		}
		earlier[svc] = map[string]bool{}
		list := keys(arts)
		for start := 0; start < len(list); start += insertChunk {
			var old []string
			if err := db.NewSelect().Model((*deploymentRow)(nil)).ColumnExpr("DISTINCT artifact_id").
				Where("service = ?", svc).Where("production = ?", true).Where("kind IN (?)", bun.List(deployKinds)).
				Where("at < ?", from[svc]).Where("artifact_id IN (?)", bun.List(list[start:min(start+insertChunk, len(list))])).
				Scan(ctx, &old); err != nil {
				return nil, err
			}
			for _, a := range old {
				earlier[svc][a] = true
			}
		}
	}
	directArtifacts := map[string]map[string]bool{} // idea → artifacts of production deployments naming it
	for key, ls := range g.links {
		for _, l := range ls {
			if d, ok := direct[l.EventPK]; ok && d.Production && !d.Rollback {
				if directArtifacts[key] == nil {
					directArtifacts[key] = map[string]bool{}
				}
				directArtifacts[key][d.ArtifactID] = true
			}
		}
	}
	out := map[string]*domain.Removal{}
	for idea, svcs := range g.firstOn {
		changes := g.changes[idea]
		carries := func(artifact string) bool {
			if directArtifacts[idea][artifact] {
				return true
			}
			for _, c := range g.artChanges[artifact] {
				if contains(changes, c) {
					return true
				}
			}
			return false
		}
		var ps []domain.Presence
		for svc := range svcs {
			ps = append(ps, domain.PresenceOn(history[svc], carries, earlier[svc]))
		}
		if r := domain.RolledBackBy(ps); r != nil {
			out[idea] = r
		}
	}
	return out, nil
}
