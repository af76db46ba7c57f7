package web_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/throughline/throughline/adapters/openslo"
	"github.com/throughline/throughline/adapters/sqlstore"
	"github.com/throughline/throughline/adapters/sqlstore/sqltest"
	"github.com/throughline/throughline/assets"
	"github.com/throughline/throughline/domain"
	"github.com/throughline/throughline/web"
)

const testPassword = "correct horse battery staple"

type gatewayFunc func(context.Context, http.Header, []byte) ([]web.EventResult, error)

func (f gatewayFunc) Accept(ctx context.Context, h http.Header, b []byte) ([]web.EventResult, error) {
	return f(ctx, h, b)
}

type replayFunc func(context.Context, int64) error

func (f replayFunc) Replay(ctx context.Context, id int64) error { return f(ctx, id) }

type env struct {
	t      *testing.T
	server *web.Server
	srv    *httptest.Server
	store  *sqlstore.Store
	natsUp *atomic.Bool
}

// sloCodec is the OpenSLO adapter, as cmd/throughline wires it.
type sloCodec struct{}

func (sloCodec) Marshal(slos []domain.SLO) ([]byte, error)   { return openslo.Marshal(slos) }
func (sloCodec) Unmarshal(data []byte) ([]domain.SLO, error) { return openslo.Unmarshal(data) }

func newEnv(t *testing.T, tlsServer bool) *env {
	t.Helper()
	return newEnvAt(t, tlsServer, nil)
}

// newEnvAt is newEnv with the server's clock set (nil: the real one).
func newEnvAt(t *testing.T, tlsServer bool, now func() time.Time) *env {
	t.Helper()
	return newEnvWith(t, envOptions{tls: tlsServer, now: now})
}

// envOptions vary the test server: the database, the settings the security
// tests change (a logger, a trusted proxy…) and the event gateway.
type envOptions struct {
	tls     bool
	now     func() time.Time
	dialect sqlstore.Dialect                       // SQLite when empty
	config  func(*web.Config)                      // changes to the test settings
	events  func(*sqlstore.Store) web.EventGateway // nil: one that accepts nothing
	// webhooks replace signedWebhooks (webhook_test.go) when not nil.
	webhooks map[string]web.WebhookReceiver
	otlp     web.OTLPReceiver // nil: one that accepts everything (otlp_test.go)
	// roadmap wraps the store's roadmap half when not nil.
	roadmap func(web.RoadmapStore) web.RoadmapStore
}

