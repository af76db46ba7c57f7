package web

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/throughline/throughline/domain"
)

const (
	sessionCookie = "throughline_session"
	csrfCookie    = "throughline_csrf"
	flashCookie   = "throughline_flash"
	ctxNonce      = "csp_nonce"
	ctxCSRF       = "csrf"
	ctxToken      = "api_token"
	ctxRequestID  = "request_id"
)

func (s *Server) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				s.log.Error("panic in handler", "panic", fmt.Sprint(r), "path", c.Request().URL.Path, "stack", string(debug.Stack()))
				err = fmt.Errorf("panic: %v", r)
			}
		}()
		return next(c)
	}
}

func (s *Server) requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := randomToken(9)
		c.Set(ctxRequestID, id)
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		return next(c)
	}
}

// logRequests writes one line per request. It logs the path, never the query
// string, cookies or headers, so that nothing secret reaches the log.
func (s *Server) logRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err) // commit the response so that the status is known
		}
		path := c.Request().URL.Path
		level := slog.LevelInfo
		if path == "/healthz" || path == "/readyz" || strings.HasPrefix(path, "/assets/") {
			level = slog.LevelDebug
		}
		status := c.Response().Status
		if status >= 500 {
			level = slog.LevelError
		}
		s.log.Log(c.Request().Context(), level, "http",
			"method", c.Request().Method, "path", path, "status", status,
			"ms", float64(time.Since(start).Microseconds())/1000,
			"bytes", c.Response().Size, "ip", c.RealIP(), "request_id", c.Get(ctxRequestID))
		return nil
	}
}

// securityHeaders sets a strict CSP with a per-request nonce, and the other
// headers that keep the pages from being framed, sniffed or leaked.
func (s *Server) securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		nonce := randomToken(18)
		c.Set(ctxNonce, nonce)
		h := c.Response().Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self' 'nonce-"+nonce+"'; "+
			"style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; "+
			"object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()")
		if s.secure(c) {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		return next(c)
	}
}

// secure decides whether cookies get the Secure attribute.
func (s *Server) secure(c echo.Context) bool {
	switch s.cfg.SecureCookies {
	case "always":
		return true
	case "never":
		return false
	}
	if c.Request().TLS != nil {
		return true
	}
	return s.cfg.TrustProxy && strings.EqualFold(c.Request().Header.Get(echo.HeaderXForwardedProto), "https")
}

// loadSession puts the signed-in user, if any, into the request context.
func (s *Server) loadSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ck, err := c.Cookie(sessionCookie)
		if err != nil || ck.Value == "" {
			return next(c)
		}
		u, err := s.deps.Auth.UserBySession(c.Request().Context(), ck.Value)
		if err != nil {
			if domain.ErrorCode(err) != domain.ENOTFOUND {
				return err
			}
			s.clearCookie(c, sessionCookie)
			return next(c)
		}
		c.SetRequest(c.Request().WithContext(domain.NewContextWithUser(c.Request().Context(), u)))
		return next(c)
	}
}

// requireRole lets through signed-in users whose role includes min. Visitors
// are sent to the sign-in page and come back afterwards.
func (s *Server) requireRole(min domain.Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			u := domain.UserFromContext(c.Request().Context())
			if u == nil {
				req := c.Request()
				target := "/signin"
				if req.Method == http.MethodGet && req.URL.Path != "/" {
					target += "?next=" + url.QueryEscape(req.URL.RequestURI())
				}
				if req.Header.Get("HX-Request") == "true" {
					c.Response().Header().Set("HX-Redirect", target)
					return c.NoContent(http.StatusUnauthorized)
				}
				if req.Method == http.MethodGet || req.Method == http.MethodHead {
					return c.Redirect(http.StatusSeeOther, target)
				}
				return domain.Errorf(domain.EUNAUTHORIZED, "Sign in first.")
			}
			if !u.Role.Includes(min) {
				return domain.Errorf(domain.EFORBIDDEN, "This needs the %s role; you are signed in as %s.", min, u.Role)
			}
			return next(c)
		}
	}
}

// requireToken authenticates API calls by bearer token. Scopes are checked
// per route by requireScope.
func (s *Server) requireToken(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		auth := c.Request().Header.Get(echo.HeaderAuthorization)
		secret, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok || strings.TrimSpace(secret) == "" {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="throughline"`)
			return domain.Errorf(domain.EUNAUTHORIZED, "Send an API token as Authorization: Bearer <token>.")
		}
		tok, err := s.deps.Auth.TokenBySecret(c.Request().Context(), strings.TrimSpace(secret))
		if err != nil {
			if domain.ErrorCode(err) == domain.ENOTFOUND {
				c.Response().Header().Set("WWW-Authenticate", `Bearer realm="throughline", error="invalid_token"`)
				return domain.Errorf(domain.EUNAUTHORIZED, "Unknown or revoked API token.")
			}
			return err
		}
		c.Set(ctxToken, tok)
		return next(c)
	}
}

// requireScope checks the token's scopes for one route.
func requireScope(scope domain.Scope) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			tok, _ := c.Get(ctxToken).(*domain.APIToken)
			if tok == nil || !tok.Allows(scope) {
				return domain.Errorf(domain.EFORBIDDEN, "This API token lacks the %q scope.", scope)
			}
			return next(c)
		}
	}
}

func (s *Server) setCookie(c echo.Context, name, value string, maxAge time.Duration) {
	c.SetCookie(&http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: int(maxAge.Seconds()),
		HttpOnly: true, Secure: s.secure(c), SameSite: http.SameSiteLaxMode,
	})
}

func (s *Server) clearCookie(c echo.Context, name string) {
	c.SetCookie(&http.Cookie{
		Name: name, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.secure(c), SameSite: http.SameSiteLaxMode,
	})
}

// randomToken returns n random bytes, base64url-encoded.
func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// randomHex returns n random bytes in hexadecimal: letters and digits that no
// escaping changes.
func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return hex.EncodeToString(b)
}
