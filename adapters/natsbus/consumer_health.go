package natsbus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// The consumer's hold on the server: binding it again (and creating it
// again when someone deleted it), and telling readiness and /metrics
// whether it exists and whether it keeps up.

// bind returns the durable consumer on the connection in use, creating it
// again if someone deleted it: from just after the ack floor last seen, or
// from the start of the stream when none was seen (events stored already
// are recognised by their identity and not counted again).
func (c *Consumer) bind(ctx context.Context) (jetstream.Consumer, error) {
	js, stream := c.bus.JetStream(), c.bus.names.EventsStream()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cons, err := js.Consumer(ctx, stream, ConsumerName)
	if !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return cons, err
	}
	cfg := c.consumerConfig()
	c.mu.Lock()
	if c.floorKnown && c.floor > 0 {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, c.floor+1
	}
	c.mu.Unlock()
	cons, err = js.CreateConsumer(ctx, stream, cfg)
	if errors.Is(err, jetstream.ErrConsumerExists) {
		return js.Consumer(ctx, stream, ConsumerName) // another instance was first
	}
	if err != nil {
		return nil, fmt.Errorf("recreate consumer %s on %s: %w", ConsumerName, stream, err)
	}
	c.log.Error("the durable consumer was missing on the server; created it again", "consumer", ConsumerName, "stream", stream,
		"from_sequence", max(cfg.OptStartSeq, 1))
	return cons, nil
}

// watch looks at the consumer on the server every CheckEvery: it keeps the
// ack floor current (Check reports stalls from it) and, when the consumer
// is gone, stops the iterator so that run binds it again.
func (c *Consumer) watch(ctx context.Context) {
	defer close(c.watched)
	t := time.NewTicker(c.opts.CheckEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if st, err := c.Status(ctx); err == nil && !st.Present {
			c.mu.Lock()
			if c.iter != nil {
				c.iter.Stop()
			}
			c.mu.Unlock()
		}
	}
}

// ConsumerStatus is the durable consumer as the server sees it.
type ConsumerStatus struct {
	Present    bool   // the consumer exists on the events stream
	Pending    uint64 // messages not yet delivered to it
	AckPending int    // delivered and not yet acknowledged
	AckFloor   uint64 // every message up to this stream sequence is done
	// Stalled is how long messages have waited while the ack floor stayed
	// put; 0 while it moves or nothing waits.
	Stalled time.Duration
}

// Status asks the server about the consumer. A missing consumer (or events
// stream) is a status, not an error; an error means the server did not
// answer.
func (c *Consumer) Status(ctx context.Context) (ConsumerStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cons, err := c.bus.JetStream().Consumer(ctx, c.bus.names.EventsStream(), ConsumerName)
	if errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) {
		return ConsumerStatus{}, nil
	}
	if err != nil {
		return ConsumerStatus{}, err
	}
	info := cons.CachedInfo()
	st := ConsumerStatus{Present: true, Pending: info.NumPending, AckPending: info.NumAckPending, AckFloor: info.AckFloor.Stream}
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.floorKnown || st.AckFloor != c.floor || st.Pending+uint64(st.AckPending) == 0 {
		c.floor, c.floorKnown, c.moved = st.AckFloor, true, now
	}
	if st.Pending+uint64(st.AckPending) > 0 {
		st.Stalled = now.Sub(c.moved)
	}
	return st, nil
}

// Check is the consumer's readiness: an error when it is missing on the
// server, or stalled for StallAfter or longer.
func (c *Consumer) Check(ctx context.Context) error {
	st, err := c.Status(ctx)
	if err != nil {
		return fmt.Errorf("consumer %s: %w", ConsumerName, err)
	}
	return c.Problem(st)
}

// Problem says what is wrong with a status: missing, or stalled for
// StallAfter or longer; nil when nothing is.
func (c *Consumer) Problem(st ConsumerStatus) error {
	if !st.Present {
		return fmt.Errorf("consumer %s is missing on stream %s; nothing is being stored until it is created again", ConsumerName, c.bus.names.EventsStream())
	}
	if st.Stalled >= c.opts.StallAfter {
		return fmt.Errorf("consumer %s stalled: %d messages waiting, none finished for %s", ConsumerName,
			st.Pending+uint64(st.AckPending), roughly(st.Stalled))
	}
	return nil
}

// roughly writes a duration the way a person says it: 40 s, 5 min, 2.5 h.
func roughly(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	}
	return fmt.Sprintf("%.1f h", d.Hours())
}
