package sqlstore_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/throughline/throughline/adapters/sqlstore"
	"github.com/throughline/throughline/adapters/sqlstore/sqltest"
)

func TestLeasesHaveOneHolderAndOutliveNoDeadHolder(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC).UnixMicro())
	now := func() time.Time { return time.UnixMicro(clock.Load()) }
	advance := func(d time.Duration) { clock.Add(d.Microseconds()) }
	sqltest.EachDialectWith(t, sqlstore.Options{Now: now}, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		take := func(holder string, want bool) {
			t.Helper()
			got, err := s.AcquireLease(ctx, "slo-alerts", holder, time.Minute)
			if err != nil || got != want {
				t.Fatalf("%s acquires: %v, %v; want %v", holder, got, err, want)
			}
		}
		take("a", true)
		take("b", false) // a holds it
		advance(50 * time.Second)
		take("a", true) // a renews: until 12:01:50
		advance(50 * time.Second)
		take("b", false) // renewed, so still a's
		if h, _ := s.LeaseHolder(ctx, "slo-alerts"); h != "a" {
			t.Fatalf("holder %q; want a", h)
		}
		advance(61 * time.Second) // a died: its lease lapses
		if h, _ := s.LeaseHolder(ctx, "slo-alerts"); h != "" {
			t.Fatalf("holder %q after expiry; want none", h)
		}
		take("b", true)
		take("a", false) // back from the dead, but b has it now
		if err := s.ReleaseLease(ctx, "slo-alerts", "a"); err != nil {
			t.Fatal(err)
		}
		take("a", false) // a cannot release b's lease
		if err := s.ReleaseLease(ctx, "slo-alerts", "b"); err != nil {
			t.Fatal(err)
		}
		take("a", true) // released: free at once
		if got, _ := s.AcquireLease(ctx, "rebuild", "b", time.Minute); !got {
			t.Fatal("leases of different names are independent")
		}
	})
}
