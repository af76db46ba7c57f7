package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"github.com/throughline/throughline/domain"
)

// scopeFor names the rollup scope of a filter: all services, one service, a
// team, or a value stream's services as one set scope. ok is false when the filter cannot match anything (a service
// that is not in the team asked for).
func (s *Store) scopeFor(ctx context.Context, f domain.DORAFilter) (scopes []string, ok bool, err error) {
	if len(f.Services) > 0 {
		seen := map[string]bool{}
		for _, svc := range f.Services {
			if (f.Service == "" || svc == f.Service) && !seen[svc] {
				seen[svc] = true
				scopes = append(scopes, scopeService(svc))
			}
		}
		sort.Strings(scopes)
		if f.Team != "" && len(scopes) > 0 {
			names := make([]string, len(scopes))
			for i, sc := range scopes {
				names[i] = strings.TrimPrefix(sc, "svc:")
			}
			teams, err := s.teamsOf(ctx, s.db, names)
			if err != nil {
				return nil, false, err
			}
			kept := scopes[:0]
			for i, sc := range scopes {
				if teams[names[i]] == f.Team {
					kept = append(kept, sc)
				}
			}
			scopes = kept
		}
		if len(scopes) > 1 {
			names := make([]string, len(scopes))
			for i, sc := range scopes {
				names[i] = strings.TrimPrefix(sc, "svc:")
			}
			scopes = []string{scopeSet(names)}
		}
		return scopes, len(scopes) > 0, nil
	}
	switch {
	case f.Service != "" && f.Team != "":
		teams, err := s.teamsOf(ctx, s.db, []string{f.Service})
		if err != nil {
			return nil, false, err
		}
		return []string{scopeService(f.Service)}, teams[f.Service] == f.Team, nil
	case f.Service != "":
		return []string{scopeService(f.Service)}, true, nil
	case f.Team != "":
		return []string{scopeTeam(f.Team)}, true, nil
	}
	return []string{scopeAll}, true, nil
}

// dailyFacts reads the rollups of the scopes in [from, to] and adds them up
// per bucket (each window gets its own facts). A set scope's rows are
// computed from the facts instead.
func (s *Store) dailyFacts(ctx context.Context, scopes []string, windows []domain.Window) ([]domain.DORAFacts, error) {
	out := make([]domain.DORAFacts, len(windows))
	if len(windows) == 0 {
		return out, nil
	}
	var rows []dailyRow
	if len(scopes) == 1 && strings.HasPrefix(scopes[0], scopeSetPrefix) {
		var err error
		if rows, err = s.setDailies(ctx, scopes[0], windows); err != nil {
			return nil, err
		}
	} else if err := s.db.NewSelect().Model(&rows).Where("scope IN (?)", bun.List(scopes)).
		Where("day >= ?", micros(windows[0].From)).Where("day <= ?", micros(windows[len(windows)-1].To)).
		Order("day").Scan(ctx); err != nil {
		return nil, err
	}
	b := 0
	for _, r := range rows {
		day := fromMicros(r.Day)
		for b < len(windows) && day.After(windows[b].To) {
			b++
		}
		if b == len(windows) {
			break
		}
		if day.Before(windows[b].From) {
			continue // between two windows asked for
		}
		f := &out[b]
		f.Deployments += r.Deployments
		f.NonRollback += r.NonRollback
		f.Failed += r.Failed
		f.Rework += r.Rework
		f.LeadTimes = unpackFloats(f.LeadTimes, r.Lead)
		f.StartToMerged = unpackFloats(f.StartToMerged, r.StartMerged)
		f.MergedToDeployed = unpackFloats(f.MergedToDeployed, r.MergedDeploy)
		f.RecoveryTimes = unpackFloats(f.RecoveryTimes, r.Recovery)
		f.RestoreTimes = unpackFloats(f.RestoreTimes, r.Restore)
	}
	return out, nil
}

