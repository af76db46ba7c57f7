package sqlstore

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/throughline/throughline/domain"
)

// DORA derived state. Every event that can change a verdict marks the
// affected service "dirty from time F"; the service is then re-evaluated
// from just before F (the previous deployment, earlier failures still
// waiting for a recovery, and deployments that incidents after F could be
// attributed to), and the daily rollups of every scope that saw a change are
// recomputed. In-order arrival touches one or two deployments; a late event
// re-evaluates the stretch it could have changed. All of it happens in the
// transaction that stored the event.

// Scopes of the daily rollups.
const scopeAll = "*"

func scopeService(s string) string { return "svc:" + s }
func scopeTeam(t string) string    { return "team:" + t }

// A set scope is several services taken as one, as a value stream is: like
// a team, it counts each change once, with the first deployment among its
// services that carried it. It has no stored rollups; its facts are read
// from the deployment and change facts when asked for.
const (
	scopeSetPrefix = "set:"
	scopeSetSep    = "\x00" // the pages refuse NUL in names, so no name holds it
)

func scopeSet(services []string) string { return scopeSetPrefix + strings.Join(services, scopeSetSep) }

// deployKinds are the deployment predicates DORA counts (service.removed is not one).
var deployKinds = []string{"deployed", "upgraded", "rolledback"}

const dayMicros = int64(24 * time.Hour / time.Microsecond)

func dayOf(us int64) int64 { return us - ((us%dayMicros)+dayMicros)%dayMicros }

// doraWork collects what a transaction must recompute.
type doraWork struct {
	services    map[string]int64 // service → re-evaluate from this time (µs)
	days        map[scopeDay]bool
	leadChanges map[string]bool // changes whose start/merge times moved
	// changed lists, after processDora, the changes whose production
	// deployments or their verdicts were derived again.
	changed map[string]bool
}

type scopeDay struct {
	scope string
	day   int64
}

func newDoraWork() *doraWork {
	return &doraWork{services: map[string]int64{}, days: map[scopeDay]bool{}, leadChanges: map[string]bool{}}
}

func (w *doraWork) service(s string, from int64) {
	if s == "" {
		return
	}
	if cur, ok := w.services[s]; !ok || from < cur {
		w.services[s] = from
	}
}

func (w *doraWork) empty() bool {
	return len(w.services) == 0 && len(w.days) == 0 && len(w.leadChanges) == 0
}

type deploymentFactRow struct {
	bun.BaseModel `bun:"table:deployment_facts,alias:df"`

	EventPK      int64  `bun:"event_pk,pk"`
	Service      string `bun:"service"`
	At           int64  `bun:"at"`
	Day          int64  `bun:"day"`
	Rollback     bool   `bun:"rollback"`
	Failed       bool   `bun:"failed"`
	RuleFailed   bool   `bun:"rule_failed"`
	Rules        string `bun:"rules"`
	RollbackPK   *int64 `bun:"rollback_pk"`
	Incidents    string `bun:"incidents"`
	RecoveredAt  *int64 `bun:"recovered_at"`
	RecoveredBy  string `bun:"recovered_by"`
	Rework       bool   `bun:"rework"`
	ReworkReason string `bun:"rework_reason"`
	ReworkBy     string `bun:"rework_by"`
	Changes      int    `bun:"changes"`
	AbortPK      *int64 `bun:"abort_pk"`
	FlagOffPK    *int64 `bun:"flag_off_pk"`
}

type changeDeployRow struct {
	bun.BaseModel `bun:"table:change_deploys,alias:cd"`

	Service  string `bun:"service,pk"`
	ChangeID string `bun:"change_id,pk"`
	DeployPK int64  `bun:"deploy_pk"`
	DeployAt int64  `bun:"deploy_at"`
	Day      int64  `bun:"day"`
}

type attributionRow struct {
	bun.BaseModel `bun:"table:incident_attributions,alias:ia"`

	IncidentID string `bun:"incident_id,pk"`
	Service    string `bun:"service"`
	DeployPK   *int64 `bun:"deploy_pk"`
	DeployAt   *int64 `bun:"deploy_at"`
	Rule       string `bun:"rule"`
	Reason     string `bun:"reason"`
}

