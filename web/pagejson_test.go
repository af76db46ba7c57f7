package web_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/throughline/throughline/domain"
)

// The JSON buttons of the value stream and SLO pages work for a signed-in
// user: the page's address with .json answers the API's document through the
// session (DESIGN.md 5), and errors there are JSON too.
func TestPageJSONButtonsUseTheSession(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	e := newEnvAt(t, false, func() time.Time { return now })
	ctx := t.Context()
	e.user("viewer@example.com", domain.RoleViewer)
	vs, err := e.store.CreateValueStream(ctx, domain.ValueStream{Name: "Checkout", Stages: domain.DefaultStages()}, "pm")
	if err != nil {
		t.Fatal(err)
	}
	slo, err := e.store.CreateSLO(ctx, domain.SLO{Name: "checkout-availability", Service: "checkout", Good: domain.MetricQuery{Metric: "ok"},
		Total: domain.MetricQuery{Metric: "all"}, Target: 0.999, WindowDays: 28}, "pm")
	if err != nil {
		t.Fatal(err)
	}
	_, read, _ := e.store.CreateToken(ctx, "r", []domain.Scope{domain.ScopeRead})
	c := e.signIn("viewer@example.com")
	for _, tc := range []struct{ page, api string }{
		{"/value-streams/" + itoa(vs.ID) + "?from=2026-11-01&to=2026-11-30", "/api/v1/value-streams/" + itoa(vs.ID) + "/flow?from=2026-11-01&to=2026-11-30"},
		{"/slos/" + itoa(slo.ID), "/api/v1/slos/" + itoa(slo.ID)},
	} {
		_, doc := e.get(c, tc.page)
		href, ok := doc.Find(`.page-actions a.btn:contains("JSON")`).Attr("href")
		if !ok || strings.HasPrefix(href, "/api/") {
			t.Errorf("%s: JSON button %q; want a page route", tc.page, href)
			continue
		}
		resp, err := c.Get(e.srv.URL + href)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		code, _, want := apiDo(t, e, http.MethodGet, tc.api, read, "")
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || code != 200 || string(body) != want {
			t.Errorf("%s with the session: %d %s\n%s\nwant the API's\n%s", href, resp.StatusCode, resp.Header.Get("Content-Type"), body, want)
		}
	}
	resp, err := c.Get(e.srv.URL + "/slos/999.json")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || apiErrorCode(string(body)) != domain.ENOTFOUND {
		t.Errorf("missing SLO as JSON: %d %s", resp.StatusCode, body)
	}
	if resp, err := e.client().Get(e.srv.URL + "/slos/" + itoa(slo.ID) + ".json"); err != nil || resp.StatusCode == http.StatusOK {
		t.Errorf("without a session: %v %v", resp.StatusCode, err)
	}
}
