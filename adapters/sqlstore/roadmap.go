package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/uptrace/bun"

	"github.com/throughline/throughline/domain"
)

type objectiveRow struct {
	bun.BaseModel `bun:"table:objectives,alias:o"`

	ID          int64  `bun:"id,pk,autoincrement"`
	Title       string `bun:"title"`
	Description string `bun:"description"`
	CreatedAt   int64  `bun:"created_at"`
	ArchivedAt  *int64 `bun:"archived_at"`
}

type keyResultRow struct {
	bun.BaseModel `bun:"table:key_results,alias:kr"`

	ID          int64   `bun:"id,pk,autoincrement"`
	ObjectiveID int64   `bun:"objective_id"`
	Title       string  `bun:"title"`
	Metric      string  `bun:"metric"`
	Attrs       string  `bun:"attrs"`
	Baseline    float64 `bun:"baseline"`
	Target      float64 `bun:"target"`
	Direction   string  `bun:"direction"`
	Due         *int64  `bun:"due"`
	CreatedAt   int64   `bun:"created_at"`
	Unit        string  `bun:"unit"`
	RetiredAt   *int64  `bun:"retired_at"`
	ArchivedAt  *int64  `bun:"archived_at"`
}

func (r *keyResultRow) toDomain() domain.KeyResult {
	var attrs map[string]string
	_ = json.Unmarshal([]byte(r.Attrs), &attrs)
	return domain.KeyResult{
		ID: r.ID, ObjectiveID: r.ObjectiveID, Title: r.Title, Metric: r.Metric, Attributes: attrs,
		Baseline: r.Baseline, Target: r.Target, Direction: domain.Direction(r.Direction), Due: fromMicrosPtr(r.Due),
		Unit: domain.Unit(r.Unit), RetiredAt: fromMicrosPtr(r.RetiredAt), ArchivedAt: fromMicrosPtr(r.ArchivedAt),
	}
}

type ideaRow struct {
	bun.BaseModel `bun:"table:ideas,alias:i"`

	Key         string  `bun:"key,pk"`
	Title       string  `bun:"title"`
	Problem     string  `bun:"problem"`
	Hypothesis  string  `bun:"hypothesis"`
	Horizon     string  `bun:"horizon"`
	FlowType    string  `bun:"flow_type"`
	Team        string  `bun:"team"`
	Services    string  `bun:"services"`
	Reach       float64 `bun:"reach"`
	Impact      float64 `bun:"impact"`
	Confidence  float64 `bun:"confidence"`
	Effort      float64 `bun:"effort"`
	Archived    bool    `bun:"archived"`
	Verdict     string  `bun:"verdict"`
	VerdictBy   string  `bun:"verdict_by"`
	VerdictAt   *int64  `bun:"verdict_at"`
	VerdictNote string  `bun:"verdict_note"`
	PlannedAt   *int64  `bun:"planned_at"`
	Position    int     `bun:"position"`
	CreatedAt   int64   `bun:"created_at"`
	UpdatedAt   int64   `bun:"updated_at"`
}

type ideaKeyResultRow struct {
	bun.BaseModel `bun:"table:idea_key_results,alias:ikr"`

	IdeaKey     string `bun:"idea_key,pk"`
	KeyResultID int64  `bun:"key_result_id,pk"`
}

func (r *ideaRow) toDomain(krs []int64) *domain.Idea {
	return &domain.Idea{
		Key: r.Key, Title: r.Title, Problem: r.Problem, Hypothesis: r.Hypothesis, Horizon: domain.Horizon(r.Horizon),
		FlowType: domain.FlowType(r.FlowType), Team: r.Team, KeyResults: krs, Services: splitList(r.Services),
		Reach: r.Reach, Impact: r.Impact, Confidence: r.Confidence, Effort: r.Effort, Archived: r.Archived,
		Verdict: domain.IdeaVerdict(r.Verdict), VerdictBy: r.VerdictBy, VerdictAt: fromMicrosPtr(r.VerdictAt), VerdictNote: r.VerdictNote,
		PlannedAt: fromMicrosPtr(r.PlannedAt), Position: r.Position,
		CreatedAt: fromMicros(r.CreatedAt), UpdatedAt: fromMicros(r.UpdatedAt),
	}
}

