package sqlstore_test

import (
	"context"
	"math/rand"
	"testing"

	"github.com/throughline/throughline/adapters/sqlstore"
	"github.com/throughline/throughline/adapters/sqlstore/sqltest"
	"github.com/throughline/throughline/domain"
	"github.com/throughline/throughline/domain/domaintest"
)

// The flow items learn which ideas are rolled back, whatever order the
// events arrive in: one at a time in time order (the rollback then refreshes
// ideas it names nowhere), shuffled, or all at once.
func TestIdeasRolledBack(t *testing.T) {
	sqltest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		checkout, search := domaintest.RollbackStories()
		want := map[string]*domain.ProdDeployment{"CHK-2": nil}
		r, d := checkout.Deployment(4), search.Deployment(3)
		want["CHK-1"], want["SRCH-1"] = &r, &d
		for seed := int64(0); seed < 4; seed++ {
			store := s
			if seed > 0 {
				store = sqltest.Open(t, s.Dialect())
			}
			for _, k := range []string{"CHK-1", "CHK-2", "SRCH-1"} {
				if _, err := store.CreateIdea(ctx, domain.Idea{Key: k, Title: k, Horizon: domain.HorizonNow, FlowType: domain.FlowFeature}, "pm"); err != nil {
					t.Fatal(err)
				}
			}
			evs := append(checkout.Events(), search.Events()...)
			batch := 1
			switch seed {
			case 0:
				sortByTime(evs)
			case 3:
				batch = len(evs)
			default:
				rand.New(rand.NewSource(seed)).Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
			}
			storeEvents(t, store, evs, batch)
			flow, err := store.IdeaFlow(ctx, []string{"CHK-1", "CHK-2", "SRCH-1"})
			if err != nil {
				t.Fatal(err)
			}
			for key, by := range want {
				got := flow[key].RolledBack
				switch {
				case flow[key].Signals[domain.TrigDeployProd] == 0:
					t.Errorf("seed %d: %s never shipped", seed, key)
				case by == nil && got != nil:
					t.Errorf("seed %d: %s rolled back by %+v; it is in production", seed, key, *got)
				case by != nil && (got == nil || got.Event != by.Event || !got.At.Equal(by.At) || got.Service != by.Service ||
					got.Rollback != by.Rollback || got.Artifact != by.Artifact):
					t.Errorf("seed %d: %s rolled back by %+v; want %+v", seed, key, got, *by)
				}
			}
		}
	})
}

func sortByTime(evs []domain.Event) {
	for i := 1; i < len(evs); i++ {
		for j := i; j > 0 && evs[j].Time.Before(evs[j-1].Time); j-- {
			evs[j], evs[j-1] = evs[j-1], evs[j]
		}
	}
}
