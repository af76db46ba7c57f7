package main

import (
	"cmp"
	"context"
	"time"

	"github.com/throughline/throughline/adapters/cdevents"
	"github.com/throughline/throughline/adapters/sqlstore"
	"github.com/throughline/throughline/domain"
)

type rebuildResult struct {
	events      int
	undecodable int
	generation  int64
	took        time.Duration
}

// rebuildPage is how many stored events are reapplied per transaction.
const rebuildPage = 2000

// rebuildLease keeps two rebuilds from running at once on one database; the
// holder renews it as it goes, so a rebuild killed midway frees it within
// rebuildLeaseTTL and the next one starts over.
const (
	rebuildLease    = "rebuild"
	rebuildLeaseTTL = 2 * time.Minute
)

// rebuild recomputes every projection from the stored events.
func rebuild(ctx context.Context, store *sqlstore.Store, dec *cdevents.Decoder) (res rebuildResult, err error) {
	start := time.Now()
	holder := instanceName()
	renewed := time.Now()
	held, err := store.AcquireLease(ctx, rebuildLease, holder, rebuildLeaseTTL)
	if err != nil {
		return res, err
	}
	if !held {
		other, _ := store.LeaseHolder(ctx, rebuildLease)
		return res, domain.Errorf(domain.ECONFLICT, "A rebuild is already running (%s); wait for it to finish.", other)
	}
	defer func() {
		if rerr := store.ReleaseLease(context.WithoutCancel(ctx), rebuildLease, holder); err == nil {
			err = rerr
		}
	}()
	gen, err := store.BeginRebuild(ctx)
	if err != nil {
		return rebuildResult{}, err
	}
	res.generation = gen
	var after int64
	for {
		if time.Since(renewed) > rebuildLeaseTTL/4 {
			if held, err := store.AcquireLease(ctx, rebuildLease, holder, rebuildLeaseTTL); err != nil || !held {
				return res, cmp.Or(err, error(domain.Errorf(domain.ECONFLICT, "The rebuild lost its lease to another one (it stalled over %s); run it again.", rebuildLeaseTTL)))
			}
			renewed = time.Now()
		}
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
