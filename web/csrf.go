package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/throughline/throughline/domain"
)

// minCookieKey is the shortest server key accepted: 256 bits.
const minCookieKey = 32

// cookieKeys are the server's keys, one per purpose, all derived from
// Config.CookieKey so that a token of one kind is never valid as another.
type cookieKeys struct {
	csrf, flash, device []byte
}

// newCookieKeys derives the keys from the server key, or from a random one
// when none is configured (then a restart or another instance does not know
// them: open forms must be reloaded, flashes are lost).
func newCookieKeys(key []byte) (cookieKeys, error) {
	if len(key) == 0 {
		key = make([]byte, minCookieKey)
		if _, err := rand.Read(key); err != nil {
			return cookieKeys{}, err
		}
	}
	if len(key) < minCookieKey {
		return cookieKeys{}, domain.Errorf(domain.EINVALID, "web: the cookie key must be at least %d bytes", minCookieKey)
	}
	derive := func(purpose string) []byte { return mac(key, purpose) }
	return cookieKeys{csrf: derive("throughline csrf v1"), flash: derive("throughline flash v1"), device: derive("throughline sign-in device v1")}, nil
}

// mac is HMAC-SHA256 of msg under key.
func mac(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}

// csrfCookieTTL is how long a visitor's CSRF binding lives: long enough for
// a sign-in page left open over a working day.
const csrfCookieTTL = 12 * time.Hour

// csrfMiddleware protects every state-changing page request. The token a
// page carries is bound to its session: an HMAC, under a server key, of the
// session's secret, or, before sign-in, of a random value in the visitor's
// CSRF cookie, which is replaced at sign-in and sign-out. So a token works
// only in the session that received it, and a new session (sign-in) or the
// end of one (sign-out) brings a new token. It is read from the form field
// _csrf of the body or the X-CSRF-Token header (htmx), never from the query
// string, which leaks into logs and Referer headers.
//
// Browsers that send Sec-Fetch-Site are checked by it, as Go's
// http.CrossOriginProtection does: cross-site state changes are refused even
// with a token, same-origin ones need none; same-site ones (a sibling
// subdomain) and clients without the header need the token.
func (s *Server) csrfMiddleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		token := s.csrfTokenFor(s.csrfBinding(c))
		c.Set(ctxCSRF, token)
		c.Response().Header().Add(echo.HeaderVary, echo.HeaderCookie)
		req := c.Request()
		switch req.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
			return next(c)
		}
		switch req.Header.Get(echo.HeaderSecFetchSite) {
		case "cross-site":
			return errCSRF
		case "same-origin", "none":
			return next(c)
		}
		got := req.PostFormValue("_csrf")
		if got == "" {
			got = req.Header.Get(echo.HeaderXCSRFToken)
		}
		if !hmac.Equal([]byte(got), []byte(token)) {
			return errCSRF
		}
		return next(c)
	}
}

var errCSRF = domain.Errorf(domain.EFORBIDDEN, "This form has expired or did not come from Throughline. Reload the page and try again.")

// csrfBinding is what the request's CSRF token is bound to: the session
// when one is signed in, else the visitor's CSRF cookie, set here when the
// visitor has none (and refreshed, so that an open sign-in page does not
// outlive it).
func (s *Server) csrfBinding(c echo.Context) string {
	if domain.UserFromContext(c.Request().Context()) != nil {
		if ck, err := c.Cookie(sessionCookie); err == nil && ck.Value != "" {
			return "session\x00" + ck.Value
		}
	}
	v := ""
	if ck, err := c.Cookie(csrfCookie); err == nil && len(ck.Value) >= 32 && len(ck.Value) <= 64 {
		v = ck.Value
	} else {
		v = randomToken(32)
	}
	s.setCookie(c, csrfCookie, v, csrfCookieTTL)
	return "visitor\x00" + v
}

// newCSRFBinding gives the visitor a new CSRF cookie at sign-in and
// sign-out, so that a token from before is worthless after.
func (s *Server) newCSRFBinding(c echo.Context) {
	s.setCookie(c, csrfCookie, randomToken(32), csrfCookieTTL)
}

func (s *Server) csrfTokenFor(binding string) string {
	return base64.RawURLEncoding.EncodeToString(mac(s.keys.csrf, binding))
}
