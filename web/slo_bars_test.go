package web_test

import (
	"context"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/throughline/throughline/domain"
)

// The SLO list draws each error budget as long as the budget left, without
// an inline style (our CSP blocks them, which drew every bar full length).
// The checkout traffic has 1,500 bad of 60,000 requests: against 96 %,
// 2,400 may fail, so 1 − 1500/2400 = 37.5 % is left; against 99.9 % the
// budget is overspent and the bar is empty.
func TestSLOListBudgetBars(t *testing.T) {
	T := time.Now().UTC().Truncate(time.Minute)
	e := newEnvAt(t, false, func() time.Time { return T })
	storeCheckoutTraffic(t, e, T)
	e.user("a@example.com", domain.RoleViewer)
	for _, s := range []struct {
		name   string
		target float64
	}{{"checkout-loose", 0.96}, {"checkout-strict", 0.999}} {
		attrs := map[string]string{"route": "/checkout"}
		if _, err := e.store.CreateSLO(context.Background(), domain.SLO{Name: s.name, Service: "checkout",
			Good: domain.MetricQuery{Metric: "http.requests.good", Attributes: attrs}, Total: domain.MetricQuery{Metric: "http.requests", Attributes: attrs},
			Target: s.target, WindowDays: 28}, "test"); err != nil {
			t.Fatal(err)
		}
	}
	_, doc := e.get(e.signIn("a@example.com"), "/slos")
	if n := doc.Find("[style]").Length(); n > 0 {
		t.Errorf("%d inline style attributes; the CSP (style-src 'self') ignores them", n)
	}
	want := map[string]string{"checkout-loose": "37.5", "checkout-strict": "0"}
	rows := doc.Find(`[data-testid="slo-row"]`)
	if rows.Length() != len(want) {
		t.Fatalf("%d SLO rows; want %d", rows.Length(), len(want))
	}
	rows.Each(func(_ int, row *goquery.Selection) {
		name := row.Find("td a").First().Text()
		track, _ := row.Find(`[data-testid="budget-bar"] .budget-track`).Attr("width")
		fill, ok := row.Find(`[data-testid="budget-bar"] .budget-fill`).Attr("width")
		if !ok || track != "100" || fill != want[name] {
			t.Errorf("%s: budget bar fills %q of %q; want %q of 100", name, fill, track, want[name])
		}
	})
}
