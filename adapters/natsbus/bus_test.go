package natsbus_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/throughline/throughline/adapters/natsbus"
	"github.com/throughline/throughline/adapters/natsbus/natstest"
	"github.com/throughline/throughline/domain"
)

func TestEmbeddedServerCreatesStreams(t *testing.T) {
	emb := natstest.Embedded(t)
	if !strings.HasPrefix(emb.ClientURL(), "nats://127.0.0.1:") || strings.HasSuffix(emb.ClientURL(), ":0") {
		t.Fatalf("client URL %q", emb.ClientURL())
	}
	ctx := context.Background()
	bus, err := natsbus.Connect(ctx, natsbus.Config{Embedded: emb, Retention: 400 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer bus.Close()
	if err := bus.EnsureStreams(ctx); err != nil {
		t.Fatal(err)
	}
	// A second call finds the streams and leaves them alone.
	if err := bus.EnsureStreams(ctx); err != nil {
		t.Fatal(err)
	}
	checkStreams(t, bus.JetStream(), natsbus.DefaultNames())
	if err := bus.Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}

	// Producers reach the embedded server over TCP, not only in-process.
	nc, err := nats.Connect(emb.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ack, err := js.Publish(ctx, "throughline.events.delivery.checkout", []byte(`{}`))
	if err != nil || ack.Stream != "THROUGHLINE_EVENTS" {
		t.Fatalf("publish over TCP: %v %+v", err, ack)
	}
}

func TestExternalServer(t *testing.T) {
	url := natstest.ExternalURL(t)
	ctx := context.Background()
	var bus *natsbus.Bus
	names := natstest.UniqueNames(t, func() jetstream.JetStream {
		if bus == nil {
			return nil
		}
		return bus.JetStream()
	})
	bus, err := natsbus.Connect(ctx, natsbus.Config{URL: url, Names: names})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bus.Close() })
	if err := bus.EnsureStreams(ctx); err != nil {
		t.Fatal(err)
	}
	checkStreams(t, bus.JetStream(), names)
	if err := bus.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestBindingAMissingStreamFails(t *testing.T) {
	emb := natstest.Embedded(t)
	ctx := context.Background()
	bus, err := natsbus.Connect(ctx, natsbus.Config{Embedded: emb, Names: natsbus.Names{BindStream: "NOPE"}})
	if err != nil {
		t.Fatal(err)
	}
	defer bus.Close()
	if err := bus.EnsureStreams(ctx); err == nil || !strings.Contains(err.Error(), "NOPE") {
		t.Fatalf("err = %v; want a bind failure naming the stream", err)
	}
}

func TestEmbeddedReportsTakenPort(t *testing.T) {
	first := natstest.Embedded(t)
	addr := strings.TrimPrefix(first.ClientURL(), "nats://")
	_, err := natsbus.StartEmbedded(natsbus.EmbeddedOptions{DataDir: t.TempDir(), Listen: addr})
	if err == nil {
		t.Fatal("second server on the same port started")
	}
}

func checkStreams(t *testing.T, js jetstream.JetStream, names natsbus.Names) {
	t.Helper()
	ctx := context.Background()
	ev, err := js.Stream(ctx, names.EventsStream())
	if err != nil {
		t.Fatal(err)
	}
	cfg := ev.CachedInfo().Config
	if cfg.Subjects[0] != names.SubjectPrefix+".events.>" || cfg.Retention != jetstream.LimitsPolicy ||
		cfg.MaxAge != 400*24*time.Hour || cfg.Duplicates < 2*time.Minute {
		t.Fatalf("events stream config: %+v", cfg)
	}
	dlq, err := js.Stream(ctx, names.DLQStream())
	if err != nil {
		t.Fatal(err)
	}
	if dlq.CachedInfo().Config.Subjects[0] != names.SubjectPrefix+".dlq.>" {
		t.Fatalf("dlq subjects: %v", dlq.CachedInfo().Config.Subjects)
	}
}

// A publish the server cannot take is an outage, not an internal error: the
// HTTP receivers answer 503 and their clients retry.
func TestPublishWithoutServerIsUnavailable(t *testing.T) {
	emb := natstest.Embedded(t)
	ctx := context.Background()
	bus, err := natsbus.Connect(ctx, natsbus.Config{Embedded: emb, Retention: 400 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer bus.Close()
	if err := bus.EnsureStreams(ctx); err != nil {
		t.Fatal(err)
	}
	emb.Shutdown()
	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err = bus.Publish(short, natsbus.OutMsg{Subject: "throughline.events.delivery.checkout", Data: []byte(`{}`), MsgID: "x"})
	if code := domain.ErrorCode(err); code != domain.EUNAVAILABLE {
		t.Fatalf("publish with the server gone: %v (code %q), want %q", err, code, domain.EUNAVAILABLE)
	}
}
