package web_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/throughline/throughline/adapters/sqlstore"
	"github.com/throughline/throughline/domain"
	"github.com/throughline/throughline/domain/domaintest"
	"github.com/throughline/throughline/web/views"
)

type reviewAPIDoc struct {
	Incident struct {
		ID             string   `json:"id"`
		RestoreSeconds *float64 `json:"restore_seconds"`
		Resolved       *string  `json:"resolved"`
	} `json:"incident"`
	Status             string   `json:"status"`
	RestoreSeconds     *float64 `json:"restore_seconds"`
	SinceDeploySeconds *float64 `json:"since_deploy_seconds"`
	FailedDeployments  []struct {
		ID            string `json:"id"`
		Failed        bool   `json:"failed"`
		FailureReason string `json:"failure_reason"`
	} `json:"failed_deployments"`
	Timeline []struct {
		Time  time.Time `json:"time"`
		Kind  string    `json:"kind"`
		Label string    `json:"label"`
		Key   bool      `json:"key"`
	} `json:"timeline"`
	ContributingFactors []string `json:"contributing_factors"`
	ActionItems         []struct {
		ID    int64   `json:"id"`
		Title string  `json:"title"`
		Idea  *string `json:"idea"`
		Done  bool    `json:"done"`
	} `json:"action_items"`
}

// The review of incident I1 of the DORA story (detected at 40 h, resolved
// at 42 h, naming artifact A3, deployed at 30 h): restore 2 h, 10 h from
// the deployment to the start, and a timeline from 16 h to 43 h holding
// that deployment and the incident's two events. The review page, its API
// and /api/v1/dora agree: the reviews' restore times of the incidents
// resolved in a window have DORA's time-to-restore median (I1 2 h, I2
// 0.5 h, I3 4 h, I4 1 h → 1.5 h), and every deployment a review names as
// failed is failed in /api/v1/deployments for the same reason.
func TestReviewFiguresAgreeWithDORA(t *testing.T) {
	now := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
	e := newEnvAt(t, false, func() time.Time { return now })
	e.storeEvents(domaintest.DORAStory())
	_, token, err := e.store.CreateToken(context.Background(), "reviews", []domain.Scope{domain.ScopeRead})
	if err != nil {
		t.Fatal(err)
	}
	var i1 reviewAPIDoc
	apiJSON(t, e, "/api/v1/incidents/I1/review", token, &i1)
	if i1.RestoreSeconds == nil || *i1.RestoreSeconds != 7200 || i1.SinceDeploySeconds == nil || *i1.SinceDeploySeconds != 36000 {
		t.Fatalf("I1 facts: %+v", i1)
	}
	if len(i1.FailedDeployments) != 1 || !i1.FailedDeployments[0].Failed || i1.Status != "not_started" {
		t.Fatalf("I1 failed deployments: %+v", i1.FailedDeployments)
	}
	var kinds []string
	for _, en := range i1.Timeline {
		kinds = append(kinds, en.Kind+"/"+en.Label)
	}
	want := []string{"deployment/deployed", "incident/detected", "incident/resolved"}
	if !slices.Equal(kinds, want) || !i1.Timeline[0].Key || !i1.Timeline[0].Time.Equal(domaintest.Hour(30)) {
		t.Fatalf("I1 timeline %v, want %v", kinds, want)
	}

	var dora doraAPI
	apiJSON(t, e, "/api/v1/dora?from=2026-02-01&to=2026-03-20", token, &dora)
	var list struct {
		Reviews []struct {
			Incident struct {
				ID       string     `json:"id"`
				Resolved *time.Time `json:"resolved"`
			} `json:"incident"`
			Status string `json:"status"`
		} `json:"reviews"`
	}
	apiJSON(t, e, "/api/v1/reviews?from=2026-02-01&to=2026-03-20", token, &list)
	var restores []float64
	var deps struct {
		Deployments []struct {
			ID            string `json:"id"`
			Failed        bool   `json:"failed"`
			FailureReason string `json:"failure_reason"`
		} `json:"deployments"`
	}
	apiJSON(t, e, "/api/v1/deployments?from=2026-02-01&to=2026-03-20", token, &deps)
	e.user("viewer@example.com", domain.RoleViewer)
	c := e.signIn("viewer@example.com")
	for _, r := range list.Reviews {
		var doc reviewAPIDoc
		apiJSON(t, e, "/api/v1/incidents/"+url.PathEscape(r.Incident.ID)+"/review", token, &doc)
		if r.Incident.Resolved != nil {
			restores = append(restores, *doc.RestoreSeconds)
		}
		for _, fd := range doc.FailedDeployments {
			i := slices.IndexFunc(deps.Deployments, func(d struct {
				ID            string `json:"id"`
				Failed        bool   `json:"failed"`
				FailureReason string `json:"failure_reason"`
			}) bool {
				return d.ID == fd.ID
			})
			if i < 0 || !deps.Deployments[i].Failed || deps.Deployments[i].FailureReason != fd.FailureReason {
				t.Errorf("review of %s names deployment %s failed (%q); /deployments disagrees", r.Incident.ID, fd.ID, fd.FailureReason)
			}
		}
		// The page shows the API's figure in DORA's unit.
		_, page := e.get(c, "/incidents/"+url.PathEscape(r.Incident.ID)+"/review")
		wantText := "still open"
		if doc.RestoreSeconds != nil {
			wantText = views.OptionalMetricText(ptr(*doc.RestoreSeconds/3600), "hours")
		}
		if got := text(page.Find(`[data-testid="fact-restore"]`)); got != wantText {
			t.Errorf("review page of %s: restore %q, API %q", r.Incident.ID, got, wantText)
		}
		if got := page.Find(`[data-testid="fact-deployment"]`).Length(); got != len(doc.FailedDeployments) {
			t.Errorf("review page of %s: %d failed deployments, API %d", r.Incident.ID, got, len(doc.FailedDeployments))
		}
	}
	slices.Sort(restores)
	if len(restores) != 4 || dora.TimeToRestore.Incidents != 4 || dora.TimeToRestore.Median == nil || *dora.TimeToRestore.Median != 5400 ||
		(restores[1]+restores[2])/2 != *dora.TimeToRestore.Median {
		t.Fatalf("restore times %v; DORA %+v", restores, dora.TimeToRestore)
	}
	if code, _ := apiGet(t, e, "/api/v1/incidents/Istaging/review", token); code != http.StatusNotFound {
		t.Errorf("a staging incident has no review: %d", code)
	}
}

