package natsbus_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/throughline/throughline/adapters/natsbus"
	"github.com/throughline/throughline/domain"
)

// Names reach subjects as bounded, subject-safe tokens: a 5,000-character
// service once made a subject the server refused ("maximum control line
// exceeded"), and nats.go closes a connection for good on that answer.
func TestSubjectsAreBoundedSafeTokens(t *testing.T) {
	names := natsbus.DefaultNames()
	long := strings.Repeat("s", 5000)
	for _, tc := range []struct{ name, service string }{
		{"plain", "checkout"},
		{"5,000 characters", long},
		{"5,000 characters, one different at the end", long[:4999] + "t"},
		{"separators and wildcards", "a.b *> c\t\r\nd"},
		{"control characters and invalid UTF-8", "a\x00\x7f\xff\u2028b"},
		{"multi-byte past the limit", strings.Repeat("é", 100)},
		{"empty", ""},
	} {
		subject := names.EventSubject("delivery", tc.service)
		tokens := strings.Split(subject, ".")
		if len(tokens) != 4 || tokens[0] != "throughline" || tokens[1] != "events" || tokens[2] != "delivery" {
			t.Errorf("%s: subject %.100q is not throughline.events.delivery.<token>", tc.name, subject)
			continue
		}
		tok := tokens[3]
		if tok == "" || len(tok) > 64 || !utf8.ValidString(tok) || strings.ContainsAny(tok, "*> \t\r\n\x00\x7f") {
			t.Errorf("%s: token %q is not a bounded, subject-safe token", tc.name, tok)
		}
		if tc.service == "checkout" && tok != "checkout" {
			t.Errorf("a plain name changed: %q", tok)
		}
	}
	if a, b := names.EventSubject("delivery", long), names.EventSubject("delivery", long[:4999]+"t"); a == b {
		t.Errorf("two long names that differ only at the end share a subject: %q", a)
	}
	if s := names.SLOAlertSubject(long); len(s) > 100 {
		t.Errorf("SLO alert subject of %d bytes", len(s))
	}
}