func newEnvWith(t *testing.T, o envOptions) *env {
	t.Helper()
	if o.dialect == "" {
		o.dialect = sqlstore.SQLite
	}
	store := sqltest.Open(t, o.dialect)
	a, err := assets.New()
	if err != nil {
		t.Fatal(err)
	}
	up := new(atomic.Bool)
	up.Store(true)
	cfg := web.Config{Version: "test", SignInRate: 5}
	if o.config != nil {
		o.config(&cfg)
	}
	// The real gateway and replayer join NATS and the decoder; the
	// end-to-end tests in cmd/throughline drive them. Here they only need
	// to answer.
	var events web.EventGateway = gatewayFunc(func(context.Context, http.Header, []byte) ([]web.EventResult, error) { return nil, nil })
	if o.events != nil {
		events = o.events(store)
	}
	s, err := web.New(cfg, web.Deps{
		Auth: store, Admin: store, Assets: a, Ingest: store, DORA: store, Roadmap: roadmapOr(o.roadmap, store), ValueStreams: store, StoredEvents: store,
		Events:   events,
		Replayer: replayFunc(func(context.Context, int64) error { return nil }),
		Now:      o.now,
		Webhooks: webhooksOr(t, o.webhooks),
		OTLP:     otlpOr(o.otlp),
		SLOs:     store,
		Reviews:  store,
		SLOCodec: sloCodec{},
		Checks: []web.Check{
			{Name: "database", Ping: store.Ping},
			{Name: "nats", Ping: func(context.Context) error {
				if !up.Load() {
					return errors.New("nats disconnected")
				}
				return nil
			}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var srv *httptest.Server
	if o.tls {
		srv = httptest.NewTLSServer(s.Handler())
	} else {
		srv = httptest.NewServer(s.Handler())
	}
	t.Cleanup(srv.Close)
	return &env{t: t, server: s, srv: srv, store: store, natsUp: up}
}

func (e *env) user(email string, role domain.Role) {
	e.t.Helper()
	if _, err := e.store.CreateUser(context.Background(), email, role, testPassword); err != nil {
		e.t.Fatal(err)
	}
}

// client is a browser-like client: it keeps cookies and does not follow
// redirects, so that tests see them.
func (e *env) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if e.srv.TLS != nil {
		c.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	}
	return c
}

func (e *env) get(c *http.Client, path string) (*http.Response, *goquery.Document) {
	e.t.Helper()
	resp, err := c.Get(e.srv.URL + path)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	doc, _ := goquery.NewDocumentFromReader(resp.Body)
	return resp, doc
}

// postForm submits a form the way a browser does after loading the page that
// holds it: with the CSRF field read from that page.
func (e *env) postForm(c *http.Client, pagePath, action string, vals url.Values) (*http.Response, *goquery.Document) {
	e.t.Helper()
	_, page := e.get(c, pagePath)
	token, _ := page.Find(`input[name="_csrf"]`).First().Attr("value")
	if vals == nil {
		vals = url.Values{}
	}
	vals.Set("_csrf", token)
	return e.post(c, action, vals, nil)
}

func (e *env) post(c *http.Client, action string, vals url.Values, header http.Header) (*http.Response, *goquery.Document) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+action, strings.NewReader(vals.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	doc, _ := goquery.NewDocumentFromReader(resp.Body)
	return resp, doc
}

func (e *env) signIn(email string) *http.Client {
	e.t.Helper()
	c := e.client()
	resp, _ := e.postForm(c, "/signin", "/signin", url.Values{"email": {email}, "password": {testPassword}})
	if resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("sign-in as %s: status %d", email, resp.StatusCode)
	}
	return c
}

func TestPagesSendVisitorsToSignIn(t *testing.T) {
	e := newEnv(t, false)
	c := e.client()
	for path, want := range map[string]string{
		"/":               "/signin",
		"/dora":           "/signin?next=%2Fdora",
		"/trends":         "/signin?next=%2Ftrends",
		"/trends.csv":     "/signin?next=%2Ftrends.csv",
		"/settings/users": "/signin?next=%2Fsettings%2Fusers",
		"/no-such-page":   "/signin?next=%2Fno-such-page",
	} {
		resp, _ := e.get(c, path)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
			t.Errorf("GET %s: %d → %q; want 303 → %q", path, resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}
	resp, _ := e.post(c, "/settings/tokens", url.Values{"name": {"x"}}, http.Header{"Sec-Fetch-Site": {"same-origin"}})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST without session: %d; want 401", resp.StatusCode)
	}
}

func TestSignInAndOut(t *testing.T) {
	e := newEnv(t, false)
	e.user("pm@example.com", domain.RoleEditor)
	c := e.client()

	resp, doc := e.postForm(c, "/signin?next=/dora", "/signin", url.Values{
		"email": {"pm@example.com"}, "password": {"not the password"}, "next": {"/dora"},
	})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", resp.StatusCode)
	}
	if got := doc.Find(`[data-testid="signin-error"]`).Text(); !strings.Contains(got, "Wrong e-mail or password") {
		t.Errorf("error shown: %q", got)
	}
	if v, _ := doc.Find(`input[name="email"]`).Attr("value"); v != "pm@example.com" {
		t.Errorf("typed e-mail not kept: %q", v)
	}
	if v, _ := doc.Find(`input[name="password"]`).Attr("value"); v != "" {
		t.Errorf("password echoed back: %q", v)
	}

	resp, _ = e.postForm(c, "/signin", "/signin", url.Values{
		"email": {"PM@example.com"}, "password": {testPassword}, "next": {"/dora"},
	})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/dora" {
		t.Fatalf("sign-in: %d → %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	var session *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "throughline_session" {
			session = ck
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Secure {
		t.Fatalf("session cookie = %+v; want HttpOnly, SameSite=Lax, not Secure over plain HTTP", session)
	}

	resp, doc = e.get(c, "/dora")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /dora: %d", resp.StatusCode)
	}
	if cur := doc.Find(`[data-testid="nav"] a[aria-current="page"]`).Text(); cur != "DORA" {
		t.Errorf("current nav item %q", cur)
	}
	var labels []string
	doc.Find(`[data-testid="nav"] a`).Each(func(_ int, s *goquery.Selection) { labels = append(labels, s.Text()) })
	if strings.Join(labels, ",") != "Roadmap,Outcomes,Value streams,DORA,SLOs,Trends,Settings" {
		t.Errorf("nav = %v", labels)
	}
	if got := doc.Find(`[data-testid="usermenu"]`).Text(); !strings.Contains(got, "pm@example.com") || !strings.Contains(got, "editor") {
		t.Errorf("user menu %q", got)
	}

	resp, _ = e.postForm(c, "/dora", "/signout", nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", resp.StatusCode)
	}
	resp, _ = e.get(c, "/dora")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after sign-out GET /dora: %d; want redirect to sign-in", resp.StatusCode)
	}
}