func ptr(f float64) *float64 { return &f }

// Editors write the review and its action items; a failed save keeps what
// was typed; an action item becomes an idea in Next that links back; viewers
// read and cannot post; every change is audited.
// On both databases.
func TestReviewIsWrittenAndFeedsTheRoadmap(t *testing.T) {
	for _, d := range []sqlstore.Dialect{sqlstore.SQLite, sqlstore.Postgres} {
		t.Run(string(d), func(t *testing.T) { reviewWorkflow(t, d) })
	}
}

func reviewWorkflow(t *testing.T, dialect sqlstore.Dialect) {
	now := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
	e := newEnvWith(t, envOptions{now: func() time.Time { return now }, dialect: dialect})
	e.storeEvents(domaintest.DORAStory())
	e.user("sre@example.com", domain.RoleEditor)
	e.user("viewer@example.com", domain.RoleViewer)
	ed := e.signIn("sre@example.com")
	page := "/incidents/I1/review"

	// Published without a contributing factor: refused, text kept.
	resp, doc := e.postForm(ed, page, page, url.Values{"status": {"published"}, "summary": {"Checkout <b>500s</b> after A3"}, "learned": {"Retries hid it"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(text(doc.Find("#contributing_factors-error")), "contributing factor") {
		t.Fatalf("publishing without factors: %d %q", resp.StatusCode, text(doc.Find(`[data-testid="form-errors"]`)))
	}
	if v := doc.Find("#summary").Text(); v != "Checkout <b>500s</b> after A3" || doc.Find("#learned").Text() != "Retries hid it" {
		t.Fatalf("the form lost what was typed: %q", v)
	}
	resp, _ = e.postForm(ed, page, page, url.Values{"status": {"published"}, "summary": {"Checkout 500s after A3"},
		"contributing_factors": {"- No canary step\n- Alert on p99 only"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d", resp.StatusCode)
	}

	// An empty action item is refused, and a real one added.
	resp, doc = e.postForm(ed, page, page+"/actions", url.Values{"title": {"   "}})
	if resp.StatusCode != http.StatusUnprocessableEntity || doc.Find("#title-error").Length() == 0 {
		t.Fatalf("empty action: %d", resp.StatusCode)
	}
	if resp, _ = e.postForm(ed, page, page+"/actions", url.Values{"title": {"Add a canary step to checkout"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("add action: %d", resp.StatusCode)
	}
	acts, err := e.store.Actions(context.Background(), "I1")
	if err != nil || len(acts) != 1 {
		t.Fatalf("actions %v %v", acts, err)
	}
	act := page + "/actions/" + strconv.FormatInt(acts[0].ID, 10)

	// A bad key keeps what was typed; a good one puts the idea in Next.
	resp, doc = e.postForm(ed, page, act+"/idea", url.Values{"key": {"not a key"}, "title": {"Canary for checkout"}, "horizon": {"next"}, "flow_type": {"risk"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || doc.Find(`[data-testid="action-idea-form"] input[name="title"]`).AttrOr("value", "") != "Canary for checkout" {
		t.Fatalf("bad idea key: %d", resp.StatusCode)
	}
	_, doc = e.get(ed, page)
	if h := doc.Find(`[data-testid="action-idea-form"] select[name="horizon"] option[selected]`).AttrOr("value", ""); h != "next" {
		t.Errorf("the idea form's default horizon is %q, want next", h)
	}
	if resp, _ = e.postForm(ed, page, act+"/idea", url.Values{"key": {"REL-7"}, "title": {"Canary for checkout"}, "horizon": {"next"}, "flow_type": {"risk"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create idea: %d", resp.StatusCode)
	}
	idea, err := e.store.Idea(context.Background(), "REL-7")
	if err != nil || idea.Horizon != domain.HorizonNext || !slices.Contains(idea.Services, "checkout") {
		t.Fatalf("idea %+v %v", idea, err)
	}
	if resp, _ = e.postForm(ed, page, act+"/idea", url.Values{"key": {"REL-8"}, "title": {"Again"}, "horizon": {"next"}, "flow_type": {"risk"}}); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("a second idea for one action item: %d", resp.StatusCode)
	}
	if resp, _ = e.postForm(ed, page, act+"/done", url.Values{"done": {"true"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("done: %d", resp.StatusCode)
	}

	// Viewers read it all, and the idea links back.
	v := e.signIn("viewer@example.com")
	_, doc = e.get(v, page)
	if got := text(doc.Find(`[data-testid="review-status"]`)); got != "published" || doc.Find(`[data-testid="review-form"]`).Length() != 0 ||
		!strings.Contains(text(doc.Find(`[data-testid="review-written"]`)), "No canary step") ||
		text(doc.Find(`[data-testid="action-idea"] a`)) != "REL-7" {
		t.Fatalf("viewer's review page: status %q, %q", got, text(doc.Find(`[data-testid="review-written"]`)))
	}
	_, doc = e.get(v, "/ideas/REL-7")
	if l := doc.Find(`[data-testid="idea-from-reviews"] a`); l.AttrOr("href", "") != "/incidents/I1/review" {
		t.Errorf("idea page does not link back to the review: %q", l.AttrOr("href", ""))
	}
	_, doc = e.get(v, "/reviews")
	row := doc.Find(`[data-testid="review-row"]`).FilterFunction(func(_ int, s *goquery.Selection) bool { return text(s.Find("td").First()) == "I1" })
	if !strings.Contains(text(row), "published") || !strings.Contains(text(row), "0 of 1") {
		t.Errorf("reviews list row for I1: %q", text(row))
	}
	_, doc = e.get(v, "/dora?from=2026-02-01&to=2026-03-20")
	link := doc.Find(`[data-testid="incident-row"] a[href="/incidents/I1/review"]`)
	if link.Length() != 1 || text(link.Closest("tr").Find(`[data-testid="incident-review"]`)) != "published" ||
		!strings.Contains(text(doc.Find(`[data-testid="dora-review-status"]`)), "1 of 5 published, 0 open action item(s)") {
		t.Errorf("DORA page: review link %d, status %q, line %q", link.Length(), text(link.Closest("tr").Find(`[data-testid="incident-review"]`)),
			text(doc.Find(`[data-testid="dora-review-status"]`)))
	}
	if resp, _ = e.postForm(v, page, page, url.Values{"status": {"draft"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer saved a review: %d", resp.StatusCode)
	}
	if resp, _ = e.post(ed, page, url.Values{"status": {"draft"}}, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("save without CSRF: %d", resp.StatusCode)
	}
	log, err := e.store.AuditLog(context.Background(), 50)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, a := range log {
		if a.Target == "I1" || a.Target == "REL-7" {
			actions = append(actions, a.Action)
		}
	}
	slices.Sort(actions)
	if want := []string{"idea.create", "review.action.add", "review.action.done", "review.action.idea", "review.save"}; !slices.Equal(actions, want) {
		t.Errorf("audit %v, want %v", actions, want)
	}
}
