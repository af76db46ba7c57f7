package sqlstore

import (
	"context"
	"time"
)

// AcquireLease takes or renews the lease called name for holder until ttl
// from now, and reports whether holder has it: a lease is free when nobody
// holds it or its holder let it expire (died, or lost the database longer
// than ttl). Instances' clocks must agree to well within ttl.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	now := micros(s.now())
	var got []string
	err := s.db.NewRaw(`INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
		WHERE leases.holder = EXCLUDED.holder OR leases.expires_at < ?
		RETURNING holder`, name, holder, now+ttl.Microseconds(), now).Scan(ctx, &got)
	return len(got) == 1, unavailable(err)
}

// LeaseHolder returns who holds the lease called name, or "" when nobody
// does.
func (s *Store) LeaseHolder(ctx context.Context, name string) (string, error) {
	var holders []string
	err := s.db.NewRaw("SELECT holder FROM leases WHERE name = ? AND expires_at >= ?", name, micros(s.now())).Scan(ctx, &holders)
	if err != nil || len(holders) == 0 {
		return "", err
	}
	return holders[0], nil
}

// ReleaseLease gives the lease up at once, if holder has it.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	_, err := s.db.NewRaw("DELETE FROM leases WHERE name = ? AND holder = ?", name, holder).Exec(ctx)
	return err
}