func fromIdea(i *domain.Idea) *ideaRow {
	r := &ideaRow{
		Key: i.Key, Title: strings.TrimSpace(i.Title), Problem: strings.TrimSpace(i.Problem), Hypothesis: strings.TrimSpace(i.Hypothesis),
		Horizon: string(i.Horizon), FlowType: string(i.FlowType), Team: strings.TrimSpace(i.Team),
		Services: strings.Join(i.Services, ","), Reach: i.Reach, Impact: i.Impact, Confidence: i.Confidence, Effort: i.Effort,
		Archived: i.Archived, Verdict: string(i.Verdict), VerdictBy: i.VerdictBy, VerdictNote: i.VerdictNote,
		Position: i.Position, CreatedAt: micros(i.CreatedAt), UpdatedAt: micros(i.UpdatedAt),
	}
	if !i.VerdictAt.IsZero() {
		v := micros(i.VerdictAt)
		r.VerdictAt = &v
	}
	if !i.PlannedAt.IsZero() {
		v := micros(i.PlannedAt)
		r.PlannedAt = &v
	}
	return r
}

// CreateObjective adds an objective.
func (s *Store) CreateObjective(ctx context.Context, o domain.Objective, by string) (domain.Objective, error) {
	o.Title = strings.TrimSpace(o.Title)
	if o.Title == "" {
		return o, domain.Errorf(domain.EINVALID, "Give the objective a title.")
	}
	row := &objectiveRow{Title: o.Title, Description: strings.TrimSpace(o.Description), CreatedAt: micros(s.now())}
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(row).Returning("id").Exec(ctx); err != nil {
			return err
		}
		return audit(ctx, tx, s.now(), by, "objective.create", o.Title, "")
	})
	o.ID, o.CreatedAt = row.ID, fromMicros(row.CreatedAt)
	return o, err
}

// Objectives lists the objectives, oldest first.
func (s *Store) Objectives(ctx context.Context) ([]domain.Objective, error) {
	var rows []objectiveRow
	if err := s.db.NewSelect().Model(&rows).Order("id").Scan(ctx); err != nil {
		return nil, err
	}
	out := make([]domain.Objective, len(rows))
	for i, r := range rows {
		out[i] = domain.Objective{ID: r.ID, Title: r.Title, Description: r.Description, CreatedAt: fromMicros(r.CreatedAt), ArchivedAt: fromMicrosPtr(r.ArchivedAt)}
	}
	return out, nil
}

// CreateKeyResult adds a key result to an objective.
func (s *Store) CreateKeyResult(ctx context.Context, k domain.KeyResult, by string) (domain.KeyResult, error) {
	if errs := k.Validate(); len(errs) > 0 {
		return k, invalidFields(errs)
	}
	row := &keyResultRow{ObjectiveID: k.ObjectiveID, Title: strings.TrimSpace(k.Title), Metric: strings.TrimSpace(k.Metric),
		Attrs: canonicalAttrs(k.Attributes), Baseline: k.Baseline, Target: k.Target, Direction: string(k.Direction), CreatedAt: micros(s.now()),
		Unit: string(k.Unit)}
	if !k.Due.IsZero() {
		d := micros(k.Due)
		row.Due = &d
	}
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		exists, err := tx.NewSelect().Model((*objectiveRow)(nil)).Where("id = ?", k.ObjectiveID).Exists(ctx)
		if err != nil {
			return err
		}
		if !exists {
			return domain.Errorf(domain.EINVALID, "Choose the objective the key result belongs to.")
		}
		if _, err := tx.NewInsert().Model(row).Returning("id").Exec(ctx); err != nil {
			return err
		}
		return audit(ctx, tx, s.now(), by, "keyresult.create", row.Title, row.Metric)
	})
	k.ID = row.ID
	return k, err
}

