package web_test

import (
	"slices"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/throughline/throughline/domain"
	"github.com/throughline/throughline/domain/domaintest"
)

// Small multiples share a scale: side by side, checkout (8 deployments in
// a week) and search (1) are drawn against the same value axis, which
// starts at zero, so search's line lies low instead of filling its panel.
func TestTrendsSmallMultiplesShareAScale(t *testing.T) {
	now := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
	e := newEnvAt(t, false, func() time.Time { return now })
	e.storeEvents(domaintest.DORAStory())
	e.user("viewer@example.com", domain.RoleViewer)
	_, doc := e.get(e.signIn("viewer@example.com"), "/trends?from=2026-03-02&to=2026-03-15&bucket=week&compare=service")
	metrics := doc.Find(`[data-testid="compare"] .compare-metric`)
	if metrics.Length() == 0 {
		t.Fatal("no side-by-side metrics")
	}
	metrics.Each(func(_ int, m *goquery.Selection) {
		key, _ := m.Attr("data-testid")
		var axes [][]string
		m.Find(".multiple").Each(func(_ int, cell *goquery.Selection) {
			var labels []string
			cell.Find("svg.chart-y text").Each(func(_ int, s *goquery.Selection) { labels = append(labels, s.Text()) })
			if len(labels) > 0 {
				axes = append(axes, labels)
			}
		})
		for _, a := range axes {
			if !slices.Equal(a, axes[0]) {
				t.Errorf("%s: panels have different value axes: %q", key, axes)
				break
			}
			if a[0] != "0" {
				t.Errorf("%s: the value axis starts at %q, not zero", key, a[0])
			}
		}
		if key == "compare-deployment_frequency" && len(axes) != 2 {
			t.Errorf("deployment frequency: %d panels with an axis; want checkout's and search's", len(axes))
		}
	})
}
