package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/throughline/throughline/adapters/cdevents"
	"github.com/throughline/throughline/adapters/demo"
	"github.com/throughline/throughline/adapters/natsbus"
	"github.com/throughline/throughline/adapters/natsbus/natstest"
	"github.com/throughline/throughline/adapters/sqlstore/sqltest"
	"github.com/throughline/throughline/domain"
)

// shuffledDemo returns a demo history's events as messages in a random
// order: what several producers with clock skew and retries look like.
func shuffledDemo(t testing.TB, h demo.History, prefix string, seed uint64) []natsbus.OutMsg {
	t.Helper()
	dec, _ := cdevents.NewDecoder("")
	msgs := make([]natsbus.OutMsg, 0, len(h.Events))
	for _, ce := range h.Events {
		ev, err := dec.Decode(ce)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := cdevents.EncodeStructured(ce)
		msgs = append(msgs, natsbus.OutMsg{Subject: eventSubject(natsbus.Names{SubjectPrefix: prefix}, ev), Data: data, MsgID: ev.Identity.String()})
	}
	rand.New(rand.NewPCG(seed, 3)).Shuffle(len(msgs), func(i, j int) { msgs[i], msgs[j] = msgs[j], msgs[i] })
	return msgs
}

// cluster is n app instances on one PostgreSQL database and one events
// stream of the external NATS server.
type cluster struct {
	apps  []*App
	token string
}

func startCluster(t testing.TB, n int, configure func(*Config)) *cluster {
	t.Helper()
	dsn := sqltest.PostgresDSN(t)
	url := natstest.ExternalURL(t)
	names := natstest.UniqueNames(t, nil)
	c := &cluster{}
	for i := 0; i < n; i++ {
		cfg := testConfig(t)
		cfg.DB, cfg.NATS = dsn, url
		cfg.StreamPrefix, cfg.SubjectPrefix = names.StreamPrefix, names.SubjectPrefix
		cfg.IngestBatch = 100
		if configure != nil {
			configure(&cfg)
		}
		app := NewApp(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
		if err := app.Run(context.Background()); err != nil {
			app.Close()
			t.Fatal(err)
		}
		t.Cleanup(func() { app.Close() })
		c.apps = append(c.apps, app)
	}
	t.Cleanup(func() {
		js := c.apps[0].Bus.JetStream()
		_ = js.DeleteStream(context.Background(), names.EventsStream())
		_ = js.DeleteStream(context.Background(), names.DLQStream())
		_ = js.DeleteStream(context.Background(), names.AlertsStream())
	})
	c.token = token(t, c.apps[0], domain.ScopeRead)
	return c
}

// ingest publishes msgs and waits until every one is stored.
func (c *cluster) ingest(t testing.TB, msgs []natsbus.OutMsg) ingestStatus {
	t.Helper()
	if _, err := c.apps[0].Bus.PublishMany(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	var st ingestStatus
	for deadline := time.Now().Add(3 * time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if st = status(t, c.apps[0], c.token); st.Stored+st.Duplicates+st.DeadLetters >= int64(len(msgs)) {
			break
		}
	}
	return st
}

// answers reads what the API says about everything derived from the
// events: DORA over the whole history and per week, the deployment and
// incident lists, ideas with their flow and evidence, the outcomes, and
// each value stream's flow.
func (c *cluster) answers(t *testing.T, opts demo.Options) map[string]string {
	t.Helper()
	from := opts.End.AddDate(0, 0, -opts.Days).Format(domain.DateLayout)
	to := opts.End.AddDate(0, 0, -1).Format(domain.DateLayout)
	win := "from=" + from + "&to=" + to
	paths := []string{
		"/api/v1/dora?" + win,
		"/api/v1/dora/trend?bucket=week&" + win,
		"/api/v1/deployments?limit=1000&" + win,
		"/api/v1/incidents?limit=1000&" + win,
		"/api/v1/ideas",
		"/api/v1/outcomes",
	}
	var streams struct {
		ValueStreams []struct {
			ID int64 `json:"id"`
		} `json:"value_streams"`
	}
	getJSON(t, c.apps[0].URL()+"/api/v1/value-streams", c.token, &streams)
	for _, s := range streams.ValueStreams {
		paths = append(paths, "/api/v1/value-streams/"+strconv.FormatInt(s.ID, 10)+"/flow?"+win)
	}
	out := map[string]string{}
	for _, p := range paths {
		req, _ := http.NewRequest(http.MethodGet, c.apps[0].URL()+p, nil)
		req.Header.Set("Authorization", "Bearer "+c.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", p, resp.StatusCode, body)
		}
		out[p] = canonicalJSON(t, body)
	}
	return out
}

// canonicalJSON re-encodes a JSON document with sorted keys and without
// the fields that name a database row or the moment it was written, which
// differ between databases.
func canonicalJSON(t *testing.T, body []byte) string {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	var strip func(any) any
	strip = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if k == "id" || k == "event_pk" || k == "pk" || k == "computed_at" || k == "generated_at" || k == "created_at" || k == "updated_at" {
					delete(x, k)
					continue
				}
				x[k] = strip(e)
			}
		case []any:
			for i := range x {
				x[i] = strip(x[i])
			}
		}
		return v
	}
	out, _ := json.Marshal(strip(v))
	return string(out)
}

