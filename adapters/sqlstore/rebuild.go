package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/uptrace/bun"

	"github.com/throughline/throughline/domain"
)

// projectionTables are emptied by a rebuild. Series ids stay (rollups refer
// to them and they are never wrong); user decisions (overrides, teams set by
// hand) are not projections and survive.
var projectionTables = []string{
	"changes", "artifact_changes", "artifacts", "deployments", "incident_events",
	"incidents", "runs", "event_ideas", "metric_rollups",
	"deployment_facts", "change_deploys", "incident_attributions", "dora_daily",
	"rollout_steps", "flag_changes", "flag_services",
}

// BeginRebuild starts a new projection generation and empties the
// projections. Events stored from now on are applied in the new generation by
// whoever stores them; older ones must be reapplied with ReapplyEvents.
func (s *Store) BeginRebuild(ctx context.Context) (int64, error) {
	defer s.bumpVersion()
	var gen int64
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		old, err := s.generation(ctx, tx, true)
		if err != nil {
			return err
		}
		gen = old + 1
		// Every event derived before now awaits the rebuild (derived drops
		// and climbs back as the rebuild goes).
		if _, err := tx.NewRaw("UPDATE projection_state SET generation = ?, pending = (SELECT COUNT(*) FROM events WHERE applied_gen > 0) WHERE id = 1", gen).Exec(ctx); err != nil {
			return err
		}
		for _, t := range projectionTables {
			if _, err := tx.NewRaw("DELETE FROM " + t).Exec(ctx); err != nil {
				return fmt.Errorf("empty %s: %w", t, err)
			}
		}
		if _, err := tx.NewRaw("DELETE FROM services WHERE team_by_user = ?", false).Exec(ctx); err != nil {
			return err
		}
		return clearEventSignals(ctx, tx)
	})
	s.flow.invalidate()
	return gen, err
}

// clearEventSignals forgets what events told about ideas (RecomputeAllFlow
// derives it again); what the ideas themselves say stays.
func clearEventSignals(ctx context.Context, tx bun.Tx) error {
	seq, err := nextFlowSeq(ctx, tx)
	if err != nil {
		return err
	}
	sets := []string{"seq = ?", "services = (SELECT i.services FROM ideas AS i WHERE i.key = idea_flow.idea_key)",
		"rolled_back_at = NULL", "rolled_back_by = ''"}
	for _, t := range domain.AllTriggers() {
		if t != domain.TrigIdeaCreated && t != domain.TrigIdeaPlanned {
			sets = append(sets, signalColumn(t)+" = NULL")
		}
	}
	_, err = tx.NewRaw("UPDATE idea_flow SET "+strings.Join(sets, ", "), seq).Exec(ctx)
	return err
}

// Reapply is a stored event to project again.
type Reapply struct {
	PK    int64
	Event domain.Event
	// NoEffect marks an event that no longer decodes: it is claimed and
	// counted as derived, with no effect on any figure.
	NoEffect bool
}

// ReapplyEvents projects stored events into generation gen. Events already in
// gen are skipped, so a rebuild interrupted half-way can simply run again.
// DORA verdicts and rollups and the ideas' flow signals are left for
// RecomputeDerived, which a rebuild calls once after the last page.
func (s *Store) ReapplyEvents(ctx context.Context, gen int64, items []Reapply) error {
	if len(items) == 0 {
		return nil
	}
	st := &txState{}
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		*st = txState{skipDora: true}
		cur, err := s.generation(ctx, tx, false)
		if err != nil {
			return err
		}
		if cur != gen {
			return domain.Errorf(domain.ECONFLICT, "another rebuild started (generation %d, this one %d)", cur, gen)
		}
		if err := s.lockDerived(ctx, tx); err != nil {
			return err
		}
		// Events never derived before join those the rebuild owes its
		// final step (FinishRebuild) before they count as derived.
		pks := make([]int64, len(items))
		for i, it := range items {
			pks[i] = it.PK
		}
		var fresh []int64
		if err := tx.NewRaw("SELECT COUNT(*) FROM events WHERE id IN (?) AND applied_gen = 0", bun.List(pks)).Scan(ctx, &fresh); err != nil {
			return err
		}
		todo, _, err := claim(ctx, tx, items, gen, fmt.Sprintf("applied_gen < %d", gen))
		if err != nil {
			return err
		}
		if len(fresh) == 1 && fresh[0] > 0 {
			if _, err := tx.NewRaw("UPDATE projection_state SET pending = pending + ? WHERE id = 1", fresh[0]).Exec(ctx); err != nil {
				return err
			}
		}
		return s.applyProjections(ctx, tx, st, todo)
	})
	if err == nil {
		s.remember(st)
		s.bumpVersion()
	}
	return err
}