// KeyResults lists every key result.
func (s *Store) KeyResults(ctx context.Context) ([]domain.KeyResult, error) {
	var rows []keyResultRow
	if err := s.db.NewSelect().Model(&rows).Order("objective_id", "id").Scan(ctx); err != nil {
		return nil, err
	}
	out := make([]domain.KeyResult, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

// invalidFields reports form errors as one EINVALID error whose message
// lists them; handlers that show forms validate first and never see it.
func invalidFields(errs map[string]string) error {
	keys := make([]string, 0, len(errs))
	for k := range errs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	msgs := make([]string, len(keys))
	for i, k := range keys {
		msgs[i] = k + ": " + errs[k]
	}
	return domain.Errorf(domain.EINVALID, "%s", strings.Join(msgs, " "))
}

// CreateIdea adds an idea; the key must be new. It goes to the end of its
// horizon; an idea created in Now enters the Plan stage.
func (s *Store) CreateIdea(ctx context.Context, idea domain.Idea, by string) (*domain.Idea, error) {
	key, err := domain.NormalizeIdeaKey(idea.Key)
	if err != nil {
		return nil, err
	}
	idea.Key = key
	if errs := idea.Validate(); len(errs) > 0 {
		return nil, invalidFields(errs)
	}
	now := s.now()
	idea.CreatedAt, idea.UpdatedAt = now, now
	if idea.Horizon == domain.HorizonNow && idea.PlannedAt.IsZero() {
		idea.PlannedAt = now
	}
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var last []int
		if err := tx.NewSelect().Model((*ideaRow)(nil)).ColumnExpr("COALESCE(MAX(position), 0)").Where("horizon = ?", string(idea.Horizon)).Scan(ctx, &last); err != nil {
			return err
		}
		if len(last) == 1 {
			idea.Position = last[0] + 1
		}
		if _, err := tx.NewInsert().Model(fromIdea(&idea)).Exec(ctx); err != nil {
			if isUniqueViolation(err) {
				return domain.Errorf(domain.ECONFLICT, "An idea with key %s already exists.", key)
			}
			return err
		}
		if err := s.linkKeyResults(ctx, tx, key, idea.KeyResults); err != nil {
			return err
		}
		if _, err := s.refreshFlow(ctx, tx, []string{key}); err != nil {
			return err
		}
		return audit(ctx, tx, now, by, "idea.create", key, idea.Title)
	})
	if err != nil {
		return nil, err
	}
	s.flow.invalidate()
	return &idea, nil
}

func (s *Store) linkKeyResults(ctx context.Context, tx bun.Tx, key string, krs []int64) error {
	if _, err := tx.NewDelete().Model((*ideaKeyResultRow)(nil)).Where("idea_key = ?", key).Exec(ctx); err != nil {
		return err
	}
	if len(krs) == 0 {
		return nil
	}
	rows := make([]ideaKeyResultRow, 0, len(krs))
	seen := map[int64]bool{}
	for _, id := range krs {
		if !seen[id] {
			seen[id] = true
			rows = append(rows, ideaKeyResultRow{IdeaKey: key, KeyResultID: id})
		}
	}
	if _, err := tx.NewInsert().Model(&rows).Exec(ctx); err != nil {
		if strings.Contains(strings.ToLower(err.Error()), "foreign key") {
			return domain.Errorf(domain.EINVALID, "A linked key result does not exist.")
		}
		return err
	}
	return nil
}

