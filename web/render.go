package web

import (
	"crypto/hmac"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/throughline/throughline/domain"
	"github.com/throughline/throughline/web/views"
)

// render writes a templ component with the given status.
func render(c echo.Context, status int, t templ.Component) error {
	buf := templ.GetBuffer()
	defer templ.ReleaseBuffer(buf)
	if err := t.Render(c.Request().Context(), buf); err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.HTMLBlob(status, buf.Bytes())
}

// page builds the view model every page shares.
func (s *Server) page(c echo.Context, title, section string) views.Page {
	return views.Page{
		Title:   title,
		Section: section,
		User:    domain.UserFromContext(c.Request().Context()),
		CSRF:    csrfToken(c),
		Nonce:   nonce(c),
		Assets:  s.deps.Assets,
		Flash:   s.takeFlash(c),
		URL:     c.Request().URL,
		DateMin: firstWindowDay.Format(domain.DateLayout),
		DateMax: lastWindowDay(s.now()).Format(domain.DateLayout),
	}
}

// csrfToken is the token forms carry, bound to the session (csrf.go).
func csrfToken(c echo.Context) string {
	t, _ := c.Get(ctxCSRF).(string)
	return t
}

func nonce(c echo.Context) string {
	n, _ := c.Get(ctxNonce).(string)
	return n
}

// maxFlash bounds a flash message. Messages name what a person typed, and a
// cookie of more than 4 KiB is dropped by browsers and refused by proxies.
const maxFlash = 1000

// flash stores a one-off message for the next page, after a redirect. The
// cookie is signed: whoever can plant a cookie for this site (a sibling
// subdomain, a network attacker on plain HTTP) cannot make Throughline say
// something it did not.
func (s *Server) flash(c echo.Context, kind, msg string) {
	payload := url.QueryEscape(kind + "|" + domain.Shorten(msg, maxFlash))
	s.setCookie(c, flashCookie, s.flashMAC(payload)+"."+payload, time.Minute)
}

// flashMAC signs a flash cookie's payload: 128 bits of HMAC-SHA256.
func (s *Server) flashMAC(payload string) string {
	return base64.RawURLEncoding.EncodeToString(mac(s.keys.flash, payload)[:16])
}

// takeFlash reads and clears the flash message; one whose signature does not
// match is dropped unread.
func (s *Server) takeFlash(c echo.Context) *views.Flash {
	ck, err := c.Cookie(flashCookie)
	if err != nil || ck.Value == "" {
		return nil
	}
	s.clearCookie(c, flashCookie)
	sig, payload, ok := strings.Cut(ck.Value, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(s.flashMAC(payload))) {
		return nil
	}
	v, err := url.QueryUnescape(payload)
	if err != nil {
		return nil
	}
	kind, msg, ok := strings.Cut(v, "|")
	switch kind {
	case "success", "error", "info", "warn":
	default:
		return nil
	}
	if !ok || msg == "" {
		return nil
	}
	return &views.Flash{Kind: kind, Message: msg}
}

// redirectWithFlash finishes a POST with a message and a redirect (PRG).
func (s *Server) redirectWithFlash(c echo.Context, to, kind, msg string) error {
	s.flash(c, kind, msg)
	return c.Redirect(http.StatusSeeOther, to)
}
