package web

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/throughline/throughline/domain"
)

// SingleSignOn is an OpenID Connect identity provider.
type SingleSignOn interface {
	// Name labels the sign-in button.
	Name() string
	// AuthCodeURL is the provider's sign-in page for this flow; the
	// provider is asked to bind state, nonce and the S256 challenge of
	// verifier. EUNAVAILABLE when the provider cannot be reached.
	AuthCodeURL(ctx context.Context, state, nonce, verifier string) (string, error)
	// Exchange redeems the code and returns who signed in, after verifying
	// the ID token and its nonce. EUNAUTHORIZED for a refused code or token,
	// EUNAVAILABLE when the provider cannot be reached.
	Exchange(ctx context.Context, code, verifier, nonce string) (*domain.ExternalIdentity, error)
}

// SSOUserStore keeps the accounts of people who sign in through single
// sign-on: created or re-roled at each sign-in, returning the previous role
// ("" when created).
type SSOUserStore interface {
	SignInExternal(ctx context.Context, id domain.ExternalIdentity, role domain.Role) (*domain.User, domain.Role, error)
	// RemoveExternal deletes the account of a subject the provider no
	// longer lets in, with its sessions; nil when there was none.
	RemoveExternal(ctx context.Context, subject string) (*domain.User, error)
}

const (
	ssoCookie = "throughline_sso"
	// ssoFlowTTL is how long a person may spend at the provider.
	ssoFlowTTL = 10 * time.Minute
)

// ssoFlow is what the browser keeps between leaving for the provider and
// coming back: the values the callback must match, and where to go after.
// It lives in an HttpOnly SameSite=Lax cookie, which the provider's
// top-level redirect back brings along.
type ssoFlow struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Next     string `json:"next"`
	Expires  int64  `json:"exp"`
}

// handleSSOStart sends the browser to the identity provider. It is not rate
// limited like password sign-in: nothing here can be guessed.
func (s *Server) handleSSOStart(c echo.Context) error {
	if s.deps.SSO == nil {
		return domain.Errorf(domain.ENOTFOUND, "Single sign-on is not configured.")
	}
	next := safeNext(c.QueryParam("next"))
	if domain.UserFromContext(c.Request().Context()) != nil {
		return c.Redirect(http.StatusSeeOther, next)
	}
	flow := ssoFlow{
		State: randomToken(32), Nonce: randomToken(32),
		Verifier: randomToken(48), // 64 characters of [A-Za-z0-9_-], as PKCE wants
		Next:     next, Expires: s.now().Add(ssoFlowTTL).Unix(),
	}
	target, err := s.deps.SSO.AuthCodeURL(c.Request().Context(), flow.State, flow.Nonce, flow.Verifier)
	if err != nil {
		if domain.ErrorCode(err) == domain.EUNAVAILABLE {
			return s.renderSignIn(c, http.StatusServiceUnavailable, "", next, domain.ErrorMessage(err))
		}
		return err
	}
	raw, _ := json.Marshal(flow)
	s.setCookie(c, ssoCookie, base64.RawURLEncoding.EncodeToString(raw), ssoFlowTTL)
	return c.Redirect(http.StatusFound, target)
}