// Publishing an event of a service with a 5,000-character name leaves the
// connection up: the event is stored and the next one too.
func TestLongServiceNameKeepsTheConnection(t *testing.T) {
	bus := newBus(t)
	ctx := context.Background()
	long := strings.Repeat("s", 5000)
	for i, service := range []string{long, "checkout"} {
		if _, err := bus.Publish(ctx, natsbus.OutMsg{Subject: bus.Names().EventSubject("delivery", service), Data: []byte(`{}`), MsgID: "long-" + string(rune('a'+i))}); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	if err := bus.Ping(ctx); err != nil {
		t.Fatalf("after the long name: %v", err)
	}
}

// A connection that nats.go closed for good is opened again: the test
// provokes the closure the way the long name did, with a subject the server
// refuses, on the bus's own connection; ingestion goes on afterwards.
func TestClosedConnectionIsReopened(t *testing.T) {
	bus := newBus(t)
	ctx := context.Background()
	rec := &recorder{}
	cons, err := bus.StartConsumer(ctx, natsbus.ConsumerOptions{BatchSize: 10}, rec.handle, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Stop()
	publishN(t, bus, 1, func(int) string { return "before" })
	waitFor(t, "the first message", func() bool { return rec.count("before") == 1 })

	old := bus.Conn()
	if err := old.Publish("throughline.events.delivery."+strings.Repeat("x", 5000), nil); err != nil {
		t.Fatal(err)
	}
	_ = old.Flush()
	waitFor(t, "the server to close the connection", old.IsClosed)
	if !strings.Contains(strings.ToLower(errString(old.LastError())), "maximum control line") {
		t.Fatalf("closed for another reason: %v", old.LastError())
	}

	waitFor(t, "a new connection", func() bool { return bus.Ping(ctx) == nil })
	if bus.Conn() == old {
		t.Fatal("the closed connection is still in use")
	}
	if _, err := bus.Publish(ctx, natsbus.OutMsg{Subject: "throughline.events.delivery.svc", Data: []byte("after"), MsgID: "after"}); err != nil {
		t.Fatalf("publish after reopening: %v", err)
	}
	waitFor(t, "the message after reopening", func() bool { return rec.count("after") == 1 })
	if err := bus.Live(); err != nil {
		t.Errorf("live after reopening: %v", err)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// A deleted durable consumer is created again, from where the old one had
// got to, and what was published meanwhile is stored.
func TestDeletedConsumerIsRecreated(t *testing.T) {
	bus := newBus(t)
	ctx := context.Background()
	rec := &recorder{}
	cons, err := bus.StartConsumer(ctx, natsbus.ConsumerOptions{BatchSize: 10}, rec.handle, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Stop()
	publishN(t, bus, 5, func(i int) string { return "before" + string(rune('0'+i)) })
	waitFor(t, "the first messages", func() bool { return rec.distinct() == 5 })
	waitFor(t, "their acks", func() bool {
		st, err := cons.Status(ctx)
		return err == nil && st.Present && st.AckPending == 0 && st.AckFloor == 5
	})

	if err := bus.JetStream().DeleteConsumer(ctx, bus.Names().EventsStream(), natsbus.ConsumerName); err != nil {
		t.Fatal(err)
	}
	if _, err := bus.Publish(ctx, natsbus.OutMsg{Subject: "throughline.events.delivery.svc", Data: []byte("after"), MsgID: "after"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the message published after the deletion", func() bool { return rec.count("after") == 1 })
	if _, err := bus.JetStream().Consumer(ctx, bus.Names().EventsStream(), natsbus.ConsumerName); err != nil {
		t.Fatalf("the consumer was not recreated: %v", err)
	}
	// Recreated from the old ack floor: nothing before it came again.
	for i := 0; i < 5; i++ {
		if n := rec.count("before" + string(rune('0'+i))); n != 1 {
			t.Errorf("message %d handled %d times", i, n)
		}
	}
}

// When the consumer cannot be recreated (here its stream is gone too), its
// status says it is missing and readiness fails with the reason.
func TestMissingConsumerIsReported(t *testing.T) {
	bus := newBus(t)
	ctx := context.Background()
	rec := &recorder{}
	cons, err := bus.StartConsumer(ctx, natsbus.ConsumerOptions{BatchSize: 10}, rec.handle, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Stop()
	if err := cons.Check(ctx); err != nil {
		t.Fatalf("check with the consumer in place: %v", err)
	}
	if err := bus.JetStream().DeleteStream(ctx, bus.Names().EventsStream()); err != nil {
		t.Fatal(err)
	}
	st, err := cons.Status(ctx)
	if err != nil || st.Present {
		t.Fatalf("status without the consumer: %+v %v", st, err)
	}
	if err := cons.Check(ctx); err == nil || !strings.Contains(err.Error(), natsbus.ConsumerName) || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("check without the consumer: %v", err)
	}
}

// Messages that wait while the ack floor stays put make the consumer
// stalled, and readiness says so; once they are stored it is not.
func TestStalledConsumerIsReported(t *testing.T) {
	bus := newBus(t)
	ctx := context.Background()
	var failing atomic.Bool
	failing.Store(true)
	handle := func(_ context.Context, msgs []*natsbus.Message) []error {
		errs := make([]error, len(msgs))
		if failing.Load() {
			for i := range errs {
				errs[i] = domain.Errorf(domain.EUNAVAILABLE, "database away")
			}
		}
		return errs
	}
	cons, err := bus.StartConsumer(ctx, natsbus.ConsumerOptions{BatchSize: 10, StallAfter: 1}, handle, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Stop()
	publishN(t, bus, 3, func(i int) string { return "m" })
	waitFor(t, "the stall to show", func() bool {
		err := cons.Check(ctx)
		return err != nil && strings.Contains(err.Error(), "stalled")
	})
	st, _ := cons.Status(ctx)
	if !st.Present || st.Pending+uint64(st.AckPending) == 0 || st.Stalled <= 0 {
		t.Errorf("status while stalled: %+v", st)
	}
	failing.Store(false)
	waitFor(t, "the stall to end", func() bool { return cons.Check(ctx) == nil })
}

// The SLO alert publisher builds its subject from the same bounded tokens:
// an SLO of a service of 5,000 characters (stored before names were
// limited) no longer closes the connection at every evaluation.
func TestSLOAlertOfALongServiceKeepsTheConnection(t *testing.T) {
	bus := newBus(t)
	ctx := context.Background()
	long := strings.Repeat("s", 5000)
	st := domain.SLOStatus{SLO: domain.SLO{ID: 1, Name: "long-service", Service: long, Target: 0.99, WindowDays: 28}, Posture: domain.PostureFreeze}
	for i := 0; i < 3; i++ {
		if err := bus.PublishSLOAlert(ctx, st, "", "", time.Now().Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatalf("evaluation %d: %v", i, err)
		}
	}
	if err := bus.Ping(ctx); err != nil {
		t.Fatalf("after the alerts: %v", err)
	}
	stream, err := bus.JetStream().Stream(ctx, bus.Names().AlertsStream())
	if err != nil {
		t.Fatal(err)
	}
	if info, err := stream.Info(ctx); err != nil || info.State.Msgs != 3 {
		t.Fatalf("alerts stored: %v %+v", err, info)
	}
}
