package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/throughline/throughline/domain"
)

// concrete fills a route's parameters with plausible values.
func concrete(path string) string {
	r := strings.NewReplacer(":id", "1", ":key", "CHK-1", ":name", "x", "*", "x")
	return r.Replace(path)
}

// Every route the router knows, walked rather than listed by hand: without
// a session a page sends the visitor to sign in (or refuses a form), and
// without a token the API answers 401 in JSON. Only the probes, the assets
// and the sign-in page itself are open. A viewer's session changes nothing.
func TestEveryRouteNeedsSignInOrAToken(t *testing.T) {
	e := newEnv(t, false)
	open := map[string]bool{"GET /healthz": true, "GET /readyz": true, "GET /signin": true, "POST /signin": true, "POST /signout": true,
		"GET /signin/oidc": true, "GET /signin/oidc/callback": true} // single sign-on: TestSingleSignOn* in cmd/throughline
	routes := e.server.Routes()
	if len(routes) < 60 {
		t.Fatalf("only %d routes found", len(routes))
	}
	c := e.client()
	seen := 0
	for _, r := range routes {
		if r.Method != http.MethodGet && r.Method != http.MethodPost {
			continue // echo adds its own handlers for other methods
		}
		id := r.Method + " " + r.Path
		if open[id] || strings.HasPrefix(r.Path, "/assets/") {
			continue
		}
		seen++
		path := concrete(r.Path)
		var resp *http.Response
		if r.Method == http.MethodGet {
			resp, _ = e.get(c, path)
		} else {
			resp, _ = e.post(c, path, url.Values{"name": {"x"}}, http.Header{"Sec-Fetch-Site": {"same-origin"}})
		}
		switch {
		case tokenRoute(r.Path):
			if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				t.Errorf("%s without a token: %d %s", id, resp.StatusCode, resp.Header.Get("Content-Type"))
			}
		case strings.HasPrefix(r.Path, "/webhooks/"): // signed, not signed in: TestWebhooksAreAuthenticatedBySignature
			if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				t.Errorf("%s unsigned: %d %s", id, resp.StatusCode, resp.Header.Get("Content-Type"))
			}
		case r.Method == http.MethodGet:
			if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/signin") {
				t.Errorf("%s without a session: %d → %q", id, resp.StatusCode, resp.Header.Get("Location"))
			}
		default:
			if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s without a session: %d", id, resp.StatusCode)
			}
		}
	}
	t.Logf("%d routes, %d protected walked", len(routes), seen)
	if seen < 50 {
		t.Errorf("only %d protected routes walked", seen)
	}

	// A viewer may read but every form post is refused.
	e.user("viewer@example.com", domain.RoleViewer)
	v := e.signIn("viewer@example.com")
	_, page := e.get(v, "/")
	token, _ := page.Find(`input[name="_csrf"]`).First().Attr("value")
	for _, r := range routes {
		if r.Method != http.MethodPost || strings.HasPrefix(r.Path, "/api/") || open[r.Method+" "+r.Path] ||
			strings.HasPrefix(r.Path, "/webhooks/") || // a signature, not a session: TestWebhooksAreAuthenticatedBySignature
			r.Path == "/v1/metrics" { // OTLP takes a token, not a session: TestOTLPRoute
			continue
		}
		resp, _ := e.post(v, concrete(r.Path), url.Values{"_csrf": {token}, "name": {"x"}}, nil)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("viewer POST %s: %d, want 403", r.Path, resp.StatusCode)
		}
	}
}
