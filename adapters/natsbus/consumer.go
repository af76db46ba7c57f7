package natsbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/throughline/throughline/domain"
)

// Message is one delivery from the events stream. Handlers see only this,
// never the transport.
type Message struct {
	Subject      string
	Header       map[string][]string
	Data         []byte
	StreamSeq    uint64
	NumDelivered uint64
	Published    time.Time

	msg jetstream.Msg
}

// Handler processes a batch and returns one result per message, in order:
// nil acks it; a rejection (domain.Reject) sends it to the dead-letter
// stream; any other error retries it later.
type Handler func(ctx context.Context, msgs []*Message) []error

// DeadLetterSink records a dead letter (idempotently per stream sequence)
// before it is published to the dead-letter stream.
type DeadLetterSink func(ctx context.Context, dl domain.DeadLetter) error

// ConsumerOptions tune the ingest consumer.
type ConsumerOptions struct {
	BatchSize int           // messages per handler call (and per transaction)
	MaxWait   time.Duration // how long to wait for more messages once one arrived
	// MaxDeliver is how often a failing message is tried before it becomes a
	// dead letter ("max_deliveries"). Failures while Healthy reports an
	// outage do not count: an outage is not a poison message.
	MaxDeliver int
	AckWait    time.Duration
	Healthy    func(context.Context) error
	// StallAfter is how long messages may wait without the consumer's ack
	// floor moving before Check reports the consumer stalled (default 2
	// minutes). CheckEvery is how often the consumer is looked at on the
	// server, to notice a deleted one and the floor moving (default 5 s).
	StallAfter time.Duration
	CheckEvery time.Duration
	Logger     *slog.Logger
}

func (o *ConsumerOptions) defaults() {
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
	if o.MaxWait <= 0 {
		o.MaxWait = 2 * time.Millisecond
	}
	if o.MaxDeliver <= 0 {
		o.MaxDeliver = 10
	}
	if o.AckWait <= 0 {
		o.AckWait = time.Minute
	}
	if o.StallAfter <= 0 {
		o.StallAfter = 2 * time.Minute
	}
	if o.CheckEvery <= 0 {
		o.CheckEvery = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// ConsumerStats count what the consumer did since it started.
type ConsumerStats struct {
	Batches     int64
	Acked       int64
	DeadLetters int64
	Retried     int64
}

// Consumer is the running durable pull consumer throughline-ingest.
type Consumer struct {
	bus     *Bus
	opts    ConsumerOptions
	handle  Handler
	sink    DeadLetterSink
	log     *slog.Logger
	cancel  context.CancelFunc
	done    chan struct{} // run ended
	watched chan struct{} // watch ended
	stopped sync.Once

	batches, acked, deadLetters, retried atomic.Int64

	mu   sync.Mutex
	iter jetstream.MessagesContext // the iterator in use, stopped to rebind
	// The ack floor last seen on the server and when it last moved (or the
	// consumer was last idle): a floor that stays put while messages wait
	// is a stall. A consumer recreated after a deletion starts after it.
	floor      uint64
	floorKnown bool
	moved      time.Time
}

// consumerConfig is the durable consumer as Throughline creates it.
func (c *Consumer) consumerConfig() jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       ConsumerName,
		Description:   "Throughline ingestion: stores events and updates projections",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       c.opts.AckWait,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		// Unlimited on the server: the consumer itself decides when a
		// failing message becomes a dead letter, with the reason.
		MaxDeliver:    -1,
		MaxAckPending: 20 * c.opts.BatchSize,
	}
}

