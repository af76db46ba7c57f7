package web

import (
	"net/http"
	"net/url"
	"strings"
	"unicode"

	"github.com/labstack/echo/v4"

	"github.com/throughline/throughline/domain"
	"github.com/throughline/throughline/web/views"
)

func (s *Server) handleSignInForm(c echo.Context) error {
	if domain.UserFromContext(c.Request().Context()) != nil {
		return c.Redirect(http.StatusSeeOther, safeNext(c.QueryParam("next")))
	}
	return s.renderSignIn(c, http.StatusOK, "", c.QueryParam("next"), "")
}

func (s *Server) renderSignIn(c echo.Context, status int, email, next, msg string) error {
	p := s.page(c, "Sign in", "")
	v := views.SignInView{Email: email, Next: safeNext(next), Error: msg}
	if s.deps.SSO != nil {
		v.SSOName = s.deps.SSO.Name()
	}
	return render(c, status, views.SignIn(p, v))
}

func (s *Server) handleSignIn(c echo.Context) error {
	email, password, next := c.FormValue("email"), c.FormValue("password"), c.FormValue("next")
	ctx := c.Request().Context()
	key, ok, err := s.signInKey(c, email, next)
	if !ok {
		return err
	}
	u, err := s.deps.Auth.Authenticate(ctx, email, password)
	if err != nil {
		if domain.ErrorCode(err) == domain.EUNAUTHORIZED {
			s.signIns.failures.failed(key, s.now())
			s.log.Info("sign-in failed", "ip", c.RealIP())
			return s.renderSignIn(c, http.StatusUnauthorized, email, next, domain.ErrorMessage(err))
		}
		return err
	}
	s.signIns.failures.succeeded(key)
	if err := s.startSession(c, u); err != nil {
		return err
	}
	s.rememberDevice(c, u.Email)
	s.log.Info("signed in", "user_id", u.ID, "role", u.Role)
	return c.Redirect(http.StatusSeeOther, safeNext(next))
}

// startSession signs u in: a new session, replacing any the browser held,
// and a new CSRF binding, so that no token from before works after.
func (s *Server) startSession(c echo.Context, u *domain.User) error {
	ctx := c.Request().Context()
	if ck, err := c.Cookie(sessionCookie); err == nil && ck.Value != "" {
		if err := s.deps.Auth.DeleteSession(ctx, ck.Value); err != nil {
			return err
		}
	}
	secret, err := s.deps.Auth.CreateSession(ctx, u.ID, s.cfg.SessionTTL)
	if err != nil {
		return err
	}
	s.setCookie(c, sessionCookie, secret, s.cfg.SessionTTL)
	s.newCSRFBinding(c)
	return nil
}

func (s *Server) handleSignOut(c echo.Context) error {
	if ck, err := c.Cookie(sessionCookie); err == nil && ck.Value != "" {
		if err := s.deps.Auth.DeleteSession(c.Request().Context(), ck.Value); err != nil {
			return err
		}
	}
	s.clearCookie(c, sessionCookie)
	s.newCSRFBinding(c)
	return c.Redirect(http.StatusSeeOther, "/signin")
}

// safeNext keeps post-sign-in redirects on this site: a path of its own,
// with no control character or backslash anywhere (browsers drop tabs and
// newlines and read "\\" as "/", so "/\t/evil.example" would leave the site).
func safeNext(next string) string {
	bad := next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		strings.HasPrefix(next, "/signin") || strings.ContainsRune(next, '\\') ||
		strings.ContainsFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f || unicode.IsSpace(r) })
	if !bad {
		u, err := url.Parse(next)
		bad = err != nil || u.Scheme != "" || u.Host != "" || strings.HasPrefix(u.Path, "//")
	}
	if bad {
		return "/"
	}
	return next
}
