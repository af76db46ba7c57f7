package web

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"
	"golang.org/x/sync/singleflight"

	"github.com/throughline/throughline/domain"
	"github.com/throughline/throughline/web/views"
)

// Pages that only read rollups are cached per user and URL for the version of
// the data they show. The per-request CSRF token and CSP nonce are left out
// of the cached bytes and put back, when served, at the byte offsets where
// the template wrote them — never wherever some text looks like them: an
// idea's title holding a placeholder must show the placeholder, not the
// viewer's token.
const pageCacheSize = 512

type pageCache struct {
	mu      sync.Mutex
	entries map[string]cachedPage
}

type cachedPage struct {
	version int64
	status  int
	html    []byte     // the page without its per-request values
	slots   []pageSlot // where they go, in order
}

// pageSlot is where the template wrote a per-request value.
type pageSlot struct {
	at    int  // byte offset in html
	nonce bool // the CSP nonce; else the CSRF token
}

func (c *pageCache) get(key string, version int64) (cachedPage, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	return e, ok && e.version == version
}

func (c *pageCache) put(key string, p cachedPage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= pageCacheSize {
		c.entries = map[string]cachedPage{}
	}
	c.entries[key] = p
}

// renderCached serves a page from the cache or renders and caches it. A page
// carrying a flash message is never cached (the message is shown once).
func (s *Server) renderCached(c echo.Context, version int64, page func(views.Page) templ.Component, title, section string) error {
	return s.renderCachedBuild(c, version, func() (func(views.Page) templ.Component, error) { return page, nil }, title, section)
}

// renderCachedBuild is renderCached for a page whose view is itself costly
// to gather: build runs only when the page is not in the cache.
func (s *Server) renderCachedBuild(c echo.Context, version int64, build func() (func(views.Page) templ.Component, error), title, section string) error {
	u := domain.UserFromContext(c.Request().Context())
	if u == nil {
		return domain.Errorf(domain.EUNAUTHORIZED, "Sign in first.")
	}
	if ck, err := c.Cookie(flashCookie); err == nil && ck.Value != "" {
		page, err := build()
		if err != nil {
			return err
		}
		return render(c, http.StatusOK, page(s.page(c, title, section)))
	}
	key := strconv.FormatInt(u.ID, 10) + "|" + string(u.Role) + "|" + domain.Midnight(s.now()).Format(domain.DateLayout) + "|" + c.Request().URL.RequestURI()
	entry, ok := s.pages.get(key, version)
	if !ok {
		renderPage := func() (any, error) {
			if e, ok := s.pages.get(key, version); ok {
				return e, nil
			}
			page, err := build()
			if err != nil {
				return nil, err
			}
			p := s.page(c, title, section)
			// Markers made for this rendering alone: no stored text can
			// hold them, so every one found was written by the template.
			p.CSRF, p.Nonce = "tlcsrf"+randomHex(16), "tlnonce"+randomHex(16)
			buf := templ.GetBuffer()
			defer templ.ReleaseBuffer(buf)
			if err := page(p).Render(c.Request().Context(), buf); err != nil {
				return nil, err
			}
			html, slots := cutMarkers(buf.Bytes(), p.CSRF, p.Nonce)
			e := cachedPage{version: version, status: http.StatusOK, html: html, slots: slots}
			s.pages.put(key, e)
			return e, nil
		}
		// Readers who miss together wait for one rendering instead of
		// each rendering the same page.
		v, err, shared := s.renders.Do(key+"|"+strconv.FormatInt(version, 10), renderPage)
		if err != nil && shared && c.Request().Context().Err() == nil {
			// The reader who rendered it went away mid-way (its context
			// ended); this one renders for itself.
			v, err = renderPage()
		}
		if err != nil {
			return err
		}
		entry = v.(cachedPage)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.HTMLBlob(entry.status, entry.fill(csrfToken(c), nonce(c)))
}

// cutMarkers removes the two markers from a rendered page and records where
// each one was.
func cutMarkers(page []byte, csrfMark, nonceMark string) ([]byte, []pageSlot) {
	out := make([]byte, 0, len(page))
	var slots []pageSlot
	for {
		i, j := bytes.Index(page, []byte(csrfMark)), bytes.Index(page, []byte(nonceMark))
		if i < 0 && j < 0 {
			return append(out, page...), slots
		}
		mark, isNonce := csrfMark, false
		if i < 0 || (j >= 0 && j < i) {
			i, mark, isNonce = j, nonceMark, true
		}
		out = append(out, page[:i]...)
		slots = append(slots, pageSlot{at: len(out), nonce: isNonce})
		page = page[i+len(mark):]
	}
}

// fill writes the page with this request's token and nonce in their slots.
func (p cachedPage) fill(csrf, nonce string) []byte {
	out := make([]byte, 0, len(p.html)+len(p.slots)*max(len(csrf), len(nonce)))
	last := 0
	for _, sl := range p.slots {
		out = append(out, p.html[last:sl.at]...)
		if sl.nonce {
			out = append(out, nonce...)
		} else {
			out = append(out, csrf...)
		}
		last = sl.at
	}
	return append(out, p.html[last:]...)
}

// viewTTL is how long the roadmap and the overview may be served as rendered
// before. Their data has no single version to key on (ideas, flow, key
// results, telemetry, SLOs and health all show there), so under many readers
// each is rendered at most once per viewTTL per user and address; a change
// made through this server shows at once (writes below), new events and
// other instances' changes within viewTTL.
const viewTTL = 2 * time.Second

// writes counts the changes made through this server's pages.
type writeCounter struct{ n atomic.Int64 }

// renderGroup shares one rendering of a page among the readers who missed
// it at the same moment.
type renderGroup = singleflight.Group

// countWrites notes every state-changing page request that succeeded.
func (s *Server) countWrites(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := next(c)
		if c.Request().Method != http.MethodGet && c.Request().Method != http.MethodHead && err == nil {
			s.writes.n.Add(1)
		}
		return err
	}
}

// freshnessVersion is the cache version of a page rendered per viewTTL: it
// changes when the period turns, when this server changed something, and
// with the host the page was asked for (it prints its own address).
func (s *Server) freshnessVersion(c echo.Context) int64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d|%d|%s", s.now().UnixNano()/int64(viewTTL), s.writes.n.Load(), c.Request().Host)
	return int64(h.Sum64() >> 1)
}
