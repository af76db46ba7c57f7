package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
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
	return rebuildReporting(ctx, store, dec, nil)
}

// rebuildReporting is rebuild that writes a progress line to progress
// (when not nil) every few seconds: events done of total, rate, time left.
func rebuildReporting(ctx context.Context, store *sqlstore.Store, dec *cdevents.Decoder, progress io.Writer) (res rebuildResult, err error) {
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
	st, err := store.IngestStatus(ctx)
	if err != nil {
		return res, err
	}
	meter := newProgress(progress, st.Stored, start)
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
				res.undecodable++ // claimed, with no effect
				items = append(items, sqlstore.Reapply{PK: e.PK, NoEffect: true})
				continue
			}
			items = append(items, sqlstore.Reapply{PK: e.PK, Event: ev})
		}
		if err := store.ReapplyEvents(ctx, gen, items); err != nil {
			return res, err
		}
		res.events += len(items) - countNoEffect(items)
		meter.done(int64(len(page)))
	}
	meter.finish("recomputing DORA verdicts and flow signals")
	if err := store.FinishRebuild(ctx); err != nil {
		return res, err
	}
	res.took = time.Since(start)
	return res, nil
}

func countNoEffect(items []sqlstore.Reapply) int {
	n := 0
	for _, it := range items {
		if it.NoEffect {
			n++
		}
	}
	return n
}

// progress prints a rebuild's progress line at most every progressEvery.
type progress struct {
	w       io.Writer
	total   int64
	count   int64
	start   time.Time
	printed time.Time
}

const progressEvery = 2 * time.Second

func newProgress(w io.Writer, total int64, start time.Time) *progress {
	return &progress{w: w, total: total, start: start, printed: start}
}

func (p *progress) done(n int64) {
	p.count += n
	if p.w == nil || time.Since(p.printed) < progressEvery {
		return
	}
	p.printed = time.Now()
	elapsed := time.Since(p.start).Seconds()
	rate := float64(p.count) / max(elapsed, 1e-9)
	left := "unknown"
	if rate > 0 && p.total >= p.count {
		left = (time.Duration(float64(p.total-p.count)/rate) * time.Second).Round(time.Second).String()
	}
	fmt.Fprintf(p.w, "rebuild: %d of %d events, %.0f events/s, %s left\n", p.count, max(p.total, p.count), rate, left)
}

func (p *progress) finish(what string) {
	if p.w != nil {
		fmt.Fprintf(p.w, "rebuild: %d events reapplied in %s; %s\n", p.count, time.Since(p.start).Round(time.Millisecond), what)
	}
}