type overrideRow struct {
	bun.BaseModel `bun:"table:deployment_overrides,alias:ov"`

	Source  string `bun:"source,pk"`
	EventID string `bun:"event_id,pk"`
	Failed  bool   `bun:"failed"`
	Reason  string `bun:"reason"`
	ByUser  string `bun:"by_user"`
	At      int64  `bun:"at"`
	// Incidents is a JSON array of the incidents the editor tied to it.
	Incidents string `bun:"incidents"`
}

type dailyRow struct {
	bun.BaseModel `bun:"table:dora_daily,alias:dd"`

	Scope        string `bun:"scope,pk"`
	Day          int64  `bun:"day,pk"`
	Deployments  int    `bun:"deployments"`
	NonRollback  int    `bun:"non_rollback"`
	Failed       int    `bun:"failed"`
	Rework       int    `bun:"rework"`
	Lead         []byte `bun:"lead"`
	StartMerged  []byte `bun:"start_merged"`
	MergedDeploy []byte `bun:"merged_deploy"`
	Recovery     []byte `bun:"recovery"`
	Restore      []byte `bun:"restore"`
}

// floats packs durations for a rollup row, sorted so that equal sets are
// equal bytes; unpackFloats reverses it.
func floats(xs []float64) []byte {
	sort.Float64s(xs)
	b := make([]byte, 8*len(xs))
	for i, x := range xs {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(x))
	}
	return b
}

func unpackFloats(dst []float64, b []byte) []float64 {
	for i := 0; i+8 <= len(b); i += 8 {
		dst = append(dst, math.Float64frombits(binary.LittleEndian.Uint64(b[i:])))
	}
	return dst
}

// processDora re-evaluates dirty services and refreshes affected rollups.
// derivedLockKey names the PostgreSQL advisory lock that serialises the
// derivation of projections, DORA facts and rollups across instances.
const derivedLockKey = 7_236_041_191 // arbitrary, fixed: "throughline derive"

// lockDerived makes the transaction the only one, across every instance on
// the database, that derives state from what is stored until it ends. What
// another writer committed before is visible to every statement after it
// (read committed), so each derivation starts from the whole truth; the
// events themselves are inserted before it, concurrently, keyed by their
// identity. SQLite has one writer at a time anyway.
func (s *Store) lockDerived(ctx context.Context, tx bun.Tx) error {
	if s.dialect != Postgres {
		return nil
	}
	if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(?)", derivedLockKey); err != nil {
		return fmt.Errorf("wait for the derivation lock: %w", err)
	}
	return nil
}

func (s *Store) processDora(ctx context.Context, tx bun.Tx, w *doraWork) error {
	if w.empty() {
		return nil
	}
	changedChanges := map[string]bool{}
	services := make([]string, 0, len(w.services))
	for svc := range w.services {
		services = append(services, svc)
	}
	sort.Strings(services)
	for _, svc := range services {
		if err := s.recomputeService(ctx, tx, svc, w.services[svc], w, changedChanges); err != nil {
			return fmt.Errorf("re-evaluate %s: %w", svc, err)
		}
	}
	for c := range w.leadChanges {
		changedChanges[c] = true
	}
	w.changed = changedChanges
	if err := s.markChangeDays(ctx, tx, keys(changedChanges), w); err != nil {
		return err
	}
	return s.refreshDays(ctx, tx, w.days)
}

// teamOf returns the teams of services.
func (s *Store) teamsOf(ctx context.Context, tx bun.IDB, services []string) (map[string]string, error) {
	out := map[string]string{}
	if len(services) == 0 {
		return out, nil
	}
	var rows []serviceRow
	if err := tx.NewSelect().Model(&rows).Where("service IN (?)", bun.List(services)).Scan(ctx); err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[r.Service] = r.Team
	}
	return out, nil
}

// markServiceDays marks the day in every scope the service belongs to.
func markServiceDays(w *doraWork, service, team string, days ...int64) {
	for _, d := range days {
		w.days[scopeDay{scopeAll, d}] = true
		if service != "" {
			w.days[scopeDay{scopeService(service), d}] = true
		}
		if team != "" {
			w.days[scopeDay{scopeTeam(team), d}] = true
		}
	}
}

