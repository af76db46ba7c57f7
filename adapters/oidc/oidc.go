// Package oidc signs people in through an OpenID Connect identity provider:
// the authorization-code flow with PKCE (golang.org/x/oauth2) and ID token
// verification (github.com/coreos/go-oidc). The provider's discovery document
// is fetched when first needed and fetched again after a failure, so that
// Throughline starts, and keeps running, while the provider is down.
package oidc

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/throughline/throughline/domain"
)

// Config describes the client as registered at the identity provider.
type Config struct {
	Name         string // shown on the sign-in button
	Issuer       string
	ClientID     string
	ClientSecret string
	// RedirectURL is Throughline's callback as registered at the provider:
	// https://throughline.example.com/signin/oidc/callback.
	RedirectURL string
	Scopes      []string
	// RoleClaim names the claim whose values map to roles: "groups", or a
	// dotted path into nested claims such as "realm_access.roles".
	RoleClaim string
	// HTTPClient talks to the provider; a client with a 10 s timeout when nil.
	HTTPClient *http.Client
	Logger     *slog.Logger
}

// Client is one configured identity provider.
type Client struct {
	cfg  Config
	http *http.Client
	log  *slog.Logger

	mu sync.Mutex
	// failedAt and failure are the last failed discovery: calls within
	// DiscoveryRetry of it fail at once rather than ask the provider again.
	failedAt time.Time
	failure  error
	provider *gooidc.Provider
	verifier *gooidc.IDTokenVerifier
	oauth    *oauth2.Config
}

// New checks the configuration; it does not contact the provider.
func New(cfg Config) (*Client, error) {
	var missing []string
	for _, f := range []struct{ name, value string }{
		{"--oidc-issuer", cfg.Issuer}, {"--oidc-client-id", cfg.ClientID}, {"--oidc-redirect-url", cfg.RedirectURL},
	} {
		if strings.TrimSpace(f.value) == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("single sign-on needs %s", strings.Join(missing, " and "))
	}
	for _, u := range []struct{ name, value string }{{"--oidc-issuer", cfg.Issuer}, {"--oidc-redirect-url", cfg.RedirectURL}} {
		p, err := url.Parse(u.value)
		if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			return nil, fmt.Errorf("%s must be an absolute http(s) URL, not %q", u.name, u.value)
		}
	}
	if !slices.Contains(cfg.Scopes, gooidc.ScopeOpenID) {
		cfg.Scopes = append([]string{gooidc.ScopeOpenID}, cfg.Scopes...)
	}
	if cfg.Name == "" {
		cfg.Name = "single sign-on"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	return &Client{cfg: cfg, http: hc, log: cfg.Logger}, nil
}

// Name is the provider's label on the sign-in page.
func (c *Client) Name() string { return c.cfg.Name }

// DiscoveryRetry is how long after a failed discovery the provider is left
// alone: while it is down, sign-in attempts fail at once instead of each
// waiting for, and sending, a request of its own.
const DiscoveryRetry = 2 * time.Second

// ready fetches the discovery document unless an earlier call did. Callers
// arriving while one fetches wait for its outcome.
func (c *Client) ready(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.provider != nil {
		return nil
	}
	if c.failure != nil && time.Since(c.failedAt) < DiscoveryRetry {
		return c.failure
	}
	p, err := gooidc.NewProvider(c.ctx(ctx), c.cfg.Issuer)
	if err != nil {
		c.log.Warn("identity provider unreachable", "issuer", c.cfg.Issuer, "err", err)
		c.failedAt = time.Now()
		c.failure = domain.Errorf(domain.EUNAVAILABLE, "The identity provider (%s) cannot be reached right now. Try again in a minute, or sign in with a password if you have one.", c.host())
		return c.failure
	}
	c.failure = nil
	c.provider = p
	c.verifier = p.Verifier(&gooidc.Config{ClientID: c.cfg.ClientID})
	c.oauth = &oauth2.Config{
		ClientID: c.cfg.ClientID, ClientSecret: c.cfg.ClientSecret, RedirectURL: c.cfg.RedirectURL,
		Endpoint: p.Endpoint(), Scopes: c.cfg.Scopes,
	}
	c.log.Info("identity provider discovered", "issuer", c.cfg.Issuer)
	return nil
}

func (c *Client) ctx(ctx context.Context) context.Context { return gooidc.ClientContext(ctx, c.http) }

func (c *Client) host() string {
	if u, err := url.Parse(c.cfg.Issuer); err == nil && u.Host != "" {
		return u.Host
	}
	return c.cfg.Issuer
}

// AuthCodeURL is where the browser goes to sign in: the authorization
// request carries state, nonce and the S256 challenge of verifier.
func (c *Client) AuthCodeURL(ctx context.Context, state, nonce, verifier string) (string, error) {
	if err := c.ready(ctx); err != nil {
		return "", err
	}
	return c.oauth.AuthCodeURL(state, gooidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), nil
}

