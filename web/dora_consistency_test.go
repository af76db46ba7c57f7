package web_test

import (
	"context"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/throughline/throughline/domain"
	"github.com/throughline/throughline/domain/domaintest"
	"github.com/throughline/throughline/web/views"
)

// doraAPI is the part of GET /api/v1/dora a page headlines.
type doraAPI struct {
	From, To            string
	CoveredDays         int `json:"covered_days"`
	DeploymentFrequency struct {
		Deployments int      `json:"deployments"`
		PerDay      *float64 `json:"per_day"`
		Tier        *string  `json:"tier"`
	} `json:"deployment_frequency"`
	LeadTime struct {
		Changes int      `json:"changes"`
		Median  *float64 `json:"median_seconds"`
		Tier    *string  `json:"tier"`
	} `json:"lead_time"`
	ChangeFailureRate struct {
		Failed, Deployments int
		Rate                *float64 `json:"rate"`
		Tier                *string  `json:"tier"`
	} `json:"change_failure_rate"`
	RecoveryTime struct {
		Failures int      `json:"failures"`
		Median   *float64 `json:"median_seconds"`
		Tier     *string  `json:"tier"`
	} `json:"recovery_time"`
	TimeToRestore struct {
		Incidents int      `json:"incidents"`
		Median    *float64 `json:"median_seconds"`
	} `json:"time_to_restore"`
	ReworkRate struct {
		Rework int      `json:"rework"`
		Rate   *float64 `json:"rate"`
	} `json:"rework_rate"`
}

// headline is what a page should show for each metric key, from the API's
// numbers, in each metric's one display unit.
func (a doraAPI) headline() map[string]struct{ value, tier string } {
	scaled := func(p *float64, by float64) *float64 {
		if p == nil {
			return nil
		}
		v := *p / by
		return &v
	}
	tier := func(p *string) string {
		if p == nil {
			return "no data"
		}
		return *p
	}
	return map[string]struct{ value, tier string }{
		"deployment_frequency": {views.OptionalMetricText(a.DeploymentFrequency.PerDay, "per day"), tier(a.DeploymentFrequency.Tier)},
		"lead_time":            {views.OptionalMetricText(scaled(a.LeadTime.Median, 86400), "days"), tier(a.LeadTime.Tier)},
		"change_failure_rate":  {views.OptionalMetricText(scaled(a.ChangeFailureRate.Rate, 0.01), "%"), tier(a.ChangeFailureRate.Tier)},
		"recovery_time":        {views.OptionalMetricText(scaled(a.RecoveryTime.Median, 3600), "hours"), tier(a.RecoveryTime.Tier)},
		"rework_rate":          {views.OptionalMetricText(scaled(a.ReworkRate.Rate, 0.01), "%"), ""},
		"time_to_restore":      {views.OptionalMetricText(scaled(a.TimeToRestore.Median, 3600), "hours"), ""},
	}
}