// UpdateIdea changes an idea in one transaction: update gets the current
// idea and changes it; the store validates and writes it, with the audit
// entry. Moving into Now starts the Plan stage.
func (s *Store) UpdateIdea(ctx context.Context, key string, by, action string, update func(*domain.Idea) error) (*domain.Idea, error) {
	var out *domain.Idea
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		row := new(ideaRow)
		if err := tx.NewSelect().Model(row).Where("key = ?", key).Scan(ctx); err != nil {
			return notFound(err, "No idea %s.", key)
		}
		krs, err := ideaKeyResults(ctx, tx, []string{key})
		if err != nil {
			return err
		}
		idea := row.toDomain(krs[key])
		before := *idea
		if err := update(idea); err != nil {
			return err
		}
		idea.Key = key
		if errs := idea.Validate(); len(errs) > 0 {
			return invalidFields(errs)
		}
		idea.UpdatedAt = s.now()
		if idea.Horizon == domain.HorizonNow && before.Horizon != domain.HorizonNow && idea.PlannedAt.IsZero() {
			idea.PlannedAt = s.now()
		}
		if idea.Horizon != before.Horizon {
			var last []int
			if err := tx.NewSelect().Model((*ideaRow)(nil)).ColumnExpr("COALESCE(MAX(position), 0)").Where("horizon = ?", string(idea.Horizon)).Scan(ctx, &last); err != nil {
				return err
			}
			if len(last) == 1 {
				idea.Position = last[0] + 1
			}
		}
		if _, err := tx.NewUpdate().Model(fromIdea(idea)).WherePK().Exec(ctx); err != nil {
			return err
		}
		if err := s.linkKeyResults(ctx, tx, key, idea.KeyResults); err != nil {
			return err
		}
		if _, err := s.refreshFlow(ctx, tx, []string{key}); err != nil {
			return err
		}
		out = idea
		return audit(ctx, tx, s.now(), by, action, key, describeIdeaChange(before, *idea))
	})
	if err == nil {
		s.flow.invalidate()
	}
	return out, err
}

// describeIdeaChange says what changed, for the audit log.
func describeIdeaChange(a, b domain.Idea) string {
	var parts []string
	if a.Horizon != b.Horizon {
		parts = append(parts, "horizon "+string(a.Horizon)+" → "+string(b.Horizon))
	}
	if a.Title != b.Title {
		parts = append(parts, "title")
	}
	if a.Archived != b.Archived {
		parts = append(parts, fmt.Sprintf("archived %v", b.Archived))
	}
	if a.Verdict != b.Verdict {
		parts = append(parts, "verdict "+string(b.Verdict))
	}
	return strings.Join(parts, ", ")
}

func ideaKeyResults(ctx context.Context, db bun.IDB, keys []string) (map[string][]int64, error) {
	out := map[string][]int64{}
	if len(keys) == 0 {
		return out, nil
	}
	var rows []ideaKeyResultRow
	if err := db.NewSelect().Model(&rows).Where("idea_key IN (?)", bun.List(keys)).Order("key_result_id").Scan(ctx); err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[r.IdeaKey] = append(out[r.IdeaKey], r.KeyResultID)
	}
	return out, nil
}

// Idea returns one idea.
func (s *Store) Idea(ctx context.Context, key string) (*domain.Idea, error) {
	row := new(ideaRow)
	if err := s.db.NewSelect().Model(row).Where("key = ?", strings.ToUpper(strings.TrimSpace(key))).Scan(ctx); err != nil {
		return nil, notFound(err, "No idea %s.", key)
	}
	krs, err := ideaKeyResults(ctx, s.db, []string{row.Key})
	if err != nil {
		return nil, err
	}
	return row.toDomain(krs[row.Key]), nil
}

// Ideas lists ideas by horizon and position.
func (s *Store) Ideas(ctx context.Context, f domain.IdeaFilter) ([]*domain.Idea, error) {
	var rows []ideaRow
	q := s.db.NewSelect().Model(&rows).OrderExpr("CASE horizon WHEN 'now' THEN 0 WHEN 'next' THEN 1 ELSE 2 END, position, key")
	if !f.IncludeArchived {
		q = q.Where("archived = ?", false)
	}
	if f.Team != "" {
		q = q.Where("team = ?", f.Team)
	}
	if f.ObjectiveID != 0 {
		q = q.Where("key IN (SELECT ikr.idea_key FROM idea_key_results AS ikr JOIN key_results AS k ON k.id = ikr.key_result_id WHERE k.objective_id = ?)", f.ObjectiveID)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, err
	}
	keys := make([]string, len(rows))
	for i, r := range rows {
		keys[i] = r.Key
	}
	krs, err := ideaKeyResults(ctx, s.db, keys)
	if err != nil {
		return nil, err
	}
	out := make([]*domain.Idea, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain(krs[rows[i].Key])
	}
	return out, nil
}

// IdeaTeams lists the teams that own ideas.
func (s *Store) IdeaTeams(ctx context.Context) ([]string, error) {
	var teams []string
	err := s.db.NewSelect().Model((*ideaRow)(nil)).ColumnExpr("DISTINCT team").Where("team <> ''").Order("team").Scan(ctx, &teams)
	return teams, err
}

