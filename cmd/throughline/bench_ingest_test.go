package main

// Ingest benchmarks (issue 3). Run:
//
//	go test -run '^$' -bench 'Ingest|EventToVisible' -benchtime 1x ./cmd/throughline/
//
// with THROUGHLINE_TEST_POSTGRES and THROUGHLINE_TEST_NATS set for the
// PostgreSQL + external NATS variants. Figures are reported as ratios to the
// raw JetStream consume-and-ack rate of the same messages on the same server
// in the same run, so that they mean something on any machine.

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/throughline/throughline/adapters/cdevents"
	"github.com/throughline/throughline/adapters/demo"
	"github.com/throughline/throughline/adapters/natsbus"
	"github.com/throughline/throughline/adapters/natsbus/natstest"
	"github.com/throughline/throughline/adapters/sqlstore"
	"github.com/throughline/throughline/adapters/sqlstore/sqltest"
	"github.com/throughline/throughline/domain"
)

// benchMix selects the events a benchmark ingests: "demo" (the demo
// history's mix, two thirds delivery events), "delivery" or "telemetry".
// THROUGHLINE_BENCH_MIX overrides the default, "demo".
func benchMix() string {
	if m := os.Getenv("THROUGHLINE_BENCH_MIX"); m != "" {
		return m
	}
	return "demo"
}

// benchMessages returns n realistic events of the chosen mix as messages:
// the first n of a demo history long enough to hold them, in time order, as
// producers would send them. The history ends now, so telemetry of its last
// days is recent, as it is in live use.
func benchMessages(tb testing.TB, prefix string, n int) []natsbus.OutMsg {
	tb.Helper()
	events, _ := benchHistory(n)
	dec, _ := cdevents.NewDecoder("")
	out := make([]natsbus.OutMsg, 0, n)
	for _, ce := range events {
		ev, err := dec.Decode(ce)
		if err != nil {
			tb.Fatal(err)
		}
		data, _ := cdevents.EncodeStructured(ce)
		out = append(out, natsbus.OutMsg{Subject: eventSubject(natsbus.Names{SubjectPrefix: prefix}, ev), Data: data, MsgID: ev.Identity.String()})
	}
	return out
}

// benchHistory returns the first n events of the chosen mix from a demo
// history long enough to hold them, and that history.
func benchHistory(n int) ([]domain.CloudEvent, demo.History) {
	mix := benchMix()
	var events []domain.CloudEvent
	var h demo.History
	for days := 90; len(events) < n; days *= 2 {
		events = events[:0]
		h = demo.Generate(demo.Options{Days: days, Seed: 7, End: time.Now().UTC()})
		for _, ce := range h.Events {
			tel := ce.Type == cdevents.TelemetryType
			if mix == "demo" || (mix == "telemetry") == tel {
				events = append(events, ce)
			}
		}
	}
	return events[:n], h
}

// seedBenchRoadmap creates the ideas (and value streams) of the history the
// benchmark ingests, so that ingestion keeps their flow signals current as
// it does in use.
func seedBenchRoadmap(b *testing.B, store *sqlstore.Store, n int) {
	_, h := benchHistory(n)
	if err := seedDemoRoadmap(context.Background(), store, h); err != nil {
		b.Fatal(err)
	}
}

type benchRig struct {
	bus   *natsbus.Bus
	store *sqlstore.Store
}

