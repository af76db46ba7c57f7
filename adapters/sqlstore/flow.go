package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"github.com/throughline/throughline/domain"
)

// Flow signals: every idea has an idea_flow row holding when each trigger of
// the stage rules happened to it. Whatever can move a trigger — a linked
// event, a late artifact.packaged, an incident attributed to its deployment,
// an edit of the idea — refreshes the affected ideas' rows in the same
// transaction. Each write takes the next flow_state.seq, so readers keep an
// in-memory copy of all rows and load only those with a higher seq.

// signalColumn is the idea_flow column of a trigger: sig_ + its name.
func signalColumn(t domain.Trigger) string {
	return "sig_" + strings.ReplaceAll(t.String(), ".", "_")
}

var flowColumns = func() []string {
	cols := []string{"idea_key", "seq", "title", "flow_type", "horizon", "team", "services", "archived", "has_kr", "verdict_at"}
	for _, t := range domain.AllTriggers() {
		cols = append(cols, signalColumn(t))
	}
	return append(cols, "updated_at", "rolled_back_at", "rolled_back_by")
}()

// removalJSON is how idea_flow.rolled_back_by stores the deployment that
// rolled an idea back.
type removalJSON struct {
	Service  string `json:"service"`
	Source   string `json:"source"`
	ID       string `json:"id"`
	Artifact string `json:"artifact"`
	Rollback bool   `json:"rollback"`
}

// removalColumns are a flow item's rolled_back_at and rolled_back_by values.
func removalColumns(r *domain.Removal) (any, string) {
	if r == nil {
		return nil, ""
	}
	b, _ := json.Marshal(removalJSON{Service: r.Service, Source: r.Event.Source, ID: r.Event.ID, Artifact: r.Artifact, Rollback: r.Rollback})
	return micros(r.At), string(b)
}

// removalFrom reads them back.
func removalFrom(at sql.NullInt64, by string) *domain.Removal {
	if !at.Valid {
		return nil
	}
	var j removalJSON
	_ = json.Unmarshal([]byte(by), &j) // written by removalColumns
	return &domain.Removal{At: fromMicros(at.Int64), Service: j.Service, Event: domain.Identity{Source: j.Source, ID: j.ID},
		Artifact: j.Artifact, Rollback: j.Rollback}
}

// nextFlowSeq takes the next change number. The row lock it takes is held
// to commit, so on PostgreSQL flow writers commit in seq order and a reader
// that has seen seq n has seen every change numbered below it.
func nextFlowSeq(ctx context.Context, tx bun.IDB) (int64, error) {
	var seq int64
	if err := tx.NewRaw("UPDATE flow_state SET seq = seq + 1 WHERE id = 1 RETURNING seq").Scan(ctx, &seq); err != nil {
		return 0, fmt.Errorf("next flow seq: %w", err)
	}
	return seq, nil
}

// refreshFlow recomputes the flow rows of the ideas with these keys (keys
// that are not ideas are ignored) and reports whether any was written.
func (s *Store) refreshFlow(ctx context.Context, tx bun.Tx, keys []string) (bool, error) {
	if len(keys) == 0 {
		return false, nil
	}
	var rows []ideaRow
	for start := 0; start < len(keys); start += insertChunk {
		var chunk []ideaRow
		if err := tx.NewSelect().Model(&chunk).Where("key IN (?)", bun.List(keys[start:min(start+insertChunk, len(keys))])).Scan(ctx); err != nil {
			return false, err
		}
		rows = append(rows, chunk...)
	}
	if len(rows) == 0 {
		return false, nil
	}
	ideaKeys := make([]string, len(rows))
	for i, r := range rows {
		ideaKeys[i] = r.Key
	}
	krs, err := ideaKeyResults(ctx, tx, ideaKeys)
	if err != nil {
		return false, err
	}
	items, err := s.computeFlowItems(ctx, tx, rows, krs)
	if err != nil {
		return false, err
	}
	seq, err := nextFlowSeq(ctx, tx)
	if err != nil {
		return false, err
	}
	now := micros(s.now())
	values := make([][]any, len(items))
	for i := range items {
		it := &items[i]
		v := []any{it.Key, seq, it.Title, string(it.Type), string(it.Horizon), it.Team, strings.Join(it.Services, ","), it.Archived, it.HasKeyResult, nullMicros(it.Verdict)}
		for _, us := range it.Signals {
			v = append(v, nullMicros(us))
		}
		at, by := removalColumns(it.RolledBack)
		values[i] = append(v, now, at, by)
	}
	sets := make([]string, 0, len(flowColumns)-1)
	for _, c := range flowColumns[1:] {
		sets = append(sets, c+" = EXCLUDED."+c)
	}
	err = s.bulkExec(ctx, tx, bulkSpec{table: "idea_flow", cols: flowColumns,
		suffix: "ON CONFLICT (idea_key) DO UPDATE SET " + strings.Join(sets, ", ")}, values)
	return err == nil, err
}