// setDailies computes the daily rows of a set scope for the days of the
// windows, in day order.
func (s *Store) setDailies(ctx context.Context, scope string, windows []domain.Window) ([]dailyRow, error) {
	var days []int64
	for _, w := range windows {
		for d := w.From; !d.After(w.To); d = d.AddDate(0, 0, 1) {
			days = append(days, micros(d))
		}
	}
	byDay, err := s.computeDailies(ctx, s.db, scope, days, nil)
	if err != nil {
		return nil, err
	}
	rows := make([]dailyRow, 0, len(byDay))
	for _, d := range days {
		if r := byDay[d]; r != nil {
			rows = append(rows, *r)
		}
	}
	return rows, nil
}

// DORAReport computes the five metrics for a window from the daily rollups.
// Answers are cached until a rollup changes (coverage moving bumps the
// version too) and for the day they were computed on.
func (s *Store) DORAReport(ctx context.Context, w domain.Window, f domain.DORAFilter) (domain.DORAReport, error) {
	version, err := s.DORAVersion(ctx)
	if err != nil {
		return domain.DORAReport{}, err
	}
	cov, err := s.coverageAt(ctx, version)
	if err != nil {
		return domain.DORAReport{}, err
	}
	scopes, ok, err := s.scopeFor(ctx, f)
	if err != nil || !ok {
		return domain.Report(w, cov, domain.DORAFacts{}), err
	}
	scope := strings.Join(scopes, ",")
	key := fmt.Sprintf("%s|%d|%d|%d", scope, w.From.Unix(), w.To.Unix(), cov.Today.Unix())
	if r, ok := s.reports.get(key, version); ok {
		return r, nil
	}
	// A window is its weeks: those already read are reused, and the medians
	// come from their sorted facts without merging.
	parts, err := s.bucketFacts(ctx, scopes, scope, w.Buckets(domain.BucketWeek), version)
	if err != nil {
		return domain.DORAReport{}, err
	}
	r := domain.ReportParts(w, cov, parts)
	s.reports.put(key, version, r)
	return r, nil
}

