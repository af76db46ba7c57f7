package natsbus_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/throughline/throughline/adapters/natsbus"
	"github.com/throughline/throughline/adapters/natsbus/natstest"
	"github.com/throughline/throughline/domain"
)

func newBus(t *testing.T) *natsbus.Bus {
	t.Helper()
	emb := natstest.Embedded(t)
	bus, err := natsbus.Connect(context.Background(), natsbus.Config{Embedded: emb})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bus.Close() })
	if err := bus.EnsureStreams(context.Background()); err != nil {
		t.Fatal(err)
	}
	return bus
}

func publishN(t *testing.T, bus *natsbus.Bus, n int, body func(i int) string) {
	t.Helper()
	msgs := make([]natsbus.OutMsg, n)
	for i := range msgs {
		msgs[i] = natsbus.OutMsg{Subject: "throughline.events.delivery.svc", Data: []byte(body(i)), MsgID: "m" + strconv.Itoa(i)}
	}
	if _, err := bus.PublishMany(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// recorder is a handler that records what it saw and answers by body.
type recorder struct {
	mu      sync.Mutex
	seen    map[string]int
	batches []int
	answer  func(m *natsbus.Message) error
}

func (r *recorder) handle(_ context.Context, msgs []*natsbus.Message) []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen == nil {
		r.seen = map[string]int{}
	}
	r.batches = append(r.batches, len(msgs))
	errs := make([]error, len(msgs))
	for i, m := range msgs {
		r.seen[string(m.Data)]++
		if r.answer != nil {
			errs[i] = r.answer(m)
		}
	}
	return errs
}

func (r *recorder) count(body string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seen[body]
}

func (r *recorder) distinct() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.seen)
}

