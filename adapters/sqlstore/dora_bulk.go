package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"sort"

	"github.com/uptrace/bun"

	"github.com/throughline/throughline/domain"
)

// RecomputeAllDORA derives every DORA verdict and rollup again from the
// projections, service by service and then in one pass over all changes. A
// rebuild uses it instead of re-evaluating after every page of events: the
// result is the same, computed once. It holds the projection lock while it
// runs, so ingestion waits (and retries) rather than mixing old and new state.
func (s *Store) RecomputeAllDORA(ctx context.Context) error {
	defer s.bumpVersion()
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := s.lockDerived(ctx, tx); err != nil {
			return err
		}
		if _, err := s.generation(ctx, tx, true); err != nil {
			return err
		}
		for _, t := range []string{"deployment_facts", "change_deploys", "incident_attributions", "dora_daily"} {
			if _, err := tx.NewRaw("DELETE FROM " + t).Exec(ctx); err != nil {
				return fmt.Errorf("empty %s: %w", t, err)
			}
		}
		var services []string
		if err := tx.NewRaw("SELECT DISTINCT service FROM deployments WHERE production = ? UNION SELECT DISTINCT service FROM incidents WHERE production = ? AND service <> '' UNION SELECT DISTINCT service FROM rollout_steps WHERE production = ?",
			true, true, true).Scan(ctx, &services); err != nil {
			return err
		}
		sort.Strings(services)
		w := newDoraWork()
		changed := map[string]bool{}
		for _, svc := range services {
			// From the beginning of time: nothing before to keep.
			if err := s.recomputeService(ctx, tx, svc, minTime, w, changed); err != nil {
				return fmt.Errorf("evaluate %s: %w", svc, err)
			}
		}
		return s.bulkDailies(ctx, tx)
	})
}

// minTime is earlier than any event.
const minTime = int64(-1 << 62)

// bulkDailies computes every rollup row in one pass over the derived state.
func (s *Store) bulkDailies(ctx context.Context, tx bun.Tx) error {
	teams := map[string]string{}
	var svcRows []serviceRow
	if err := tx.NewSelect().Model(&svcRows).Scan(ctx); err != nil {
		return err
	}
	for _, r := range svcRows {
		teams[r.Service] = r.Team
	}
	acc := map[scopeDay]*domain.DORAFacts{}
	add := func(service string, day int64, f func(*domain.DORAFacts)) {
		for _, scope := range scopesOf(service, teams[service]) {
			k := scopeDay{scope, day}
			if acc[k] == nil {
				acc[k] = &domain.DORAFacts{}
			}
			f(acc[k])
		}
	}
	addTo := func(scope string, day int64, f func(*domain.DORAFacts)) {
		k := scopeDay{scope, day}
		if acc[k] == nil {
			acc[k] = &domain.DORAFacts{}
		}
		f(acc[k])
	}

	// Deployments: counts, failures, recovery, rework.
	rows, err := tx.QueryContext(ctx, "SELECT service, day, at, rollback, failed, recovered_at, rework FROM deployment_facts")
	if err != nil {
		return err
	}
	for rows.Next() {
		var svc string
		var day, at int64
		var rollback, failed, rework bool
		var recovered sql.NullInt64
		if err := rows.Scan(&svc, &day, &at, &rollback, &failed, &recovered, &rework); err != nil {
			rows.Close()
			return err
		}
		add(svc, day, func(f *domain.DORAFacts) {
			f.Deployments++
			if rework {
				f.Rework++
			}
			if rollback {
				return
			}
			f.NonRollback++
			if failed {
				f.Failed++
				if recovered.Valid {
					f.RecoveryTimes = append(f.RecoveryTimes, float64(recovered.Int64-at)/1e6)
				}
			}
		})
	}
	rows.Close()

	// Lead times: ordered by change, then time, so that the first row of a
	// change is its first production deployment anywhere, and the first row
	// per team its first in that team.
	rows, err = tx.QueryContext(ctx, `SELECT cd.change_id, cd.service, cd.day, cd.deploy_at, c.first_at, c.merged_at
		FROM change_deploys cd LEFT JOIN changes c ON c.change_id = cd.change_id
		ORDER BY cd.change_id, cd.deploy_at, cd.service`)
	if err != nil {
		return err
	}
	var current string
	seenTeams := map[string]bool{}
	for rows.Next() {
		var change, svc string
		var day, deployAt int64
		var first, merged sql.NullInt64
		if err := rows.Scan(&change, &svc, &day, &deployAt, &first, &merged); err != nil {
			rows.Close()
			return err
		}
		if !first.Valid {
			continue // never seen a change.* event: lead time unknown
		}
		times := domain.ChangeTimes{Start: fromMicros(first.Int64)}
		if merged.Valid {
			times.Merged = fromMicros(merged.Int64)
		}
		l, ok := domain.MeasureLead(change, times, fromMicros(deployAt))
		if !ok {
			continue
		}
		put := func(f *domain.DORAFacts) {
			f.LeadTimes = append(f.LeadTimes, l.Seconds)
			if l.StartToMerged != nil {
				f.StartToMerged = append(f.StartToMerged, *l.StartToMerged)
				f.MergedToDeployed = append(f.MergedToDeployed, *l.MergedToDeployed)
			}
		}
		isFirst := change != current
		if isFirst {
			current = change
			clear(seenTeams)
			addTo(scopeAll, day, put)
		}
		addTo(scopeService(svc), day, put)
		if t := teams[svc]; t != "" && !seenTeams[t] {
			seenTeams[t] = true
			addTo(scopeTeam(t), day, put)
		}
	}
	rows.Close()

	// Time to restore.
	rows, err = tx.QueryContext(ctx, "SELECT service, started_at, resolved_at FROM incidents WHERE production = ? AND started_at IS NOT NULL AND resolved_at IS NOT NULL", true)
	if err != nil {
		return err
	}
	for rows.Next() {
		var svc string
		var start, resolved int64
		if err := rows.Scan(&svc, &start, &resolved); err != nil {
			rows.Close()
			return err
		}
		add(svc, dayOf(resolved), func(f *domain.DORAFacts) { f.RestoreTimes = append(f.RestoreTimes, float64(resolved-start)/1e6) })
	}
	rows.Close()

	out := make([][]any, 0, len(acc))
	for k, f := range acc {
		out = append(out, []any{k.scope, k.day, f.Deployments, f.NonRollback, f.Failed, f.Rework,
			floats(f.LeadTimes), floats(f.StartToMerged), floats(f.MergedToDeployed), floats(f.RecoveryTimes), floats(f.RestoreTimes)})
	}
	if err := s.bulkExec(ctx, tx, bulkSpec{table: "dora_daily", cols: []string{
		"scope", "day", "deployments", "non_rollback", "failed", "rework", "lead", "start_merged", "merged_deploy", "recovery", "restore"}}, out); err != nil {
		return err
	}
	return s.addCounters(ctx, tx, map[string]int64{counterDoraVersion: 1})
}

// scopesOf lists the rollup scopes a service's data belongs to.
func scopesOf(service, team string) []string {
	out := []string{scopeAll}
	if service != "" {
		out = append(out, scopeService(service))
	}
	if team != "" {
		out = append(out, scopeTeam(team))
	}
	return out
}
