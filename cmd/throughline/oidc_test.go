package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/throughline/throughline/adapters/oidc"
	"github.com/throughline/throughline/domain"
)

// idpUser is a person at the test identity provider whose ID-token claims
// the test writes, overriding the standard ones (aud, exp, nonce…) at will.
type idpUser struct {
	sub    string
	claims map[string]any
}

func (u idpUser) ID() string { return u.sub }

func (u idpUser) Userinfo([]string) ([]byte, error) {
	return json.Marshal(map[string]any{"sub": u.sub})
}

func (u idpUser) Claims(_ []string, base *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	raw, err := json.Marshal(base)
	if err != nil {
		return nil, err
	}
	out := jwt.MapClaims{}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, err
	}
	for k, v := range u.claims {
		out[k] = v
	}
	return out, nil
}

func person(sub, email string, groups ...string) idpUser {
	return idpUser{sub: sub, claims: map[string]any{"email": email, "email_verified": true, "groups": groups}}
}

// startIdP runs mockoidc, a real OpenID provider (discovery, JWKS, code flow
// with PKCE, RS256 ID tokens), on addr ("" for any port).
func startIdP(t *testing.T, addr string) *mockoidc.MockOIDC {
	t.Helper()
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	return m
}

// ssoConfig is testConfig signing in through the provider at issuer, with
// the callback on a port chosen ahead so that it can be registered.
func ssoConfig(t *testing.T, issuer, clientID, secret string) Config {
	cfg := testConfig(t)
	cfg.Addr = "127.0.0.1:" + freePort(t)
	cfg.OIDCIssuer = issuer
	cfg.OIDCClientID = clientID
	cfg.OIDCClientSecret = secret
	cfg.OIDCRedirectURL = "http://" + cfg.Addr + "/signin/oidc/callback"
	cfg.OIDCName = "Acme SSO"
	cfg.OIDCScopes = "openid,email,profile,groups"
	cfg.OIDCAdminValues = "tl-admins"
	cfg.OIDCEditorValues = "tl-editors, platform"
	cfg.OIDCViewerValues = "tl-viewers"
	cfg.TrustProxy = true
	return cfg
}

// ssoResult is where a browser ended after a single sign-on attempt.
type ssoResult struct {
	client *http.Client
	status int
	path   string
	doc    *goquery.Document
}

func (r ssoResult) errorText() string {
	return strings.TrimSpace(r.doc.Find(`[data-testid="signin-error"]`).Text())
}

// signInSSO drives the whole redirect flow as a browser with a cookie jar
// would: Throughline → provider → Throughline's callback → the page asked
// for. tamper, when given, may rewrite each redirect before it is followed.
func signInSSO(t *testing.T, app *App, m *mockoidc.MockOIDC, u idpUser, start string, tamper func(*http.Request)) ssoResult {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if tamper != nil {
			tamper(req)
		}
		return nil
	}}
	if m != nil {
		m.QueueUser(u)
	}
	resp, err := c.Get(app.URL() + start)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	doc, err := goquery.NewDocumentFromReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	c.CheckRedirect = nil
	return ssoResult{client: c, status: resp.StatusCode, path: resp.Request.URL.RequestURI(), doc: doc}
}

func userByEmail(t *testing.T, app *App, email string) *domain.User {
	t.Helper()
	users, err := app.Store.Users(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if u.Email == email {
			return u
		}
	}
	return nil
}