// Every page that shows a DORA figure shows the API's figure for the same
// scope and window, in the same unit: the overview's tiles, the DORA page's
// cards and its weekly table, the trends headlines and their CSV, for all
// services, a service and a team. The DORA story (domaintest), seen on 20
// March 2026: its first event is on 28 February, so the overview's 90 days
// have 21 covered days and 9 deployments make 0.43 per day.
func TestDORAPagesAgreeWithTheAPI(t *testing.T) {
	now := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
	e := newEnvAt(t, false, func() time.Time { return now })
	e.storeEvents(domaintest.DORAStory())
	_, token, err := e.store.CreateToken(context.Background(), "consistency", []domain.Scope{domain.ScopeRead})
	if err != nil {
		t.Fatal(err)
	}
	e.user("viewer@example.com", domain.RoleViewer)
	c := e.signIn("viewer@example.com")
	api := func(q string) doraAPI {
		var a doraAPI
		apiJSON(t, e, "/api/v1/dora"+q, token, &a)
		return a
	}

	// Hand-computed anchor, so that pages and API agreeing on a wrong
	// figure still fails: 9 deployments over 21 covered days.
	whole := api("")
	if whole.CoveredDays != 21 || whole.DeploymentFrequency.Deployments != 9 || whole.DeploymentFrequency.PerDay == nil ||
		math.Abs(*whole.DeploymentFrequency.PerDay-9.0/21) > 1e-12 || whole.ChangeFailureRate.Failed != 4 {
		t.Fatalf("API over the last 90 days: %+v", whole)
	}

	// Overview: the four rated metrics over the last 90 days.
	_, doc := e.get(c, "/")
	for key, want := range whole.headline() {
		tile := doc.Find(`[data-testid="tile-` + key + `"]`)
		if tile.Length() == 0 {
			continue // rework and restore are on the DORA page
		}
		if got := text(tile.Find(`[data-testid="value"]`)); got != want.value {
			t.Errorf("overview %s = %q, API says %q", key, got, want.value)
		}
	}
	if got := text(doc.Find(`[data-testid="coverage-note"]`)); !strings.Contains(got, "21 of the 90 days") {
		t.Errorf("overview coverage note %q", got)
	}

	cardIDs := map[string]string{"deployment_frequency": "deployment-frequency", "lead_time": "lead-time", "change_failure_rate": "change-failure-rate",
		"recovery_time": "recovery-time", "rework_rate": "rework-rate", "time_to_restore": "time-to-restore"}
	for _, q := range []string{"", "?from=2026-03-02&to=2026-03-15", "?service=checkout", "?team=discovery&from=2026-02-01&to=2026-03-20"} {
		a := api(q)
		want := a.headline()
		// The DORA page's cards.
		_, doc := e.get(c, "/dora"+q)
		for key, id := range cardIDs {
			card := doc.Find(`[data-testid="metric-` + id + `"]`)
			if got := text(card.Find(`[data-testid="value"]`)); got != want[key].value {
				t.Errorf("/dora%s %s = %q, API says %q", q, key, got, want[key].value)
			}
			if want[key].tier != "" {
				if got := text(card.Find(`[data-testid="tier"]`)); got != want[key].tier {
					t.Errorf("/dora%s %s tier %q, API says %q", q, key, got, want[key].tier)
				}
			}
		}
		foot := text(doc.Find(`[data-testid="metric-deployment-frequency"] .stat-foot`))
		if !strings.Contains(foot, strconv.Itoa(a.DeploymentFrequency.Deployments)+" production deployment") ||
			!strings.Contains(foot, strconv.Itoa(a.CoveredDays)+" covered day") {
			t.Errorf("/dora%s frequency foot %q; API: %d deployments, %d covered days", q, foot, a.DeploymentFrequency.Deployments, a.CoveredDays)
		}

		// The trends headlines for the same window and scope.
		tq := q
		if !strings.Contains(tq, "from=") {
			sep := "?"
			if tq != "" {
				sep = "&"
			}
			tq += sep + "from=" + a.From + "&to=" + a.To
		}
		_, doc = e.get(c, "/trends"+tq)
		for key, w := range want {
			card := doc.Find(`[data-testid="trend-` + key + `"]`)
			if card.Length() == 0 {
				continue // time to restore is not a trends headline
			}
			if got := text(card.Find(`[data-testid="value"]`)); got != w.value {
				t.Errorf("/trends%s %s = %q, API says %q", tq, key, got, w.value)
			}
		}

		// Week by week: the DORA page's table, the trends CSV and the trend
		// API carry the same per-day figures (empty where there is none).
		var trend struct {
			Buckets []struct {
				Start       string `json:"start"`
				CoveredDays int    `json:"covered_days"`
				Freq        struct {
					PerDay *float64 `json:"per_day"`
				} `json:"deployment_frequency"`
			} `json:"buckets"`
		}
		apiJSON(t, e, "/api/v1/dora/trend"+tq+"&bucket=week", token, &trend)
		rows := getCSV(t, e, c, "/trends.csv"+tq+"&bucket=week&table=dora-deployment_frequency")
		if len(rows) != len(trend.Buckets)+1 {
			t.Fatalf("/trends%s: %d CSV rows for %d buckets", tq, len(rows)-1, len(trend.Buckets))
		}
		for i, b := range trend.Buckets {
			// The CSV keeps six significant digits (docs/api.md).
			want, got := "", rows[i+1][3]
			if b.Freq.PerDay != nil {
				want = strconv.FormatFloat(*b.Freq.PerDay, 'g', 6, 64)
				if g, err := strconv.ParseFloat(got, 64); err == nil && strconv.FormatFloat(g, 'g', 6, 64) == want {
					got = want
				}
			}
			if rows[i+1][0] != b.Start || got != want {
				t.Errorf("/trends%s week %s: CSV %q, API per day %q", tq, b.Start, rows[i+1], want)
			}
		}
	}
}