// markChangeDays marks the days on which the given changes first reached
// production for any service: their lead times, or which deployment counts
// them first in the all-services and team scopes, may have changed.
func (s *Store) markChangeDays(ctx context.Context, tx bun.Tx, changes []string, w *doraWork) error {
	for start := 0; start < len(changes); start += insertChunk {
		chunk := changes[start:min(start+insertChunk, len(changes))]
		var rows []changeDeployRow
		if err := tx.NewSelect().Model(&rows).Where("change_id IN (?)", bun.List(chunk)).Scan(ctx); err != nil {
			return err
		}
		svcs := map[string]bool{}
		for _, r := range rows {
			svcs[r.Service] = true
		}
		teams, err := s.teamsOf(ctx, tx, keys(svcs))
		if err != nil {
			return err
		}
		for _, r := range rows {
			markServiceDays(w, r.Service, teams[r.Service], r.Day)
		}
	}
	return nil
}

// recomputeService re-evaluates a service's production deployments from the
// earliest one an event at time from could have changed.
func (s *Store) recomputeService(ctx context.Context, tx bun.Tx, service string, from int64, w *doraWork, changedChanges map[string]bool) error {
	start, err := s.evaluationStart(ctx, tx, service, from)
	if err != nil {
		return err
	}

	// Deployments from start on, with their overrides.
	var deps []deploymentRow
	if err := tx.NewSelect().Model(&deps).
		Where("service = ?", service).Where("production = ?", true).Where("kind IN (?)", bun.List(deployKinds)).
		Where("at >= ?", start).Order("at", "event_pk").Scan(ctx); err != nil {
		return err
	}
	overrides, err := s.overridesFor(ctx, tx, deps)
	if err != nil {
		return err
	}
	hist := domain.ServiceHistory{ArtifactChanges: map[string][]string{}, AlreadyInProduction: map[string]bool{}}
	artifacts := map[string]bool{}
	for _, d := range deps {
		pd := domain.ProdDeployment{
			PK: d.EventPK, Event: domain.Identity{Source: d.Source, ID: d.EventID}, Service: d.Service,
			Artifact: d.ArtifactID, At: fromMicros(d.At), Rollback: d.Rollback, Hotfix: d.Hotfix,
		}
		if o, ok := overrides[pd.Event]; ok {
			pd.Override = o
		}
		hist.Deployments = append(hist.Deployments, pd)
		artifacts[d.ArtifactID] = true
	}
	if err := s.progressiveHistory(ctx, tx, service, start, &hist); err != nil {
		return err
	}
	for _, st := range hist.RolloutSteps {
		if st.Artifact != "" {
			artifacts[st.Artifact] = true
		}
	}

	// What their artifacts contain, and which of it was already in production.
	var links []artifactChangeRow
	if len(artifacts) > 0 {
		if err := tx.NewSelect().Model(&links).Where("artifact_id IN (?)", bun.List(keys(artifacts))).Scan(ctx); err != nil {
			return err
		}
	}
	changeSet := map[string]bool{}
	for _, l := range links {
		hist.ArtifactChanges[l.ArtifactID] = append(hist.ArtifactChanges[l.ArtifactID], l.ChangeID)
		changeSet[l.ChangeID] = true
	}
	if len(changeSet) > 0 {
		var earlier []string
		if err := tx.NewSelect().Model((*changeDeployRow)(nil)).Column("change_id").
			Where("service = ?", service).Where("deploy_at < ?", start).Where("change_id IN (?)", bun.List(keys(changeSet))).
			Scan(ctx, &earlier); err != nil {
			return err
		}
		for _, c := range earlier {
			hist.AlreadyInProduction[c] = true
		}
	}

	// Incidents that may relate: those starting from start on (to attribute)
	// and those still open then (for rework).
	var incs []incidentRow
	if err := tx.NewSelect().Model(&incs).Where("service = ?", service).Where("production = ?", true).
		Where("started_at IS NOT NULL").
		Where("(started_at >= ? OR resolved_at IS NULL OR resolved_at > ?)", start, start).Scan(ctx); err != nil {
		return err
	}
	attributable := map[string]bool{}
	for _, i := range incs {
		hist.Incidents = append(hist.Incidents, domain.ProdIncident{
			ID: i.IncidentID, Service: i.Service, Artifact: i.ArtifactID,
			Start: fromMicros(*i.StartedAt), Resolved: fromMicrosPtr(i.ResolvedAt),
		})
		if *i.StartedAt >= start {
			attributable[i.IncidentID] = true
		}
	}
	hist.AttributionWindow = s.attributionWindow
	ev := domain.EvaluateService(hist)

	// Replace what was derived from start on.
	var oldChanges []string
	if err := tx.NewSelect().Model((*changeDeployRow)(nil)).Column("change_id").
		Where("service = ?", service).Where("deploy_at >= ?", start).Scan(ctx, &oldChanges); err != nil {
		return err
	}
	for _, c := range oldChanges {
		changedChanges[c] = true
	}
	var oldDays []int64
	if err := tx.NewSelect().Model((*deploymentFactRow)(nil)).ColumnExpr("DISTINCT day").
		Where("service = ?", service).Where("at >= ?", start).Scan(ctx, &oldDays); err != nil {
		return err
	}
	if _, err := tx.NewDelete().Model((*deploymentFactRow)(nil)).Where("service = ?", service).Where("at >= ?", start).Exec(ctx); err != nil {
		return err
	}
	if _, err := tx.NewDelete().Model((*changeDeployRow)(nil)).Where("service = ?", service).Where("deploy_at >= ?", start).Exec(ctx); err != nil {
		return err
	}

	facts := make([][]any, 0, len(ev.Deployments))
	var carries [][]any
	days := map[int64]bool{}
	for _, d := range oldDays {
		days[d] = true
	}
	for i, d := range ev.Deployments {
		v := ev.Verdicts[i]
		at := micros(d.At)
		day := dayOf(at)
		days[day] = true
		var rollbackPK, recovered, abortPK, flagOffPK any
		if v.RollbackBy != nil {
			rollbackPK = v.RollbackBy.PK
		}
		if v.AbortedBy != nil {
			abortPK = v.AbortedBy.PK
		}
		if v.FlagOff != nil {
			flagOffPK = v.FlagOff.PK
		}
		if !v.RecoveredAt.IsZero() {
			recovered = micros(v.RecoveredAt)
		}
		rules := make([]string, len(v.Rules))
		for j, r := range v.Rules {
			rules[j] = string(r)
		}
		facts = append(facts, []any{
			d.PK, service, at, day, d.Rollback, v.Failed, v.RuleFailed, strings.Join(rules, ","), rollbackPK,
			strings.Join(v.Incidents, ","), recovered, string(v.RecoveredBy), v.Rework, string(v.ReworkReason), v.ReworkBy, len(v.Changes),
			abortPK, flagOffPK,
		})
		for _, c := range v.Changes {
			carries = append(carries, []any{service, c, d.PK, at, day})
			changedChanges[c] = true
		}
	}
	if err := s.bulkExec(ctx, tx, bulkSpec{table: "deployment_facts", cols: []string{
		"event_pk", "service", "at", "day", "rollback", "failed", "rule_failed", "rules", "rollback_pk",
		"incidents", "recovered_at", "recovered_by", "rework", "rework_reason", "rework_by", "changes", "abort_pk", "flag_off_pk"}}, facts); err != nil {
		return err
	}
	if err := s.bulkExec(ctx, tx, bulkSpec{table: "change_deploys", cols: []string{"service", "change_id", "deploy_pk", "deploy_at", "day"}}, carries); err != nil {
		return err
	}

	// Attributions of the incidents this evaluation was responsible for.
	var attrs [][]any
	for _, i := range hist.Incidents {
		if !attributable[i.ID] {
			continue
		}
		if a, ok := ev.Attributions[i.ID]; ok {
			var at int64
			for _, d := range ev.Deployments {
				if d.PK == a.DeploymentPK {
					at = micros(d.At)
				}
			}
			attrs = append(attrs, []any{i.ID, service, a.DeploymentPK, at, string(a.Rule), ""})
		} else {
			attrs = append(attrs, []any{i.ID, service, nil, nil, "", ev.Unattributed[i.ID]})
		}
	}
	if err := s.bulkExec(ctx, tx, bulkSpec{
		table:  "incident_attributions",
		cols:   []string{"incident_id", "service", "deploy_pk", "deploy_at", "rule", "reason"},
		suffix: "ON CONFLICT (incident_id) DO UPDATE SET service = EXCLUDED.service, deploy_pk = EXCLUDED.deploy_pk, deploy_at = EXCLUDED.deploy_at, rule = EXCLUDED.rule, reason = EXCLUDED.reason",
	}, attrs); err != nil {
		return err
	}

	teams, err := s.teamsOf(ctx, tx, []string{service})
	if err != nil {
		return err
	}
	for d := range days {
		markServiceDays(w, service, teams[service], d)
	}
	return nil
}

