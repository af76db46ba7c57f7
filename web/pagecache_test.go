package web_test

import (
	"context"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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