// TestThreeInstancesAgreeWithOne (issue 10) runs three instances on one
// PostgreSQL database and one durable consumer, feeds them two months of
// demo history in a shuffled order, and compares every derived answer with
// a single instance's over the same events: each event is stored once, and
// concurrency changes no figure.
func TestThreeInstancesAgreeWithOne(t *testing.T) {
	opts := demo.Options{Days: 60, Seed: 12, End: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)}
	h := demo.Generate(opts)
	run := func(n int) (ingestStatus, map[string]string) {
		c := startCluster(t, n, nil)
		if err := seedDemoRoadmap(context.Background(), c.apps[0].Store, h); err != nil {
			t.Fatal(err)
		}
		msgs := shuffledDemo(t, h, c.apps[0].Bus.Names().SubjectPrefix, 1)
		st := c.ingest(t, msgs)
		if st.Stored != int64(len(msgs)) || st.DeadLetters != 0 {
			t.Fatalf("%d instances: %+v for %d events", n, st, len(msgs))
		}
		return st, c.answers(t, opts)
	}
	oneSt, one := run(1)
	threeSt, three := run(3)
	t.Logf("one instance %+v, three %+v, %d answers compared", oneSt, threeSt, len(one))
	for p, want := range one {
		if got := three[p]; got != want {
			t.Errorf("%s differs with three instances:\n one   %.600s\n three %.600s", p, want, got)
		}
	}
	if len(one) < 7 {
		t.Fatalf("only %d answers compared", len(one))
	}
}

// TestOneInstanceEvaluatesSLOs (issue 10): of two instances only the
// holder of the SLO lease evaluates SLOs, so an alert is published once;
// when the holder stops, the other takes over.
func TestOneInstanceEvaluatesSLOs(t *testing.T) {
	c := startCluster(t, 2, func(cfg *Config) { cfg.SLOInterval = 100 * time.Millisecond })
	ctx := t.Context()
	nc, err := nats.Connect(natstest.ExternalURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	sub, err := nc.SubscribeSync(c.apps[0].Bus.Names().SubjectPrefix + ".alerts.slo.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}

	checkoutOutage(t, c.apps[0].Store, time.Now().UTC()) // the SLO fires
	if _, err := sub.NextMsg(5 * time.Second); err != nil {
		t.Fatalf("no alert: %v", err)
	}
	if msg, err := sub.NextMsg(time.Second); err == nil {
		t.Fatalf("a second alert for the same change: %s", msg.Data)
	}

	holder, err := c.apps[0].Store.LeaseHolder(ctx, sloLease)
	if err != nil {
		t.Fatal(err)
	}
	other := -1
	for i, app := range c.apps {
		if app.instance != holder {
			other = i
		}
	}
	if holder == "" || other < 0 || (holder != c.apps[0].instance && holder != c.apps[1].instance) {
		t.Fatalf("SLO lease held by %q; want exactly one of the instances", holder)
	}
	survivor := c.apps[other]
	c.apps[1-other].Close() // the holder stops (and releases its lease)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if holder, _ = survivor.Store.LeaseHolder(ctx, sloLease); holder == survivor.instance {
			return
		}
	}
	t.Fatalf("after the holder stopped the lease is held by %q, not the survivor", holder)
}

// TestOneRebuildAtATime: a rebuild refuses to start while another holds
// the rebuild lease, and starts once it is free.
func TestOneRebuildAtATime(t *testing.T) {
	cfg := testConfig(t)
	store, err := openStore(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if _, err := store.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	if held, err := store.AcquireLease(t.Context(), rebuildLease, "other-host/42/abc", time.Minute); err != nil || !held {
		t.Fatal(held, err)
	}
	dec, _ := cdevents.NewDecoder("")
	_, err = rebuild(t.Context(), store, dec)
	if domain.ErrorCode(err) != domain.ECONFLICT || !strings.Contains(err.Error(), "other-host/42/abc") {
		t.Fatalf("rebuild while another runs: %v; want a conflict naming the other", err)
	}
	if err := store.ReleaseLease(t.Context(), rebuildLease, "other-host/42/abc"); err != nil {
		t.Fatal(err)
	}
	if _, err := rebuild(t.Context(), store, dec); err != nil {
		t.Fatalf("rebuild once free: %v", err)
	}
	if h, _ := store.LeaseHolder(t.Context(), rebuildLease); h != "" {
		t.Fatalf("rebuild left its lease held by %q", h)
	}
}

// BenchmarkScaleOut measures ingestion on PostgreSQL and the external NATS
// server with one, two and three instances sharing the durable consumer:
//
//	THROUGHLINE_TEST_POSTGRES=… THROUGHLINE_TEST_NATS=… go test -run '^$' -bench ScaleOut -benchtime 1x ./cmd/throughline/
//
// Each run publishes the same 30,000 demo events (in time order, as
// BenchmarkIngest does) to a fresh stream and database, with the instances
// (in this process, each with its own connections, consumer and pools)
// already consuming, and times until all are stored.
func BenchmarkScaleOut(b *testing.B) {
	const n = 30_000
	var one float64
	for _, instances := range []int{1, 2, 3} {
		b.Run(strconv.Itoa(instances), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				_, h := benchHistory(n)
				c := startCluster(b, instances, func(cfg *Config) {
					cfg.SLOInterval, cfg.IngestBatch = 0, DefaultConfig().IngestBatch
				})
				if err := seedDemoRoadmap(context.Background(), c.apps[0].Store, h); err != nil {
					b.Fatal(err)
				}
				msgs := benchMessages(b, c.apps[0].Bus.Names().SubjectPrefix, n)
				start := time.Now()
				if st := c.ingest(b, msgs); st.Stored != n {
					b.Fatalf("%+v for %d events", st, n)
				}
				rate := float64(n) / time.Since(start).Seconds()
				if instances == 1 {
					one = rate
				}
				b.ReportMetric(rate, "events/s")
				if one > 0 {
					b.ReportMetric(rate/one, "vs-one-instance")
				}
			}
		})
	}
}