// evaluationStart finds the earliest deployment time an event at from can
// affect: the deployment before it (its next deployment changes), earlier
// failures that recover with a later deployment, and the deployments that
// incidents starting later are or could be attributed to.
func (s *Store) evaluationStart(ctx context.Context, tx bun.Tx, service string, from int64) (int64, error) {
	if from == minTime {
		return from, nil // the whole history
	}
	start := from
	prevAt := func(before int64) (int64, bool, error) {
		var ats []int64
		err := tx.NewSelect().Model((*deploymentRow)(nil)).Column("at").
			Where("service = ?", service).Where("production = ?", true).Where("kind IN (?)", bun.List(deployKinds)).
			Where("at < ?", before).Order("at DESC").Limit(1).Scan(ctx, &ats)
		if err != nil || len(ats) == 0 {
			return 0, false, err
		}
		return ats[0], true, nil
	}
	if at, ok, err := prevAt(start); err != nil {
		return 0, err
	} else if ok {
		start = at
	}
	// Walk back over failures whose recovery may be the next good deployment.
	for {
		var facts []deploymentFactRow
		if err := tx.NewSelect().Model(&facts).Where("service = ?", service).Where("at < ?", start).
			Order("at DESC").Limit(1).Scan(ctx); err != nil {
			return 0, err
		}
		if len(facts) == 0 || !facts[0].Failed || (facts[0].RecoveredBy != "" && facts[0].RecoveredBy != string(domain.RecoveredByDeployment)) {
			break
		}
		start = facts[0].At
	}
	// Incidents starting from start on may move to, or from, an earlier
	// deployment: the one they name, or the one they were attributed to.
	var incs []incidentRow
	if err := tx.NewSelect().Model(&incs).Where("service = ?", service).Where("production = ?", true).
		Where("started_at >= ?", start).Scan(ctx); err != nil {
		return 0, err
	}
	for _, i := range incs {
		var prior []int64
		if err := tx.NewSelect().Model((*attributionRow)(nil)).Column("deploy_at").
			Where("incident_id = ?", i.IncidentID).Where("deploy_at IS NOT NULL").Scan(ctx, &prior); err != nil {
			return 0, err
		}
		for _, at := range prior {
			start = min(start, at)
		}
		if i.ArtifactID != "" {
			var ats []int64
			if err := tx.NewSelect().Model((*deploymentRow)(nil)).Column("at").
				Where("service = ?", service).Where("production = ?", true).Where("kind IN (?)", bun.List(deployKinds)).
				Where("artifact_id = ?", i.ArtifactID).Where("at <= ?", *i.StartedAt).Order("at DESC").Limit(1).Scan(ctx, &ats); err != nil {
				return 0, err
			}
			for _, at := range ats {
				start = min(start, at)
			}
		}
	}
	return s.rolloutStart(ctx, tx, service, start)
}