func TestSingleSignOnWithOpenIDConnect(t *testing.T) {
	m := startIdP(t, "")
	app, _ := startApp(t, ssoConfig(t, m.Issuer(), m.ClientID, m.ClientSecret))
	ctx := context.Background()

	t.Run("the sign-in page offers the provider", func(t *testing.T) {
		resp, err := http.Get(app.URL() + "/signin?next=/dora")
		if err != nil {
			t.Fatal(err)
		}
		doc, _ := goquery.NewDocumentFromReader(resp.Body)
		resp.Body.Close()
		btn := doc.Find(`[data-testid="signin-sso"]`)
		if href, _ := btn.Attr("href"); strings.TrimSpace(btn.Text()) != "Sign in with Acme SSO" || href != "/signin/oidc?next=%2Fdora" {
			t.Fatalf("button %q → %q", btn.Text(), href)
		}
		if doc.Find(`[data-testid="signin-form"] #password`).Length() != 1 {
			t.Fatal("the password form is gone")
		}
	})

	t.Run("claims map to roles; the highest wins; the page first asked for follows", func(t *testing.T) {
		for _, c := range []struct {
			user idpUser
			want domain.Role
		}{
			{person("sub-ada", "ada@example.com", "tl-admins", "tl-viewers"), domain.RoleAdmin},
			{person("sub-bob", "bob@example.com", "engineering", "platform"), domain.RoleEditor},
			{person("sub-cy", "cy@example.com", "tl-viewers"), domain.RoleViewer},
		} {
			r := signInSSO(t, app, m, c.user, "/signin/oidc?next=/dora", nil)
			if r.status != http.StatusOK || r.path != "/dora" || r.doc.Find(`[data-testid="nav"]`).Length() == 0 {
				t.Fatalf("%s: %d at %s: %s", c.user.sub, r.status, r.path, r.errorText())
			}
			u := userByEmail(t, app, c.user.claims["email"].(string))
			if u == nil || u.Role != c.want || u.Subject != m.Issuer()+" "+c.user.sub || len(u.PasswordHash) != 0 {
				t.Fatalf("%s: stored %+v, want role %s", c.user.sub, u, c.want)
			}
		}
	})

	t.Run("the users page says who signs in through the provider", func(t *testing.T) {
		r := signInSSO(t, app, m, person("sub-ada", "ada@example.com", "tl-admins"), "/signin/oidc?next=/settings/users", nil)
		if r.status != http.StatusOK || r.path != "/settings/users" {
			t.Fatalf("%d at %s: %s", r.status, r.path, r.errorText())
		}
		for _, email := range []string{"ada@example.com", "bob@example.com", "cy@example.com"} {
			row := r.doc.Find(`[data-testid="users-table"] tr`).FilterFunction(func(_ int, s *goquery.Selection) bool {
				return strings.TrimSpace(s.Find("td").First().Text()) == email
			})
			// The provider sets their role at each sign-in: no form here
			// that the next sign-in would undo.
			if row.Find(`[data-testid="sso-user"]`).Length() != 1 || row.Find(`select[name="role"]`).Length() != 0 {
				t.Errorf("%s: not shown as a single sign-on account without a role form:\n%s", email, strings.Join(strings.Fields(row.Text()), " "))
			}
		}
	})

	t.Run("a role claim holding one string", func(t *testing.T) {
		// Nested claim paths are covered in adapters/oidc.
		u := idpUser{sub: "sub-dee", claims: map[string]any{"email": "dee@example.com", "groups": "tl-editors"}}
		r := signInSSO(t, app, m, u, "/signin/oidc", nil)
		if r.status != http.StatusOK || r.path != "/" {
			t.Fatalf("%d at %s: %s", r.status, r.path, r.errorText())
		}
		if got := userByEmail(t, app, "dee@example.com"); got == nil || got.Role != domain.RoleEditor {
			t.Fatalf("stored %+v", got)
		}
	})

	t.Run("no role is refused, never defaulted", func(t *testing.T) {
		r := signInSSO(t, app, m, person("sub-eve", "eve@example.com", "engineering"), "/signin/oidc", nil)
		msg := r.errorText()
		if r.status != http.StatusForbidden || !strings.Contains(msg, "has no Throughline role") || !strings.Contains(msg, "tl-viewers") {
			t.Fatalf("%d: %q", r.status, msg)
		}
		if userByEmail(t, app, "eve@example.com") != nil {
			t.Fatal("a user without a role was stored")
		}
		if resp, _ := r.client.Get(app.URL() + "/dora"); resp.Request.URL.Path != "/signin" {
			t.Fatalf("refused person reached %s", resp.Request.URL)
		}
	})

	t.Run("losing every role at the provider ends the account and its sessions", func(t *testing.T) {
		first := signInSSO(t, app, m, person("sub-fay", "fay@example.com", "tl-editors"), "/signin/oidc?next=/dora", nil)
		if first.status != http.StatusOK || first.path != "/dora" {
			t.Fatalf("%d at %s: %s", first.status, first.path, first.errorText())
		}
		// Removed from every group at the provider, fay tries again from
		// another browser; the browser signed in before loses its session.
		again := signInSSO(t, app, m, person("sub-fay", "fay@example.com", "engineering"), "/signin/oidc", nil)
		if again.status != http.StatusForbidden {
			t.Fatalf("%d: %s", again.status, again.errorText())
		}
		if u := userByEmail(t, app, "fay@example.com"); u != nil {
			t.Fatalf("account kept: %+v", u)
		}
		if resp, _ := first.client.Get(app.URL() + "/dora"); resp.Request.URL.Path != "/signin" {
			t.Fatalf("the old session still reaches %s", resp.Request.URL)
		}
		entries, err := app.Store.AuditLog(ctx, 50)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, e := range entries {
			found = found || (e.Action == "user.delete" && e.Target == "fay@example.com" && strings.Contains(e.Detail, "was editor"))
		}
		if !found {
			t.Error("the removal is not in the audit log")
		}
	})

	t.Run("the role follows the provider at the next sign-in, audited", func(t *testing.T) {
		r := signInSSO(t, app, m, person("sub-cy", "cy@example.com", "tl-admins"), "/signin/oidc", nil)
		if r.status != http.StatusOK {
			t.Fatalf("%d: %s", r.status, r.errorText())
		}
		if u := userByEmail(t, app, "cy@example.com"); u.Role != domain.RoleAdmin {
			t.Fatalf("role %s after promotion", u.Role)
		}
		r = signInSSO(t, app, m, person("sub-cy", "cy@example.com", "tl-viewers"), "/signin/oidc", nil)
		if r.status != http.StatusOK {
			t.Fatalf("%d: %s", r.status, r.errorText())
		}
		if u := userByEmail(t, app, "cy@example.com"); u.Role != domain.RoleViewer {
			t.Fatalf("role %s after demotion", u.Role)
		}
		entries, err := app.Store.AuditLog(ctx, 200)
		if err != nil {
			t.Fatal(err)
		}
		var seen []string
		for _, e := range entries {
			if e.Target == "cy@example.com" {
				seen = append(seen, e.Action+": "+e.Detail)
			}
		}
		all := strings.Join(seen, "\n")
		for _, want := range []string{"user.create: role viewer from single sign-on", "user.role: role admin (was viewer) from single sign-on",
			"user.role: role viewer (was admin) from single sign-on", "user.signin: single sign-on, role viewer"} {
			if !strings.Contains(all, want) {
				t.Errorf("audit lacks %q:\n%s", want, all)
			}
		}
	})

	t.Run("refused tokens", func(t *testing.T) {
		now := time.Now()
		for _, c := range []struct {
			name   string
			user   idpUser
			tamper func(*http.Request)
			status int
			want   string
		}{
			{"wrong state", person("sub-s", "s@example.com", "tl-admins"), func(r *http.Request) {
				if r.URL.Path == "/signin/oidc/callback" {
					q := r.URL.Query()
					q.Set("state", "forged")
					r.URL.RawQuery = q.Encode()
				}
			}, http.StatusBadRequest, "state mismatch"},
			{"wrong nonce", person("sub-n", "n@example.com", "tl-admins"), func(r *http.Request) {
				if strings.HasSuffix(r.URL.Path, mockoidc.AuthorizationEndpoint) {
					q := r.URL.Query()
					q.Set("nonce", "attacker-nonce")
					r.URL.RawQuery = q.Encode()
				}
			}, http.StatusUnauthorized, "nonce mismatch"},
			{"wrong PKCE verifier", person("sub-p", "p@example.com", "tl-admins"), func(r *http.Request) {
				if strings.HasSuffix(r.URL.Path, mockoidc.AuthorizationEndpoint) {
					q := r.URL.Query()
					q.Set("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
					r.URL.RawQuery = q.Encode()
				}
			}, http.StatusUnauthorized, "refused to complete the sign-in"},
			{"wrong audience", idpUser{sub: "sub-a", claims: map[string]any{"email": "a@example.com", "groups": []string{"tl-admins"}, "aud": []string{"another-app"}}},
				nil, http.StatusUnauthorized, "another application"},
			{"expired", idpUser{sub: "sub-x", claims: map[string]any{"email": "x@example.com", "groups": []string{"tl-admins"},
				"iat": now.Add(-2 * time.Hour).Unix(), "nbf": now.Add(-2 * time.Hour).Unix(), "exp": now.Add(-time.Hour).Unix()}},
				nil, http.StatusUnauthorized, "expired"},
			{"e-mail not verified", idpUser{sub: "sub-u", claims: map[string]any{"email": "u@example.com", "email_verified": false, "groups": []string{"tl-admins"}}},
				nil, http.StatusForbidden, "not verified"},
			{"e-mail verified as a string false", idpUser{sub: "sub-u2", claims: map[string]any{"email": "u2@example.com", "email_verified": "false", "groups": []string{"tl-admins"}}},
				nil, http.StatusForbidden, "not verified"},
			{"no e-mail", idpUser{sub: "sub-noemail", claims: map[string]any{"groups": []string{"tl-admins"}}},
				nil, http.StatusBadRequest, "no usable e-mail"},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := signInSSO(t, app, m, c.user, "/signin/oidc?next=/settings/users", c.tamper)
				msg := r.errorText()
				if r.status != c.status || r.path == "/settings/users" || !strings.Contains(msg, c.want) {
					t.Fatalf("%d at %s: %q, want %d %q", r.status, r.path, msg, c.status, c.want)
				}
				if email, _ := c.user.claims["email"].(string); email != "" && userByEmail(t, app, email) != nil {
					t.Fatal("refused person was stored")
				}
				if resp, _ := r.client.Get(app.URL() + "/settings/users"); resp.Request.URL.Path != "/signin" {
					t.Fatalf("refused person reached %s", resp.Request.URL)
				}
			})
		}
	})

	t.Run("callback without or with a stale flow, or with the provider's error", func(t *testing.T) {
		get := func(c *http.Client, path string) (int, string) {
			resp, err := c.Get(app.URL() + path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			doc, _ := goquery.NewDocumentFromReader(resp.Body)
			return resp.StatusCode, doc.Find(`[data-testid="signin-error"]`).Text()
		}
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar}
		if st, msg := get(c, "/signin/oidc/callback?code=x&state=y"); st != http.StatusBadRequest || !strings.Contains(msg, "not started in this browser") {
			t.Errorf("no cookie: %d %q", st, msg)
		}
		// A flow cookie from eleven minutes ago.
		stale, _ := json.Marshal(map[string]any{"s": "st", "n": "no", "v": "ve", "next": "/", "exp": time.Now().Add(-time.Minute).Unix()})
		u, _ := url.Parse(app.URL())
		jar.SetCookies(u, []*http.Cookie{{Name: "throughline_sso", Value: base64.RawURLEncoding.EncodeToString(stale)}})
		if st, msg := get(c, "/signin/oidc/callback?code=x&state=st"); st != http.StatusBadRequest || !strings.Contains(msg, "took too long") {
			t.Errorf("stale flow: %d %q", st, msg)
		}
		// A garbled cookie.
		jar.SetCookies(u, []*http.Cookie{{Name: "throughline_sso", Value: "%%%not-base64"}})
		if st, _ := get(c, "/signin/oidc/callback?code=x&state=st"); st != http.StatusBadRequest {
			t.Errorf("garbled flow: %d", st)
		}
		// The person declined at the provider.
		r := signInSSO(t, app, nil, idpUser{}, "/signin/oidc", func(r *http.Request) {
			if strings.HasSuffix(r.URL.Path, mockoidc.AuthorizationEndpoint) {
				q := r.URL.Query()
				*r.URL = *mustParse(t, app.URL()+"/signin/oidc/callback?error=access_denied&state="+url.QueryEscape(q.Get("state")))
				r.Host = r.URL.Host
			}
		})
		if r.status != http.StatusUnauthorized || !strings.Contains(r.errorText(), "access denied") {
			t.Errorf("access denied: %d %q", r.status, r.errorText())
		}
	})

	t.Run("the next page stays on this site", func(t *testing.T) {
		for _, next := range []string{"//evil.example/x", "https://evil.example/", "/\\evil.example", "/signin/oidc"} {
			r := signInSSO(t, app, m, person("sub-ada", "ada@example.com", "tl-admins"), "/signin/oidc?next="+url.QueryEscape(next), nil)
			if r.status != http.StatusOK || r.path != "/" {
				t.Errorf("next=%s: %d at %s", next, r.status, r.path)
			}
		}
	})

	t.Run("flow cookie attributes", func(t *testing.T) {
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		for _, proto := range []string{"", "https"} {
			req, _ := http.NewRequest(http.MethodGet, app.URL()+"/signin/oidc", nil)
			if proto != "" {
				req.Header.Set("X-Forwarded-Proto", proto) // the app trusts its proxy here
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			var flow *http.Cookie
			for _, ck := range resp.Cookies() {
				if ck.Name == "throughline_sso" {
					flow = ck
				}
			}
			loc, _ := url.Parse(resp.Header.Get("Location"))
			q := loc.Query()
			if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc.String(), m.AuthorizationEndpoint()) ||
				q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" || q.Get("state") == "" {
				t.Fatalf("redirect %d to %s", resp.StatusCode, loc)
			}
			if flow == nil || !flow.HttpOnly || flow.SameSite != http.SameSiteLaxMode || flow.MaxAge != 600 || flow.Path != "/" || flow.Secure != (proto == "https") {
				t.Fatalf("proto %q: flow cookie %+v", proto, flow)
			}
			if strings.Contains(flow.Value, q.Get("code_challenge")) {
				t.Fatal("the cookie should hold the verifier, not the challenge")
			}
		}
	})

	t.Run("local accounts still sign in; single sign-on accounts have no password", func(t *testing.T) {
		if _, err := app.Store.CreateUser(ctx, "local@example.com", domain.RoleViewer, "correct horse battery"); err != nil {
			t.Fatal(err)
		}
		signInHTTP(t, app.URL(), "local@example.com", "correct horse battery")

		for _, pw := range []string{"", "correct horse battery", "anything at all!"} {
			jar, _ := cookiejar.New(nil)
			c := &http.Client{Jar: jar}
			resp, _ := c.Get(app.URL() + "/signin")
			doc, _ := goquery.NewDocumentFromReader(resp.Body)
			resp.Body.Close()
			csrf, _ := doc.Find(`input[name="_csrf"]`).Attr("value")
			resp, err := c.PostForm(app.URL()+"/signin", url.Values{"_csrf": {csrf}, "email": {"ada@example.com"}, "password": {pw}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("password %q for a single sign-on account: %d", pw, resp.StatusCode)
			}
		}
		// Nor can the provider take over the local account by its e-mail.
		r := signInSSO(t, app, m, person("sub-local", "local@example.com", "tl-admins"), "/signin/oidc", nil)
		if r.status != http.StatusConflict || !strings.Contains(r.errorText(), "already exists") {
			t.Fatalf("takeover: %d %q", r.status, r.errorText())
		}
		if u := userByEmail(t, app, "local@example.com"); u.Role != domain.RoleViewer || u.Subject != "" {
			t.Fatalf("local account changed: %+v", u)
		}
	})
}

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// The provider is down when Throughline starts: it starts anyway, the
// button reports the provider unreachable, and sign-in works once the
// provider is up. When the provider goes down mid-flow, the callback says so
// and the server keeps serving.
func TestSingleSignOnProviderDown(t *testing.T) {
	idpAddr := "127.0.0.1:" + freePort(t)
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + idpAddr + mockoidc.IssuerBase
	app, _ := startApp(t, ssoConfig(t, issuer, m.ClientID, m.ClientSecret))

	r := signInSSO(t, app, nil, idpUser{}, "/signin/oidc?next=/dora", nil)
	if r.status != http.StatusServiceUnavailable || !strings.Contains(r.errorText(), "cannot be reached") || r.doc.Find(`[data-testid="signin-sso"]`).Length() != 1 {
		t.Fatalf("provider down: %d %q", r.status, r.errorText())
	}
	if resp, err := http.Get(app.URL() + "/healthz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz while the provider is down: %v", err)
	}

	ln, err := net.Listen("tcp", idpAddr)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(oidc.DiscoveryRetry) // a provider that just failed is left alone this long
	r = signInSSO(t, app, m, person("sub-late", "late@example.com", "tl-viewers"), "/signin/oidc?next=/dora", nil)
	if r.status != http.StatusOK || r.path != "/dora" {
		t.Fatalf("provider back: %d at %s: %q", r.status, r.path, r.errorText())
	}

	// Down again between the provider's redirect and the code exchange.
	m.QueueUser(person("sub-late", "late@example.com", "tl-viewers"))
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if req.URL.Path == "/signin/oidc/callback" {
			_ = m.Shutdown()
		}
		return nil
	}}
	resp, err := c.Get(app.URL() + "/signin/oidc")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "cannot be reached") {
		t.Fatalf("provider down mid-flow: %d", resp.StatusCode)
	}
	if resp, err := http.Get(app.URL() + "/healthz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz after the provider went down: %v", err)
	}
}

