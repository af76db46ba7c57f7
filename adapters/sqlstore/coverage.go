package sqlstore

import (
	"context"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"github.com/throughline/throughline/domain"
)

// coverageCache remembers coverage_from for the rollup version it was read
// at: coverage moves only when an earlier delivery event is stored, and that
// bumps the version.
type coverageCache struct {
	mu      sync.Mutex
	version int64
	from    int64 // Unix µs; 0: nothing stored
	ok      bool
}

// earliestDelivery is the earliest time among the delivery events of a
// batch (telemetry does not count), 0 when it has none.
func earliestDelivery(items []applied) int64 {
	var first int64
	for _, it := range items {
		if it.ev.Kind == domain.KindTelemetry {
			continue
		}
		if at := micros(it.ev.Time); first == 0 || at < first {
			first = at
		}
	}
	return first
}

// noteCoverage moves coverage_from earlier when the batch's earliest delivery
// event is before it, in the transaction that stores the batch. It reports
// whether it moved; then every rate per day may change, so the rollup
// version moves with it and every instance's caches refresh.
func (s *Store) noteCoverage(ctx context.Context, tx bun.Tx, first int64) (bool, error) {
	if first == 0 {
		return false, nil
	}
	res, err := tx.NewRaw("INSERT INTO coverage (id, from_at) VALUES (1, ?) "+
		"ON CONFLICT (id) DO UPDATE SET from_at = EXCLUDED.from_at WHERE EXCLUDED.from_at < coverage.from_at", first).Exec(ctx)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	if err != nil || n == 0 {
		return false, err
	}
	return true, s.addCounters(ctx, tx, map[string]int64{counterDoraVersion: 1})
}

// Coverage is what the store knows of time at now (DESIGN.md 4): from the
// day of its earliest delivery event to today.
func (s *Store) Coverage(ctx context.Context) (domain.Coverage, error) {
	version, err := s.DORAVersion(ctx)
	if err != nil {
		return domain.Coverage{}, err
	}
	return s.coverageAt(ctx, version)
}

func (s *Store) coverageAt(ctx context.Context, version int64) (domain.Coverage, error) {
	s.coverage.mu.Lock()
	defer s.coverage.mu.Unlock()
	if !s.coverage.ok || s.coverage.version != version {
		var rows []int64
		if err := s.db.NewRaw("SELECT from_at FROM coverage WHERE id = 1").Scan(ctx, &rows); err != nil {
			return domain.Coverage{}, err
		}
		s.coverage.from = 0
		if len(rows) == 1 {
			s.coverage.from = rows[0]
		}
		s.coverage.version, s.coverage.ok = version, true
	}
	var earliest time.Time
	if s.coverage.from != 0 {
		earliest = fromMicros(s.coverage.from)
	}
	return domain.NewCoverage(earliest, s.now()), nil
}
