package sqlstore

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"github.com/throughline/throughline/domain"
)

type auditRow struct {
	bun.BaseModel `bun:"table:audit_log,alias:a"`

	ID     int64  `bun:"id,pk,autoincrement"`
	At     int64  `bun:"at"`
	Actor  string `bun:"actor"`
	Action string `bun:"action"`
	Target string `bun:"target"`
	Detail string `bun:"detail"`
}

// Audit appends an entry to the audit log.
func (s *Store) Audit(ctx context.Context, actor, action, target, detail string) error {
	return audit(ctx, s.db, s.now(), actor, action, target, detail)
}

// audit writes through any bun handle, so that changes and their audit entry
// can share one transaction.
func audit(ctx context.Context, db bun.IDB, at time.Time, actor, action, target, detail string) error {
	row := &auditRow{At: at.UnixMicro(), Actor: actor, Action: action, Target: target, Detail: detail}
	_, err := db.NewInsert().Model(row).Exec(ctx)
	return err
}

// AuditLog returns the most recent entries, newest first.
func (s *Store) AuditLog(ctx context.Context, limit int) ([]domain.AuditEntry, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	var rows []auditRow
	if err := s.db.NewSelect().Model(&rows).Order("id DESC").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, err
	}
	out := make([]domain.AuditEntry, len(rows))
	for i, r := range rows {
		out[i] = domain.AuditEntry{ID: r.ID, At: fromMicros(r.At), Actor: r.Actor, Action: r.Action, Target: r.Target, Detail: r.Detail}
	}
	return out, nil
}