// DumpProjections renders every projection as sorted text lines, with event
// keys replaced by event identities, so that two databases holding the same
// events can be compared however the events arrived.
func (s *Store) DumpProjections(ctx context.Context) (map[string][]string, error) {
	queries := map[string]string{
		"changes":          "SELECT change_id, first_at, created_at, merged_at, abandoned_at, repository, source, reviewed_at FROM changes",
		"artifact_changes": "SELECT artifact_id, change_id, packaged_at FROM artifact_changes",
		"artifacts":        "SELECT artifact_id, packaged_at, published_at FROM artifacts",
		"deployments": `SELECT e.source, e.event_id, d.service, d.environment, d.artifact_id, d.at, d.kind, d.production, d.rollback, d.hotfix, d.team
			FROM deployments d JOIN events e ON e.id = d.event_pk`,
		"incident_events": `SELECT e.source, e.event_id, ie.incident_id, ie.kind, ie.at, ie.service, ie.artifact_id, ie.environment
			FROM incident_events ie JOIN events e ON e.id = ie.event_pk`,
		"incidents": "SELECT incident_id, service, artifact_id, environment, production, started_at, resolved_at FROM incidents",
		"runs": `SELECT e.source, e.event_id, r.kind, r.subject_id, r.artifact_id, r.environment, r.pipeline, r.outcome, r.at
			FROM runs r JOIN events e ON e.id = r.event_pk`,
		"event_ideas": `SELECT ei.idea_key, e.source, e.event_id, ei.kind, ei.ref, ei.at FROM event_ideas ei JOIN events e ON e.id = ei.event_pk`,
		"services":    "SELECT service, team, team_at, team_by_user FROM services",
		"metric_rollups": `SELECT ms.metric, ms.attrs, mr.res, mr.bucket, mr.n, mr.sum, mr.min, mr.max
			FROM metric_rollups mr JOIN metric_series ms ON ms.id = mr.series_id`,
		"deployment_facts": `SELECT e.source, e.event_id, df.service, df.at, df.day, df.rollback, df.failed, df.rule_failed, df.rules,
			rb.event_id, df.incidents, df.recovered_at, df.recovered_by, df.rework, df.rework_reason, df.rework_by, df.changes
			FROM deployment_facts df JOIN events e ON e.id = df.event_pk LEFT JOIN events rb ON rb.id = df.rollback_pk`,
		"change_deploys": `SELECT cd.service, cd.change_id, e.event_id, cd.deploy_at, cd.day
			FROM change_deploys cd JOIN events e ON e.id = cd.deploy_pk`,
		"incident_attributions": `SELECT ia.incident_id, ia.service, e.event_id, ia.deploy_at, ia.rule, ia.reason
			FROM incident_attributions ia LEFT JOIN events e ON e.id = ia.deploy_pk`,
		// Without seq, updated_at and idea.created (when the idea was
		// entered, not what events said).
		"idea_flow": "SELECT " + strings.Join(slices.DeleteFunc(slices.Clone(flowColumns), func(c string) bool {
			return c == "seq" || c == "updated_at" || c == signalColumn(domain.TrigIdeaCreated)
		}), ", ") + " FROM idea_flow",
		"dora_daily": `SELECT scope, day, deployments, non_rollback, failed, rework, lead, start_merged, merged_deploy, recovery, restore FROM dora_daily`,
	}
	out := map[string][]string{}
	for name, q := range queries {
		rows, err := s.db.QueryContext(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("dump %s: %w", name, err)
		}
		cols, _ := rows.Columns()
		var lines []string
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return nil, err
			}
			parts := make([]string, len(vals))
			for i, v := range vals {
				parts[i] = normaliseValue(v)
			}
			lines = append(lines, strings.Join(parts, "|"))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		sort.Strings(lines)
		out[name] = lines
	}
	return out, nil
}

// normaliseValue prints a scanned value the same way on both dialects
// (SQLite returns booleans as integers, PostgreSQL as bools).
func normaliseValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case bool:
		if x {
			return "1"
		}
		return "0"
	case []byte:
		return string(x)
	case float64:
		return fmt.Sprintf("%.9g", x)
	}
	return fmt.Sprint(v)
}

// SyncProductionEnvs re-evaluates stored production flags when the
// --production-envs setting changed since the last start.
func (s *Store) SyncProductionEnvs(ctx context.Context) (changed bool, err error) {
	want := s.prodEnvs.String()
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var have []string
		if err := tx.NewRaw("SELECT value FROM settings WHERE key = 'production_envs'").Scan(ctx, &have); err != nil {
			return err
		}
		if len(have) == 1 && have[0] == want {
			return nil
		}
		changed = len(have) == 1
		envs := []string(s.prodEnvs)
		if len(envs) == 0 {
			envs = []string{""}
		}
		for _, t := range []string{"deployments", "incidents"} {
			if _, err := tx.NewRaw("UPDATE "+t+" SET production = (LOWER(TRIM(environment)) IN (?))", bun.List(envs)).Exec(ctx); err != nil {
				return err
			}
		}
		_, err := tx.NewRaw("INSERT INTO settings (key, value) VALUES ('production_envs', ?) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", want).Exec(ctx)
		return err
	})
	if err == nil && changed {
		// Which deployments and incidents count changed: derive DORA and
		// the ideas' deployment signals again.
		err = s.RecomputeDerived(ctx)
	}
	return changed, err
}