// bucketFacts returns the facts of each window, slices sorted, from the
// parts cache or read from the rollups in one query for those missing. The
// facts are shared: callers must not change them.
func (s *Store) bucketFacts(ctx context.Context, scopes []string, scope string, windows []domain.Window, version int64) ([]domain.DORAFacts, error) {
	out := make([]domain.DORAFacts, len(windows))
	key := func(w domain.Window) string { return fmt.Sprintf("%s|%d|%d", scope, w.From.Unix(), w.To.Unix()) }
	var missing []domain.Window
	var at []int
	for i, w := range windows {
		if f, ok := s.parts.get(key(w), version); ok {
			out[i] = f
		} else {
			missing, at = append(missing, w), append(at, i)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	facts, err := s.dailyFacts(ctx, scopes, missing)
	if err != nil {
		return nil, err
	}
	for j, i := range at {
		domain.SortFacts(&facts[j])
		out[i] = facts[j]
		s.parts.put(key(missing[j]), version, facts[j])
	}
	return out, nil
}

// versionCache keeps recent answers for the version of the rollups they
// were computed from; a bounded map, cleared when full.
type versionCache[T any] struct {
	mu      sync.Mutex
	entries map[string]cached[T]
	limit   int // entries kept before the map is cleared; 0: cacheSize
}

type cached[T any] struct {
	version int64
	value   T
}

const cacheSize = 4096

func (c *versionCache[T]) get(key string, version int64) (T, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || e.version != version {
		var zero T
		return zero, false
	}
	return e.value, true
}

func (c *versionCache[T]) put(key string, version int64, v T) {
	c.mu.Lock()
	defer c.mu.Unlock()
	limit := c.limit
	if limit <= 0 {
		limit = cacheSize
	}
	if c.entries == nil || len(c.entries) >= limit {
		c.entries = map[string]cached[T]{}
	}
	c.entries[key] = cached[T]{version: version, value: v}
}

// DORATrend computes the report per week or month of the window, cached
// like DORAReport.
func (s *Store) DORATrend(ctx context.Context, w domain.Window, b domain.Bucket, f domain.DORAFilter) (out []domain.DORAReport, err error) {
	buckets := w.Buckets(b)
	scopes, ok, err := s.scopeFor(ctx, f)
	if err != nil {
		return nil, err
	}
	scope := strings.Join(scopes, ",")
	version, err := s.DORAVersion(ctx)
	if err != nil {
		return nil, err
	}
	cov, err := s.coverageAt(ctx, version)
	if err != nil {
		return nil, err
	}
	key := fmt.Sprintf("trend|%s|%s|%d|%d|%v|%d", b, scope, w.From.Unix(), w.To.Unix(), ok, cov.Today.Unix())
	if t, hit := s.trends.get(key, version); hit {
		return t, nil
	}
	defer func() {
		if err == nil {
			s.trends.put(key, version, out)
		}
	}()
	facts := make([]domain.DORAFacts, len(buckets))
	if ok {
		if facts, err = s.bucketFacts(ctx, scopes, scope, buckets, version); err != nil {
			return nil, err
		}
	}
	out = make([]domain.DORAReport, len(buckets))
	for i, bw := range buckets {
		out[i] = domain.ReportParts(bw, cov, facts[i:i+1])
	}
	return out, nil
}

// DORAVersion changes whenever any rollup does; caches key on it. This
// process's own writes count at once; other instances' are seen within
// versionRefresh.
func (s *Store) DORAVersion(ctx context.Context) (int64, error) {
	s.version.mu.Lock()
	defer s.version.mu.Unlock()
	if now := s.now(); now.Sub(s.version.read) > versionRefresh || now.Before(s.version.read) {
		var v []int64
		if err := s.db.NewRaw("SELECT COALESCE(SUM(value), 0) FROM ingest_counters WHERE name = ?", counterDoraVersion).Scan(ctx, &v); err != nil {
			return 0, err
		}
		if len(v) == 1 {
			s.version.db = v[0]
		}
		s.version.read = now
	}
	return s.version.db + s.version.local, nil
}

// versionRefresh bounds how stale another instance's rollup change can look.
const versionRefresh = 500 * time.Millisecond

// doraVersion is the rollup version as this process knows it.
type doraVersion struct {
	mu    sync.Mutex
	db    int64     // sum of the counters when last read
	read  time.Time // when
	local int64     // this process's changes since (never reset: keeps keys unique)
}

// bumpVersion records a committed rollup change of this process.
func (s *Store) bumpVersion() {
	s.version.mu.Lock()
	s.version.local++
	s.version.mu.Unlock()
}

// servicesIn returns the services a filter covers (nil: all).
func (s *Store) servicesIn(ctx context.Context, f domain.DORAFilter) ([]string, bool, error) {
	scopes, ok, err := s.scopeFor(ctx, f)
	if err != nil || !ok {
		return nil, false, err
	}
	if len(f.Services) > 0 {
		if strings.HasPrefix(scopes[0], scopeSetPrefix) {
			svcs, _, err := s.scopeServices(ctx, s.db, scopes[0], nil)
			return svcs, true, err
		}
		return []string{strings.TrimPrefix(scopes[0], "svc:")}, true, nil
	}
	svcs, all, err := s.scopeServices(ctx, s.db, scopes[0], map[string][]string{})
	if err != nil {
		return nil, false, err
	}
	if all {
		return nil, true, nil
	}
	return svcs, len(svcs) > 0, nil
}

// maxDrillDown bounds the rows of one drill-down answer.
const maxDrillDown = 10000

// DeploymentsIn lists the production deployments of a window, newest first,
// with verdicts, reasons and the changes each carried: at most limit of them
// (≤ 0: the drill-down maximum), only failed ones when failedOnly.
func (s *Store) DeploymentsIn(ctx context.Context, w domain.Window, f domain.DORAFilter, failedOnly bool, limit int) ([]domain.DeploymentRecord, error) {
	if limit <= 0 || limit > maxDrillDown {
		limit = maxDrillDown
	}
	svcs, ok, err := s.servicesIn(ctx, f)
	if err != nil || !ok {
		return nil, err
	}
	type row struct {
		deploymentFactRow
		EventID  string `bun:"event_id"`
		Source   string `bun:"source"`
		Artifact string `bun:"artifact_id"`
		Hotfix   bool   `bun:"hotfix"`
		Team     string `bun:"team_name"`
	}
	var rows []row
	q := s.db.NewSelect().TableExpr("deployment_facts AS df").
		// A rollout's deployment is its first step (rollout_steps), any
		// other a deployments row.
		ColumnExpr("df.*, COALESCE(d.event_id, rs.event_id) AS event_id, COALESCE(d.source, rs.source) AS source").
		ColumnExpr("COALESCE(d.artifact_id, rs.artifact_id) AS artifact_id, COALESCE(d.hotfix, ?) AS hotfix, COALESCE(sv.team, '') AS team_name", false).
		Join("LEFT JOIN deployments AS d ON d.event_pk = df.event_pk").
		Join("LEFT JOIN rollout_steps AS rs ON rs.event_pk = df.event_pk").
		Join("LEFT JOIN services AS sv ON sv.service = df.service").
		Where("df.at >= ?", micros(w.From)).Where("df.at < ?", micros(w.End())).
		OrderExpr("df.at DESC, df.event_pk DESC").Limit(int64(limit))
	if svcs != nil {
		q = q.Where("df.service IN (?)", bun.List(svcs))
	}
	if failedOnly {
		q = q.Where("df.failed = ?", true)
	}
	if err := q.Scan(ctx, &rows); err != nil {
		return nil, err
	}
	pks := make([]int64, len(rows))
	rollbacks := map[int64]bool{}
	for i, r := range rows {
		pks[i] = r.EventPK
		if r.RollbackPK != nil {
			rollbacks[*r.RollbackPK] = true
		}
		if r.AbortPK != nil {
			rollbacks[*r.AbortPK] = true
		}
		if r.FlagOffPK != nil {
			rollbacks[*r.FlagOffPK] = true
		}
	}
	changes := map[int64][]string{}
	for start := 0; start < len(pks); start += insertChunk {
		var cds []changeDeployRow
		if err := s.db.NewSelect().Model(&cds).Where("deploy_pk IN (?)", bun.List(pks[start:min(start+insertChunk, len(pks))])).Scan(ctx); err != nil {
			return nil, err
		}
		for _, c := range cds {
			changes[c.DeployPK] = append(changes[c.DeployPK], c.ChangeID)
		}
	}
	rbIDs := map[int64]domain.Identity{}
	if len(rollbacks) > 0 {
		var evs []eventRow
		ids := make([]int64, 0, len(rollbacks))
		for pk := range rollbacks {
			ids = append(ids, pk)
		}
		if err := s.db.NewSelect().Model(&evs).Column("id", "source", "event_id").Where("id IN (?)", bun.List(ids)).Scan(ctx); err != nil {
			return nil, err
		}
		for _, e := range evs {
			rbIDs[e.ID] = domain.Identity{Source: e.Source, ID: e.EventID}
		}
	}
	overrides := map[domain.Identity]*domain.Override{}
	if len(rows) > 0 {
		deps := make([]deploymentRow, len(rows))
		for i, r := range rows {
			deps[i] = deploymentRow{Source: r.Source, EventID: r.EventID}
		}
		if overrides, err = s.overridesFor(ctx, s.db, deps); err != nil {
			return nil, err
		}
	}
	out := make([]domain.DeploymentRecord, len(rows))
	for i, r := range rows {
		id := domain.Identity{Source: r.Source, ID: r.EventID}
		v := domain.Verdict{
			Failed: r.Failed, RuleFailed: r.RuleFailed, Override: overrides[id],
			RecoveredAt: fromMicrosPtr(r.RecoveredAt), RecoveredBy: domain.Recovery(r.RecoveredBy),
			Rework: r.Rework, ReworkReason: domain.ReworkReason(r.ReworkReason), ReworkBy: r.ReworkBy,
		}
		for _, rule := range splitList(r.Rules) {
			v.Rules = append(v.Rules, domain.FailureRule(rule))
		}
		v.Incidents = splitList(r.Incidents)
		cs := changes[r.EventPK]
		sort.Strings(cs)
		v.Changes = cs
		rec := domain.DeploymentRecord{
			Deployment: domain.ProdDeployment{PK: r.EventPK, Event: id, Service: r.Service, Artifact: r.Artifact,
				At: fromMicros(r.At), Rollback: r.Rollback, Hotfix: r.Hotfix},
			Verdict: v, Team: r.Team,
		}
		if r.RollbackPK != nil {
			rb := rbIDs[*r.RollbackPK]
			rec.RollbackEvent = &rb
		}
		if r.AbortPK != nil {
			ab := rbIDs[*r.AbortPK]
			rec.AbortEvent = &ab
		}
		if r.FlagOffPK != nil {
			fo := rbIDs[*r.FlagOffPK]
			rec.FlagOffEvent = &fo
		}
		out[i] = rec
	}
	return out, nil
}

func ptrVal(p *int64) int64 {
	if p == nil {
		return minTime
	}
	return *p
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// IncidentsIn lists production incidents that started or were resolved in
// the window, newest first, with the deployment each made fail or why none;
// at most limit (≤ 0: the drill-down maximum).
func (s *Store) IncidentsIn(ctx context.Context, w domain.Window, f domain.DORAFilter, limit int) ([]domain.IncidentRecord, error) {
	return s.incidents(ctx, w, f, limit, false)
}

// IncidentsOverlapping is IncidentsIn plus the incidents that were open
// through the whole window (started before it, resolved after it or not
// yet): every incident a timeline of the window would show.
func (s *Store) IncidentsOverlapping(ctx context.Context, w domain.Window, f domain.DORAFilter, limit int) ([]domain.IncidentRecord, error) {
	return s.incidents(ctx, w, f, limit, true)
}

func (s *Store) incidents(ctx context.Context, w domain.Window, f domain.DORAFilter, limit int, across bool) ([]domain.IncidentRecord, error) {
	if limit <= 0 || limit > maxDrillDown {
		limit = maxDrillDown
	}
	svcs, ok, err := s.servicesIn(ctx, f)
	if err != nil || !ok {
		return nil, err
	}
	type row struct {
		incidentRow
		DeployPK *int64  `bun:"deploy_pk"`
		Rule     string  `bun:"rule"`
		Reason   string  `bun:"reason"`
		Source   *string `bun:"dep_source"`
		EventID  *string `bun:"dep_event_id"`
	}
	from, end := micros(w.From), micros(w.End())
	// Two index range scans (started in, resolved in) rather than one scan
	// with OR, merged here.
	query := func(col string, where func(*bun.SelectQuery) *bun.SelectQuery) ([]row, error) {
		var rows []row
		q := s.db.NewSelect().TableExpr("incidents AS i").
			ColumnExpr("i.*, ia.deploy_pk, COALESCE(ia.rule, '') AS rule, COALESCE(ia.reason, '') AS reason, d.source AS dep_source, d.event_id AS dep_event_id").
			Join("LEFT JOIN incident_attributions AS ia ON ia.incident_id = i.incident_id").
			Join("LEFT JOIN deployments AS d ON d.event_pk = ia.deploy_pk").
			Where("i.production = ?", true).
			OrderExpr("i." + col + " DESC").Limit(int64(limit))
		q = where(q)
		if svcs != nil {
			q = q.Where("i.service IN (?)", bun.List(svcs))
		}
		return rows, q.Scan(ctx, &rows)
	}
	in := func(col string) func(*bun.SelectQuery) *bun.SelectQuery {
		return func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("i."+col+" >= ?", from).Where("i."+col+" < ?", end)
		}
	}
	started, err := query("started_at", in("started_at"))
	if err != nil {
		return nil, err
	}
	resolved, err := query("resolved_at", in("resolved_at"))
	if err != nil {
		return nil, err
	}
	all := append(started, resolved...)
	if across {
		open, err := query("started_at", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("i.started_at < ?", from).WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
				return q.Where("i.resolved_at IS NULL").WhereOr("i.resolved_at >= ?", end)
			})
		})
		if err != nil {
			return nil, err
		}
		all = append(all, open...)
	}
	seen := map[string]bool{}
	var rows []row
	for _, r := range all {
		if !seen[r.IncidentID] {
			seen[r.IncidentID] = true
			rows = append(rows, r)
		}
	}
	sort.SliceStable(rows, func(i, j int) bool { return ptrVal(rows[i].StartedAt) > ptrVal(rows[j].StartedAt) })
	if len(rows) > limit {
		rows = rows[:limit]
	}
	out := make([]domain.IncidentRecord, len(rows))
	for i, r := range rows {
		rec := domain.IncidentRecord{
			Incident: domain.ProdIncident{ID: r.IncidentID, Service: r.Service, Artifact: r.ArtifactID,
				Start: fromMicrosPtr(r.StartedAt), Resolved: fromMicrosPtr(r.ResolvedAt)},
			Environment: r.Environment, Rule: domain.FailureRule(r.Rule), Unattributed: r.Reason,
		}
		switch {
		case r.DeployPK != nil && r.Source != nil:
			rec.DeploymentPK = *r.DeployPK
			rec.DeploymentEvent = domain.Identity{Source: *r.Source, ID: *r.EventID}
		case r.Service == "":
			rec.Unattributed = "it names no service"
		case r.StartedAt == nil:
			rec.Unattributed = "it has no detected or reported event, so its start is unknown"
		case rec.Unattributed == "":
			rec.Unattributed = "no production deployment of " + r.Service + " matched"
		}
		out[i] = rec
	}
	return out, nil
}

