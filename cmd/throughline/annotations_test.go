package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/throughline/throughline/domain"
	"github.com/throughline/throughline/domain/domaintest"
)

type annotation struct {
	Time    int64    `json:"time"`
	TimeEnd *int64   `json:"timeEnd"`
	Title   string   `json:"title"`
	Text    string   `json:"text"`
	Tags    []string `json:"tags"`
}

func getAnnotations(t *testing.T, app *App, tok, query string) []annotation {
	t.Helper()
	code, raw := getRaw(t, app.URL()+"/api/v1/annotations?"+query, tok)
	if code != http.StatusOK {
		t.Fatalf("annotations?%s: %d %s", query, code, raw)
	}
	var out []annotation
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("annotations?%s: %v %s", query, err, raw)
	}
	return out
}

func TestGrafanaAnnotationsForDeploymentsAndIncidents(t *testing.T) {
	app, _ := startApp(t, testConfig(t))
	ingest := token(t, app, domain.ScopeIngest)
	read := token(t, app, domain.ScopeRead)
	evs, shift := recentStory()
	postEventsBatch(t, app, ingest, evs)
	waitStatus(t, app, read, ingestStatus{Stored: int64(len(evs))})

	at := func(h float64) int64 { return domaintest.Hour(h).Add(shift).UnixMilli() }
	ms := func(h float64) string { return fmt.Sprint(at(h)) }
	rfc := func(h float64) string { return domaintest.Hour(h).Add(shift).Format(time.RFC3339) }
	day := func(d int) string { return domaintest.Monday.Add(shift).AddDate(0, 0, d).Format(domain.DateLayout) }
	whole := "from=" + ms(-72) + "&to=" + ms(120)

	// checkout's production deployments (the staging one is left out),
	// oldest first, with what each shipped and why it failed.
	type want struct {
		time  int64
		title string
		tags  string
		text  string
	}
	wants := []want{
		{at(0), "checkout deployed A1", "checkout payments deploy", "2 changes: c1, c2."},
		{at(10), "checkout deployed A2", "checkout payments deploy failed", "1 change: c3. Failed: rolled back"},
		{at(11), "checkout rolled back to A1", "checkout payments deploy rollback rework", "Rollback"},
		{at(30), "checkout deployed A3", "checkout payments deploy failed", "Failed: a production incident names the artifact it deployed (I1)"},
		{at(45), "checkout deployed A4", "checkout payments deploy failed", "(I2)"},
		{at(47), "checkout deployed A5", "checkout payments deploy rework", "Hotfix. Rework (hotfix)."},
		{at(80), "checkout deployed A6", "checkout payments deploy rework", "Rework (open incident)."},
		{at(90), "checkout deployed A7", "checkout payments deploy failed", "(I5)"},
	}
	got := getAnnotations(t, app, read, whole+"&service=checkout")
	if len(got) != len(wants) {
		t.Fatalf("%d annotations for checkout; want %d: %+v", len(got), len(wants), got)
	}
	for i, w := range wants {
		g := got[i]
		if g.Time != w.time || g.Title != w.title || strings.Join(g.Tags, " ") != w.tags || !strings.Contains(g.Text, w.text) || g.TimeEnd != nil {
			t.Errorf("annotation %d: %+v\nwant %+v", i, g, w)
		}
	}

	// Without a service: search's deployment too; a team filters as well.
	if got := getAnnotations(t, app, read, whole); len(got) != 9 || got[1].Title != "search deployed B1" || got[1].Time != at(5) {
		t.Errorf("all services: %+v", got)
	}
	if got := getAnnotations(t, app, read, whole+"&team=discovery"); len(got) != 1 || strings.Join(got[0].Tags, " ") != "search discovery deploy" {
		t.Errorf("team discovery: %+v", got)
	}

	// from and to in the three forms: both ends included.
	for _, q := range []string{
		"from=" + ms(10) + "&to=" + ms(45),
		"from=" + url.QueryEscape(rfc(10)) + "&to=" + url.QueryEscape(rfc(45)),
	} {
		got := getAnnotations(t, app, read, q+"&service=checkout")
		if len(got) != 4 || got[0].Time != at(10) || got[3].Time != at(45) {
			t.Errorf("%s: %+v", q, got)
		}
	}
	// Dates: Monday and Tuesday whole (0h to 47h: D1, S1, D2, R1, D3, D4, D5).
	if got := getAnnotations(t, app, read, "from="+day(0)+"&to="+day(1)); len(got) != 7 || got[6].Time != at(47) {
		t.Errorf("dates: %d %+v", len(got), got)
	}

	// Incidents as regions: production ones only; the open one has no end.
	inc := getAnnotations(t, app, read, whole+"&service=checkout&kind=incidents")
	wantInc := []struct {
		start, end float64
		id         string
	}{{40, 42, "I1"}, {46, 46.5, "I2"}, {77, 81, "I3"}, {91, 0, "I5"}, {99, 100, "I4"}}
	if len(inc) != len(wantInc) {
		t.Fatalf("incidents: %+v", inc)
	}
	for i, w := range wantInc {
		g := inc[i]
		if g.Time != at(w.start) || !strings.Contains(g.Title, w.id) || !strings.Contains(strings.Join(g.Tags, " "), "incident") {
			t.Errorf("incident %d: %+v; want %s at %v", i, g, w.id, at(w.start))
		}
		switch {
		case w.end == 0 && (g.TimeEnd != nil || !strings.Contains(strings.Join(g.Tags, " "), "open")):
			t.Errorf("open incident %s: %+v", w.id, g)
		case w.end != 0 && (g.TimeEnd == nil || *g.TimeEnd != at(w.end)):
			t.Errorf("incident %s ends %v; want %v", w.id, g.TimeEnd, at(w.end))
		}
	}
	// A dashboard of a few hours on Friday: I5, open since Thursday, spans
	// it; I4 ended before it.
	if got := getAnnotations(t, app, read, "from="+ms(101)+"&to="+ms(110)+"&service=checkout&kind=incidents"); len(got) != 1 ||
		!strings.Contains(got[0].Title, "I5") || got[0].Time != at(91) || got[0].TimeEnd != nil {
		t.Errorf("incidents spanning a short range: %+v", got)
	}
	if all := getAnnotations(t, app, read, whole+"&service=checkout&kind=all"); len(all) != len(wants)+len(wantInc) {
		t.Errorf("kind=all: %d annotations", len(all))
	}

	// The body Grafana's JSON datasource posts, filters in the query text.
	body := `{"range":{"from":"` + rfc(10) + `","to":"` + rfc(45) + `"},"annotation":{"name":"deploys","enable":true,"query":"service=checkout"}}`
	req, _ := http.NewRequest(http.MethodPost, app.URL()+"/api/v1/annotations", bytes.NewBufferString(body))
	req.Header.Set("Authorization", "Bearer "+read)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var posted []annotation
	err = json.NewDecoder(resp.Body).Decode(&posted)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || len(posted) != 4 || posted[0].Time != at(10) {
		t.Errorf("POST: %d %v %+v", resp.StatusCode, err, posted)
	}

	// Bad input: a clear 400; credentials: 401 and 403.
	for _, q := range []string{"from=yesterday", "from=2026-13-01", "to=" + ms(0) + "&from=" + ms(10), "kind=builds", "from=2020-01-01&to=2026-12-31"} {
		code, raw := getRaw(t, app.URL()+"/api/v1/annotations?"+q, read)
		if code != http.StatusBadRequest || !strings.Contains(string(raw), `"code":"invalid"`) {
			t.Errorf("%s: %d %s; want 400 invalid", q, code, raw)
		}
	}
	for tok, wantCode := range map[string]int{"": http.StatusUnauthorized, ingest: http.StatusForbidden} {
		if code, raw := getRaw(t, app.URL()+"/api/v1/annotations?"+whole, tok); code != wantCode {
			t.Errorf("token %q: %d %s; want %d", tok, code, raw, wantCode)
		}
	}
}