func TestSingleSignOnFlagsAreChecked(t *testing.T) {
	for _, c := range []struct {
		name string
		set  func(*Config)
		want string
	}{
		{"client id without issuer", func(c *Config) { c.OIDCClientID = "x" }, "--oidc-issuer is required"},
		{"no role values", func(c *Config) {
			c.OIDCIssuer, c.OIDCClientID, c.OIDCRedirectURL = "https://idp.example", "x", "https://tl.example/signin/oidc/callback"
		}, "no claim value grants a role"},
		{"no redirect URL", func(c *Config) {
			c.OIDCIssuer, c.OIDCClientID, c.OIDCViewerValues = "https://idp.example", "x", "staff"
		}, "--oidc-redirect-url"},
		{"relative issuer", func(c *Config) {
			c.OIDCIssuer, c.OIDCClientID, c.OIDCViewerValues, c.OIDCRedirectURL = "idp.example", "x", "staff", "https://tl.example/signin/oidc/callback"
		}, "absolute http(s) URL"},
	} {
		cfg := DefaultConfig()
		c.set(&cfg)
		if _, err := singleSignOn(cfg, nil, nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	cfg := DefaultConfig()
	if w, err := singleSignOn(cfg, nil, nil); err != nil || w.Provider != nil {
		t.Fatalf("off by default: %+v %v", w, err)
	}
}