func TestOpenRedirectsAreRefused(t *testing.T) {
	e := newEnvWith(t, envOptions{config: func(c *web.Config) { c.SignInRate = 100 }})
	e.user("a@example.com", domain.RoleViewer)
	// Browsers drop tabs and newlines from a Location and read a backslash
	// as a slash: each of these would leave the site.
	for _, next := range []string{"https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)",
		"/\t/evil.example", "/\n/evil.example", "/ /evil.example", "/dora\\..\\\\evil.example", "/\x7f/evil.example"} {
		c := e.client()
		resp, _ := e.postForm(c, "/signin", "/signin", url.Values{"email": {"a@example.com"}, "password": {testPassword}, "next": {next}})
		if loc := resp.Header.Get("Location"); loc != "/" {
			t.Errorf("next=%q redirected to %q; want /", next, loc)
		}
	}
	// A page of this site is where sign-in leads.
	c := e.client()
	resp, _ := e.postForm(c, "/signin", "/signin", url.Values{"email": {"a@example.com"}, "password": {testPassword}, "next": {"/dora?from=2026-01-01&to=2026-03-31"}})
	if loc := resp.Header.Get("Location"); loc != "/dora?from=2026-01-01&to=2026-03-31" {
		t.Errorf("a page of this site: redirected to %q", loc)
	}
}

func TestSessionCookieIsSecureOverTLS(t *testing.T) {
	e := newEnv(t, true)
	e.user("a@example.com", domain.RoleViewer)
	c := e.client()
	resp, _ := e.postForm(c, "/signin", "/signin", url.Values{"email": {"a@example.com"}, "password": {testPassword}})
	for _, ck := range resp.Cookies() {
		if ck.Name == "throughline_session" && !ck.Secure {
			t.Fatal("session cookie not Secure over TLS")
		}
	}
	if resp.Header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS over TLS")
	}
}

func TestRolesAreEnforced(t *testing.T) {
	e := newEnv(t, false)
	e.user("viewer@example.com", domain.RoleViewer)
	e.user("editor@example.com", domain.RoleEditor)
	e.user("admin@example.com", domain.RoleAdmin)
	adminPages := []string{"/settings/users", "/settings/tokens", "/settings/audit"}
	for _, who := range []string{"viewer", "editor", "admin"} {
		c := e.signIn(who + "@example.com")
		for _, p := range []string{"/", "/roadmap", "/value-streams", "/dora", "/trends", "/settings", "/settings/ingest"} {
			if resp, _ := e.get(c, p); resp.StatusCode != http.StatusOK {
				t.Errorf("%s GET %s: %d", who, p, resp.StatusCode)
			}
		}
		want := http.StatusForbidden
		if who == "admin" {
			want = http.StatusOK
		}
		for _, p := range adminPages {
			resp, doc := e.get(c, p)
			if resp.StatusCode != want {
				t.Errorf("%s GET %s: %d; want %d", who, p, resp.StatusCode, want)
			}
			if want == http.StatusForbidden && doc.Find(`[data-testid="error-page"]`).Length() == 0 {
				t.Errorf("%s GET %s: no error page", who, p)
			}
		}
		if who != "admin" {
			resp, _ := e.postForm(c, "/settings", "/settings/tokens", url.Values{"name": {"sneaky"}, "scope": {"admin"}})
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s POST /settings/tokens: %d; want 403", who, resp.StatusCode)
			}
		}
	}
	toks, _ := e.store.Tokens(context.Background())
	if len(toks) != 0 {
		t.Fatalf("a non-admin created a token: %v", toks)
	}
}

