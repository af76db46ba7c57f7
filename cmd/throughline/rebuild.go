package main

import (
	"context"
	"time"

	"github.com/throughline/throughline/adapters/cdevents"
	"github.com/throughline/throughline/adapters/sqlstore"
)

type rebuildResult struct {
	events      int
	undecodable int
	generation  int64
	took        time.Duration
}

// rebuildPage is how many stored events are reapplied per transaction.
const rebuildPage = 2000

// rebuild recomputes every projection from the stored events.
func rebuild(ctx context.Context, store *sqlstore.Store, dec *cdevents.Decoder) (rebuildResult, error) {
	start := time.Now()
	gen, err := store.BeginRebuild(ctx)
	if err != nil {
		return rebuildResult{}, err
	}
	res := rebuildResult{generation: gen}
	var after int64
	for {
		page, err := store.EventsAfter(ctx, after, rebuildPage)
		if err != nil {
			return res, err
		}
		if len(page) == 0 {
			break
		}
		items := make([]sqlstore.Reapply, 0, len(page))
		for _, e := range page {
			after = e.PK
			if e.AppliedGen >= gen {
				continue // stored after the rebuild began, already in gen
			}
			ev, err := decodeStored(dec, e.Data)
			if err != nil {
				res.undecodable++
				continue
			}
			items = append(items, sqlstore.Reapply{PK: e.PK, Event: ev})
		}
		if err := store.ReapplyEvents(ctx, gen, items); err != nil {
			return res, err
		}
		res.events += len(items)
	}
	if err := store.RecomputeDerived(ctx); err != nil {
		return res, err
	}
	res.took = time.Since(start)
	return res, nil
}
