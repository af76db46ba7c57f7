package web_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/throughline/throughline/domain"
	"github.com/throughline/throughline/web"
)

// The roadmap is rendered at most once per couple of seconds per reader
// while nothing changes through the server; a change made through the
// server shows at once, a change that arrives another way (events, another
// instance) within that time.
func TestRoadmapIsFreshAfterWritesAndWithinSeconds(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	e := newEnvAt(t, false, clock)
	ctx := context.Background()
	if _, err := e.store.CreateIdea(ctx, domain.Idea{Key: "CHK-1", Title: "One-page checkout", Horizon: domain.HorizonNext, FlowType: domain.FlowFeature}, "seed"); err != nil {
		t.Fatal(err)
	}
	e.user("pm@example.com", domain.RoleEditor)
	c := e.signIn("pm@example.com")
	column := func(key string) string {
		t.Helper()
		resp, doc := e.get(c, "/roadmap")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("roadmap: %d", resp.StatusCode)
		}
		col, _ := doc.Find(`[data-testid="idea-card"][data-key="` + key + `"]`).Closest("section.column").Attr("data-testid")
		return col
	}
	if got := column("CHK-1"); got != "column-next" {
		t.Fatalf("CHK-1 in %q", got)
	}

	// An idea that arrives without passing through this server's pages.
	if _, err := e.store.CreateIdea(ctx, domain.Idea{Key: "CHK-2", Title: "Saved carts", Horizon: domain.HorizonNow, FlowType: domain.FlowFeature}, "elsewhere"); err != nil {
		t.Fatal(err)
	}
	if got := column("CHK-2"); got != "" {
		t.Errorf("the roadmap was rendered again at once (CHK-2 in %q); it should be served as rendered for a moment", got)
	}
	advance(2 * time.Second)
	if got := column("CHK-2"); got != "column-now" {
		t.Errorf("two seconds later CHK-2 is in %q, want column-now", got)
	}

	// A move through the page shows at once, on the page it returns to and
	// on the next load.
	resp, _ := e.post(c, "/ideas/CHK-1/move", url.Values{"_csrf": {e.csrfOf(c)}, "horizon": {"now"}, "return": {"/roadmap"}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("move: %d", resp.StatusCode)
	}
	for i := range 2 {
		if got := column("CHK-1"); got != "column-now" {
			t.Errorf("load %d after the move: CHK-1 in %q, want column-now", i+1, got)
		}
	}
}

// countingRoadmap counts how often the roadmap's ideas are read.
type countingRoadmap struct {
	web.RoadmapStore
	ideas atomic.Int64
}

func (r *countingRoadmap) Ideas(ctx context.Context, f domain.IdeaFilter) ([]*domain.Idea, error) {
	r.ideas.Add(1)
	return r.RoadmapStore.Ideas(ctx, f)
}

// Readers who ask for the roadmap at the same moment share one rendering.
func TestReadersShareOneRendering(t *testing.T) {
	counting := &countingRoadmap{}
	e := newEnvWith(t, envOptions{roadmap: func(s web.RoadmapStore) web.RoadmapStore { counting.RoadmapStore = s; return counting }})
	if _, err := e.store.CreateIdea(context.Background(), domain.Idea{Key: "CHK-1", Title: "One-page checkout", Horizon: domain.HorizonNow, FlowType: domain.FlowFeature}, "seed"); err != nil {
		t.Fatal(err)
	}
	e.user("viewer@example.com", domain.RoleViewer)
	c := e.signIn("viewer@example.com")
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := c.Get(e.srv.URL + "/roadmap")
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("roadmap: %d", resp.StatusCode)
			}
		}()
	}
	wg.Wait()
	if n := counting.ideas.Load(); n != 1 {
		t.Errorf("16 readers at once read the ideas %d times, want 1", n)
	}
}

// A cached page gets each reader's CSRF token and nonce where the template
// wrote them and nowhere else: an idea titled with the cache's placeholder
// strings (or anything else) shows its title to every reader, never their
// token or nonce; the token served works.
func TestCachedPagesNeverFillUserText(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	const title = "Ship __TL_CSRF_PLACEHOLDER__ and __TL_NONCE_PLACEHOLDER__ now"
	if _, err := e.store.CreateIdea(ctx, domain.Idea{Key: "CHK-1", Title: title, Horizon: domain.HorizonNext, FlowType: domain.FlowFeature}, "seed"); err != nil {
		t.Fatal(err)
	}
	e.user("pm@example.com", domain.RoleEditor)
	e.user("viewer@example.com", domain.RoleViewer)
	for _, who := range []string{"pm@example.com", "viewer@example.com"} {
		c := e.signIn(who)
		for _, path := range []string{"/roadmap", "/roadmap", "/", "/"} { // the second of each from the cache
			resp, err := c.Get(e.srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			doc, _ := goquery.NewDocumentFromReader(bytes.NewReader(raw))
			_, nonce, _ := strings.Cut(resp.Header.Get("Content-Security-Policy"), "'nonce-")
			nonce, _, _ = strings.Cut(nonce, "'")
			token, _ := doc.Find(`input[name="_csrf"]`).First().Attr("value")
			if resp.StatusCode != http.StatusOK || nonce == "" || token == "" {
				t.Fatalf("%s %s: %d, nonce %q, token %q", who, path, resp.StatusCode, nonce, token)
			}
			if path == "/roadmap" && !strings.Contains(doc.Find(`[data-testid="idea-card"][data-key="CHK-1"]`).Text(), title) {
				t.Errorf("%s %s: the card does not show the title as typed: %q", who, path, doc.Find(`[data-key="CHK-1"]`).Text())
			}
			if strings.Contains(doc.Text(), token) || strings.Contains(doc.Text(), nonce) {
				t.Errorf("%s %s: the text holds the reader's token or nonce", who, path)
			}
			// Every place the template writes them got this request's.
			doc.Find(`input[name="_csrf"]`).Each(func(_ int, s *goquery.Selection) {
				if v, _ := s.Attr("value"); v != token {
					t.Errorf("%s %s: forms carry different tokens", who, path)
				}
			})
			if hx, _ := doc.Find("body").Attr("hx-headers"); !strings.Contains(hx, token) {
				t.Errorf("%s %s: htmx's header %q lacks the token", who, path, hx)
			}
			doc.Find("script").Each(func(_ int, s *goquery.Selection) {
				if v, _ := s.Attr("nonce"); v != nonce {
					t.Errorf("%s %s: script nonce %q; the policy's is %q", who, path, v, nonce)
				}
			})
			if bytes.Contains(raw, []byte("tlcsrf")) || bytes.Contains(raw, []byte("tlnonce")) {
				t.Errorf("%s %s: a marker was left in the page", who, path)
			}
		}
	}
	// The token a cached page carries is the one that works.
	pm := e.signIn("pm@example.com")
	e.get(pm, "/roadmap")
	_, doc := e.get(pm, "/roadmap")
	token, _ := doc.Find(`input[name="_csrf"]`).First().Attr("value")
	if resp, _ := e.post(pm, "/ideas/CHK-1/move", url.Values{"_csrf": {token}, "horizon": {"now"}, "return": {"/roadmap"}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("a move with the cached page's token: %d", resp.StatusCode)
	}
}