// StartConsumer binds (creating if needed) the durable consumer on the events
// stream and starts processing in the background.
func (b *Bus) StartConsumer(ctx context.Context, opts ConsumerOptions, handle Handler, sink DeadLetterSink) (*Consumer, error) {
	opts.defaults()
	c := &Consumer{bus: b, opts: opts, handle: handle, sink: sink, log: opts.Logger.With("component", "consumer"),
		done: make(chan struct{}), watched: make(chan struct{})}
	cfg := c.consumerConfig()
	js := b.JetStream()
	if existing, err := js.Consumer(ctx, b.names.EventsStream(), ConsumerName); err == nil {
		// Where it starts cannot change; a consumer recreated after a
		// deletion starts at a sequence, and keeps doing so.
		old := existing.CachedInfo().Config
		cfg.DeliverPolicy, cfg.OptStartSeq, cfg.OptStartTime = old.DeliverPolicy, old.OptStartSeq, old.OptStartTime
	}
	if _, err := js.CreateOrUpdateConsumer(ctx, b.names.EventsStream(), cfg); err != nil {
		return nil, fmt.Errorf("consumer %s on %s: %w", ConsumerName, b.names.EventsStream(), err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	c.cancel = cancel
	go c.run(runCtx)
	go c.watch(runCtx)
	return c, nil
}

// Stats reports counts since start.
func (c *Consumer) Stats() ConsumerStats {
	return ConsumerStats{Batches: c.batches.Load(), Acked: c.acked.Load(), DeadLetters: c.deadLetters.Load(), Retried: c.retried.Load()}
}

// Stop finishes the batch in hand, hands buffered messages back to the server
// for immediate redelivery, and returns.
func (c *Consumer) Stop() {
	c.stopped.Do(func() {
		c.cancel()
		<-c.done
		<-c.watched
	})
}

// run pulls until stopped. Each time the iterator ends (the connection was
// replaced, the consumer deleted, heartbeats stopped) the consumer is bound
// again on the connection in use.
func (c *Consumer) run(ctx context.Context) {
	defer close(c.done)
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		var iter jetstream.MessagesContext
		cons, err := c.bind(ctx)
		if err == nil {
			iter, err = cons.Messages(jetstream.PullMaxMessages(2*c.opts.BatchSize), jetstream.WithMessagesErrOnMissingHeartbeat(true))
		}
		if err != nil {
			if ctx.Err() == nil {
				c.log.Warn("cannot pull from the events stream; retrying", "err", err)
			}
			sleep(ctx, backoff)
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		c.mu.Lock()
		c.iter = iter
		c.mu.Unlock()
		c.loop(ctx, iter)
		iter.Drain()
		c.handBack(iter)
		c.mu.Lock()
		c.iter = nil
		c.mu.Unlock()
	}
}

// loop reads batches until the context ends or the iterator fails. One
// goroutine gathers the next batch while this one processes the current,
// so that waiting on NATS and writing to the database overlap.
func (c *Consumer) loop(ctx context.Context, iter jetstream.MessagesContext) {
	batches := make(chan []jetstream.Msg, 1)
	gatherCtx, stopGather := context.WithCancel(ctx)
	go func() {
		defer close(batches)
		for {
			first, err := iter.Next(jetstream.NextContext(gatherCtx))
			if err != nil {
				if gatherCtx.Err() == nil && !errors.Is(err, context.Canceled) {
					c.log.Warn("events iterator stopped; reopening", "err", err)
				}
				return
			}
			batch := []jetstream.Msg{first}
			for len(batch) < c.opts.BatchSize {
				m, err := iter.Next(jetstream.NextMaxWait(c.opts.MaxWait))
				if err != nil {
					break
				}
				batch = append(batch, m)
			}
			select {
			case batches <- batch:
			case <-gatherCtx.Done():
				nakAll(batch)
				return
			}
		}
	}()
	defer func() {
		stopGather()
		for b := range batches {
			nakAll(b) // gathered but not processed: hand back at once
		}
	}()
	for batch := range batches {
		// The batch is finished even during shutdown, so that its
		// transaction and its acks happen together.
		c.process(context.WithoutCancel(ctx), batch)
		if ctx.Err() != nil {
			return
		}
	}
	if ctx.Err() == nil {
		sleep(ctx, 500*time.Millisecond) // the iterator failed; back off before reopening
	}
}

func nakAll(batch []jetstream.Msg) {
	for _, m := range batch {
		_ = m.Nak()
	}
}

// handBack naks messages that were buffered but not processed, so that
// another instance (or this one after a restart) gets them at once.
func (c *Consumer) handBack(iter jetstream.MessagesContext) {
	for {
		m, err := iter.Next(jetstream.NextMaxWait(50 * time.Millisecond))
		if err != nil {
			return
		}
		_ = m.Nak()
	}
}

func (c *Consumer) process(ctx context.Context, raw []jetstream.Msg) {
	msgs := make([]*Message, len(raw))
	for i, m := range raw {
		msg := &Message{Subject: m.Subject(), Header: m.Headers(), Data: m.Data(), msg: m}
		if md, err := m.Metadata(); err == nil {
			msg.StreamSeq = md.Sequence.Stream
			msg.NumDelivered = md.NumDelivered
			msg.Published = md.Timestamp
		}
		msgs[i] = msg
	}
	errs := c.safeHandle(ctx, msgs)
	c.batches.Add(1)
	var healthErr error
	healthChecked := false
	var retries []retry
	for i, m := range msgs {
		err := errs[i]
		if err == nil {
			if aerr := m.msg.Ack(); aerr != nil {
				c.log.Warn("ack failed; the message will be redelivered and recognised", "seq", m.StreamSeq, "err", aerr)
			}
			c.acked.Add(1)
			continue
		}
		if reason := domain.RejectReason(err); reason != "" {
			c.deadLetter(ctx, m, reason, domain.ErrorMessage(err))
			continue
		}
		// An outage (EUNAVAILABLE, or Healthy failing) is not a poison
		// message: it is retried however long it lasts.
		if int(m.NumDelivered) >= c.opts.MaxDeliver && domain.ErrorCode(err) != domain.EUNAVAILABLE {
			if !healthChecked && c.opts.Healthy != nil {
				healthErr, healthChecked = c.opts.Healthy(ctx), true
			}
			if healthErr == nil {
				c.deadLetter(ctx, m, domain.ReasonMaxDeliveries,
					fmt.Sprintf("gave up after %d deliveries; last error: %v", m.NumDelivered, err))
				continue
			}
		}
		retries = append(retries, retry{m, err})
	}
	c.retry(retries)
}

type retry struct {
	m   *Message
	err error
}

// safeHandle calls the handler, turning a panic into an error for every
// message so that the consumer keeps running.
func (c *Consumer) safeHandle(ctx context.Context, msgs []*Message) (errs []error) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("handler panicked", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			errs = make([]error, len(msgs))
			for i := range errs {
				errs[i] = fmt.Errorf("handler panicked: %v", r)
			}
		}
	}()
	errs = c.handle(ctx, msgs)
	if len(errs) != len(msgs) {
		panic(fmt.Sprintf("handler returned %d results for %d messages", len(errs), len(msgs)))
	}
	return errs
}