func newBenchRig(b *testing.B, backend string) *benchRig {
	b.Helper()
	ctx := context.Background()
	cfg := natsbus.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	opts := sqlstore.Options{DataDir: b.TempDir()}
	switch backend {
	case "sqlite+embedded":
		emb, err := natsbus.StartEmbedded(natsbus.EmbeddedOptions{DataDir: b.TempDir(), Listen: "127.0.0.1:0"})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(emb.Shutdown)
		cfg.Embedded = emb
	case "postgres+external":
		cfg.URL = natstest.ExternalURL(b)
		opts.DSN = sqltest.PostgresDSN(b)
	}
	bus, err := natsbus.Connect(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { bus.Close() })
	store, err := sqlstore.Open(ctx, opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	if _, err := store.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	return &benchRig{bus: bus, store: store}
}

// namespaced returns a bus on the same connection with its own streams.
func (r *benchRig) namespaced(b *testing.B) *natsbus.Bus {
	b.Helper()
	names := natstest.UniqueNames(b, r.bus.JetStream)
	bus := r.bus.WithNames(names)
	if err := bus.EnsureStreams(context.Background()); err != nil {
		b.Fatal(err)
	}
	return bus
}

func BenchmarkIngest(b *testing.B) {
	const n = 30_000
	for _, backend := range []string{"sqlite+embedded", "postgres+external"} {
		b.Run(backend, func(b *testing.B) {
			rig := newBenchRig(b, backend)
			seedBenchRoadmap(b, rig.store, n)
			ctx := context.Background()
			for i := 0; i < b.N; i++ {
				// Raw JetStream: consume and ack the same messages, nothing else.
				raw := rig.namespaced(b)
				if _, err := raw.PublishMany(ctx, benchMessages(b, raw.Names().SubjectPrefix, n)); err != nil {
					b.Fatal(err)
				}
				rawRate := rawConsumeRate(b, raw, n)

				// Throughline: decode, store, project, ack.
				ours := rig.namespaced(b)
				if _, err := ours.PublishMany(ctx, benchMessages(b, ours.Names().SubjectPrefix, n)); err != nil {
					b.Fatal(err)
				}
				base, _ := rig.store.IngestStatus(ctx)
				dec, _ := cdevents.NewDecoder("")
				in := &ingestor{dec: dec, store: rig.store, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
				start := time.Now()
				cons, err := ours.StartConsumer(ctx, natsbus.ConsumerOptions{Logger: in.log}, in.handle, nil)
				if err != nil {
					b.Fatal(err)
				}
				for {
					st, _ := rig.store.IngestStatus(ctx)
					if st.Stored-base.Stored >= n {
						break
					}
					time.Sleep(2 * time.Millisecond)
				}
				ourRate := float64(n) / time.Since(start).Seconds()
				cons.Stop()
				b.ReportMetric(rawRate, "raw-events/s")
				b.ReportMetric(ourRate, "ingest-events/s")
				b.ReportMetric(ourRate/rawRate, "ratio")
			}
		})
	}
}

// rawConsumeRate pulls n messages with a durable consumer configured like
// ours, acking each, and returns messages per second.
func rawConsumeRate(b *testing.B, bus *natsbus.Bus, n int) float64 {
	ctx := context.Background()
	cons, err := bus.JetStream().CreateOrUpdateConsumer(ctx, bus.Names().EventsStream(), jetstream.ConsumerConfig{
		Durable: "raw-bench", AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: 10_000, MaxDeliver: -1,
	})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	iter, err := cons.Messages(jetstream.PullMaxMessages(1000))
	if err != nil {
		b.Fatal(err)
	}
	defer iter.Stop()
	for got := 0; got < n; got++ {
		m, err := iter.Next()
		if err != nil {
			b.Fatal(err)
		}
		if err := m.Ack(); err != nil {
			b.Fatal(err)
		}
	}
	return float64(n) / time.Since(start).Seconds()
}

// BenchmarkEventToVisible publishes at a steady 2,000 events/s to a running
// app and measures, per event, the time from its publish to the moment
// GET /api/v1/ingest/status counts it.
func BenchmarkEventToVisible(b *testing.B) {
	const rate, seconds = 2000, 10
	for _, backend := range []string{"sqlite+embedded", "postgres+external"} {
		b.Run(backend, func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.DataDir, cfg.Addr, cfg.NATSListen = b.TempDir(), "127.0.0.1:0", "127.0.0.1:0"
			if backend == "postgres+external" {
				cfg.DB = sqltest.PostgresDSN(b)
				cfg.NATS = natstest.ExternalURL(b)
				names := natstest.UniqueNames(b, nil)
				cfg.StreamPrefix, cfg.SubjectPrefix = names.StreamPrefix, names.SubjectPrefix
			}
			app := NewApp(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
			if err := app.Run(context.Background()); err != nil {
				b.Fatal(err)
			}
			defer app.Close()
			if backend == "postgres+external" {
				defer app.Bus.JetStream().DeleteStream(context.Background(), cfg.StreamPrefix+"_EVENTS")
				defer app.Bus.JetStream().DeleteStream(context.Background(), cfg.StreamPrefix+"_DLQ")
			}
			_, tok, err := app.Store.CreateToken(context.Background(), "bench", []domain.Scope{domain.ScopeRead})
			if err != nil {
				b.Fatal(err)
			}
			seedBenchRoadmap(b, app.Store, rate*seconds)
			for i := 0; i < b.N; i++ {
				p50, p99 := measureVisibility(b, app, tok, benchMessages(b, cfg.SubjectPrefix, rate*seconds), rate)
				b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
			}
		})
	}
}

func measureVisibility(b *testing.B, app *App, tok string, msgs []natsbus.OutMsg, rate int) (p50, p99 time.Duration) {
	ctx := context.Background()
	base, _ := app.Store.IngestStatus(ctx)
	published := make([]time.Time, len(msgs))
	visible := make([]time.Time, len(msgs))
	var mu sync.Mutex
	sent := 0
	done := make(chan struct{})
	go func() {
		// Poll the status endpoint; everything counted is visible.
		defer close(done)
		client := &http.Client{}
		next := 0
		for next < len(msgs) {
			req, _ := http.NewRequest(http.MethodGet, app.URL()+"/api/v1/ingest/status", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			var st domain.IngestStatus
			decodeJSON(resp.Body, &st)
			resp.Body.Close()
			now := time.Now()
			counted := int(st.Stored - base.Stored)
			mu.Lock()
			for next < counted && next < sent {
				visible[next] = now
				next++
			}
			mu.Unlock()
			time.Sleep(time.Millisecond)
		}
	}()
	// Publish in 5 ms ticks of rate/200 events each.
	per := rate / 200
	ticker := time.NewTicker(5 * time.Millisecond)
	defer ticker.Stop()
	js := app.Bus.JetStream()
	for i := 0; i < len(msgs); i += per {
		<-ticker.C
		for j := i; j < min(i+per, len(msgs)); j++ {
			m := msgs[j]
			mu.Lock()
			published[j] = time.Now()
			sent = j + 1
			mu.Unlock()
			if _, err := js.PublishMsgAsync(m.NATSMsg()); err != nil {
				b.Fatal(err)
			}
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(30 * time.Second):
		b.Fatal("publishes not acknowledged")
	}
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		b.Fatal("events not visible within a minute")
	}
	lat := make([]time.Duration, len(msgs))
	for i := range msgs {
		lat[i] = visible[i].Sub(published[i])
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return lat[len(lat)/2], lat[(len(lat)*99+99)/100-1]
}

func decodeJSON(r io.Reader, v any) { _ = json.NewDecoder(r).Decode(v) }
