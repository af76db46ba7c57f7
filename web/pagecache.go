package web

import (
	"bytes"
	"net/http"
	"strconv"
	"sync"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

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
	u := domain.UserFromContext(c.Request().Context())
	if u == nil {
		return domain.Errorf(domain.EUNAUTHORIZED, "Sign in first.")
	}
	if ck, err := c.Cookie(flashCookie); err == nil && ck.Value != "" {
		return render(c, http.StatusOK, page(s.page(c, title, section)))
	}
	key := strconv.FormatInt(u.ID, 10) + "|" + string(u.Role) + "|" + domain.Midnight(s.now()).Format(domain.DateLayout) + "|" + c.Request().URL.RequestURI()
	entry, ok := s.pages.get(key, version)
	if !ok {
		p := s.page(c, title, section)
		p.CSRF, p.Nonce = csrfPlaceholder, noncePlaceholder
		buf := templ.GetBuffer()
		defer templ.ReleaseBuffer(buf)
		if err := page(p).Render(c.Request().Context(), buf); err != nil {
			return err
		}
		entry = cachedPage{version: version, status: http.StatusOK, html: bytes.Clone(buf.Bytes())}
		s.pages.put(key, entry)
	}
	html := bytes.ReplaceAll(entry.html, []byte(csrfPlaceholder), []byte(csrfToken(c)))
	html = bytes.ReplaceAll(html, []byte(noncePlaceholder), []byte(nonce(c)))
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.HTMLBlob(entry.status, html)
}
