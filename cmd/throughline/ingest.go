package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/throughline/throughline/adapters/cdevents"
	"github.com/throughline/throughline/adapters/natsbus"
	"github.com/throughline/throughline/adapters/sqlstore"
	"github.com/throughline/throughline/domain"
	"github.com/throughline/throughline/web"
)

// ingestor joins the decoder and the store into the consumer's handler: it
// decodes a batch, appends every valid event to the stored log in one
// transaction (the deriver derives them afterwards), and reports per message
// what the consumer should do.
type ingestor struct {
	dec     *cdevents.Decoder
	store   *sqlstore.Store
	log     *slog.Logger
	deriver *deriver
}

type pending struct {
	index int
	rec   domain.EventRecord
}

// decoded is one message after decoding.
type decoded struct {
	rec domain.EventRecord
	err error
}

// handle is a natsbus.Handler.
func (in *ingestor) handle(ctx context.Context, msgs []*natsbus.Message) []error {
	errs := make([]error, len(msgs))
	out := in.decodeAll(msgs)
	var batch []pending
	for i, d := range out {
		if d.err != nil {
			errs[i] = d.err
			continue
		}
		batch = append(batch, pending{index: i, rec: d.rec})
	}
	if len(batch) == 0 {
		return errs
	}
	err := in.store1(ctx, batch)
	if err != nil && len(batch) > 1 && domain.ErrorCode(err) != domain.EUNAVAILABLE {
		// Find the event that fails (a poison message) by storing one at a
		// time; the others succeed and are acked.
		in.log.Warn("batch failed; storing one by one", "events", len(batch), "err", err)
		for _, p := range batch {
			errs[p.index] = in.store1(ctx, []pending{p})
		}
	} else if err != nil {
		for _, p := range batch { // an outage fails them all alike
			errs[p.index] = err
		}
	}
	return errs
}

// decodeAll decodes a batch, spreading large batches over the CPUs: decoding
// is the CPU-heavy half of ingestion, storing the I/O-heavy one.
func (in *ingestor) decodeAll(msgs []*natsbus.Message) []decoded {
	out := make([]decoded, len(msgs))
	workers := min(runtime.GOMAXPROCS(0), len(msgs)/64+1)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(msgs); i += workers {
				out[i] = in.decode(msgs[i])
			}
		}()
	}
	wg.Wait()
	return out
}

func (in *ingestor) decode(m *natsbus.Message) decoded {
	h := cdevents.Header(m.Header)
	ce, ev, err := in.dec.DecodeMessage(h, m.Data)
	if err != nil {
		return decoded{err: err}
	}
	// Dated against when the stream stored the message, so that a
	// redelivery, or a consumer reading the stream again, decides the same.
	arrived := m.Published
	if arrived.IsZero() {
		arrived = time.Now()
	}
	if err := ev.CheckTime(arrived); err != nil {
		return decoded{err: err}
	}
	raw := m.Data
	if cdevents.IsBinary(h) {
		// Keep binary-mode events in the structured form, which carries
		// the attributes that were headers.
		if raw, err = cdevents.EncodeStructured(ce); err != nil {
			return decoded{err: err}
		}
	}
	return decoded{rec: domain.EventRecord{Event: ev, Raw: raw, Subject: m.Subject, StreamSeq: m.StreamSeq}}
}

func (in *ingestor) store1(ctx context.Context, batch []pending) error {
	recs := make([]domain.EventRecord, len(batch))
	for i, p := range batch {
		recs[i] = p.rec
	}
	// Derived in the same transaction until every test waits for derived
	// (waitDerived); AppendEvents + the deriver is the asynchronous path.
	out, err := in.store.StoreEvents(ctx, recs)
	if err == nil && in.deriver != nil {
		in.deriver.appended(recs, out)
	}
	return err
}

// gateway accepts CloudEvents over HTTP (DESIGN.md section 5, POST
// /api/v1/events) and publishes them to the events stream.
type gateway struct {
	dec   *cdevents.Decoder
	bus   *natsbus.Bus
	store *sqlstore.Store
	log   *slog.Logger
}

// Accept implements web.EventGateway.
func (g *gateway) Accept(ctx context.Context, h http.Header, body []byte) ([]web.EventResult, error) {
	received := time.Now()
	ct := h.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	header := cdevents.Header(h)
	var ces []domain.CloudEvent
	var results []web.EventResult
	switch {
	case cdevents.IsBinary(header):
		ce, err := cdevents.FromBinary(header, body)
		results = append(results, result(0, ce, err))
		ces = append(ces, ce)
	case mt == cdevents.ContentTypeBatch:
		items, err := cdevents.SplitBatch(body)
		if err != nil {
			return []web.EventResult{result(0, domain.CloudEvent{}, err)}, nil
		}
		if len(items) == 0 {
			return []web.EventResult{result(0, domain.CloudEvent{}, domain.Reject(domain.ReasonMissingField, "the batch is empty"))}, nil
		}
		for i, item := range items {
			ce, err := cdevents.ParseStructured(item)
			results = append(results, result(i, ce, err))
			ces = append(ces, ce)
		}
	case mt == "" || mt == cdevents.ContentTypeStructured || mt == cdevents.ContentTypeJSON:
		ce, err := cdevents.ParseStructured(body)
		results = append(results, result(0, ce, err))
		ces = append(ces, ce)
	default:
		return []web.EventResult{result(0, domain.CloudEvent{}, domain.Reject(domain.ReasonNotCloudEvent,
			"content type %q is not a CloudEvent: use application/cloudevents+json, application/cloudevents-batch+json, or binary mode with ce-* headers", ct))}, nil
	}
	return g.publish(ctx, received, ces, results)
}

