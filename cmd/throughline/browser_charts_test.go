package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// chartProblems lists, for the page in the browser, chart text drawn
// smaller than 11 px, outside its chart, or over a neighbouring label, and
// charts with fewer than two labels along their time or category axis.
const chartProblems = `(() => {
	const out = [];
	const name = el => (el.closest('[data-testid]')?.dataset.testid || el.closest('section')?.id || '?') + ' "' + el.textContent.trim() + '"';
	for (const fig of document.querySelectorAll('.chart-figure')) {
		const box = fig.getBoundingClientRect();
		if (box.width === 0) continue;
		const texts = [...fig.querySelectorAll('svg text')].filter(t => t.getClientRects().length && t.textContent.trim());
		for (const t of texts) {
			const px = parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a;
			if (px < 11) out.push(name(t) + ' drawn at ' + px.toFixed(1) + ' px');
			const r = t.getBoundingClientRect();
			if (r.left < box.left - 1 || r.right > box.right + 1) out.push(name(t) + ' outside its chart');
		}
		const axis = [...fig.querySelectorAll('svg g.axis text')].filter(t => t.getClientRects().length).map(t => t.getBoundingClientRect());
		if (axis.length < 2) out.push(name(fig) + ' shows ' + axis.length + ' labels along its axis');
		for (let i = 0; i < axis.length; i++) for (let j = i + 1; j < axis.length; j++) {
			const a = axis[i], b = axis[j];
			if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom) out.push(name(fig) + ' has overlapping time labels');
		}
	}
	return out.slice(0, 12);
})()`

// TestBrowserChartsReadAtEveryWidth measures the drawn charts of the demo
// at a desktop and a phone width: tick labels at least 11 px, inside their
// chart and apart, years on a two-year axis, and error-budget bars as long
// as the budget left (an inline width was blocked by the CSP, so every bar
// was drawn full length).
func TestBrowserChartsReadAtEveryWidth(t *testing.T) {
	ctx, app := demoInBrowser(t)

	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1440, 900), chromedp.Navigate(app.URL()+"/slos"), chromedp.WaitVisible(`[data-testid="slos"]`)); err != nil {
		t.Fatal(err)
	}
	// Each bar's fill against the budget left printed beside it.
	bars := browse(t, ctx, chromedp.Evaluate[[][2]float64](`[...document.querySelectorAll('[data-testid="slo-row"]')].map(r => {
		const bar = r.querySelector('.budget-bar'), fill = bar.lastElementChild;
		const left = parseFloat(bar.parentElement.querySelector('span.small').textContent);
		return [fill.getBoundingClientRect().width / bar.getBoundingClientRect().width, left];
	})`))
	if len(bars) == 0 {
		t.Fatal("no SLO rows")
	}
	partial := false
	for _, b := range bars {
		want := math.Max(0, math.Min(1, b[1]/100))
		if math.Abs(b[0]-want) > 0.01 {
			t.Errorf("a bar drawn %.0f%% full for %.1f%% of the budget left", b[0]*100, b[1])
		}
		partial = partial || (want > 0.02 && want < 0.98)
	}
	if !partial {
		t.Errorf("no demo SLO has part of its budget left to measure: %v", bars)
	}

	pages := []string{"/trends", "/trends?from=2025-01-01&to=2026-12-05", "/trends?compare=team", "/value-streams/1", "/slos/1", "/ideas/CHK-15"}
	for _, width := range []int64{1440, 390} {
		for _, page := range pages {
			if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 900), chromedp.Navigate(app.URL()+page), chromedp.WaitVisible(`.chart-frame`)); err != nil {
				t.Fatalf("%s at %d px: %v", page, width, err)
			}
			for _, p := range browse(t, ctx, chromedp.Evaluate[[]string](chartProblems)) {
				t.Errorf("%s at %d px: %s", page, width, p)
			}
			screenshot(t, ctx, "charts-"+strings.NewReplacer("/", "_", "?", "_", "&", "_", "=", "-").Replace(page)+"-"+strconv.FormatInt(width, 10))
		}
	}

	// The two-year view names its years under the delivery charts.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 900), chromedp.Navigate(app.URL()+"/trends?from=2025-01-01&to=2026-12-05"), chromedp.WaitVisible(`[data-testid="chart-lead_time"]`)); err != nil {
		t.Fatal(err)
	}
	labels := browse(t, ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-testid="chart-lead_time"] svg.chart g.axis text')].map(t => t.textContent.trim())`))
	for _, year := range []string{"2025", "2026"} {
		if !strings.Contains(strings.Join(labels, " "), year) {
			t.Errorf("the two-year axis does not show %s: %s", year, fmt.Sprint(labels))
		}
	}
}
