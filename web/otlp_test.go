package web_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/throughline/throughline/domain"
	"github.com/throughline/throughline/web"
)

// otlpFake stands in for the OTLP adapter and the gateway, which the
// end-to-end tests in cmd/throughline drive (otlp_test.go there). It records
// what reached it.
type otlpFake struct {
	gate   chan struct{} // when set, each export waits here
	mu     sync.Mutex
	err    error
	bodies []string
}

func (f *otlpFake) ExportMetrics(_ context.Context, ct string, body []byte) ([]byte, error) {
	if f.gate != nil {
		f.gate <- struct{}{} // tell the test it arrived
		<-f.gate             // and wait to be let go
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bodies = append(f.bodies, ct+" "+string(body))
	if f.err != nil {
		return nil, f.err
	}
	return []byte("{}"), nil
}

func (f *otlpFake) ErrorBody(ct string, status int, msg string) []byte {
	b, _ := json.Marshal(map[string]any{"status": status, "message": msg, "ct": ct})
	return b
}

// The OTLP route's HTTP half: auth, content types, compression, limits and
// the status of each failure, answered in the request's encoding.
func TestOTLPRoute(t *testing.T) {
	fake := &otlpFake{}
	e := newEnvWith(t, envOptions{otlp: fake})
	ctx := context.Background()
	_, ingest, err := e.store.CreateToken(ctx, "collector", []domain.Scope{domain.ScopeIngest})
	if err != nil {
		t.Fatal(err)
	}
	_, read, err := e.store.CreateToken(ctx, "grafana", []domain.Scope{domain.ScopeRead})
	if err != nil {
		t.Fatal(err)
	}
	post := func(token, ct, encoding string, body []byte) (int, http.Header, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/v1/metrics", bytes.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		req.Header.Set("Content-Type", ct)
		if encoding != "" {
			req.Header.Set("Content-Encoding", encoding)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var m map[string]any
		_ = json.Unmarshal(raw, &m)
		return resp.StatusCode, resp.Header, m
	}
	zip := func(b []byte) []byte {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(b)
		zw.Close()
		return buf.Bytes()
	}

	if st, h, m := post("", "application/x-protobuf", "", []byte("x")); st != 401 || m["ct"] != "application/x-protobuf" || h.Get("Content-Type") != "application/x-protobuf" {
		t.Errorf("no token: %d %v", st, m)
	}
	if st, _, m := post("wrong", "application/json", "", []byte("{}")); st != 401 || m["ct"] != "application/json" {
		t.Errorf("unknown token: %d %v", st, m)
	}
	if st, _, m := post(read, "application/json", "", []byte("{}")); st != 403 || !strings.Contains(m["message"].(string), "ingest") {
		t.Errorf("read-only token: %d %v", st, m)
	}
	if st, h, m := post(ingest, "text/plain", "", []byte("{}")); st != 415 || h.Get("Content-Type") != "application/json" {
		t.Errorf("text/plain: %d %v", st, m)
	}
	if st, _, m := post(ingest, "application/json", "br", []byte("{}")); st != 415 {
		t.Errorf("brotli: %d %v", st, m)
	}
	if st, _, m := post(ingest, "application/json", "gzip", []byte("not gzip")); st != 400 {
		t.Errorf("bad gzip: %d %v", st, m)
	}
	if st, _, m := post(ingest, "application/json", "gzip", zip(make([]byte, 4<<20+1))); st != 413 {
		t.Errorf("gzip bomb: %d %v", st, m)
	}
	if st, _, m := post(ingest, "application/x-protobuf", "", make([]byte, 4<<20+1)); st != 413 {
		t.Errorf("body over 4 MiB: %d %v", st, m)
	}
	if len(fake.bodies) != 0 {
		t.Fatalf("refused requests reached the receiver: %d", len(fake.bodies))
	}
	if st, h, _ := post(ingest, "application/json; charset=utf-8", "gzip", zip([]byte(`{"resourceMetrics":[]}`))); st != 200 || h.Get("Content-Type") != "application/json" {
		t.Errorf("gzip JSON: %d %s", st, h.Get("Content-Type"))
	}
	if len(fake.bodies) != 1 || fake.bodies[0] != `application/json {"resourceMetrics":[]}` {
		t.Errorf("the receiver got %q; want the decompressed body", fake.bodies)
	}

	// A browser session is no credential here, and a revoked token is
	// refused like an unknown one.
	e.user("admin@example.com", domain.RoleAdmin)
	admin := e.signIn("admin@example.com")
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/v1/metrics", strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if resp, err := admin.Do(req); err != nil || resp.StatusCode != 401 {
		t.Errorf("an admin's session without a token: %v %v", resp.StatusCode, err)
	}
	toks, _ := e.store.Tokens(ctx)
	for _, tok := range toks {
		if tok.Name == "collector" {
			if err := e.store.RevokeToken(ctx, tok.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	if st, _, m := post(ingest, "application/json", "", []byte("{}")); st != 401 {
		t.Errorf("revoked token: %d %v", st, m)
	}
	if len(fake.bodies) != 1 {
		t.Fatalf("refused requests reached the receiver: %q", fake.bodies)
	}
	_, ingest, err = e.store.CreateToken(ctx, "collector-2", []domain.Scope{domain.ScopeIngest})
	if err != nil {
		t.Fatal(err)
	}

	fake.err = domain.Errorf(domain.EUNAVAILABLE, "NATS is down.")
	if st, h, m := post(ingest, "application/x-protobuf", "", nil); st != 503 || h.Get("Retry-After") == "" || m["message"] != "NATS is down." {
		t.Errorf("outage: %d %v %v", st, h, m)
	}
	fake.err = domain.Errorf(domain.EINVALID, "not OTLP")
	if st, _, m := post(ingest, "application/x-protobuf", "", nil); st != 400 || m["message"] != "not OTLP" {
		t.Errorf("undecodable: %d %v", st, m)
	}
	fake.err = errors.New("secret internal detail")
	if st, _, m := post(ingest, "application/x-protobuf", "", nil); st != 500 || strings.Contains(m["message"].(string), "secret") {
		t.Errorf("internal error: %d %v", st, m)
	}
}

func otlpOr(r web.OTLPReceiver) web.OTLPReceiver {
	if r == nil {
		return &otlpFake{}
	}
	return r
}

// Only so many exports are decoded at once; one more waits its turn, then
// hears 503 with Retry-After, and its exporter retries.
func TestOTLPExportsWaitTheirTurn(t *testing.T) {
	fake := &otlpFake{gate: make(chan struct{})}
	e := newEnvWith(t, envOptions{otlp: fake, config: func(c *web.Config) {
		c.OTLPConcurrency, c.OTLPWait = 1, 300*time.Millisecond
	}})
	_, ingest, err := e.store.CreateToken(context.Background(), "collector", []domain.Scope{domain.ScopeIngest})
	if err != nil {
		t.Fatal(err)
	}
	post := func() (int, string) {
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/v1/metrics", strings.NewReader("{}"))
		req.Header.Set("Authorization", "Bearer "+ingest)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return 0, ""
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Retry-After")
	}
	first := make(chan int, 1)
	go func() { code, _ := post(); first <- code }()
	<-fake.gate // the first export is being decoded
	if code, retry := post(); code != http.StatusServiceUnavailable || retry == "" {
		t.Errorf("a second export while the only turn is taken: %d, Retry-After %q; want 503 with Retry-After", code, retry)
	}
	fake.gate <- struct{}{} // the first one finishes
	if code := <-first; code != http.StatusOK {
		t.Errorf("first export: %d", code)
	}
	go func() { <-fake.gate; fake.gate <- struct{}{} }()
	if code, _ := post(); code != http.StatusOK {
		t.Errorf("an export after the turn was freed: %d", code)
	}
}
