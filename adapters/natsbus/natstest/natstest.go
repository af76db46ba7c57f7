// Package natstest gives tests a real NATS JetStream: an embedded server in a
// temp dir, or the external server named by THROUGHLINE_TEST_NATS with
// stream and subject names unique to the test so that runs never collide.
package natstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/throughline/throughline/adapters/natsbus"
)

// NATSEnv names the variable holding the external NATS URL for tests.
const NATSEnv = "THROUGHLINE_TEST_NATS"

// ExternalURL returns the external NATS URL, skipping (or failing under
// THROUGHLINE_TEST_STRICT=1) when it is not set.
func ExternalURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(NATSEnv)
	if u == "" {
		if os.Getenv("THROUGHLINE_TEST_STRICT") == "1" {
			t.Fatalf("%s is not set; CI must test against external NATS", NATSEnv)
		}
		t.Skipf("%s not set; skipping external NATS", NATSEnv)
	}
	return u
}

// UniqueNames returns stream and subject prefixes no other test uses, and
// deletes the streams when the test ends.
func UniqueNames(t testing.TB, js func() jetstream.JetStream) natsbus.Names {
	t.Helper()
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	n := natsbus.Names{StreamPrefix: "TLTEST_" + strings.ToUpper(id), SubjectPrefix: "tltest_" + id}
	t.Cleanup(func() {
		if js == nil || js() == nil {
			return
		}
		ctx := context.Background()
		_ = js().DeleteStream(ctx, n.EventsStream())
		_ = js().DeleteStream(ctx, n.DLQStream())
	})
	return n
}

// Embedded starts an embedded server on a free port under a temp dir.
func Embedded(t testing.TB) *natsbus.Embedded {
	t.Helper()
	e, err := natsbus.StartEmbedded(natsbus.EmbeddedOptions{DataDir: t.TempDir(), Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Shutdown)
	return e
}
