package main

import (
	"context"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/throughline/throughline/adapters/cdevents"
	"github.com/throughline/throughline/adapters/sqlstore"
	"github.com/throughline/throughline/domain"
)

// Derivation batch bounds: small when idle (an event becomes visible
// quickly), growing while a backlog lasts (per-batch work is amortised).
const (
	deriveMinBatch = 64
	deriveMaxBatch = 4096
	// derivePoll finds events that another instance stored (or that a
	// crashed one left) when no local append wakes the deriver.
	derivePoll = 500 * time.Millisecond
	// maxHints bounds the decoded events kept for the deriver.
	maxHints = 1 << 16
)

// deriver follows the stored log and derives its events, in storage order,
// asynchronously and exactly once (DESIGN.md section 1): ingestion only
// appends and acks.
type deriver struct {
	store *sqlstore.Store
	dec   *cdevents.Decoder
	log   *slog.Logger
	wake  chan struct{}

	// hints are events this process decoded at ingestion, so that the
	// deriver need not decode them again; a miss decodes the stored copy.
	mu    sync.Mutex
	hints map[domain.Identity]domain.Event
}

func newDeriver(store *sqlstore.Store, dec *cdevents.Decoder, log *slog.Logger) *deriver {
	return &deriver{store: store, dec: dec, log: log, wake: make(chan struct{}, 1), hints: map[domain.Identity]domain.Event{}}
}

// appended tells the deriver that events were stored.
func (d *deriver) appended(recs []domain.EventRecord, out []domain.StoreOutcome) {
	d.mu.Lock()
	for i, r := range recs {
		if out[i] == domain.Stored && len(d.hints) < maxHints {
			d.hints[r.Event.Identity] = r.Event
		}
	}
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// run derives until ctx ends.
func (d *deriver) run(ctx context.Context) {
	batch := deriveMinBatch
	failures := 0
	for ctx.Err() == nil {
		n, err := d.step(ctx, batch)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			failures++
			if failures == 1 || failures%100 == 0 {
				d.log.Warn("derivation failed; retrying", "err", err, "failures", failures)
			}
			sleep(ctx, min(time.Duration(failures)*100*time.Millisecond, 2*time.Second))
			continue
		}
		failures = 0
		if n == batch {
			batch = min(batch*2, deriveMaxBatch) // a backlog: take more at once
			continue
		}
		batch = deriveMinBatch
		if n > 0 {
			continue // look once more before waiting
		}
		d.forgetHints()
		select {
		case <-ctx.Done():
		case <-d.wake:
		case <-time.After(derivePoll):
		}
	}
}

// step derives up to limit underived events and returns how many it read.
func (d *deriver) step(ctx context.Context, limit int) (int, error) {
	evs, err := d.store.UnderivedEvents(ctx, limit)
	if err != nil || len(evs) == 0 {
		return 0, err
	}
	items := d.decode(evs)
	if _, err := d.store.DeriveEvents(ctx, items); err != nil {
		return 0, err
	}
	d.mu.Lock()
	for _, e := range evs {
		delete(d.hints, e.Identity)
	}
	d.mu.Unlock()
	return len(evs), nil
}

// decode turns stored events into derivation items, from the hints or the
// stored copy, spreading large batches over the CPUs.
func (d *deriver) decode(evs []sqlstore.StoredEvent) []sqlstore.Reapply {
	items := make([]sqlstore.Reapply, len(evs))
	var misses []int
	d.mu.Lock()
	for i, e := range evs {
		items[i].PK = e.PK
		if ev, ok := d.hints[e.Identity]; ok {
			items[i].Event = ev
		} else {
			misses = append(misses, i)
		}
	}
	d.mu.Unlock()
	workers := min(runtime.GOMAXPROCS(0), len(misses)/64+1)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := w; k < len(misses); k += workers {
				i := misses[k]
				ev, err := decodeStored(d.dec, evs[i].Data)
				items[i].Event, items[i].NoEffect = ev, err != nil
			}
		}()
	}
	wg.Wait()
	return items
}

// forgetHints drops hints left for events another instance derived.
func (d *deriver) forgetHints() {
	d.mu.Lock()
	if len(d.hints) > 0 {
		d.hints = map[domain.Identity]domain.Event{}
	}
	d.mu.Unlock()
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
