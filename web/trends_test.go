package web_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/throughline/throughline/domain"
	"github.com/throughline/throughline/domain/domaintest"
)

// getCSV downloads a trends table and parses it.
func getCSV(t *testing.T, e *env, c *http.Client, path string) [][]string {
	t.Helper()
	resp, err := c.Get(e.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Fatalf("GET %s: content type %q", path, ct)
	}
	if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") {
		t.Errorf("GET %s: disposition %q", path, cd)
	}
	rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if err != nil {
		t.Fatalf("GET %s: %v\n%s", path, err, body)
	}
	return rows
}

// storeEvents stores events straight into the store, as the consumer
// would, in the order given.
func (e *env) storeEvents(evs []domain.Event) {
	e.t.Helper()
	recs := make([]domain.EventRecord, len(evs))
	for i, ev := range evs {
		recs[i] = domain.EventRecord{Event: ev, Raw: []byte(`{}`), StreamSeq: uint64(i + 1)}
	}
	if _, err := e.store.StoreEvents(context.Background(), recs); err != nil {
		e.t.Fatal(err)
	}
}

func checkRows(t *testing.T, name string, got, want [][]string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s:\n got %q\nwant %q", name, got, want)
	}
}

// The DORA story (domaintest): in the week of Monday 2 March 2026 checkout
// deploys 7 times and rolls back once, search deploys once: 9 production
// deployments. Of checkout's 7 non-rollback deployments and search's one, 4
// failed. The week after has none, and so has the fortnight before.
func TestTrendsDeliveryNumbersAndCSV(t *testing.T) {
	now := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
	e := newEnvAt(t, false, func() time.Time { return now })
	ctx := context.Background()
	e.storeEvents(domaintest.DORAStory())
	if _, err := e.store.CreateValueStream(ctx, domain.ValueStream{Name: "Payments", Teams: []string{"payments"}, Stages: domain.DefaultStages()}, "t"); err != nil {
		t.Fatal(err)
	}
	e.user("viewer@example.com", domain.RoleViewer)
	c := e.signIn("viewer@example.com")

	q := "from=2026-03-02&to=2026-03-15&bucket=week"
	resp, doc := e.get(c, "/trends?"+q)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("trends: %d", resp.StatusCode)
	}
	card := func(key string) (value, tier, change string) {
		s := doc.Find(`[data-testid="trend-` + key + `"]`)
		return strings.TrimSpace(s.Find(`[data-testid="value"]`).Text()), strings.TrimSpace(s.Find(`[data-testid="tier"]`).Text()),
			strings.TrimSpace(s.Find(`[data-testid="change"]`).Text())
	}
	// 9 deployments over 14 days: 0.642857… per day, high (≥ 1/7). The
	// previous fortnight (16 Feb – 1 Mar) is covered only from the story's
	// first event on 28 February: no comparison with it.
	if v, tier, change := card("deployment_frequency"); v != "0.64 per day" || tier != "high" ||
		change != "the previous period is only partly covered (2 of 14 days), so it is not compared" {
		t.Errorf("deployment frequency card: %q %q %q", v, tier, change)
	}
	// 4 failed of 8 non-rollback deployments: 50%, low.
	if v, tier, _ := card("change_failure_rate"); v != "50.0%" || tier != "low" {
		t.Errorf("change failure rate card: %q %q", v, tier)
	}
	if n := doc.Find(`svg.chart .band`).Length(); n == 0 {
		t.Error("no tier bands drawn")
	}
	if got := doc.Find(`[data-testid="trends-scope"]`).Text(); !strings.Contains(got, "2 Mar – 15 Mar 2026") || !strings.Contains(got, "16 Feb – 1 Mar 2026") {
		t.Errorf("scope line %q", got)
	}

	// Raw values as the API gives them (rates from 0 to 1, seconds), with
	// six significant digits: 9/7 = 1.285714… per day.
	checkRows(t, "deployment frequency per week", getCSV(t, e, c, "/trends.csv?"+q+"&table=dora-deployment_frequency"), [][]string{
		{"week starting", "from", "to", "deployment_frequency (per day)", "tier", "deployments", "covered days"},
		{"2026-03-02", "2026-03-02", "2026-03-08", "1.28571", "elite", "9", "7"},
		{"2026-03-09", "2026-03-09", "2026-03-15", "0", "", "0", "7"},
	})
	checkRows(t, "change failure rate per week", getCSV(t, e, c, "/trends.csv?"+q+"&table=dora-change_failure_rate"), [][]string{
		{"week starting", "from", "to", "change_failure_rate (0–1)", "tier", "deployments", "covered days"},
		{"2026-03-02", "2026-03-02", "2026-03-08", "0.5", "low", "9", "7"},
		{"2026-03-09", "2026-03-09", "2026-03-15", "", "", "0", "7"},
	})

	// Side by side: checkout 8 deployments in the first week (8/7 a day),
	// search 1 (1/7); the Payments stream is checkout's.
	_, doc = e.get(c, "/trends?"+q+"&compare=service")
	if n := doc.Find(`[data-testid="compare-deployment_frequency"] .multiple`).Length(); n != 2 {
		t.Errorf("%d small multiples by service, want 2", n)
	}
	checkRows(t, "by service", getCSV(t, e, c, "/trends.csv?"+q+"&compare=service&table=compare-service-deployment_frequency"), [][]string{
		{"week starting", "checkout", "search"},
		{"2026-03-02", "1.14286", "0.142857"},
		{"2026-03-09", "0", "0"},
	})
	checkRows(t, "by stream", getCSV(t, e, c, "/trends.csv?"+q+"&compare=stream&table=compare-stream-deployment_frequency"), [][]string{
		{"week starting", "Payments"},
		{"2026-03-02", "1.14286"},
		{"2026-03-09", "0"},
	})

	// The page answers for one stream too: Payments is checkout only.
	_, doc = e.get(c, "/trends?"+q+"&stream=1")
	if v, _, _ := card("deployment_frequency"); v != "0.57 per day" { // 8 / 14
		t.Errorf("Payments stream deployment frequency %q, want 0.57 per day", v)
	}

	// Bad queries get a clear 400; an unknown table a 404.
	for path, want := range map[string]int{
		"/trends?bucket=year":                  http.StatusBadRequest,
		"/trends?compare=planet":               http.StatusBadRequest,
		"/trends?from=yesterday":               http.StatusBadRequest,
		"/trends?stream=x":                     http.StatusBadRequest,
		"/trends.csv?" + q:                     http.StatusBadRequest,
		"/trends.csv?" + q + "&table=nonsense": http.StatusNotFound,
	} {
		if resp, _ := e.get(c, path); resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
}

