package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/throughline/throughline/adapters/demo"
	"github.com/throughline/throughline/adapters/natsbus"
)

// natsNode is one server of a NATS cluster the test runs.
type natsNode struct {
	name, client string
	cmd          *exec.Cmd
}

// startNATSCluster starts n nats-server processes (Debian's binary) routed
// into one JetStream cluster on loopback ports, and waits until JetStream
// answers.
func startNATSCluster(t *testing.T, n int) []*natsNode {
	t.Helper()
	if _, err := os.Stat(natsServerBinary); err != nil {
		if os.Getenv("THROUGHLINE_TEST_STRICT") == "1" {
			t.Fatalf("%s: %v", natsServerBinary, err)
		}
		t.Skipf("no %s", natsServerBinary)
	}
	routes := make([]string, n)
	for i := range routes {
		routes[i] = "nats://127.0.0.1:" + freePort(t)
	}
	nodes := make([]*natsNode, n)
	for i := range nodes {
		node := &natsNode{name: "n" + string(rune('1'+i)), client: freePort(t)}
		node.cmd = exec.Command(natsServerBinary, "-a", "127.0.0.1", "-p", node.client, "-n", node.name,
			"-js", "-sd", filepath.Join(t.TempDir(), node.name),
			"--cluster_name", "throughline-test", "--cluster", routes[i], "--routes", strings.Join(routes, ","))
		if err := node.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { node.kill() })
		nodes[i] = node
	}
	nc, err := nats.Connect(clusterURL(nodes), nats.RetryOnFailedConnect(true), nats.MaxReconnects(-1))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if _, err := nc.JetStream(); err == nil {
			if js, _ := nc.JetStream(); js != nil {
				if _, err := js.AccountInfo(); err == nil {
					return nodes
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the NATS cluster did not elect a JetStream leader in 30 s")
		}
	}
}

func (n *natsNode) kill() {
	if n.cmd.ProcessState == nil {
		_ = n.cmd.Process.Signal(syscall.SIGKILL)
		_ = n.cmd.Wait()
	}
}

func clusterURL(nodes []*natsNode) string {
	urls := make([]string, len(nodes))
	for i, n := range nodes {
		urls[i] = "nats://127.0.0.1:" + n.client
	}
	return strings.Join(urls, ",")
}

// TestNATSClusterNodeLostDuringIngestion (issue 10): two instances on one
// PostgreSQL database consume from a stream replicated over a three-node
// NATS cluster; the node leading the stream is SIGKILLed mid-ingest. The
// stream elects another leader, the instances carry on, and every event is
// stored exactly once.
func TestNATSClusterNodeLostDuringIngestion(t *testing.T) {
	nodes := startNATSCluster(t, 3)
	url := clusterURL(nodes)
	c := startCluster(t, 2, func(cfg *Config) {
		cfg.NATS, cfg.NATSReplicas = url, 3
	})
	ctx := context.Background()
	names := c.apps[0].Bus.Names()
	bus, err := natsbus.Connect(ctx, natsbus.Config{URL: url, Names: names})
	if err != nil {
		t.Fatal(err)
	}
	defer bus.Close()
	h := demo.Generate(demo.Options{Days: 60, Seed: 13, End: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)})
	msgs := shuffledDemo(t, h, names.SubjectPrefix, 2)
	if _, err := bus.PublishMany(ctx, msgs); err != nil {
		t.Fatal(err)
	}
	stream, err := bus.JetStream().Stream(ctx, names.EventsStream())
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.Replicas != 3 || info.Cluster == nil || len(info.Cluster.Replicas) != 2 {
		t.Fatalf("events stream replicas %d, cluster %+v; want 3 replicas", info.Config.Replicas, info.Cluster)
	}

	// Kill the stream's leader while the events are being stored.
	time.Sleep(200 * time.Millisecond)
	before := status(t, c.apps[0], c.token)
	for _, n := range nodes {
		if n.name == info.Cluster.Leader {
			n.kill()
		}
	}
	if before.Stored >= int64(len(msgs)) {
		t.Fatalf("ingestion finished (%d of %d) before the node was lost; the test proves nothing", before.Stored, len(msgs))
	}
	killed := time.Now()
	got := waitStored(t, c.apps[0], c.token, len(msgs), 3*time.Minute)
	if got.Stored != int64(len(msgs)) || got.DeadLetters != 0 {
		t.Fatalf("after losing %s: %+v, want %d stored once and no dead letters", info.Cluster.Leader, got, len(msgs))
	}
	var rows int
	if err := c.apps[0].Store.DB().NewRaw("SELECT count(*) FROM events").Scan(ctx, &rows); err != nil {
		t.Fatal(err)
	}
	if rows != len(msgs) {
		t.Fatalf("%d event rows for %d events", rows, len(msgs))
	}
	after, _ := bus.JetStream().Stream(ctx, names.EventsStream())
	newInfo, _ := after.Info(ctx)
	leader := ""
	if newInfo != nil && newInfo.Cluster != nil {
		leader = newInfo.Cluster.Leader
	}
	t.Logf("%d events; %d stored when leader %s was killed; all stored once %.1f s later; new leader %s",
		len(msgs), before.Stored, info.Cluster.Leader, time.Since(killed).Seconds(), leader)
}