func TestConsumerAcksInBatches(t *testing.T) {
	bus := newBus(t)
	publishN(t, bus, 1000, func(i int) string { return "event " + strconv.Itoa(i) })
	rec := &recorder{}
	c, err := bus.StartConsumer(context.Background(), natsbus.ConsumerOptions{BatchSize: 100}, rec.handle, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	waitFor(t, "all acked", func() bool { return c.Stats().Acked == 1000 })
	for i := 0; i < 1000; i++ {
		if n := rec.count("event " + strconv.Itoa(i)); n != 1 {
			t.Fatalf("event %d handled %d times", i, n)
		}
	}
	for _, b := range rec.batches {
		if b > 100 {
			t.Fatalf("batch of %d exceeds the batch size", b)
		}
	}
	if len(rec.batches) >= 1000 {
		t.Errorf("no batching: %d batches", len(rec.batches))
	}
	waitFor(t, "no lag", func() bool {
		pending, ackPending, err := bus.ConsumerLag(context.Background())
		return err == nil && pending == 0 && ackPending == 0
	})
}

func TestRejectedMessagesBecomeDeadLetters(t *testing.T) {
	bus := newBus(t)
	publishN(t, bus, 3, func(i int) string { return []string{"good", "not json", "good too"}[i] })
	rec := &recorder{answer: func(m *natsbus.Message) error {
		if string(m.Data) == "not json" {
			return domain.Reject(domain.ReasonNotJSON, "body is not valid JSON")
		}
		return nil
	}}
	var sunk []domain.DeadLetter
	var mu sync.Mutex
	sink := func(_ context.Context, dl domain.DeadLetter) error {
		mu.Lock()
		defer mu.Unlock()
		sunk = append(sunk, dl)
		return nil
	}
	c, err := bus.StartConsumer(context.Background(), natsbus.ConsumerOptions{}, rec.handle, sink)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	waitFor(t, "dead letter", func() bool { return c.Stats().DeadLetters == 1 && c.Stats().Acked == 2 })

	ctx := context.Background()
	dlq, err := bus.JetStream().Stream(ctx, "THROUGHLINE_DLQ")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := dlq.GetLastMsgForSubject(ctx, "throughline.dlq.not_json")
	if err != nil {
		t.Fatal(err)
	}
	if string(raw.Data) != "not json" || raw.Header.Get(natsbus.HeaderError) != "body is not valid JSON" ||
		raw.Header.Get(natsbus.HeaderSubject) != "throughline.events.delivery.svc" {
		t.Fatalf("dead letter %q headers %v", raw.Data, raw.Header)
	}
	mu.Lock()
	if len(sunk) != 1 || sunk[0].Reason != domain.ReasonNotJSON || sunk[0].StreamSeq == 0 {
		t.Fatalf("sink got %+v", sunk)
	}
	mu.Unlock()
	time.Sleep(300 * time.Millisecond)
	if n := rec.count("not json"); n != 1 {
		t.Fatalf("dead letter delivered %d times; want 1 (terminated)", n)
	}
}

func TestTransientErrorsAreRetried(t *testing.T) {
	bus := newBus(t)
	publishN(t, bus, 1, func(int) string { return "flaky" })
	rec := &recorder{answer: func(m *natsbus.Message) error {
		if m.NumDelivered < 3 {
			return errors.New("database is locked")
		}
		return nil
	}}
	c, err := bus.StartConsumer(context.Background(), natsbus.ConsumerOptions{MaxDeliver: 5}, rec.handle, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	waitFor(t, "success on the third delivery", func() bool { return c.Stats().Acked == 1 })
	if rec.count("flaky") != 3 || c.Stats().DeadLetters != 0 {
		t.Fatalf("deliveries %d dead letters %d", rec.count("flaky"), c.Stats().DeadLetters)
	}
}

func TestPoisonMessagesGiveUpOnlyWhenHealthy(t *testing.T) {
	bus := newBus(t)
	publishN(t, bus, 1, func(int) string { return "poison" })
	var outage atomic.Bool
	outage.Store(true)
	rec := &recorder{answer: func(*natsbus.Message) error { return errors.New("constraint violated") }}
	var sunk atomic.Int32
	c, err := bus.StartConsumer(context.Background(), natsbus.ConsumerOptions{
		MaxDeliver: 2,
		Healthy: func(context.Context) error {
			if outage.Load() {
				return errors.New("database unreachable")
			}
			return nil
		},
	}, rec.handle, func(context.Context, domain.DeadLetter) error { sunk.Add(1); return nil })
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	// During an outage the message keeps being retried past MaxDeliver.
	waitFor(t, "retries during the outage", func() bool { return rec.count("poison") >= 3 })
	if c.Stats().DeadLetters != 0 {
		t.Fatal("dead-lettered during an outage")
	}
	outage.Store(false)
	waitFor(t, "max-deliveries dead letter", func() bool { return c.Stats().DeadLetters == 1 })
	ctx := context.Background()
	dlq, _ := bus.JetStream().Stream(ctx, "THROUGHLINE_DLQ")
	raw, err := dlq.GetLastMsgForSubject(ctx, "throughline.dlq.max_deliveries")
	if err != nil {
		t.Fatal(err)
	}
	if got := raw.Header.Get(natsbus.HeaderError); got == "" || sunk.Load() != 1 {
		t.Fatalf("reason %q sink %d", got, sunk.Load())
	}
}

func TestHandlerPanicDoesNotStopTheConsumer(t *testing.T) {
	bus := newBus(t)
	publishN(t, bus, 2, func(i int) string { return fmt.Sprint("m", i) })
	var calls atomic.Int32
	handler := func(_ context.Context, msgs []*natsbus.Message) []error {
		if calls.Add(1) == 1 {
			panic("boom")
		}
		return make([]error, len(msgs))
	}
	c, err := bus.StartConsumer(context.Background(), natsbus.ConsumerOptions{}, handler, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	waitFor(t, "both acked after the panic", func() bool { return c.Stats().Acked == 2 })
}

func TestStopHandsBackBufferedMessages(t *testing.T) {
	bus := newBus(t)
	publishN(t, bus, 200, func(i int) string { return strconv.Itoa(i) })
	rec := &recorder{}
	slow := func(ctx context.Context, msgs []*natsbus.Message) []error {
		time.Sleep(20 * time.Millisecond)
		return rec.handle(ctx, msgs)
	}
	c, err := bus.StartConsumer(context.Background(), natsbus.ConsumerOptions{BatchSize: 10, AckWait: time.Hour}, slow, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "some progress", func() bool { return c.Stats().Acked >= 20 })
	c.Stop()
	// A new consumer (a restart) gets the rest at once, not after AckWait.
	c2, err := bus.StartConsumer(context.Background(), natsbus.ConsumerOptions{BatchSize: 50, AckWait: time.Hour}, rec.handle, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Stop()
	waitFor(t, "all 200 handled", func() bool { return rec.distinct() == 200 })
	cons, _ := bus.JetStream().Consumer(context.Background(), "THROUGHLINE_EVENTS", natsbus.ConsumerName)
	info, _ := cons.Info(context.Background())
	if info.Config.AckPolicy != jetstream.AckExplicitPolicy || info.Config.Durable != "throughline-ingest" {
		t.Fatalf("consumer config %+v", info.Config)
	}
}