// SetOverride records an editor's verdict on a production deployment, with
// the audit entry, and applies it to the metrics in the same transaction. A
// deployment marked failed may name the production incidents of its service,
// started after it, that it caused.
func (s *Store) SetOverride(ctx context.Context, id domain.Identity, failed bool, reason, by string, incidents []string) error {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return domain.Errorf(domain.EINVALID, "Say why: the reason is shown next to the verdict.")
	}
	incidents = uniqueTrimmed(incidents)
	if !failed && len(incidents) > 0 {
		return domain.Errorf(domain.EINVALID, "Only a deployment marked failed can be tied to the incidents it caused.")
	}
	tied, err := json.Marshal(incidents)
	if err != nil {
		return err
	}
	defer s.bumpVersion()
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := s.lockDerived(ctx, tx); err != nil {
			return err
		}
		dep, err := productionDeployment(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := checkTiedIncidents(ctx, tx, dep, incidents); err != nil {
			return err
		}
		row := &overrideRow{Source: id.Source, EventID: id.ID, Failed: failed, Reason: reason, ByUser: by, At: micros(s.now()), Incidents: string(tied)}
		if _, err := tx.NewInsert().Model(row).On("CONFLICT (source, event_id) DO UPDATE").
			Set("failed = EXCLUDED.failed").Set("reason = EXCLUDED.reason").Set("by_user = EXCLUDED.by_user").Set("at = EXCLUDED.at").
			Set("incidents = EXCLUDED.incidents").Exec(ctx); err != nil {
			return err
		}
		verdict := "not failed"
		if failed {
			verdict = "failed"
		}
		if len(incidents) > 0 {
			verdict += ", caused " + strings.Join(incidents, ", ")
		}
		if err := audit(ctx, tx, s.now(), by, "deployment.override", id.String(), verdict+": "+reason); err != nil {
			return err
		}
		w := newDoraWork()
		w.service(dep.Service, dep.At)
		return s.processDora(ctx, tx, w)
	})
}

