package sqlstore

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/throughline/throughline/domain"
)

// UnderivedEvents returns up to limit stored events that no derivation has
// claimed yet (applied_gen 0), in storage order.
func (s *Store) UnderivedEvents(ctx context.Context, limit int) ([]StoredEvent, error) {
	var rows []eventRow
	if err := s.db.NewSelect().Model(&rows).Where("applied_gen = 0").Order("id").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, unavailable(err)
	}
	out := make([]StoredEvent, len(rows))
	for i, r := range rows {
		data, err := decodeRaw(r.Data)
		if err != nil {
			data = nil // undecodable: derived as an event with no effect
		}
		out[i] = StoredEvent{
			PK: r.ID, Identity: domain.Identity{Source: r.Source, ID: r.EventID}, Type: r.Type,
			Kind: domain.EventKind(r.Kind), At: fromMicros(r.At), AppliedGen: r.AppliedGen, Data: data,
		}
	}
	return out, nil
}

// DeriveEvents derives stored events exactly once: in one transaction it
// claims those no one derived yet (applied_gen 0 → the current generation)
// and applies the facts and rollups of the claimed ones, so a crash at any
// point neither loses nor doubles an effect, and two instances deriving the
// same events apply them once (PostgreSQL: the derivation lock, then the
// claim's row locks). Items marked NoEffect (an event that no longer
// decodes) are claimed and counted without effect. It returns how many
// items it claimed.
func (s *Store) DeriveEvents(ctx context.Context, items []Reapply) (int, error) {
	if len(items) == 0 {
		return 0, nil
	}
	st := &txState{}
	claimedN := 0
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		*st = txState{}
		gen, err := s.generation(ctx, tx, false)
		if err != nil {
			return err
		}
		if err := s.lockDerived(ctx, tx); err != nil {
			return err
		}
		todo, n, err := claim(ctx, tx, items, gen, "applied_gen = 0")
		if err != nil {
			return err
		}
		claimedN = n
		return s.applyProjections(ctx, tx, st, todo)
	})
	if err == nil {
		s.remember(st)
		if st.doraTouched {
			s.bumpVersion()
		}
		if st.flowTouched {
			s.flow.invalidate()
		}
	}
	return claimedN, unavailable(err)
}

// claim sets applied_gen = gen on the items matching cond and returns the
// claimed ones that have effects, and how many were claimed.
func claim(ctx context.Context, tx bun.Tx, items []Reapply, gen int64, cond string) ([]applied, int, error) {
	pks := make([]int64, len(items))
	for i, it := range items {
		pks[i] = it.PK
	}
	var claimed []int64
	if err := tx.NewRaw("UPDATE events SET applied_gen = ? WHERE id IN (?) AND "+cond+" RETURNING id",
		gen, bun.List(pks)).Scan(ctx, &claimed); err != nil {
		return nil, 0, fmt.Errorf("claim events: %w", err)
	}
	ok := make(map[int64]bool, len(claimed))
	for _, pk := range claimed {
		ok[pk] = true
	}
	var todo []applied
	for _, it := range items {
		if ok[it.PK] && !it.NoEffect {
			todo = append(todo, applied{pk: it.PK, ev: it.Event})
		}
	}
	return todo, len(claimed), nil
}

// underived counts the stored events whose effects are not in every figure
// yet: never derived, or re-derived by a rebuild that has not finished.
func (s *Store) underived(ctx context.Context) (int64, error) {
	var n []int64
	q := "SELECT (SELECT COUNT(*) FROM events WHERE applied_gen = 0) + (SELECT pending FROM projection_state WHERE id = 1)"
	if err := s.db.NewRaw(q).Scan(ctx, &n); err != nil {
		return 0, err
	}
	if len(n) == 0 {
		return 0, nil
	}
	return n[0], nil
}

// FinishRebuild derives the DORA state and flow signals again (the last
// step of a rebuild) and then counts the rebuilt events as derived.
func (s *Store) FinishRebuild(ctx context.Context) error {
	if err := s.RecomputeDerived(ctx); err != nil {
		return err
	}
	_, err := s.db.NewRaw("UPDATE projection_state SET pending = 0 WHERE id = 1").Exec(ctx)
	return err
}