// handleSSOCallback finishes the flow: the provider sends the browser back
// with a code (or an error), which is checked against the flow cookie,
// redeemed and turned into a session.
func (s *Server) handleSSOCallback(c echo.Context) error {
	if s.deps.SSO == nil || s.deps.SSOUsers == nil {
		return domain.Errorf(domain.ENOTFOUND, "Single sign-on is not configured.")
	}
	ctx := c.Request().Context()
	flow := s.takeSSOFlow(c)
	next := "/"
	if flow != nil {
		next = safeNext(flow.Next)
	}
	refuse := func(status int, why, msg string) error {
		s.log.Info("single sign-on refused", "ip", c.RealIP(), "reason", why)
		return s.renderSignIn(c, status, "", next, msg)
	}
	q := c.QueryParams()
	if e := q.Get("error"); e != "" {
		if e == "access_denied" {
			return refuse(http.StatusUnauthorized, e, "The identity provider did not let you sign in (access denied). Ask your administrator for access to Throughline, or try again.")
		}
		detail := e
		if d := q.Get("error_description"); d != "" {
			detail += ": " + d
		}
		return refuse(http.StatusUnauthorized, e, "The identity provider reported an error ("+domain.Shorten(detail, 200)+"). Try again.")
	}
	switch {
	case flow == nil:
		return refuse(http.StatusBadRequest, "no flow cookie", "This sign-in was not started in this browser, or it took too long. Start again.")
	case s.now().Unix() > flow.Expires:
		return refuse(http.StatusBadRequest, "flow expired", "This sign-in took too long (more than 10 minutes). Start again.")
	case subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(flow.State)) != 1:
		return refuse(http.StatusBadRequest, "state mismatch", "This answer from the identity provider does not belong to the sign-in this browser started (state mismatch). Start again.")
	case q.Get("code") == "":
		return refuse(http.StatusBadRequest, "no code", "The identity provider sent no authorization code. Start again.")
	}
	id, err := s.deps.SSO.Exchange(ctx, q.Get("code"), flow.Verifier, flow.Nonce)
	if err != nil {
		switch domain.ErrorCode(err) {
		case domain.EUNAUTHORIZED:
			return refuse(http.StatusUnauthorized, "token refused", domain.ErrorMessage(err))
		case domain.EUNAVAILABLE:
			return refuse(http.StatusServiceUnavailable, "provider unavailable", domain.ErrorMessage(err))
		}
		return err
	}
	if id.EmailVerified != nil && !*id.EmailVerified {
		if err := s.withdrawSSO(ctx, id.Subject, "e-mail no longer verified at the identity provider"); err != nil {
			return err
		}
		return refuse(http.StatusForbidden, "email not verified", "Your e-mail address "+id.Email+" is not verified at the identity provider. Verify it there, then sign in again.")
	}
	role := s.cfg.SSORoles.RoleFor(id.RoleValues)
	if role == "" {
		msg := "Your account (" + orUnknown(id.Email) + ") has no Throughline role. Ask an administrator to add you to one of: " + s.cfg.SSORoles.Describe() + "."
		if s.cfg.SSORoles.Empty() {
			msg = "Your account (" + orUnknown(id.Email) + ") has no Throughline role: no group or role grants one yet. Ask an administrator to set up the role mapping."
		}
		if err := s.deps.Admin.Audit(ctx, orUnknown(id.Email), "user.signin.refused", orUnknown(id.Email), "single sign-on: no role in claim "+s.cfg.SSORoles.Claim); err != nil {
			return err
		}
		if err := s.withdrawSSO(ctx, id.Subject, "no role in claim "+s.cfg.SSORoles.Claim+" any more"); err != nil {
			return err
		}
		return refuse(http.StatusForbidden, "no role", msg)
	}
	u, was, err := s.deps.SSOUsers.SignInExternal(ctx, *id, role)
	if err != nil {
		switch code := domain.ErrorCode(err); code {
		case domain.ECONFLICT, domain.EINVALID:
			return refuse(statusOf[code], "account", domain.ErrorMessage(err))
		}
		return err
	}
	switch {
	case was == "":
		err = s.deps.Admin.Audit(ctx, u.Email, "user.create", u.Email, "role "+string(role)+" from single sign-on")
	case was != role:
		err = s.deps.Admin.Audit(ctx, u.Email, "user.role", u.Email, "role "+string(role)+" (was "+string(was)+") from single sign-on")
	}
	if err != nil {
		return err
	}
	if err := s.deps.Admin.Audit(ctx, u.Email, "user.signin", u.Email, "single sign-on, role "+string(role)); err != nil {
		return err
	}
	if err := s.startSession(c, u); err != nil {
		return err
	}
	s.log.Info("signed in", "user_id", u.ID, "role", u.Role, "via", "oidc")
	return c.Redirect(http.StatusSeeOther, next)
}

// withdrawSSO ends the access of someone the provider no longer lets in:
// their account and every session it holds go at once (a role they lost at
// the provider must not live on in a session signed in last week).
func (s *Server) withdrawSSO(ctx context.Context, subject, why string) error {
	u, err := s.deps.SSOUsers.RemoveExternal(ctx, subject)
	if err != nil || u == nil {
		return err
	}
	s.log.Info("single sign-on account removed", "user_id", u.ID, "reason", why)
	return s.deps.Admin.Audit(ctx, "single sign-on", "user.delete", u.Email, "was "+string(u.Role)+"; "+why)
}

// takeSSOFlow reads the flow cookie and clears it: a flow is used once.
func (s *Server) takeSSOFlow(c echo.Context) *ssoFlow {
	ck, err := c.Cookie(ssoCookie)
	if err != nil || ck.Value == "" {
		return nil
	}
	s.clearCookie(c, ssoCookie)
	raw, err := base64.RawURLEncoding.DecodeString(ck.Value)
	if err != nil {
		return nil
	}
	var f ssoFlow
	if json.Unmarshal(raw, &f) != nil || f.State == "" || f.Nonce == "" || f.Verifier == "" {
		return nil
	}
	return &f
}

func orUnknown(email string) string {
	if email == "" {
		return "no e-mail given"
	}
	return email
}
