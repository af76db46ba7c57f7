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
// the data they show. They are rendered with placeholders where the
// per-request CSRF token and CSP nonce go, which are filled in when served.
const (
	csrfPlaceholder  = "__TL_CSRF_PLACEHOLDER__"
	noncePlaceholder = "__TL_NONCE_PLACEHOLDER__"
	pageCacheSize    = 512
)

type pageCache struct {
	mu      sync.Mutex
	entries map[string]cachedPage
}

type cachedPage struct {
	version int64
	status  int
	html    []byte
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
			p.CSRF, p.Nonce = csrfPlaceholder, noncePlaceholder
			buf := templ.GetBuffer()
			defer templ.ReleaseBuffer(buf)
			if err := page(p).Render(c.Request().Context(), buf); err != nil {
				return nil, err
			}
			e := cachedPage{version: version, status: http.StatusOK, html: bytes.Clone(buf.Bytes())}
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
	html := bytes.ReplaceAll(entry.html, []byte(csrfPlaceholder), []byte(csrfToken(c)))
	html = bytes.ReplaceAll(html, []byte(noncePlaceholder), []byte(nonce(c)))
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.HTMLBlob(entry.status, html)
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