func TestFormsNeedCSRF(t *testing.T) {
	e := newEnv(t, false)
	e.user("admin@example.com", domain.RoleAdmin)
	c := e.signIn("admin@example.com")
	vals := url.Values{"name": {"ci"}, "scope": {"ingest"}}

	if resp, _ := e.post(c, "/settings/tokens", vals, nil); resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusBadRequest {
		t.Errorf("no token: %d; want refusal", resp.StatusCode)
	}
	bad := url.Values{"name": {"ci"}, "scope": {"ingest"}, "_csrf": {"forged"}}
	if resp, _ := e.post(c, "/settings/tokens", bad, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("wrong token: %d; want 403", resp.StatusCode)
	}
	if resp, _ := e.post(c, "/settings/tokens", vals, http.Header{"Sec-Fetch-Site": {"cross-site"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site: %d; want 403", resp.StatusCode)
	}
	toks, _ := e.store.Tokens(context.Background())
	if len(toks) != 0 {
		t.Fatalf("forged request created a token")
	}
	if resp, _ := e.postForm(c, "/settings/tokens", "/settings/tokens", vals); resp.StatusCode != http.StatusCreated {
		t.Errorf("with token: %d; want 201", resp.StatusCode)
	}
}

func TestAdminManagesUsersAndTokens(t *testing.T) {
	e := newEnv(t, false)
	e.user("admin@example.com", domain.RoleAdmin)
	c := e.signIn("admin@example.com")

	// A bad e-mail is explained and what was typed stays.
	resp, doc := e.postForm(c, "/settings/users", "/settings/users", url.Values{"email": {"not-an-email"}, "role": {"editor"}})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad e-mail: %d", resp.StatusCode)
	}
	if v, _ := doc.Find(`#new-email`).Attr("value"); v != "not-an-email" {
		t.Errorf("typed e-mail lost: %q", v)
	}
	if v, _ := doc.Find(`#new-email`).Attr("aria-invalid"); v != "true" {
		t.Errorf("field not marked invalid")
	}
	if doc.Find(`#email-error`).Text() == "" {
		t.Errorf("no message for the e-mail field")
	}
	if v, _ := doc.Find(`#new-role option[selected]`).Attr("value"); v != "editor" {
		t.Errorf("chosen role lost: %q", v)
	}

	resp, doc = e.postForm(c, "/settings/users", "/settings/users", url.Values{"email": {"pm@example.com"}, "role": {"editor"}})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("add user: %d", resp.StatusCode)
	}
	password := doc.Find(`[data-testid="new-password"] code`).Text()
	if len(password) < domain.MinPasswordLength {
		t.Fatalf("generated password %q", password)
	}
	if _, err := e.store.Authenticate(context.Background(), "pm@example.com", password); err != nil {
		t.Fatalf("the shown password does not sign in: %v", err)
	}

	// Tokens: created, shown once, usable, revocable.
	resp, doc = e.postForm(c, "/settings/tokens", "/settings/tokens", url.Values{"name": {""}, "scope": {"read"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || doc.Find(`#token-name`).AttrOr("aria-invalid", "") != "true" {
		t.Fatalf("empty token name: %d", resp.StatusCode)
	}
	if _, ok := doc.Find(`input[value="read"]`).Attr("checked"); !ok {
		t.Errorf("checked scope lost")
	}
	resp, doc = e.postForm(c, "/settings/tokens", "/settings/tokens", url.Values{"name": {"grafana"}, "scope": {"read", "ingest"}})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create token: %d", resp.StatusCode)
	}
	secret := doc.Find(`[data-testid="new-token"] code`).Text()
	if !strings.HasPrefix(secret, "tl_") {
		t.Fatalf("secret %q", secret)
	}
	_, doc = e.get(c, "/settings/tokens")
	if strings.Contains(doc.Text(), secret) {
		t.Fatal("token secret shown a second time")
	}
	if code, body := apiGet(t, e, "/api/v1/token", secret); code != http.StatusOK || !strings.Contains(body, `"grafana"`) {
		t.Fatalf("token does not work: %d %s", code, body)
	}
	form := doc.Find(`[data-testid="tokens-table"] form`).First()
	action, _ := form.Attr("action")
	resp, _ = e.postForm(c, "/settings/tokens", action, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	if code, _ := apiGet(t, e, "/api/v1/token", secret); code != http.StatusUnauthorized {
		t.Fatalf("revoked token: %d; want 401", code)
	}

	// Everything above is in the audit log, attributed to the admin.
	_, doc = e.get(c, "/settings/audit")
	text := doc.Find(`[data-testid="audit-table"]`).Text()
	for _, want := range []string{"user.create", "token.create", "token.revoke", "admin@example.com"} {
		if !strings.Contains(text, want) {
			t.Errorf("audit log lacks %q", want)
		}
	}
	if strings.Contains(text, secret) || strings.Contains(text, password) {
		t.Error("a secret reached the audit log")
	}
}

func apiGet(t *testing.T, e *env, path, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAPIRefusesMissingAndBadTokens(t *testing.T) {
	e := newEnv(t, false)
	for _, tc := range []struct{ path, token string }{
		{"/api/v1/token", ""},
		{"/api/v1/token", "tl_notarealtoken"},
		{"/api/v1/dora", ""},
		{"/api/v1/anything/else", ""},
	} {
		code, body := apiGet(t, e, tc.path, tc.token)
		if code != http.StatusUnauthorized {
			t.Errorf("%s: %d; want 401", tc.path, code)
		}
		var got struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if err := json.Unmarshal([]byte(body), &got); err != nil || got.Error.Code != "unauthorized" || got.Error.Message == "" {
			t.Errorf("%s: body %s; want the JSON error shape", tc.path, body)
		}
	}
}

func TestSecurityHeadersAndNonce(t *testing.T) {
	e := newEnv(t, false)
	e.user("a@example.com", domain.RoleViewer)
	c := e.signIn("a@example.com")
	resp, doc := e.get(c, "/")
	csp := resp.Header.Get("Content-Security-Policy")
	m := regexp.MustCompile(`script-src 'self' 'nonce-([A-Za-z0-9_-]+)'`).FindStringSubmatch(csp)
	if m == nil {
		t.Fatalf("CSP %q has no script nonce", csp)
	}
	for _, want := range []string{"default-src 'self'", "object-src 'none'", "frame-ancestors 'none'", "style-src 'self';"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP lacks %q", want)
		}
	}
	doc.Find("script").Each(func(_ int, s *goquery.Selection) {
		if n, _ := s.Attr("nonce"); n != m[1] {
			t.Errorf("script %v has nonce %q; want %q", s.AttrOr("src", "inline"), n, m[1])
		}
	})
	if doc.Find("[style]").Length() > 0 {
		t.Error("inline style attributes break style-src 'self'")
	}
	for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin"} {
		if resp.Header.Get(h) != want {
			t.Errorf("%s = %q; want %q", h, resp.Header.Get(h), want)
		}
	}
	_, again := e.get(c, "/")
	n1, _ := doc.Find("script").Attr("nonce")
	n2, _ := again.Find("script").Attr("nonce")
	if n1 == n2 {
		t.Error("nonce reused across requests")
	}
}

func TestAssetsHaveHashedLongCachedURLs(t *testing.T) {
	e := newEnv(t, false)
	c := e.client()
	_, doc := e.get(c, "/signin")
	css, _ := doc.Find(`link[rel="stylesheet"]`).Attr("href")
	if !regexp.MustCompile(`^/assets/css/app\.[0-9a-f]{10}\.css$`).MatchString(css) {
		t.Fatalf("stylesheet URL %q is not hashed", css)
	}
	resp, err := c.Get(e.srv.URL + css)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") {
		t.Fatalf("css: %d %q %q", resp.StatusCode, resp.Header.Get("Cache-Control"), resp.Header.Get("Content-Type"))
	}
	a, _ := assets.New()
	resp, err = c.Get(e.srv.URL + a.URL("js/htmx.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "htmx") {
		t.Fatalf("htmx: %d", resp.StatusCode)
	}
	if resp, _ := e.get(c, "/assets/css/app.css"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unhashed asset: %d; want 404", resp.StatusCode)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	e := newEnv(t, false)
	if code, body := apiGet(t, e, "/healthz", ""); code != 200 || !strings.Contains(body, `"ok"`) {
		t.Fatalf("healthz %d %s", code, body)
	}
	if code, body := apiGet(t, e, "/readyz", ""); code != 200 || !strings.Contains(body, `"ready"`) {
		t.Fatalf("readyz %d %s", code, body)
	}
	e.natsUp.Store(false)
	code, body := apiGet(t, e, "/readyz", "")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "nats disconnected") || !strings.Contains(body, `"database":"ok"`) {
		t.Fatalf("readyz with NATS down: %d %s", code, body)
	}
}

func TestSignInIsRateLimited(t *testing.T) {
	e := newEnv(t, false)
	e.user("a@example.com", domain.RoleViewer)
	c := e.client()
	limited := false
	// A new account each time: the address's limit, not an account's.
	for i := 0; i < 12 && !limited; i++ {
		resp, doc := e.postForm(c, "/signin", "/signin", url.Values{"email": {"a" + string(rune('a'+i)) + "@example.com"}, "password": {"guess number " + string(rune('a'+i))}})
		limited = resp.StatusCode == http.StatusTooManyRequests && strings.Contains(doc.Find(`[data-testid="signin-error"]`).Text(), "from your address")
	}
	if !limited {
		t.Fatal("12 rapid wrong passwords were never rate limited")
	}
}

func TestServicesPageSetsTeams(t *testing.T) {
	e := newEnv(t, false)
	e.user("viewer@example.com", domain.RoleViewer)
	e.user("editor@example.com", domain.RoleEditor)
	ctx := context.Background()
	_, err := e.store.StoreEvents(ctx, []domain.EventRecord{{Raw: []byte(`{}`), Event: domain.Event{
		Identity: domain.Identity{Source: "/cd", ID: "d1"}, Type: "t", Kind: domain.KindServiceDeployed,
		Time: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC), SubjectID: "checkout", Service: "checkout",
		Environment: "production", Artifact: "a1", Team: "payments"}}})
	if err != nil {
		t.Fatal(err)
	}
	viewer := e.signIn("viewer@example.com")
	_, doc := e.get(viewer, "/services")
	if got := doc.Find(`[data-testid="services-table"] tbody tr`).Text(); !strings.Contains(got, "checkout") || !strings.Contains(got, "payments") || !strings.Contains(got, "events") {
		t.Fatalf("services table %q", got)
	}
	if doc.Find(`[data-testid="services-table"] form`).Length() != 0 {
		t.Error("a viewer sees the team form")
	}
	if resp, _ := e.postForm(viewer, "/services", "/services/team", url.Values{"service": {"checkout"}, "team": {"x"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer set a team: %d", resp.StatusCode)
	}
	editor := e.signIn("editor@example.com")
	resp, _ := e.postForm(editor, "/services", "/services/team", url.Values{"service": {"checkout"}, "team": {"checkout-squad"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("editor: %d", resp.StatusCode)
	}
	_, doc = e.get(editor, "/services")
	if v, _ := doc.Find(`#team-checkout`).Attr("value"); v != "checkout-squad" || !strings.Contains(doc.Text(), "a person") {
		t.Fatalf("team after setting: %q", v)
	}
	if resp, _ := e.postForm(editor, "/services", "/services/team", url.Values{"service": {"nope"}, "team": {"x"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("unknown service: %d", resp.StatusCode)
	}
}

func TestIdeaFormsKeepWhatWasTyped(t *testing.T) {
	e := newEnv(t, false)
	e.user("viewer@example.com", domain.RoleViewer)
	e.user("pm@example.com", domain.RoleEditor)
	viewer := e.signIn("viewer@example.com")
	if resp, _ := e.get(viewer, "/ideas/new"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer GET /ideas/new: %d", resp.StatusCode)
	}
	pm := e.signIn("pm@example.com")
	bad := url.Values{"key": {"checkout twelve"}, "title": {"One-page checkout"}, "problem": {"Too many steps"},
		"horizon": {"now"}, "flow_type": {"feature"}, "team": {"payments"}, "reach": {"lots"}, "confidence": {"80%"}}
	resp, doc := e.postForm(pm, "/ideas/new", "/ideas", bad)
	if resp.StatusCode != http.StatusUnprocessableEntity || doc.Find(`[data-testid="form-errors"]`).Length() != 1 {
		t.Fatalf("invalid idea: %d", resp.StatusCode)
	}
	for sel, want := range map[string]string{"#key": "checkout twelve", "#title": "One-page checkout", "#team": "payments", "#reach": "lots", "#confidence": "80%"} {
		if v, _ := doc.Find(sel).Attr("value"); v != want {
			t.Errorf("%s kept %q; want %q", sel, v, want)
		}
	}
	if doc.Find("#problem").Text() != "Too many steps" || doc.Find("#key-error").Text() == "" || doc.Find("#reach").AttrOr("aria-invalid", "") != "true" {
		t.Error("problem lost or errors not shown")
	}
	good := url.Values{"key": {"chk-12"}, "title": {"One-page checkout"}, "horizon": {"next"}, "flow_type": {"feature"}, "confidence": {"80%"}, "effort": {"2"}, "reach": {"1000"}, "impact": {"1"}}
	resp, _ = e.postForm(pm, "/ideas/new", "/ideas", good)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ideas/CHK-12" {
		t.Fatalf("create: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	idea, err := e.store.Idea(context.Background(), "CHK-12")
	if err != nil || idea.Confidence != 0.8 || *idea.RICE() != 400 {
		t.Fatalf("stored %+v %v", idea, err)
	}
	resp, doc = e.postForm(pm, "/ideas/new", "/ideas", good)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(doc.Find("#key-error").Text(), "already exists") {
		t.Fatalf("duplicate: %d %q", resp.StatusCode, doc.Find("#key-error").Text())
	}
	// Move with the board's button, then see it in Now.
	resp, _ = e.postForm(pm, "/roadmap", "/ideas/CHK-12/move", url.Values{"horizon": {"now"}, "return": {"/roadmap?team="}})
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/roadmap") {
		t.Fatalf("move: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, doc = e.get(pm, "/roadmap")
	if doc.Find(`[data-testid="column-now"] [data-key="CHK-12"]`).Length() != 1 {
		t.Fatal("CHK-12 not in Now")
	}
	if resp, _ := e.postForm(viewer, "/roadmap", "/ideas/CHK-12/move", url.Values{"horizon": {"later"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer moved an idea: %d", resp.StatusCode)
	}
	// Key results: a bad form keeps what was typed.
	if resp, _ := e.postForm(pm, "/outcomes", "/outcomes/objectives", url.Values{"title": {"Grow conversion"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("objective: %d", resp.StatusCode)
	}
	objs, _ := e.store.Objectives(context.Background())
	krBad := url.Values{"objective": {fmt.Sprint(objs[0].ID)}, "title": {"Conversion up"}, "metric": {"checkout.conversion"},
		"attributes": {"env=production"}, "baseline": {"0.031"}, "target": {"0.02"}, "direction": {"increase"}}
	resp, doc = e.postForm(pm, "/outcomes", "/outcomes/key-results", krBad)
	if resp.StatusCode != http.StatusUnprocessableEntity || doc.Find("#target-error").Text() == "" || doc.Find("#kr-metric").AttrOr("value", "") != "checkout.conversion" {
		t.Fatalf("bad key result: %d %q", resp.StatusCode, doc.Find("#target-error").Text())
	}
	krBad.Set("target", "0.036")
	if resp, _ := e.postForm(pm, "/outcomes", "/outcomes/key-results", krBad); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("key result: %d", resp.StatusCode)
	}
}

func TestEventViewAndIdeaEditing(t *testing.T) {
	e := newEnv(t, false)
	e.user("pm@example.com", domain.RoleEditor)
	ctx := context.Background()
	raw := `{"specversion":"1.0","id":"d-1","source":"/argo/prod","type":"dev.cdevents.service.deployed.0.3.0","data":{"subject":{"id":"checkout"}}}`
	if _, err := e.store.StoreEvents(ctx, []domain.EventRecord{{Raw: []byte(raw), Event: domain.Event{
		Identity: domain.Identity{Source: "/argo/prod", ID: "d-1"}, Type: "dev.cdevents.service.deployed.0.3.0", Kind: domain.KindServiceDeployed,
		Time: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC), SubjectID: "checkout", Service: "checkout", Environment: "production", Artifact: "a1"}}}); err != nil {
		t.Fatal(err)
	}
	pm := e.signIn("pm@example.com")
	resp, doc := e.get(pm, "/events/view?source=%2Fargo%2Fprod&id=d-1")
	if resp.StatusCode != 200 || !strings.Contains(doc.Find(`[data-testid="event-json"]`).Text(), `"source": "/argo/prod"`) {
		t.Fatalf("event page: %d %q", resp.StatusCode, doc.Find(`[data-testid="event-json"]`).Text())
	}
	if resp, _ := e.get(pm, "/events/view?source=%2Fargo%2Fprod&id=nope"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown event: %d", resp.StatusCode)
	}
	if resp, _ := e.get(pm, "/events/view"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("no identity: %d", resp.StatusCode)
	}
	_, secret, _ := e.store.CreateToken(ctx, "r", []domain.Scope{domain.ScopeRead})
	if code, body := apiGet(t, e, "/api/v1/events/view?source=%2Fargo%2Fprod&id=d-1", secret); code != 200 || body != raw {
		t.Fatalf("event API: %d %s", code, body)
	}

	// Editing keeps what was typed when it is wrong, and saves when it is right.
	if _, err := e.store.CreateIdea(ctx, domain.Idea{Key: "CHK-7", Title: "Saved cards", Horizon: domain.HorizonNext, FlowType: domain.FlowFeature}, "pm"); err != nil {
		t.Fatal(err)
	}
	_, doc = e.get(pm, "/ideas/CHK-7/edit")
	if v, _ := doc.Find("#title").Attr("value"); v != "Saved cards" {
		t.Fatalf("edit form title %q", v)
	}
	resp, doc = e.postForm(pm, "/ideas/CHK-7/edit", "/ideas/CHK-7", url.Values{"title": {""}, "horizon": {"next"}, "flow_type": {"feature"}, "effort": {"-2"}, "hypothesis": {"Stored cards cut typing"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || doc.Find("#title-error").Text() == "" || doc.Find("#effort-error").Text() == "" ||
		doc.Find("#hypothesis").Text() != "Stored cards cut typing" {
		t.Fatalf("invalid edit: %d", resp.StatusCode)
	}
	if idea, _ := e.store.Idea(ctx, "CHK-7"); idea.Title != "Saved cards" {
		t.Fatalf("an invalid edit was saved: %+v", idea)
	}
	resp, _ = e.postForm(pm, "/ideas/CHK-7/edit", "/ideas/CHK-7", url.Values{"title": {"Saved cards, one tap"}, "horizon": {"now"}, "flow_type": {"feature"}, "team": {"payments"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit: %d", resp.StatusCode)
	}
	idea, _ := e.store.Idea(ctx, "CHK-7")
	if idea.Title != "Saved cards, one tap" || idea.Horizon != domain.HorizonNow || idea.PlannedAt.IsZero() || idea.Team != "payments" {
		t.Fatalf("edited %+v", idea)
	}
	resp, _ = e.postForm(pm, "/ideas/CHK-7", "/ideas/CHK-7/archive", url.Values{"archived": {"true"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("archive: %d", resp.StatusCode)
	}
	_, doc = e.get(pm, "/roadmap")
	if doc.Find(`[data-key="CHK-7"]`).Length() != 0 {
		t.Error("archived idea still on the roadmap")
	}
	if resp, doc := e.get(pm, "/ideas/CHK-7"); resp.StatusCode != 200 || !strings.Contains(doc.Text(), "archived") {
		t.Errorf("archived idea page: %d", resp.StatusCode)
	}
}

func roadmapOr(wrap func(web.RoadmapStore) web.RoadmapStore, store web.RoadmapStore) web.RoadmapStore {
	if wrap == nil {
		return store
	}
	return wrap(store)
}
