package web_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/throughline/throughline/domain"
	"github.com/throughline/throughline/domain/domaintest"
)

// Every table a page shows downloads as CSV with the same rows, raw values
// where the page formats them, one date format (YYYY-MM-DD) and one time
// format (RFC 3339 in UTC), numbers without float noise, and without the
// forms and buttons of its cells. The first dataset is the DORA story
// (domaintest): in the week of 2 March 2026 checkout deploys 7 times and
// rolls back once, search deploys once; 4 of the 8 non-rollback
// deployments failed.
func TestEveryTableDownloadsAsCSV(t *testing.T) {
	now := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
	e := newEnvAt(t, false, func() time.Time { return now })
	ctx := context.Background()
	e.storeEvents(domaintest.DORAStory())
	e.user("admin@example.com", domain.RoleAdmin)
	c := e.signIn("admin@example.com") // an admin sees every form in every table
	if _, _, err := e.store.CreateToken(ctx, "ci", []domain.Scope{domain.ScopeIngest}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.CreateSLO(ctx, domain.SLO{Name: "checkout-availability", Service: "checkout", Good: domain.MetricQuery{Metric: "http.good"},
		Total: domain.MetricQuery{Metric: "http.total"}, Target: 0.999, WindowDays: 28}, "pm"); err != nil {
		t.Fatal(err)
	}
	// 20 bad requests in 21000 over the SLO's window: an SLI of 0.999048, a
	// budget left of 1 − (20/21000)/0.001 = 0.047619 (1/21).
	storeSamples(t, e, now.Add(-time.Hour), map[string]float64{"http.good": 20980, "http.total": 21000})
	if _, err := e.store.RecordDeadLetter(ctx, domain.DeadLetter{Subject: "throughline.events.cd", Reason: "invalid", Message: "no type",
		At: now.Add(-90 * time.Minute), Data: []byte(`{"id":"x"}`)}); err != nil {
		t.Fatal(err)
	}
	dora := "/dora?from=2026-03-02&to=2026-03-15"
	downloaded := downloadEveryTable(t, e, c, []string{"/", dora, "/services", "/settings", "/settings/ingest",
		"/settings/users", "/settings/tokens", "/settings/audit", "/slos", "/slos/1"})
	if want := []string{"/#system", dora + "#clusters-2024", dora + "#weekly", dora + "#deployments", dora + "#incidents", "/services#services", "/settings#health",
		"/settings/ingest#dead-letters", "/settings/users#users", "/settings/tokens#tokens", "/settings/audit#audit", "/slos#slos",
		"/slos/1#burn-alerts"}; !slices.Equal(downloaded, want) {
		t.Errorf("tables downloaded:\n%q\nwant\n%q", downloaded, want)
	}

	// The numbers themselves, raw: the week of 2 March has 9 deployments
	// over 7 covered days, 9/7 per day, change failure rate 4/8.
	weekly := getCSV(t, e, c, dora+"&csv=weekly")
	if got := weekly[0]; !slices.Equal(got, []string{"Week of", "Deployments", "Per day", "Lead time median (s)", "Change failure rate",
		"Recovery median (s)", "Rework rate", "Time to restore median (s)", "Covered days"}) {
		t.Errorf("weekly head %q", got)
	}
	if got := weekly[1]; got[0] != "2026-03-02" || got[1] != "9" || got[2] != "1.28571" || got[4] != "0.5" || got[8] != "7" {
		t.Errorf("week of 2 March: %q (want 9 deployments, 1.28571 a day, rate 0.5, 7 days)", got)
	}
	// The failed deployments, with their times and the whole artifact id.
	deps := getCSV(t, e, c, dora+"&csv=deployments")
	if len(deps) != 1+4 {
		t.Fatalf("failed deployments CSV: %d rows, want 4 and the head:\n%q", len(deps), deps)
	}
	for _, r := range deps[1:] {
		if r[4] != "failed" || !strings.HasPrefix(r[6], "a production incident") && !strings.HasPrefix(r[6], "rolled back") {
			t.Errorf("a failed deployment's verdict and why: %q", r)
		}
	}
	// The SLO's figures, raw.
	slos := getCSV(t, e, c, "/slos?csv=slos")
	if got := slos[1]; got[0] != "checkout" || got[2] != "28" || got[3] != "0.999" || got[4] != "0.999048" || got[5] != "0.047619" {
		t.Errorf("SLO row %q (want window 28, target 0.999, SLI 0.999048, budget 0.047619)", got)
	}

	// A table the page does not show, on a page with tables and on pages
	// without (the trends page's download from /trends.csv).
	for _, path := range []string{"/dora?csv=nothing", "/roadmap?csv=weekly", "/trends?csv=flow"} {
		if resp, _ := e.get(c, path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, resp.StatusCode)
		}
	}
	// A viewer downloads what a viewer sees; the admin pages stay closed.
	e.user("viewer@example.com", domain.RoleViewer)
	v := e.signIn("viewer@example.com")
	if resp, _ := e.get(v, "/settings/users?csv=users"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer downloading users: %d, want 403", resp.StatusCode)
	}
}