func (s *Store) overridesFor(ctx context.Context, tx bun.IDB, deps []deploymentRow) (map[domain.Identity]*domain.Override, error) {
	out := map[domain.Identity]*domain.Override{}
	if len(deps) == 0 {
		return out, nil
	}
	sources := map[string]bool{}
	ids := make([]string, 0, len(deps))
	for _, d := range deps {
		sources[d.Source] = true
		ids = append(ids, d.EventID)
	}
	var rows []overrideRow
	for start := 0; start < len(ids); start += insertChunk {
		var chunk []overrideRow
		if err := tx.NewSelect().Model(&chunk).Where("event_id IN (?)", bun.List(ids[start:min(start+insertChunk, len(ids))])).
			Where("source IN (?)", bun.List(keys(sources))).Scan(ctx); err != nil {
			return nil, err
		}
		rows = append(rows, chunk...)
	}
	for _, r := range rows {
		o := &domain.Override{Failed: r.Failed, Reason: r.Reason, By: r.ByUser, At: fromMicros(r.At)}
		if r.Incidents != "" {
			if err := json.Unmarshal([]byte(r.Incidents), &o.Incidents); err != nil {
				return nil, fmt.Errorf("override %s %s: incidents: %w", r.Source, r.EventID, err)
			}
		}
		out[domain.Identity{Source: r.Source, ID: r.EventID}] = o
	}
	return out, nil
}

func fromMicrosPtr(p *int64) time.Time {
	if p == nil {
		return time.Time{}
	}
	return fromMicros(*p)
}