// PublishEvents validates CloudEvents built by a receiver (OTLP, webhooks)
// and publishes the valid ones to the events stream, like POST /api/v1/events.
func (g *gateway) PublishEvents(ctx context.Context, ces []domain.CloudEvent) ([]web.EventResult, error) {
	received := time.Now()
	results := make([]web.EventResult, len(ces))
	for i, ce := range ces {
		results[i] = result(i, ce, nil)
	}
	return g.publish(ctx, received, ces, results)
}

// publish decodes each CloudEvent whose result has no reason yet, checks it
// as the consumer will (its time against when it was received), publishes
// the valid ones and records each one's fate in results. When the events
// stream stops taking them part-way, it returns the results so far with the
// error: those published are accepted, the rest are not.
func (g *gateway) publish(ctx context.Context, received time.Time, ces []domain.CloudEvent, results []web.EventResult) ([]web.EventResult, error) {
	var out []natsbus.OutMsg
	var outIdx []int
	for i, ce := range ces {
		if results[i].Reason != "" {
			continue
		}
		ev, err := g.dec.Decode(ce)
		if err == nil {
			err = ev.CheckTime(received)
		}
		if err != nil {
			results[i] = result(i, ce, err)
			continue
		}
		data, err := cdevents.EncodeStructured(ce)
		if err != nil {
			return nil, err
		}
		out = append(out, natsbus.OutMsg{
			Subject: eventSubject(g.bus.Names(), ev),
			Header:  map[string][]string{"Content-Type": {cdevents.ContentTypeStructured}},
			Data:    data,
			MsgID:   ev.Identity.String(),
		})
		outIdx = append(outIdx, i)
	}
	dups := 0
	var failed error
	for j, m := range out {
		dup, err := g.bus.Publish(ctx, m)
		if domain.RejectReason(err) != "" { // too large for the NATS server
			results[outIdx[j]] = result(outIdx[j], ces[outIdx[j]], err)
			continue
		}
		if err != nil {
			// This one and those after it were not published; those
			// before were, and stay accepted.
			failed = fmt.Errorf("publish event %d: %w", outIdx[j], err)
			break
		}
		results[outIdx[j]].Accepted = true
		results[outIdx[j]].Duplicate = dup
		if dup {
			dups++
		}
	}
	if dups > 0 {
		// JetStream's duplicate window absorbed these; count them here,
		// since the consumer never sees them.
		// The events are durable already: a failure here costs a count,
		// not the answer, which would make the sender send them again.
		if err := g.store.AddDuplicates(ctx, int64(dups)); err != nil {
			g.log.Warn("could not count the duplicates JetStream absorbed", "duplicates", dups, "err", err)
		}
	}
	return results, failed
}

// eventSubject is the subject every publisher of this program sends an event
// to: <prefix>.events.<kind>.<service>, from the bus's bounded tokens.
func eventSubject(names natsbus.Names, ev domain.Event) string {
	return names.EventSubject(cdevents.SubjectParts(ev))
}

func result(i int, ce domain.CloudEvent, err error) web.EventResult {
	r := web.EventResult{Index: i, ID: ce.ID, Source: ce.Source, Type: ce.Type}
	if err != nil {
		r.Reason = domain.RejectReason(err)
		if r.Reason == "" {
			r.Reason = domain.ReasonInvalidContent
		}
		r.Message = domain.ErrorMessage(err)
	}
	return r
}

// replayer sends a dead letter back to the events stream, for an admin who
// fixed the configuration that refused it.
type replayer struct {
	store *sqlstore.Store
	bus   *natsbus.Bus
}

// Replay implements web.DeadLetterReplayer.
func (r *replayer) Replay(ctx context.Context, id int64) error {
	dl, err := r.store.DeadLetter(ctx, id)
	if err != nil {
		return err
	}
	header := map[string][]string{}
	for k, v := range dl.Header {
		if strings.HasPrefix(k, "Throughline-") || k == "Nats-Msg-Id" {
			continue
		}
		header[k] = v
	}
	subject := dl.Subject
	// The original subject goes back as it came, unless it is not an events
	// subject or is long enough to risk the server's protocol line limit.
	if subject == "" || len(subject) > 1024 || !strings.HasPrefix(subject, r.bus.Names().SubjectPrefix+".events.") {
		subject = r.bus.Names().SubjectPrefix + ".events.replay.unknown"
	}
	if _, err := r.bus.Publish(ctx, natsbus.OutMsg{
		Subject: subject, Header: header, Data: bytes.Clone(dl.Data),
		MsgID: "replay:" + strconv.FormatInt(id, 10) + ":" + strconv.FormatInt(time.Now().UnixNano(), 10),
	}); err != nil {
		return err
	}
	return r.store.MarkReplayed(ctx, id)
}