// The idea and value stream pages' tables, on the flow story: CHK-1 is
// deployed on 4 March at 09:00; its key result reads 9 and 11 on
// alternate days before (mean 10) and 11 and 13 after (mean 12).
func TestIdeaAndValueStreamTablesDownloadAsCSV(t *testing.T) {
	now := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
	e := newEnvAt(t, false, func() time.Time { return now })
	ctx := context.Background()
	storeFlowStory(t, e, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13})
	obj, err := e.store.CreateObjective(ctx, domain.Objective{Title: "Checkout converts"}, "pm")
	if err != nil {
		t.Fatal(err)
	}
	kr, err := e.store.CreateKeyResult(ctx, domain.KeyResult{ObjectiveID: obj.ID, Title: "Conversion", Metric: "shop.conversion",
		Baseline: 10, Target: 12, Direction: domain.Increase}, "pm")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.UpdateIdea(ctx, "CHK-1", "pm", "edit", func(i *domain.Idea) error {
		i.KeyResults = []int64{kr.ID}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	deployed := time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)
	for d := 1; d <= 10; d++ {
		odd := float64(d % 2 * 2)
		storeSamples(t, e, deployed.AddDate(0, 0, -d).Add(12*time.Hour), map[string]float64{"shop.conversion": 9 + odd})
		storeSamples(t, e, deployed.AddDate(0, 0, d).Add(12*time.Hour), map[string]float64{"shop.conversion": 11 + odd})
	}
	vs, err := e.store.CreateValueStream(ctx, domain.ValueStream{Name: "Checkout", Teams: []string{"payments"}, Stages: domain.DefaultStages()}, "pm")
	if err != nil {
		t.Fatal(err)
	}
	e.user("viewer@example.com", domain.RoleViewer)
	c := e.signIn("viewer@example.com")
	idea, stream := "/ideas/CHK-1", fmt.Sprintf("/value-streams/%d?from=2026-03-02&to=2026-03-20", vs.ID)
	evidence := fmt.Sprintf("evidence-%d", kr.ID)
	downloaded := downloadEveryTable(t, e, c, []string{idea, stream})
	if want := []string{idea + "#" + evidence, idea + "#changes", idea + "#runs", idea + "#deployments", stream + "#oldest"}; !slices.Equal(downloaded, want) {
		t.Errorf("tables downloaded:\n%q\nwant\n%q", downloaded, want)
	}
	ev := getCSV(t, e, c, idea+"?csv="+evidence)
	want := [][]string{
		{"Measure", "Days", "Value", "Relative change", "Low", "High"},
		{"Before", "10", "10", "", "", ""},
		{"After", "10", "12", "", "", ""},
		{"Difference", "", "2", "0.2", "", ""},
	}
	if len(ev) != 5 || !slices.EqualFunc(ev[:4], want, slices.Equal) {
		t.Errorf("evidence CSV\n%q\nwant to begin\n%q", ev, want)
	} else if lo, err1 := strconv.ParseFloat(ev[4][4], 64); err1 != nil || lo <= 0 || lo >= 2 {
		t.Errorf("95 %% interval %q: its low end lies between 0 and the difference", ev[4])
	}
	oldest := getCSV(t, e, c, stream+"&csv=oldest")
	if got := oldest[0]; !slices.Equal(got, []string{"Idea", "Title", "Stage", "Type", "Age (s)", "In this stage (s)"}) {
		t.Errorf("oldest head %q", got)
	}
}