// refreshDays recomputes the rollup rows of the given scopes and days: per
// scope, one query per source table for all its days.
func (s *Store) refreshDays(ctx context.Context, tx bun.Tx, days map[scopeDay]bool) error {
	if len(days) == 0 {
		return nil
	}
	byScope := map[string][]int64{}
	for k := range days {
		byScope[k.scope] = append(byScope[k.scope], k.day)
	}
	scopes := keysOf(byScope)
	teamCache := map[string][]string{}
	var upserts [][]any
	for _, scope := range scopes {
		ds := byScope[scope]
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		rows, err := s.computeDailies(ctx, tx, scope, ds, teamCache)
		if err != nil {
			return fmt.Errorf("rollup %s: %w", scope, err)
		}
		var empty []int64
		for _, d := range ds {
			r := rows[d]
			if r == nil {
				empty = append(empty, d)
				continue
			}
			upserts = append(upserts, []any{r.Scope, r.Day, r.Deployments, r.NonRollback, r.Failed, r.Rework,
				r.Lead, r.StartMerged, r.MergedDeploy, r.Recovery, r.Restore})
		}
		for start := 0; start < len(empty); start += insertChunk {
			if _, err := tx.NewDelete().Model((*dailyRow)(nil)).Where("scope = ?", scope).
				Where("day IN (?)", bun.List(empty[start:min(start+insertChunk, len(empty))])).Exec(ctx); err != nil {
				return err
			}
		}
	}
	if err := s.bulkExec(ctx, tx, bulkSpec{
		table: "dora_daily",
		cols:  []string{"scope", "day", "deployments", "non_rollback", "failed", "rework", "lead", "start_merged", "merged_deploy", "recovery", "restore"},
		suffix: "ON CONFLICT (scope, day) DO UPDATE SET deployments = EXCLUDED.deployments, non_rollback = EXCLUDED.non_rollback, " +
			"failed = EXCLUDED.failed, rework = EXCLUDED.rework, lead = EXCLUDED.lead, start_merged = EXCLUDED.start_merged, " +
			"merged_deploy = EXCLUDED.merged_deploy, recovery = EXCLUDED.recovery, restore = EXCLUDED.restore",
	}, upserts); err != nil {
		return err
	}
	return s.addCounters(ctx, tx, map[string]int64{counterDoraVersion: 1})
}

// counterDoraVersion changes whenever a rollup does; readers key caches on it.
const counterDoraVersion = "dora_version"

// scopeServices returns the services a scope covers; nil means all.
func (s *Store) scopeServices(ctx context.Context, tx bun.IDB, scope string, cache map[string][]string) ([]string, bool, error) {
	switch {
	case scope == scopeAll:
		return nil, true, nil
	case strings.HasPrefix(scope, "svc:"):
		return []string{strings.TrimPrefix(scope, "svc:")}, false, nil
	case strings.HasPrefix(scope, scopeSetPrefix):
		return strings.Split(strings.TrimPrefix(scope, scopeSetPrefix), scopeSetSep), false, nil
	case strings.HasPrefix(scope, "team:"):
		team := strings.TrimPrefix(scope, "team:")
		if svcs, ok := cache[team]; ok {
			return svcs, false, nil
		}
		var svcs []string
		if err := tx.NewSelect().Model((*serviceRow)(nil)).Column("service").Where("team = ?", team).Scan(ctx, &svcs); err != nil {
			return nil, false, err
		}
		cache[team] = svcs
		return svcs, false, nil
	}
	return nil, false, fmt.Errorf("unknown scope %q", scope)
}