// Exchange trades the authorization code for tokens, verifies the ID token
// (signature, issuer, audience, expiry) and its nonce, and returns who signed
// in with the values of the role claim.
func (c *Client) Exchange(ctx context.Context, code, verifier, nonce string) (*domain.ExternalIdentity, error) {
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	ctx = c.ctx(ctx)
	tok, err := c.oauth.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			c.log.Warn("identity provider refused the code", "status", re.Response.StatusCode, "error", re.ErrorCode, "description", re.ErrorDescription)
			return nil, domain.Errorf(domain.EUNAUTHORIZED, "The identity provider refused to complete the sign-in (%s). Start again.", orDefault(re.ErrorCode, re.Response.Status))
		}
		c.log.Warn("identity provider unreachable for the token exchange", "issuer", c.cfg.Issuer, "err", err)
		return nil, domain.Errorf(domain.EUNAVAILABLE, "The identity provider (%s) cannot be reached right now. Try again in a minute.", c.host())
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, domain.Errorf(domain.EUNAUTHORIZED, "The identity provider sent no ID token; is the openid scope allowed for this client?")
	}
	idt, err := c.verifier.Verify(ctx, raw)
	if err != nil {
		c.log.Warn("ID token refused", "err", err)
		return nil, domain.Errorf(domain.EUNAUTHORIZED, "The identity provider's token was refused: %s. Start again.", tokenProblem(err))
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		c.log.Warn("ID token refused", "err", "nonce mismatch")
		return nil, domain.Errorf(domain.EUNAUTHORIZED, "The identity provider's token was refused: it belongs to another sign-in (nonce mismatch). Start again.")
	}
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		return nil, domain.Errorf(domain.EUNAUTHORIZED, "The identity provider's token has unreadable claims.")
	}
	if claims["email"] == nil || claimValues(claims, c.cfg.RoleClaim) == nil {
		c.addUserInfo(ctx, tok, idt.Subject, claims)
	}
	id := &domain.ExternalIdentity{
		Subject:    idt.Issuer + " " + idt.Subject,
		RoleValues: claimValues(claims, c.cfg.RoleClaim),
	}
	id.Email, _ = claims["email"].(string)
	id.EmailVerified = boolClaim(claims["email_verified"])
	return id, nil
}

// addUserInfo fills claims the ID token left out (some providers put e-mail
// or groups only in the UserInfo response). The ID token's claims win.
func (c *Client) addUserInfo(ctx context.Context, tok *oauth2.Token, subject string, claims map[string]any) {
	if c.provider.UserInfoEndpoint() == "" {
		return
	}
	ui, err := c.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		c.log.Warn("identity provider's userinfo failed", "err", err)
		return
	}
	if ui.Subject != subject {
		c.log.Warn("identity provider's userinfo names another subject; ignored")
		return
	}
	more := map[string]any{}
	if err := ui.Claims(&more); err != nil {
		return
	}
	for k, v := range more {
		if _, ok := claims[k]; !ok {
			claims[k] = v
		}
	}
}

func tokenProblem(err error) string {
	var expired *gooidc.TokenExpiredError
	msg := err.Error()
	switch {
	case errors.As(err, &expired):
		return "it has expired (is this server's clock right?)"
	case strings.Contains(msg, "audience"):
		return "it was issued for another application (audience)"
	case strings.Contains(msg, "issued by a different provider"):
		return "it was issued by another provider (issuer)"
	case strings.Contains(msg, "nbf"):
		return "it is not valid yet (is this server's clock right?)"
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return "the provider's signing keys cannot be fetched"
	}
	return "its signature or contents are invalid"
}

// claimValues reads a string or list claim at path. The path is first tried
// as one name (providers use names such as "https://example.com/roles"),
// then as dot-separated names into nested objects ("realm_access.roles").
func claimValues(claims map[string]any, path string) []string {
	if path == "" {
		return nil
	}
	if v, ok := claims[path]; ok {
		return stringsOf(v)
	}
	var cur any = claims
	for _, name := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		if cur, ok = m[name]; !ok {
			return nil
		}
	}
	return stringsOf(cur)
}

func stringsOf(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// boolClaim reads email_verified, which some providers send as a string.
func boolClaim(v any) *bool {
	var b bool
	switch v := v.(type) {
	case bool:
		b = v
	case string:
		switch strings.ToLower(v) {
		case "true":
			b = true
		case "false":
			b = false
		default:
			return nil
		}
	default:
		return nil
	}
	return &b
}

func orDefault(s, def string) string {
	if s != "" {
		return s
	}
	return def
}