// The flow story (value stream tests): CHK-1 (feature) reaches production on
// 4 March and is done on 5 March, CHK-2 (defect) on 5 and 6 March; CHK-3 is
// in Code. CHK-1 gets a verdict, CHK-2 has a key result and none yet.
func TestTrendsOutcomesAndFlow(t *testing.T) {
	now := time.Date(2026, 4, 10, 0, 0, 0, 0, time.UTC)
	e := newEnvAt(t, false, func() time.Time { return now })
	ctx := context.Background()
	storeFlowStory(t, e, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13})
	obj, err := e.store.CreateObjective(ctx, domain.Objective{Title: "Checkout converts"}, "pm")
	if err != nil {
		t.Fatal(err)
	}
	kr, err := e.store.CreateKeyResult(ctx, domain.KeyResult{ObjectiveID: obj.ID, Title: "Conversion to 12%", Metric: "shop.conversion",
		Baseline: 10, Target: 12, Direction: domain.Increase}, "pm")
	if err != nil {
		t.Fatal(err)
	}
	// A title that a spreadsheet would run as a formula.
	if _, err := e.store.UpdateIdea(ctx, "CHK-2", "pm", "edit", func(i *domain.Idea) error {
		i.KeyResults, i.Title = []int64{kr.ID}, "=HYPERLINK(\"http://x\")"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.SetIdeaVerdict(ctx, "CHK-1", domain.VerdictValidated, "it worked", "pm"); err != nil {
		t.Fatal(err)
	}
	// Conversion: week of 2 March daily 10 and 11 (mean 10.5 → 25%), week of
	// 9 March 11.5 (→ 75%), nothing after.
	var samples []domain.Sample
	for day, v := range map[int]float64{2: 10, 3: 11, 10: 11.5} {
		samples = append(samples, domain.Sample{Metric: "shop.conversion", Value: v, Time: time.Date(2026, 3, day, 12, 0, 0, 0, time.UTC)})
	}
	if _, err := e.store.StoreEvents(ctx, []domain.EventRecord{{Event: domain.Event{Identity: domain.Identity{Source: "/t", ID: "tel"},
		Kind: domain.KindTelemetry, Type: "dev.throughline.telemetry.v1", Time: samples[0].Time, Samples: samples}, Raw: []byte(`{}`), StreamSeq: 100}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.CreateValueStream(ctx, domain.ValueStream{Name: "Checkout", Teams: []string{"payments"}, Stages: domain.DefaultStages()}, "t"); err != nil {
		t.Fatal(err)
	}
	e.user("viewer@example.com", domain.RoleViewer)
	c := e.signIn("viewer@example.com")
	q := "from=2026-03-02&to=2026-04-05&bucket=week"
	resp, doc := e.get(c, "/trends?"+q)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("trends: %d", resp.StatusCode)
	}
	if got := doc.Find(`[data-testid="awaiting"] tbody tr`).Length(); got != 1 || !strings.Contains(doc.Find(`[data-testid="awaiting"] tbody`).Text(), "CHK-2") {
		t.Errorf("awaiting rows %d: %q", got, doc.Find(`[data-testid="awaiting"]`).Text())
	}
	checkRows(t, "verdicts per quarter", getCSV(t, e, c, "/trends.csv?"+q+"&table=verdicts"), [][]string{
		{"quarter starting", "shipped", "validated", "invalidated", "inconclusive", "no verdict yet", "validated share"},
		{"2026-01-01", "2", "1", "0", "0", "1", "0.5"},
		{"2026-04-01", "0", "0", "0", "0", "0", ""},
	})
	// CHK-2 reached production at D+3 09:00 = 5 March 09:00; on 10 April that is 35 days and 15 hours.
	checkRows(t, "awaiting", getCSV(t, e, c, "/trends.csv?"+q+"&table=awaiting"), [][]string{
		{"idea", "title", "team", "in production since", "days", "key result"},
		{"CHK-2", "'=HYPERLINK(\"http://x\")", "payments", "2026-03-05", "35", "yes"},
	})
	krRows := getCSV(t, e, c, fmt.Sprintf("/trends.csv?%s&table=kr-%d", q, kr.ID))
	checkRows(t, "key-result progress", krRows[:4], [][]string{
		{"week starting", "days with data", "shop.conversion (mean of the week's daily means)", "progress over the week (1 = target)"},
		{"2026-03-02", "2", "10.5", "0.25"},
		{"2026-03-09", "1", "11.5", "0.75"},
		{"2026-03-16", "0", "", ""},
	})
	// Flow per month: March finishes CHK-1 (72 h = 259200 s); CHK-2 has a key
	// result and no verdict, so it is still in Monitor; April finishes
	// nothing.
	flow := getCSV(t, e, c, "/trends.csv?"+q+"&table=flow")
	if len(flow) != 3 {
		t.Fatalf("flow rows %q", flow)
	}
	checkRows(t, "flow per month", [][]string{flow[0], flow[1][:8], flow[2][:8]}, [][]string{
		{"value stream", "month starting", "velocity (items done)", "feature", "defect", "risk", "debt", "median flow time (s)", "flow efficiency (0–1)", "constraint", "constraint: why"},
		{"Checkout", "2026-03-01", "1", "1", "0", "0", "0", "259200"},
		{"Checkout", "2026-04-01", "0", "0", "0", "0", "0", ""},
	})
	// January lies before the first stored event: no data, so empty cells
	// and a "no data" column in the bars, never a month in which nothing
	// finished.
	early := getCSV(t, e, c, "/trends.csv?from=2026-01-01&to=2026-04-05&bucket=week&table=flow")
	if len(early) != 5 || !slices.Equal(early[1][:7], []string{"Checkout", "2026-01-01", "", "", "", "", ""}) || early[3][2] != "1" {
		t.Errorf("flow per month from January: %q", early)
	}
	if _, d := e.get(c, "/trends?from=2026-01-01&to=2026-04-05"); d.Find(`rect.bar-nodata`).Length() == 0 {
		t.Error("the velocity bars draw January as a month with nothing finished, not as no data")
	}
	if n := doc.Find(`[data-testid="constraints"] .constraint-grid tbody tr`).Length(); n != 1 {
		t.Errorf("constraint rows %d", n)
	}
	if !strings.Contains(doc.Find(`[data-testid="reliability-empty"]`).Text(), "No SLOs declared yet") {
		t.Error("the reliability section must say there are no SLOs yet")
	}

	// The overview shows the handful of numbers, each linking on. In Now
	// counts the open ideas the Now column shows: CHK-1 is done.
	_, doc = e.get(c, "/")
	for id, want := range map[string]string{"tile-shipped": "0", "tile-awaiting": "1", "tile-now": "2"} {
		if got := strings.TrimSpace(doc.Find(`[data-testid="` + id + `"] [data-testid="value"]`).Text()); got != want {
			t.Errorf("overview %s = %q, want %q", id, got, want)
		}
	}
	if href, _ := doc.Find(`[data-testid="tile-stream"]`).Attr("href"); href != "/value-streams/1" {
		t.Errorf("stream tile links to %q", href)
	}
}
