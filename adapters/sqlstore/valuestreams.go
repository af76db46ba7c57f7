package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/throughline/throughline/domain"
)

type valueStreamRow struct {
	bun.BaseModel `bun:"table:value_streams,alias:vs"`

	ID          int64  `bun:"id,pk,autoincrement"`
	Name        string `bun:"name"`
	Description string `bun:"description"`
	Teams       string `bun:"teams"`
	Services    string `bun:"services"`
	Stages      string `bun:"stages"`
	// The evidence a constraint needs; always stored (5 and 1.5 unless an
	// editor chose otherwise).
	MinItems  int     `bun:"constraint_min_items"`
	MinRatio  float64 `bun:"constraint_min_ratio"`
	Revision  int     `bun:"revision"`
	CreatedAt int64   `bun:"created_at"`
	UpdatedAt int64   `bun:"updated_at"`
}

func (r *valueStreamRow) toDomain() (domain.ValueStream, error) {
	v := domain.ValueStream{ID: r.ID, Name: r.Name, Description: r.Description, Revision: r.Revision,
		ConstraintMinItems: r.MinItems, ConstraintMinRatio: r.MinRatio,
		CreatedAt: fromMicros(r.CreatedAt), UpdatedAt: fromMicros(r.UpdatedAt)}
	if err := json.Unmarshal([]byte(r.Teams), &v.Teams); err != nil {
		return v, fmt.Errorf("value stream %d teams: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(r.Services), &v.Services); err != nil {
		return v, fmt.Errorf("value stream %d services: %w", r.ID, err)
	}
	stages, err := decodeStages(r.Stages)
	if err != nil {
		return v, fmt.Errorf("value stream %d stages: %w", r.ID, err)
	}
	v.Stages = stages
	return v, nil
}

// decodeStages reads the stored stages. A stage stored before stages could
// be marked fixed-time has no mark: it takes the default one, so Operate
// and Monitor of the streams mapped then wait by design, as new ones do.
func decodeStages(raw string) ([]domain.StageDef, error) {
	var stages []domain.StageDef
	if err := json.Unmarshal([]byte(raw), &stages); err != nil {
		return nil, err
	}
	var marks []struct {
		FixedTime *bool `json:"fixed_time"`
	}
	if err := json.Unmarshal([]byte(raw), &marks); err != nil {
		return nil, err
	}
	for i := range stages {
		if marks[i].FixedTime == nil {
			stages[i].FixedTime = domain.DefaultFixedTime(stages[i].Rule)
		}
	}
	return stages, nil
}

func fromValueStream(v *domain.ValueStream) (*valueStreamRow, error) {
	clean := func(xs []string) []string {
		out := []string{}
		for _, x := range xs {
			if x = strings.TrimSpace(x); x != "" && !slices.Contains(out, x) {
				out = append(out, x)
			}
		}
		return out
	}
	v.Teams, v.Services = clean(v.Teams), clean(v.Services)
	for i := range v.Stages {
		v.Stages[i].Name = strings.TrimSpace(v.Stages[i].Name)
	}
	teams, _ := json.Marshal(v.Teams)
	services, _ := json.Marshal(v.Services)
	stages, err := json.Marshal(v.Stages)
	if err != nil {
		return nil, err
	}
	rule := v.ConstraintRule()
	v.ConstraintMinItems, v.ConstraintMinRatio = rule.MinItems, rule.MinRatio
	return &valueStreamRow{ID: v.ID, Name: strings.TrimSpace(v.Name), Description: strings.TrimSpace(v.Description),
		Teams: string(teams), Services: string(services), Stages: string(stages), Revision: v.Revision,
		MinItems: rule.MinItems, MinRatio: rule.MinRatio,
		CreatedAt: micros(v.CreatedAt), UpdatedAt: micros(v.UpdatedAt)}, nil
}

// ValueStreams lists the value streams by name.
func (s *Store) ValueStreams(ctx context.Context) ([]domain.ValueStream, error) {
	var rows []valueStreamRow
	if err := s.db.NewSelect().Model(&rows).OrderExpr("lower(name), id").Scan(ctx); err != nil {
		return nil, err
	}
	out := make([]domain.ValueStream, 0, len(rows))
	for i := range rows {
		v, err := rows[i].toDomain()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// ValueStream returns one value stream.
func (s *Store) ValueStream(ctx context.Context, id int64) (domain.ValueStream, error) {
	row := new(valueStreamRow)
	if err := s.db.NewSelect().Model(row).Where("id = ?", id).Scan(ctx); err != nil {
		return domain.ValueStream{}, notFound(err, "No value stream %d.", id)
	}
	return row.toDomain()
}

// CreateValueStream adds a value stream.
func (s *Store) CreateValueStream(ctx context.Context, v domain.ValueStream, by string) (domain.ValueStream, error) {
	if errs := v.Validate(); len(errs) > 0 {
		return v, invalidFields(errs)
	}
	now := s.now()
	v.ID, v.Revision, v.CreatedAt, v.UpdatedAt = 0, 1, now, now
	row, err := fromValueStream(&v)
	if err != nil {
		return v, err
	}
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(row).ExcludeColumn("id").Returning("id").Exec(ctx); err != nil {
			if isUniqueViolation(err) {
				return domain.Errorf(domain.ECONFLICT, "A value stream named %q already exists.", row.Name)
			}
			return err
		}
		return audit(ctx, tx, now, by, "valuestream.create", fmt.Sprint(row.ID), row.Name)
	})
	if err != nil {
		return v, err
	}
	v.ID = row.ID
	return v, nil
}

// UpdateValueStream changes a value stream in one transaction (update gets
// the current one). Its history is recomputed under the new rules: flow is
// derived from the ideas' signals whenever it is read, and the revision
// bump retires every cached report of the old rules.
func (s *Store) UpdateValueStream(ctx context.Context, id int64, by string, update func(*domain.ValueStream) error) (domain.ValueStream, error) {
	var out domain.ValueStream
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		row := new(valueStreamRow)
		if err := tx.NewSelect().Model(row).Where("id = ?", id).Scan(ctx); err != nil {
			return notFound(err, "No value stream %d.", id)
		}
		v, err := row.toDomain()
		if err != nil {
			return err
		}
		before := v
		before.Stages = slices.Clone(v.Stages)
		if err := update(&v); err != nil {
			return err
		}
		v.ID = id
		if errs := v.Validate(); len(errs) > 0 {
			return invalidFields(errs)
		}
		v.Revision, v.UpdatedAt = before.Revision+1, s.now()
		next, err := fromValueStream(&v)
		if err != nil {
			return err
		}
		if _, err := tx.NewUpdate().Model(next).WherePK().Exec(ctx); err != nil {
			if isUniqueViolation(err) {
				return domain.Errorf(domain.ECONFLICT, "A value stream named %q already exists.", next.Name)
			}
			return err
		}
		out = v
		return audit(ctx, tx, v.UpdatedAt, by, "valuestream.update", fmt.Sprint(id), describeStreamChange(before, v))
	})
	return out, err
}

