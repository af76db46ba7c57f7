package main

import (
	"context"
	"github.com/throughline/throughline/domain/domaintest"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/throughline/throughline/adapters/demo"
	"github.com/throughline/throughline/adapters/sqlstore/sqltest"
	"github.com/throughline/throughline/domain"
)

// tcpProxy forwards connections to a server and can cut them all and
// refuse new ones, as a database restart looks to its clients.
type tcpProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  map[net.Conn]bool
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			if p.down {
				p.mu.Unlock()
				c.Close()
				continue
			}
			p.mu.Unlock()
			go p.serve(c)
		}
	}()
	return p
}

func (p *tcpProxy) serve(c net.Conn) {
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns[c], p.conns[s] = true, true
	p.mu.Unlock()
	go func() { _, _ = io.Copy(s, c); s.Close() }()
	_, _ = io.Copy(c, s)
	c.Close()
}

// cut closes every connection; while down, new ones are refused.
func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]bool{}
}

func (p *tcpProxy) restore() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}

// TestPostgresOutageDuringIngestion cuts Throughline off from PostgreSQL in
// the middle of ingestion, as a database restart does: /readyz reports it,
// nothing becomes a dead letter while the database is away, and once it is
// back every event is stored exactly once.
func TestPostgresOutageDuringIngestion(t *testing.T) {
	domaintest.Slow(t)
	dsn := sqltest.PostgresDSN(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newTCPProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()

	cfg := testConfig(t)
	cfg.DB, cfg.IngestBatch = u.String(), 50
	app, _ := startApp(t, cfg)
	tok := token(t, app, domain.ScopeRead)
	n, _, err := publishDemo(context.Background(), app.Bus, demo.Options{Days: 120, Seed: 6, End: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	before := status(t, app, tok)
	proxy.cut()
	if before.Stored >= int64(n) {
		t.Fatalf("ingestion finished (%d of %d) before the outage; the test proves nothing", before.Stored, n)
	}
	waitUnready(t, app, "database")
	time.Sleep(3 * time.Second)
	proxy.restore()

	back := time.Now()
	deadline := time.Now().Add(2 * time.Minute)
	var got ingestStatus
	for time.Now().Before(deadline) {
		code := getJSON(t, app.URL()+"/api/v1/ingest/status", tok, &got)
		if code == 200 && got.Stored == int64(n) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got.Stored != int64(n) || got.DeadLetters != 0 {
		t.Fatalf("after the outage: %+v, want %d stored and no dead letters", got, n)
	}
	if code, body := httpGet(t, app.URL()+"/readyz"); code != 200 {
		t.Errorf("/readyz after the outage: %d %s", code, body)
	}
	t.Logf("%d events; %d stored when the database went away; all stored once, %s after it came back", n, before.Stored, time.Since(back).Round(time.Second))
}
