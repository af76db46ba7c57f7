package natsbus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/throughline/throughline/domain"
)

// OutMsg is a message to publish to the events stream.
type OutMsg struct {
	Subject string
	Header  map[string][]string
	Data    []byte
	// MsgID becomes Nats-Msg-Id, so that JetStream drops a repeat inside its
	// duplicate window. Events use their identity: source + " " + id.
	MsgID string
}

// NATSMsg is the message as sent, with Nats-Msg-Id set.
func (m OutMsg) NATSMsg() *nats.Msg {
	msg := nats.NewMsg(m.Subject)
	for k, vs := range m.Header {
		for _, v := range vs {
			msg.Header.Add(k, v)
		}
	}
	if m.MsgID != "" {
		msg.Header.Set(jetstream.MsgIDHeader, m.MsgID)
	}
	msg.Data = m.Data
	return msg
}

// Publish sends one message and waits for JetStream's acknowledgement.
// duplicate reports that the duplicate window absorbed it.
func (b *Bus) Publish(ctx context.Context, m OutMsg) (duplicate bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	nc, js := b.link.current()
	ack, err := js.PublishMsg(ctx, m.NATSMsg())
	if errors.Is(err, nats.ErrMaxPayload) || isTooLarge(err) {
		// Retrying cannot help: refuse it, as the decoder refuses others.
		return false, domain.Reject(domain.ReasonTooLarge, "the event, with its headers, is larger than the NATS server takes (%d bytes, headers at most 64 KiB)", nc.MaxPayload())
	}
	if err != nil {
		// The server did not take it (down, no stream leader, timed out):
		// the event was not accepted, and the sender should try again.
		return false, domain.Errorf(domain.EUNAVAILABLE, "The events stream did not acknowledge the event (%v); it was not accepted, try again.", err)
	}
	return ack.Duplicate, nil
}

// PublishMany sends messages with a bounded number in flight and waits until
// JetStream acknowledged every one. It returns how many were duplicates.
func (b *Bus) PublishMany(ctx context.Context, msgs []OutMsg) (duplicates int, err error) {
	const window = 512
	js := b.JetStream()
	pending := make([]jetstream.PubAckFuture, 0, window)
	wait := func() error {
		for _, f := range pending {
			select {
			case ack := <-f.Ok():
				if ack.Duplicate {
					duplicates++
				}
			case err := <-f.Err():
				return fmt.Errorf("publish to %s: %w", f.Msg().Subject, err)
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(30 * time.Second):
				return fmt.Errorf("publish to %s: no acknowledgement within 30s", f.Msg().Subject)
			}
		}
		pending = pending[:0]
		return nil
	}
	for _, m := range msgs {
		f, err := js.PublishMsgAsync(m.NATSMsg())
		if err != nil {
			return duplicates, fmt.Errorf("publish to %s: %w", m.Subject, err)
		}
		pending = append(pending, f)
		if len(pending) == window {
			if err := wait(); err != nil {
				return duplicates, err
			}
		}
	}
	return duplicates, wait()
}

// isTooLarge reports JetStream's refusal of a message or of its headers as
// too large: a message over the stream's limit, or headers over 64 KiB.
func isTooLarge(err error) bool {
	var api *jetstream.APIError
	if !errors.As(err, &api) {
		return false
	}
	return api.ErrorCode == jetstream.JSErrCodeStreamMessageExceedsMaximum || api.ErrorCode == jsErrCodeHeaderExceedsMaximum
}

// jsErrCodeHeaderExceedsMaximum is the server's JSStreamHeaderExceedsMaximumErr,
// which nats.go does not name.
const jsErrCodeHeaderExceedsMaximum jetstream.ErrorCode = 10097