// describeStreamChange says what an edit changed, for the audit log.
func describeStreamChange(a, b domain.ValueStream) string {
	var parts []string
	if a.Name != b.Name {
		parts = append(parts, fmt.Sprintf("name %q → %q", a.Name, b.Name))
	}
	if !slices.Equal(a.Teams, b.Teams) || !slices.Equal(a.Services, b.Services) {
		parts = append(parts, "teams/services "+strings.Join(append(slices.Clone(b.Teams), b.Services...), ","))
	}
	names := func(v domain.ValueStream) []string {
		out := make([]string, len(v.Stages))
		for i, st := range v.Stages {
			out[i] = st.Name
		}
		return out
	}
	if !slices.Equal(names(a), names(b)) {
		parts = append(parts, "stages "+strings.Join(names(b), " → "))
	}
	old := map[string]domain.StageDef{}
	for _, st := range a.Stages {
		old[st.Name] = st
	}
	for _, st := range b.Stages {
		o, ok := old[st.Name]
		if !ok {
			continue
		}
		if domain.RuleText(o.Rule) != domain.RuleText(st.Rule) {
			parts = append(parts, fmt.Sprintf("%s rule %s → %s", st.Name, domain.RuleText(o.Rule), domain.RuleText(st.Rule)))
		}
		if o.Kind != st.Kind {
			parts = append(parts, fmt.Sprintf("%s %s → %s", st.Name, o.Kind, st.Kind))
		}
		if o.WIPLimit != st.WIPLimit {
			parts = append(parts, fmt.Sprintf("%s WIP limit %d → %d", st.Name, o.WIPLimit, st.WIPLimit))
		}
		if o.FixedTime != st.FixedTime {
			parts = append(parts, fmt.Sprintf("%s fixed time %s", st.Name, map[bool]string{true: "marked", false: "unmarked"}[st.FixedTime]))
		}
	}
	if ra, rb := a.ConstraintRule(), b.ConstraintRule(); ra != rb {
		parts = append(parts, fmt.Sprintf("constraint needs %d items and %g× → %d items and %g×", ra.MinItems, ra.MinRatio, rb.MinItems, rb.MinRatio))
	}
	if len(parts) == 0 {
		return "no change"
	}
	return strings.Join(parts, "; ")
}

// DeleteValueStream removes a value stream (the ideas are untouched).
func (s *Store) DeleteValueStream(ctx context.Context, id int64, by string) error {
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		row := new(valueStreamRow)
		if err := tx.NewSelect().Model(row).Where("id = ?", id).Scan(ctx); err != nil {
			return notFound(err, "No value stream %d.", id)
		}
		if _, err := tx.NewDelete().Model(row).WherePK().Exec(ctx); err != nil {
			return err
		}
		return audit(ctx, tx, s.now(), by, "valuestream.delete", fmt.Sprint(id), row.Name)
	})
}

// flowReportCacheSize bounds the cached flow reports.
const flowReportCacheSize = 64

// Flow measures a value stream over a window at now. Reports are cached per
// stream revision, window, flow change number and minute.
func (s *Store) Flow(ctx context.Context, v *domain.ValueStream, w domain.Window, now time.Time) (domain.FlowReport, error) {
	items, _, seq, err := s.flowSnapshot(ctx)
	if err != nil {
		return domain.FlowReport{}, err
	}
	// A period that has ended reads the same all day; one that reaches
	// today is recomputed each minute (ages and stage times grow).
	now = now.UTC().Truncate(time.Minute)
	at := now.Unix()
	if !now.Before(w.End()) {
		at = 0
	}
	key := fmt.Sprintf("%d|%d|%d|%d|%d", v.ID, v.Revision, w.From.Unix(), w.To.Unix(), at)
	f := &s.flow
	f.mu.Lock()
	if c, ok := f.reports[key]; ok && c.seq == seq {
		f.mu.Unlock()
		return c.report, nil
	}
	f.mu.Unlock()
	r := domain.ComputeFlow(v, items, w, now)
	f.mu.Lock()
	if f.reports == nil || len(f.reports) >= flowReportCacheSize {
		f.reports = map[string]cachedFlow{}
	}
	f.reports[key] = cachedFlow{seq: seq, report: r}
	f.mu.Unlock()
	return r, nil
}
