package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/throughline/throughline/domain"
)

type keyResultBaselineRow struct {
	bun.BaseModel `bun:"table:key_result_baselines,alias:krb"`

	ID          int64   `bun:"id,pk,autoincrement"`
	KeyResultID int64   `bun:"key_result_id"`
	Baseline    float64 `bun:"baseline"`
	ReplacedAt  int64   `bun:"replaced_at"`
	ReplacedBy  string  `bun:"replaced_by"`
	Note        string  `bun:"note"`
}

func microsPtr(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	v := micros(t)
	return &v
}

// UpdateObjective changes an objective in one transaction: update gets it
// and changes it; the title must stay non-empty. action names the audit
// entry (objective.update, objective.archive, objective.restore).
func (s *Store) UpdateObjective(ctx context.Context, id int64, by, action string, update func(*domain.Objective) error) (domain.Objective, error) {
	var out domain.Objective
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		row := new(objectiveRow)
		if err := tx.NewSelect().Model(row).Where("id = ?", id).Scan(ctx); err != nil {
			return notFound(err, "No objective %d.", id)
		}
		o := domain.Objective{ID: row.ID, Title: row.Title, Description: row.Description, CreatedAt: fromMicros(row.CreatedAt), ArchivedAt: fromMicrosPtr(row.ArchivedAt)}
		if err := update(&o); err != nil {
			return err
		}
		o.Title = strings.TrimSpace(o.Title)
		if o.Title == "" {
			return domain.Errorf(domain.EINVALID, "Give the objective a title.")
		}
		row.Title, row.Description, row.ArchivedAt = o.Title, strings.TrimSpace(o.Description), microsPtr(o.ArchivedAt)
		if _, err := tx.NewUpdate().Model(row).WherePK().Exec(ctx); err != nil {
			return err
		}
		out = o
		return audit(ctx, tx, s.now(), by, action, fmt.Sprint(id), o.Title)
	})
	return out, err
}

// UpdateKeyResult changes a key result in one transaction: update gets it
// and changes it; the store validates and writes it with the audit entry
// (action: keyresult.update, .rebaseline, .retire, .archive, .restore…). A
// changed baseline keeps the one it replaces in the history, with note.
func (s *Store) UpdateKeyResult(ctx context.Context, id int64, by, action, note string, update func(*domain.KeyResult) error) (domain.KeyResult, error) {
	var out domain.KeyResult
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		row := new(keyResultRow)
		if err := tx.NewSelect().Model(row).Where("id = ?", id).Scan(ctx); err != nil {
			return notFound(err, "No key result %d.", id)
		}
		k := row.toDomain()
		before := k
		if err := update(&k); err != nil {
			return err
		}
		k.ID, k.ObjectiveID = before.ID, before.ObjectiveID
		if errs := k.Validate(); len(errs) > 0 {
			return invalidFields(errs)
		}
		if k.Baseline != before.Baseline {
			h := &keyResultBaselineRow{KeyResultID: id, Baseline: before.Baseline, ReplacedAt: micros(s.now()), ReplacedBy: by, Note: strings.TrimSpace(note)}
			if _, err := tx.NewInsert().Model(h).Returning("id").Exec(ctx); err != nil {
				return err
			}
		}
		row.Title, row.Metric, row.Attrs = strings.TrimSpace(k.Title), strings.TrimSpace(k.Metric), canonicalAttrs(k.Attributes)
		row.Baseline, row.Target, row.Direction, row.Due = k.Baseline, k.Target, string(k.Direction), microsPtr(k.Due)
		row.Unit, row.RetiredAt, row.ArchivedAt = string(k.Unit), microsPtr(k.RetiredAt), microsPtr(k.ArchivedAt)
		if _, err := tx.NewUpdate().Model(row).WherePK().Exec(ctx); err != nil {
			return err
		}
		out = row.toDomain()
		detail := row.Title
		if k.Baseline != before.Baseline {
			detail = fmt.Sprintf("%s: baseline %g → %g", row.Title, before.Baseline, k.Baseline)
		}
		return audit(ctx, tx, s.now(), by, action, fmt.Sprint(id), detail)
	})
	return out, err
}

// KeyResultBaselines lists the baselines a key result had before, oldest
// first.
func (s *Store) KeyResultBaselines(ctx context.Context, id int64) ([]domain.KRBaseline, error) {
	var rows []keyResultBaselineRow
	if err := s.db.NewSelect().Model(&rows).Where("key_result_id = ?", id).Order("replaced_at", "id").Scan(ctx); err != nil {
		return nil, err
	}
	out := make([]domain.KRBaseline, len(rows))
	for i, r := range rows {
		out[i] = domain.KRBaseline{Baseline: r.Baseline, ReplacedAt: fromMicros(r.ReplacedAt), ReplacedBy: r.ReplacedBy, Note: r.Note}
	}
	return out, nil
}