func nullMicros(us int64) any {
	if us == 0 {
		return nil
	}
	return us
}

// flowWork collects, during an ingest transaction, what may have moved the
// flow signals of some ideas.
type flowWork struct {
	ideas     map[string]bool // named by an event
	changes   map[string]bool // whose times, packaging or deployment moved
	artifacts map[string]bool // built, tested, published or deployed
	// services whose production deployments may have taken some idea's
	// changes out of production, or put them back (see markReplacements)
	services map[string]bool
}

func newFlowWork() *flowWork {
	return &flowWork{ideas: map[string]bool{}, changes: map[string]bool{}, artifacts: map[string]bool{}, services: map[string]bool{}}
}

// markReplacements marks the services of new production deployments that
// may change which ideas are still in production beyond their own: a
// rollback, a deployment of an artifact already deployed there (an older
// version back), or one that arrived after a later deployment of the
// service (the sequence after it is read again). A new artifact deployed in
// order only adds its own changes, which its ideas already refresh.
func (s *Store) markReplacements(ctx context.Context, tx bun.IDB, deployments []deploymentRow, w *flowWork) error {
	type batch struct {
		pks       []int64
		artifacts []string
		first     int64
	}
	bySvc := map[string]*batch{}
	for _, d := range deployments {
		if !d.Production || d.Kind == "removed" || w.services[d.Service] {
			continue
		}
		if d.Rollback {
			w.services[d.Service] = true
			continue
		}
		b := bySvc[d.Service]
		if b == nil {
			b = &batch{first: d.At}
			bySvc[d.Service] = b
		}
		b.pks = append(b.pks, d.EventPK)
		b.artifacts = append(b.artifacts, d.ArtifactID)
		b.first = min(b.first, d.At)
	}
	for _, svc := range keysOf(bySvc) {
		if w.services[svc] {
			continue
		}
		b := bySvc[svc]
		n, err := tx.NewSelect().Model((*deploymentRow)(nil)).
			Where("service = ?", svc).Where("production = ?", true).Where("kind IN (?)", bun.List(deployKinds)).
			Where("event_pk NOT IN (?)", bun.List(b.pks)).
			WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
				return q.Where("artifact_id IN (?)", bun.List(b.artifacts)).WhereOr("at > ?", b.first)
			}).Limit(1).Count(ctx)
		if err != nil {
			return err
		}
		if n > 0 {
			w.services[svc] = true
		}
	}
	return nil
}

