package natsbus

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// While a closed connection cannot be opened again the process stays live
// for LiveGrace, then reports not live (so that /healthz fails and an
// orchestrator restarts it); once a connection opens it is live again.
func TestLiveAfterTheConnectionClosed(t *testing.T) {
	emb, err := StartEmbedded(EmbeddedOptions{DataDir: t.TempDir(), Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emb.Shutdown)
	bus, err := Connect(context.Background(), Config{Embedded: emb, LiveGrace: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bus.Close() })
	if err := bus.Live(); err != nil {
		t.Fatalf("live while connected: %v", err)
	}
	// The server stays up; only the redial is made to fail, as it would
	// against a server that refuses new connections.
	var refuse atomic.Bool
	refuse.Store(true)
	dial := bus.link.dial
	bus.link.dial = func() (*nats.Conn, error) {
		if refuse.Load() {
			return nil, errors.New("refused by the test")
		}
		return dial()
	}
	old := bus.Conn()
	if err := old.Publish("throughline."+strings.Repeat("x", 5000), nil); err != nil {
		t.Fatal(err)
	}
	_ = old.Flush()
	waitUntil(t, "not live", func() bool { return bus.Live() != nil })
	if err := bus.Live(); !strings.Contains(err.Error(), "maximum control line") {
		t.Errorf("not live without saying why: %v", err)
	}
	refuse.Store(false)
	waitUntil(t, "live again", func() bool { return bus.Live() == nil && bus.Ping(context.Background()) == nil })
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}