// checkTiedIncidents makes sure each incident an editor ties to a deployment
// is a production incident of its service that started after it.
func checkTiedIncidents(ctx context.Context, tx bun.IDB, dep *deploymentRow, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	var rows []incidentRow
	if err := tx.NewSelect().Model(&rows).Where("incident_id IN (?)", bun.List(ids)).Scan(ctx); err != nil {
		return err
	}
	found := map[string]incidentRow{}
	for _, r := range rows {
		found[r.IncidentID] = r
	}
	for _, id := range ids {
		r, ok := found[id]
		switch {
		case !ok:
			return domain.Errorf(domain.EINVALID, "No incident %q is known.", id)
		case !r.Production || r.Service != dep.Service:
			return domain.Errorf(domain.EINVALID, "Incident %s is not a production incident of %s.", id, dep.Service)
		case r.StartedAt == nil || *r.StartedAt < dep.At:
			return domain.Errorf(domain.EINVALID, "Incident %s did not start after this deployment, so it cannot be its failure.", id)
		}
	}
	return nil
}

// uniqueTrimmed drops blanks and repeats, keeping the order.
func uniqueTrimmed(xs []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, x := range xs {
		if x = strings.TrimSpace(x); x != "" && !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// ClearOverride removes an override; the rules decide again.
func (s *Store) ClearOverride(ctx context.Context, id domain.Identity, by string) error {
	defer s.bumpVersion()
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := s.lockDerived(ctx, tx); err != nil {
			return err
		}
		dep, err := productionDeployment(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, err := tx.NewDelete().Model((*overrideRow)(nil)).Where("source = ?", id.Source).Where("event_id = ?", id.ID).Exec(ctx); err != nil {
			return err
		}
		if err := audit(ctx, tx, s.now(), by, "deployment.override.clear", id.String(), ""); err != nil {
			return err
		}
		w := newDoraWork()
		w.service(dep.Service, dep.At)
		return s.processDora(ctx, tx, w)
	})
}

func productionDeployment(ctx context.Context, tx bun.IDB, id domain.Identity) (*deploymentRow, error) {
	dep := new(deploymentRow)
	err := tx.NewSelect().Model(dep).Join("JOIN events AS e ON e.id = d.event_pk").
		Where("e.source = ?", id.Source).Where("e.event_id = ?", id.ID).Scan(ctx)
	if err != nil {
		return nil, notFound(err, "No deployment event %s.", id.String())
	}
	if !dep.Production || dep.Kind == "removed" {
		return nil, domain.Errorf(domain.EINVALID, "%s is not a production deployment; only those have a verdict.", id.String())
	}
	if dep.Rollback {
		return nil, domain.Errorf(domain.EINVALID, "%s is a rollback; rollbacks are never failed deployments.", id.String())
	}
	return dep, nil
}

// Services lists every service seen in deployments or incidents.
func (s *Store) Services(ctx context.Context) ([]domain.Service, error) {
	var rows []serviceRow
	if err := s.db.NewSelect().Model(&rows).Order("service").Scan(ctx); err != nil {
		return nil, err
	}
	out := make([]domain.Service, len(rows))
	for i, r := range rows {
		out[i] = domain.Service{Name: r.Service, Team: r.Team, TeamByUser: r.TeamByUser}
	}
	return out, nil
}

// Teams lists the teams that own services.
func (s *Store) Teams(ctx context.Context) ([]string, error) {
	var teams []string
	err := s.db.NewSelect().Model((*serviceRow)(nil)).ColumnExpr("DISTINCT team").Where("team <> ''").Order("team").Scan(ctx, &teams)
	return teams, err
}

// SetServiceTeam assigns a service to a team by hand; events no longer
// change it. An empty team hands the choice back to the events.
func (s *Store) SetServiceTeam(ctx context.Context, service, team, by string) error {
	team = strings.TrimSpace(team)
	defer s.bumpVersion()
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := s.lockDerived(ctx, tx); err != nil {
			return err
		}
		before, err := s.teamsOf(ctx, tx, []string{service})
		if err != nil {
			return err
		}
		old, ok := before[service]
		if !ok {
			return domain.Errorf(domain.ENOTFOUND, "No service %q has been seen in events.", service)
		}
		q := tx.NewUpdate().Model((*serviceRow)(nil)).Where("service = ?", service)
		if team == "" {
			q = q.Set("team_by_user = ?", false)
		} else {
			q = q.Set("team = ?", team).Set("team_by_user = ?", true)
		}
		if _, err := q.Exec(ctx); err != nil {
			return err
		}
		if err := audit(ctx, tx, s.now(), by, "service.team", service, fmt.Sprintf("%q → %q", old, team)); err != nil {
			return err
		}
		w := newDoraWork()
		if err := s.markAllDays(ctx, tx, service, []string{old, team}, w); err != nil {
			return err
		}
		return s.refreshDays(ctx, tx, w.days)
	})
}