// MoveIdea moves an idea to a horizon, at the end of it.
func (s *Store) MoveIdea(ctx context.Context, key string, h domain.Horizon, by string) (*domain.Idea, error) {
	if !h.Valid() {
		return nil, domain.Errorf(domain.EINVALID, "Choose Now, Next or Later.")
	}
	return s.UpdateIdea(ctx, key, by, "idea.move", func(i *domain.Idea) error {
		i.Horizon = h
		return nil
	})
}

// SetIdeaVerdict records a product manager's verdict on an idea's outcome.
func (s *Store) SetIdeaVerdict(ctx context.Context, key string, v domain.IdeaVerdict, note, by string) (*domain.Idea, error) {
	if !v.Valid() {
		return nil, domain.Errorf(domain.EINVALID, "Choose validated, invalidated or inconclusive.")
	}
	return s.UpdateIdea(ctx, key, by, "idea.verdict", func(i *domain.Idea) error {
		i.Verdict, i.VerdictNote, i.VerdictBy, i.VerdictAt = v, strings.TrimSpace(note), by, s.now()
		return nil
	})
}

// ReorderIdeas sets the order of ideas within a horizon.
func (s *Store) ReorderIdeas(ctx context.Context, h domain.Horizon, keys []string, by string) error {
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		for i, k := range keys {
			if _, err := tx.NewUpdate().Model((*ideaRow)(nil)).Set("position = ?", i+1).
				Where("key = ?", k).Where("horizon = ?", string(h)).Exec(ctx); err != nil {
				return err
			}
		}
		return audit(ctx, tx, s.now(), by, "idea.reorder", string(h), strings.Join(keys, ","))
	})
}

// ImportIdeas stores ideas in bulk, as given (positions, plan and verdict
// times included), for a roadmap moved from another tool or a benchmark's.
// Keys already present are skipped. Their flow rows come from
// RecomputeAllFlow (or a rebuild) afterwards.
func (s *Store) ImportIdeas(ctx context.Context, ideas []domain.Idea) (int, error) {
	stored := 0
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		stored = 0
		now := s.now()
		cols := []string{"key", "title", "problem", "hypothesis", "horizon", "flow_type", "team", "services", "reach", "impact",
			"confidence", "effort", "archived", "verdict", "verdict_by", "verdict_at", "verdict_note", "planned_at", "position", "created_at", "updated_at"}
		rows := make([][]any, 0, len(ideas))
		var links [][]any
		for i := range ideas {
			idea := ideas[i]
			key, err := domain.NormalizeIdeaKey(idea.Key)
			if err != nil {
				return err
			}
			idea.Key = key
			if errs := idea.Validate(); len(errs) > 0 {
				return fmt.Errorf("idea %s: %w", key, invalidFields(errs))
			}
			if idea.CreatedAt.IsZero() {
				idea.CreatedAt = now
			}
			if idea.UpdatedAt.IsZero() {
				idea.UpdatedAt = idea.CreatedAt
			}
			r := fromIdea(&idea)
			rows = append(rows, []any{r.Key, r.Title, r.Problem, r.Hypothesis, r.Horizon, r.FlowType, r.Team, r.Services, r.Reach, r.Impact,
				r.Confidence, r.Effort, r.Archived, r.Verdict, r.VerdictBy, r.VerdictAt, r.VerdictNote, r.PlannedAt, r.Position, r.CreatedAt, r.UpdatedAt})
			for _, kr := range idea.KeyResults {
				links = append(links, []any{key, kr})
			}
		}
		if err := s.bulkQuery(ctx, tx, bulkSpec{table: "ideas", cols: cols, suffix: "ON CONFLICT (key) DO NOTHING RETURNING key"}, rows,
			func(*sql.Rows) error { stored++; return nil }); err != nil {
			return err
		}
		return s.bulkExec(ctx, tx, bulkSpec{table: "idea_key_results", cols: []string{"idea_key", "key_result_id"},
			suffix: "ON CONFLICT (idea_key, key_result_id) DO NOTHING"}, links)
	})
	return stored, err
}