// computeDailies builds the rollup rows of a scope for the given days (nil
// for a day the scope saw nothing on).
func (s *Store) computeDailies(ctx context.Context, tx bun.IDB, scope string, days []int64, teamCache map[string][]string) (map[int64]*dailyRow, error) {
	out := map[int64]*dailyRow{}
	services, all, err := s.scopeServices(ctx, tx, scope, teamCache)
	if err != nil {
		return nil, err
	}
	if !all && len(services) == 0 {
		return out, nil
	}
	inScope := func(q *bun.SelectQuery, col string) *bun.SelectQuery {
		if all {
			return q
		}
		return q.Where(col+" IN (?)", bun.List(services))
	}
	facts := map[int64]*domain.DORAFacts{}
	get := func(day int64) *domain.DORAFacts {
		if facts[day] == nil {
			facts[day] = &domain.DORAFacts{}
		}
		return facts[day]
	}
	for start := 0; start < len(days); start += insertChunk {
		chunk := days[start:min(start+insertChunk, len(days))]
		var deps []deploymentFactRow
		if err := inScope(tx.NewSelect().Model(&deps).Where("day IN (?)", bun.List(chunk)), "service").Scan(ctx); err != nil {
			return nil, err
		}
		for _, d := range deps {
			f := get(d.Day)
			f.Deployments++
			if d.Rework {
				f.Rework++
			}
			if d.Rollback {
				continue
			}
			f.NonRollback++
			if d.Failed {
				f.Failed++
				if d.RecoveredAt != nil {
					f.RecoveryTimes = append(f.RecoveryTimes, float64(*d.RecoveredAt-d.At)/1e6)
				}
			}
		}

		// Lead times: a change counts once per scope, with the first
		// deployment in the scope that carried it.
		var carries []changeDeployRow
		if err := inScope(tx.NewSelect().Model(&carries).Where("day IN (?)", bun.List(chunk)), "service").Scan(ctx); err != nil {
			return nil, err
		}
		if len(carries) > 0 {
			ids := map[string]bool{}
			for _, c := range carries {
				ids[c.ChangeID] = true
			}
			idList := keys(ids)
			first := map[string]changeDeployRow{}
			times := map[string]domain.ChangeTimes{}
			for cs := 0; cs < len(idList); cs += insertChunk {
				part := idList[cs:min(cs+insertChunk, len(idList))]
				var everywhere []changeDeployRow
				if err := inScope(tx.NewSelect().Model(&everywhere).Where("change_id IN (?)", bun.List(part)), "service").Scan(ctx); err != nil {
					return nil, err
				}
				for _, c := range everywhere {
					cur, ok := first[c.ChangeID]
					if !ok || c.DeployAt < cur.DeployAt || (c.DeployAt == cur.DeployAt && c.Service < cur.Service) {
						first[c.ChangeID] = c
					}
				}
				var changes []changeRow
				if err := tx.NewSelect().Model(&changes).Where("change_id IN (?)", bun.List(part)).Scan(ctx); err != nil {
					return nil, err
				}
				for _, c := range changes {
					times[c.ChangeID] = domain.ChangeTimes{Start: fromMicros(c.FirstAt), Merged: fromMicrosPtr(c.MergedAt)}
				}
			}
			for _, c := range carries {
				if fc := first[c.ChangeID]; fc.Service != c.Service || fc.DeployPK != c.DeployPK {
					continue
				}
				l, ok := domain.MeasureLead(c.ChangeID, times[c.ChangeID], fromMicros(c.DeployAt))
				if !ok {
					continue
				}
				f := get(c.Day)
				f.LeadTimes = append(f.LeadTimes, l.Seconds)
				if l.StartToMerged != nil {
					f.StartToMerged = append(f.StartToMerged, *l.StartToMerged)
					f.MergedToDeployed = append(f.MergedToDeployed, *l.MergedToDeployed)
				}
			}
		}
	}

	// Time to restore: production incidents resolved on those days.
	var incs []incidentRow
	q := tx.NewSelect().Model(&incs).Where("production = ?", true).Where("started_at IS NOT NULL").
		Where("resolved_at >= ?", days[0]).Where("resolved_at < ?", days[len(days)-1]+dayMicros)
	if err := inScope(q, "service").Scan(ctx); err != nil {
		return nil, err
	}
	wanted := map[int64]bool{}
	for _, d := range days {
		wanted[d] = true
	}
	for _, i := range incs {
		if d := dayOf(*i.ResolvedAt); wanted[d] {
			f := get(d)
			f.RestoreTimes = append(f.RestoreTimes, float64(*i.ResolvedAt-*i.StartedAt)/1e6)
		}
	}

	for day, f := range facts {
		if f.Deployments == 0 && len(f.LeadTimes) == 0 && len(f.RestoreTimes) == 0 {
			continue
		}
		out[day] = &dailyRow{
			Scope: scope, Day: day, Deployments: f.Deployments, NonRollback: f.NonRollback, Failed: f.Failed, Rework: f.Rework,
			Lead: floats(f.LeadTimes), StartMerged: floats(f.StartToMerged), MergedDeploy: floats(f.MergedToDeployed),
			Recovery: floats(f.RecoveryTimes), Restore: floats(f.RestoreTimes),
		}
	}
	return out, nil
}