// retry hands messages back to be redelivered after a delay that grows
// with their deliveries, logging one line per batch (and per distinct error)
// rather than one per message.
func (c *Consumer) retry(rs []retry) {
	logged := map[string]bool{}
	for _, r := range rs {
		delay := time.Duration(1<<min(r.m.NumDelivered, 7)) * 250 * time.Millisecond
		delay = min(delay, 30*time.Second)
		if msg := r.err.Error(); !logged[msg] {
			logged[msg] = true
			c.log.Warn("cannot store events yet; will retry", "events", len(rs), "seq", r.m.StreamSeq,
				"delivery", r.m.NumDelivered, "retry_in", delay, "err", r.err)
		}
		c.retried.Add(1)
		_ = r.m.msg.NakWithDelay(delay)
	}
}

// deadLetter records the message, copies it to the dead-letter stream with
// the reason, and terminates it on the events stream. If either step fails
// the message is retried, so nothing is lost; both steps are idempotent.
func (c *Consumer) deadLetter(ctx context.Context, m *Message, reason, message string) {
	dl := domain.DeadLetter{
		StreamSeq: m.StreamSeq, Subject: m.Subject, Reason: reason, Message: message,
		At: time.Now().UTC(), Data: m.Data, Header: m.Header,
	}
	if c.sink != nil {
		if err := c.sink(ctx, dl); err != nil {
			c.retry([]retry{{m, fmt.Errorf("record dead letter: %w", err)}})
			return
		}
	}
	if err := c.bus.PublishDeadLetter(ctx, dl); err != nil {
		c.retry([]retry{{m, fmt.Errorf("publish dead letter: %w", err)}})
		return
	}
	c.log.Warn("dead letter", "reason", reason, "subject", m.Subject, "seq", m.StreamSeq, "error", message)
	c.deadLetters.Add(1)
	_ = m.msg.TermWithReason(reason)
}

// Dead-letter headers (DESIGN.md section 3).
const (
	HeaderError   = "Throughline-Error"
	HeaderSubject = "Throughline-Subject"
	HeaderReason  = "Throughline-Reason"
	HeaderSeq     = "Throughline-Stream-Seq"
	// HeaderOmitted, on a copy without the original message, is that
	// message's size: with the headers added it was larger than the server
	// takes. The dead letter in the database keeps the whole message.
	HeaderOmitted = "Throughline-Omitted-Bytes"
)

// PublishDeadLetter copies a message to <prefix>.dlq.<reason> with the
// reason and original subject as headers. Its message id derives from the
// original stream sequence, so a repeat within the duplicate window is
// absorbed.
func (b *Bus) PublishDeadLetter(ctx context.Context, dl domain.DeadLetter) error {
	msg := nats.NewMsg(b.names.DLQSubject(dl.Reason))
	for k, vs := range dl.Header {
		if k == jetstream.MsgIDHeader {
			continue
		}
		for _, v := range vs {
			msg.Header.Add(k, v)
		}
	}
	msg.Header.Set(HeaderError, dl.Message)
	msg.Header.Set(HeaderSubject, dl.Subject)
	msg.Header.Set(HeaderReason, dl.Reason)
	if dl.StreamSeq > 0 {
		msg.Header.Set(HeaderSeq, strconv.FormatUint(dl.StreamSeq, 10))
		msg.Header.Set(jetstream.MsgIDHeader, "dlq:"+b.names.EventsStream()+":"+strconv.FormatUint(dl.StreamSeq, 10))
	}
	msg.Data = dl.Data
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	js := b.JetStream()
	_, err := js.PublishMsg(ctx, msg)
	if errors.Is(err, nats.ErrMaxPayload) || isTooLarge(err) {
		// A message just under the server's limit cannot be copied with
		// the reason added; retrying would never end.
		slim := nats.NewMsg(msg.Subject)
		for _, k := range []string{HeaderError, HeaderSubject, HeaderReason, HeaderSeq, jetstream.MsgIDHeader} {
			if v := msg.Header.Get(k); v != "" {
				slim.Header.Set(k, v)
			}
		}
		slim.Header.Set(HeaderOmitted, strconv.Itoa(len(dl.Data)))
		_, err = js.PublishMsg(ctx, slim)
	}
	return err
}

// ConsumerLag reports messages not yet delivered and delivered-but-unacked.
func (b *Bus) ConsumerLag(ctx context.Context) (pending uint64, ackPending int, err error) {
	cons, err := b.JetStream().Consumer(ctx, b.names.EventsStream(), ConsumerName)
	if err != nil {
		return 0, 0, err
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return 0, 0, err
	}
	return info.NumPending, info.NumAckPending, nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