// affectedIdeas finds the ideas linked to the work's changes and artifacts:
// directly (event_ideas.ref), or through the changes an artifact carries.
func (s *Store) affectedIdeas(ctx context.Context, tx bun.IDB, w *flowWork) ([]string, error) {
	out := w.ideas
	refs := keys(w.changes)
	arts := keys(w.artifacts)
	for start := 0; start < len(arts); start += insertChunk {
		var changes []string
		if err := tx.NewSelect().Model((*artifactChangeRow)(nil)).Column("change_id").
			Where("artifact_id IN (?)", bun.List(arts[start:min(start+insertChunk, len(arts))])).Scan(ctx, &changes); err != nil {
			return nil, err
		}
		refs = append(refs, changes...)
	}
	refs = append(refs, arts...)
	// Ideas in production on a marked service: a rollback there may have
	// taken their changes out.
	if len(w.services) > 0 {
		var shipped []struct {
			Key      string `bun:"idea_key"`
			Services string `bun:"services"`
		}
		if err := tx.NewRaw("SELECT idea_key, services FROM idea_flow WHERE sig_deploy_production IS NOT NULL").Scan(ctx, &shipped); err != nil {
			return nil, err
		}
		for _, r := range shipped {
			for _, svc := range splitList(r.Services) {
				if w.services[svc] {
					out[r.Key] = true
				}
			}
		}
	}
	for start := 0; start < len(refs); start += insertChunk {
		var ideas []string
		if err := tx.NewSelect().Model((*eventIdeaRow)(nil)).ColumnExpr("DISTINCT idea_key").
			Where("ref IN (?)", bun.List(refs[start:min(start+insertChunk, len(refs))])).Scan(ctx, &ideas); err != nil {
			return nil, err
		}
		for _, k := range ideas {
			out[k] = true
		}
	}
	return keys(out), nil
}

// RecomputeAllFlow recomputes every idea's flow row from the projections, a
// page of ideas per transaction (a rebuild's last step).
func (s *Store) RecomputeAllFlow(ctx context.Context) error {
	after := ""
	for {
		var page []string
		if err := s.db.NewSelect().Model((*ideaRow)(nil)).Column("key").Where("key > ?", after).Order("key").Limit(500).Scan(ctx, &page); err != nil {
			return err
		}
		if len(page) == 0 {
			break
		}
		if err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			_, err := s.refreshFlow(ctx, tx, page)
			return err
		}); err != nil {
			return fmt.Errorf("recompute flow: %w", err)
		}
		after = page[len(page)-1]
	}
	s.flow.invalidate()
	return nil
}

// backfillFlow gives ideas without a flow row one (a database that had
// ideas before value streams existed).
func (s *Store) backfillFlow(ctx context.Context) error {
	var missing []string
	if err := s.db.NewRaw("SELECT key FROM ideas WHERE NOT EXISTS (SELECT 1 FROM idea_flow f WHERE f.idea_key = ideas.key) ORDER BY key").Scan(ctx, &missing); err != nil {
		return err
	}
	for start := 0; start < len(missing); start += 500 {
		if err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			_, err := s.refreshFlow(ctx, tx, missing[start:min(start+500, len(missing))])
			return err
		}); err != nil {
			return fmt.Errorf("backfill flow: %w", err)
		}
	}
	return nil
}

// RecomputeDerived derives the DORA state and every idea's flow signals
// again from the projections: the last step of a rebuild.
func (s *Store) RecomputeDerived(ctx context.Context) error {
	if err := s.RecomputeAllDORA(ctx); err != nil {
		return err
	}
	return s.RecomputeAllFlow(ctx)
}

// flowSnapshot is this process's copy of every idea's flow row.
type flowSnapshot struct {
	mu      sync.Mutex
	seq     int64 // highest change loaded
	items   []domain.FlowItem
	index   map[string]int
	checked time.Time
	stale   bool // this process wrote since the last check

	reports map[string]cachedFlow
}

type cachedFlow struct {
	seq    int64
	report domain.FlowReport
}

// invalidate makes the next read look for changes at once.
func (f *flowSnapshot) invalidate() {
	f.mu.Lock()
	f.stale = true
	f.mu.Unlock()
}

// FlowItems returns every idea's flow item and the change number they are
// current to. The slice is shared: callers must not modify it. This
// process's own writes are seen at once, other instances' within
// versionRefresh.
func (s *Store) FlowItems(ctx context.Context) ([]domain.FlowItem, int64, error) {
	items, _, seq, err := s.flowSnapshot(ctx)
	return items, seq, err
}