// downloadEveryTable fetches every table of the pages as CSV and holds each
// to the page: as many rows as the page shows, one date and one time
// format, numbers without float noise, no control's label. It returns
// page#table for each.
func downloadEveryTable(t *testing.T, e *env, c *http.Client, pages []string) []string {
	t.Helper()
	var downloaded []string
	for _, path := range pages {
		resp, doc := e.get(c, path)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
		// Every table is downloadable: marked for the page's CSV, or the
		// numbers of a chart with its own download (not yet the charts of
		// an SLO, an idea or a value stream, whose numbers show only in
		// their toggles).
		doc.Find("table").Each(func(_ int, tbl *goquery.Selection) {
			if _, ok := tbl.Attr("data-csv"); ok || tbl.Closest("form").Length() > 0 {
				return
			}
			if tbl.Closest("figure").Length() > 0 && chartsWithoutCSV(path) {
				return
			}
			if tbl.Closest(".table-block, figure, section, details").Find("a.csv-link").Length() == 0 {
				t.Errorf("%s: a table without a CSV download: %.120s", path, strings.Join(strings.Fields(tbl.Text()), " "))
			}
		})
		doc.Find("table[data-csv]").Each(func(_ int, tbl *goquery.Selection) {
			id, _ := tbl.Attr("data-csv")
			href := path
			if link := doc.Find(`a[data-testid="csv-` + id + `"]`); link.Length() > 0 {
				href, _ = link.Attr("href")
			} else {
				sep := "?"
				if strings.Contains(path, "?") {
					sep = "&"
				}
				href += sep + "csv=" + id
			}
			rows := getCSV(t, e, c, href)
			downloaded = append(downloaded, path+"#"+id)
			if want := tbl.Find("tbody tr").Length(); len(rows) != want+1 {
				t.Errorf("%s table %s: %d CSV rows under the head, the page shows %d", path, id, len(rows)-1, want)
			}
			if len(rows) > 0 {
				for i, h := range rows[0] {
					if strings.TrimSpace(h) == "" {
						t.Errorf("%s table %s: column %d has no name", path, id, i)
					}
				}
			}
			for _, r := range rows[1:] {
				for _, cell := range r {
					checkCSVCell(t, path+"#"+id, cell)
				}
			}
		})
	}
	return downloaded
}

// chartsWithoutCSV: pages whose charts offer no download of their own.
func chartsWithoutCSV(path string) bool {
	return strings.HasPrefix(path, "/slos/") || strings.HasPrefix(path, "/ideas/") || strings.HasPrefix(path, "/value-streams/")
}

var (
	csvDate     = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	csvTime     = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$`)
	dateLike    = regexp.MustCompile(`\d{4}-\d{2}-\d{2}|\d{2}:\d{2}|\bUTC\b|\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]* \d{4}\b|\bQ[1-4]\b`)
	controlText = []string{"Save verdict", "Change verdict", "Revoke", "Remove", "Replay", "Save", "Let events decide", "add an SLO", "Show the message"}
)

// checkCSVCell holds a cell to the download rules (docs/api.md).
func checkCSVCell(t *testing.T, table, cell string) {
	t.Helper()
	for _, control := range controlText {
		if strings.Contains(cell, control) {
			t.Errorf("%s: a control's label in the CSV: %q", table, cell)
		}
	}
	if dateLike.MatchString(cell) && !csvDate.MatchString(cell) && !csvTime.MatchString(cell) {
		t.Errorf("%s: a date or time not as YYYY-MM-DD or RFC 3339 UTC: %q", table, cell)
	}
	if _, err := strconv.ParseFloat(cell, 64); err != nil {
		return
	}
	if strings.ContainsAny(cell, "eEIN") {
		t.Errorf("%s: a number with an exponent or not finite: %q", table, cell)
	}
	whole, frac, dot := strings.Cut(strings.TrimPrefix(cell, "-"), ".")
	if !dot {
		return
	}
	if frac == "" || strings.HasSuffix(frac, "0") {
		t.Errorf("%s: trailing zeros: %q", table, cell)
	}
	digits := strings.TrimLeft(whole+frac, "0")
	if len(digits) > max(6, len(strings.TrimLeft(whole, "0"))) {
		t.Errorf("%s: %q has more than six significant digits", table, cell)
	}
}

// storeSamples stores telemetry samples taken at one moment.
func storeSamples(t *testing.T, e *env, at time.Time, values map[string]float64) {
	t.Helper()
	var samples []domain.Sample
	for m, v := range values {
		samples = append(samples, domain.Sample{Metric: m, Value: v, Time: at})
	}
	id := fmt.Sprintf("tel-%d-%d", at.UnixNano(), len(values))
	for m := range values {
		id += "-" + m
	}
	if _, err := e.store.StoreEvents(context.Background(), []domain.EventRecord{{Event: domain.Event{Identity: domain.Identity{Source: "/t", ID: id},
		Kind: domain.KindTelemetry, Type: "dev.throughline.telemetry.v1", Time: at, Samples: samples}, Raw: []byte(`{}`), StreamSeq: uint64(at.Unix())}}); err != nil {
		t.Fatal(err)
	}
}
