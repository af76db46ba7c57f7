package web_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/throughline/throughline/domain"
	"github.com/throughline/throughline/domain/domaintest"
)

// Every table a page shows downloads as CSV with the same rows, raw values
// where the page formats them, and without the forms and buttons of its
// cells. The dataset is the DORA story (domaintest): in the week of 2 March
// 2026 checkout deploys 7 times and rolls back once, search deploys once; 4
// of the 8 non-rollback deployments failed.
func TestEveryTableDownloadsAsCSV(t *testing.T) {
	now := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
	e := newEnvAt(t, false, func() time.Time { return now })
	ctx := context.Background()
	e.storeEvents(domaintest.DORAStory())
	e.user("admin@example.com", domain.RoleAdmin)
	c := e.signIn("admin@example.com") // an admin sees every form in every table

	pages := []string{"/", "/dora?from=2026-03-02&to=2026-03-15", "/services", "/settings", "/settings/ingest",
		"/settings/users", "/settings/tokens", "/settings/audit", "/slos"}
	if _, _, err := e.store.CreateToken(ctx, "ci", []domain.Scope{domain.ScopeIngest}); err != nil {
		t.Fatal(err)
	}
	var downloaded []string
	for _, path := range pages {
		resp, doc := e.get(c, path)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
		// Every table is downloadable: marked for the page's CSV, or the
		// numbers of a chart with its own download.
		doc.Find("table").Each(func(_ int, tbl *goquery.Selection) {
			if _, ok := tbl.Attr("data-csv"); ok || tbl.Closest("form").Length() > 0 {
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
			want := tbl.Find("tr").Length()
			if len(rows) != want {
				t.Errorf("%s table %s: %d CSV rows, the page shows %d rows", path, id, len(rows), want)
			}
			for _, r := range rows {
				for _, cell := range r {
					for _, control := range []string{"Save verdict", "Change verdict", "Revoke", "Remove", "Replay", "Save"} {
						if strings.Contains(cell, control) {
							t.Errorf("%s table %s: a control's label in the CSV: %q", path, id, cell)
						}
					}
				}
			}
		})
	}
	if want := []string{"/#system", "/dora?from=2026-03-02&to=2026-03-15#weekly", "/dora?from=2026-03-02&to=2026-03-15#deployments",
		"/dora?from=2026-03-02&to=2026-03-15#incidents", "/services#services", "/settings#health", "/settings/users#users",
		"/settings/tokens#tokens"}; !slices.Equal(downloaded, want) {
		t.Errorf("tables downloaded:\n%q\nwant\n%q", downloaded, want)
	}

	// The numbers themselves, raw: the week of 2 March has 9 deployments,
	// 9/7 per day, change failure rate 4/8.
	weekly := getCSV(t, e, c, "/dora?from=2026-03-02&to=2026-03-15&csv=weekly")
	if got := weekly[0]; !slices.Equal(got[:5], []string{"Week of", "Deployments", "Per day", "Lead time median (s)", "Change failure rate"}) {
		t.Errorf("weekly head %q", got)
	}
	if got := weekly[1]; got[1] != "9" || got[4] != "0.5" {
		t.Errorf("week of 2 March: %q (want 9 deployments, rate 0.5)", got)
	}
	// The failed deployments, with their times in RFC 3339 and the whole
	// artifact id.
	deps := getCSV(t, e, c, "/dora?from=2026-03-02&to=2026-03-15&csv=deployments")
	if len(deps) != 1+4 {
		t.Fatalf("failed deployments CSV: %d rows, want 4 and the head:\n%q", len(deps), deps)
	}
	for _, r := range deps[1:] {
		if _, err := time.Parse(time.RFC3339, r[0]); err != nil {
			t.Errorf("deployment time %q: %v", r[0], err)
		}
		if !strings.Contains(r[4], "failed") {
			t.Errorf("verdict %q of a failed deployment", r[4])
		}
	}

	// A table the page does not show.
	resp, _ := e.get(c, "/dora?csv=nothing")
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown table: %d, want 404", resp.StatusCode)
	}
	// A viewer downloads what a viewer sees; the admin pages stay closed.
	e.user("viewer@example.com", domain.RoleViewer)
	v := e.signIn("viewer@example.com")
	if resp, _ := e.get(v, "/settings/users?csv=users"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer downloading users: %d, want 403", resp.StatusCode)
	}
}