// FlowVersion is the change number the flow rows are current to: it moves
// whenever an idea's flow does (an event, an edit, a verdict).
func (s *Store) FlowVersion(ctx context.Context) (int64, error) {
	_, _, seq, err := s.flowSnapshot(ctx)
	return seq, err
}

// flowSnapshot returns the items, their index by key and their seq, as one
// consistent copy.
func (s *Store) flowSnapshot(ctx context.Context) ([]domain.FlowItem, map[string]int, int64, error) {
	f := &s.flow
	f.mu.Lock()
	defer f.mu.Unlock()
	now := s.now()
	if f.index != nil && !f.stale && now.Sub(f.checked) < versionRefresh && !now.Before(f.checked) {
		return f.items, f.index, f.seq, nil
	}
	var seq int64
	if err := s.db.NewRaw("SELECT seq FROM flow_state WHERE id = 1").Scan(ctx, &seq); err != nil {
		return nil, nil, 0, err
	}
	f.checked, f.stale = now, false
	if f.index != nil && seq == f.seq {
		return f.items, f.index, f.seq, nil
	}
	changed, maxSeq, err := s.loadFlowRows(ctx, f.seq)
	if err != nil {
		return nil, nil, 0, err
	}
	// Copy on write: readers may still hold the old slice.
	items := make([]domain.FlowItem, len(f.items), len(f.items)+len(changed))
	copy(items, f.items)
	index := make(map[string]int, len(f.index)+len(changed))
	for k, v := range f.index {
		index[k] = v
	}
	for _, it := range changed {
		if i, ok := index[it.Key]; ok {
			items[i] = it
		} else {
			index[it.Key] = len(items)
			items = append(items, it)
		}
	}
	f.items, f.index, f.seq = items, index, max(seq, maxSeq)
	return f.items, f.index, f.seq, nil
}

// IdeaFlow returns the flow items of the ideas with these keys, from the
// snapshot.
func (s *Store) IdeaFlow(ctx context.Context, keys []string) (map[string]domain.FlowItem, error) {
	items, index, _, err := s.flowSnapshot(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]domain.FlowItem, len(keys))
	for _, k := range keys {
		if i, ok := index[k]; ok {
			out[k] = items[i]
		}
	}
	return out, nil
}

// loadFlowRows reads the flow rows changed after seq.
func (s *Store) loadFlowRows(ctx context.Context, after int64) ([]domain.FlowItem, int64, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+strings.Join(flowColumns, ", ")+" FROM idea_flow WHERE seq > "+fmt.Sprint(after))
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []domain.FlowItem
	maxSeq := after
	n := int(domain.NumTriggers)
	nulls := make([]sql.NullInt64, n+1)
	var (
		seq                    int64
		typ, horizon, services string
		archived, hasKR        bool
		updated                int64
		rolledBackAt           sql.NullInt64
		rolledBackBy           string
	)
	for rows.Next() {
		var it domain.FlowItem
		dest := []any{&it.Key, &seq, &it.Title, &typ, &horizon, &it.Team, &services, &archived, &hasKR, &nulls[n]}
		for i := 0; i < n; i++ {
			dest = append(dest, &nulls[i])
		}
		dest = append(dest, &updated, &rolledBackAt, &rolledBackBy)
		if err := rows.Scan(dest...); err != nil {
			return nil, 0, err
		}
		it.Type, it.Horizon, it.Archived, it.HasKeyResult = domain.FlowType(typ), domain.Horizon(horizon), archived, hasKR
		it.Services = splitList(services)
		it.Verdict = nulls[n].Int64
		it.RolledBack = removalFrom(rolledBackAt, rolledBackBy)
		for i := 0; i < n; i++ {
			it.Signals[i] = nulls[i].Int64
		}
		maxSeq = max(maxSeq, seq)
		out = append(out, it)
	}
	return out, maxSeq, rows.Err()
}
