package main

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/throughline/throughline/domain"
	"github.com/throughline/throughline/domain/domaintest"
)

// postStory sends the hand-computed DORA story as one CloudEvents batch and
// waits until every event is stored.
func postStory(t *testing.T, app *App, ingest, read string) []domain.Event {
	t.Helper()
	evs := domaintest.DORAStory()
	postEventsBatch(t, app, ingest, evs)
	waitStatus(t, app, read, ingestStatus{Stored: int64(len(evs))})
	return evs
}

func getRaw(t *testing.T, url, token string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestDORAAPIMatchesHandComputedNumbers(t *testing.T) {
	app, _ := startApp(t, testConfig(t))
	ingest := token(t, app, domain.ScopeIngest)
	read := token(t, app, domain.ScopeRead)
	evs := postStory(t, app, ingest, read)

	var got map[string]any
	if code := getJSON(t, app.URL()+"/api/v1/dora?from=2026-03-02&to=2026-03-05&service=checkout", read, &got); code != 200 {
		t.Fatalf("dora: %d", code)
	}
	// The arithmetic is in domain/dora_test.go (TestReportForTheWholeStory).
	want := map[string]any{
		"from": "2026-03-02", "to": "2026-03-05",
		"deployment_frequency": map[string]any{"deployments": 8.0, "per_day": 2.0, "tier": "elite"},
		"lead_time": map[string]any{"changes": 8.0, "median_seconds": 36000.0, "p90_seconds": 172800.0, "tier": "elite",
			"start_to_merged_median_seconds": 18000.0, "merged_to_deployed_median_seconds": 7200.0},
		"change_failure_rate": map[string]any{"failed": 4.0, "deployments": 7.0, "rate": 4.0 / 7, "tier": "low"},
		"recovery_time":       map[string]any{"failures": 3.0, "median_seconds": 5400.0, "tier": "high"},
		"time_to_restore":     map[string]any{"incidents": 3.0, "median_seconds": 7200.0},
		"rework_rate":         map[string]any{"rework": 3.0, "deployments": 8.0, "rate": 3.0 / 8},
		// Quick Check: 2 a day → 8, lead 10 h → 8, recovery 1.5 h → 8,
		// CFR 57.1 % → 10 − 5.714 = 4.286, rework 37.5 % → 6.25; overall
		// (8 + 8 + 4.286 + 8 + 6.25) / 5.
		"quick_check": map[string]any{"deployment_frequency": 8.0, "lead_time": 8.0, "recovery_time": 8.0,
			"change_failure_rate": 10 - 400.0/7/10, "rework_rate": 6.25, "overall": (8 + 8 + (10 - 400.0/7/10) + 8 + 6.25) / 5},
	}
	compareJSON(t, "checkout", got, want)

	// All services: search's deployment counts, c1 counts once.
	getJSON(t, app.URL()+"/api/v1/dora?from=2026-03-02&to=2026-03-05", read, &got)
	fr := got["deployment_frequency"].(map[string]any)
	lt := got["lead_time"].(map[string]any)
	cfr := got["change_failure_rate"].(map[string]any)
	if fr["deployments"] != 9.0 || fr["per_day"] != 2.25 || lt["changes"] != 8.0 || cfr["rate"] != 0.5 {
		t.Errorf("all services: %v", got)
	}
	getJSON(t, app.URL()+"/api/v1/dora?from=2026-03-02&to=2026-03-05&team=discovery", read, &got)
	if got["lead_time"].(map[string]any)["median_seconds"] != 190800.0 {
		t.Errorf("team discovery: %v", got)
	}

	// An empty window: real zeros, and nulls for what cannot be computed.
	code, raw := getRaw(t, app.URL()+"/api/v1/dora?from=2026-04-01&to=2026-04-30", read)
	wantEmpty := `{"from":"2026-04-01","to":"2026-04-30","covered_days":30,` +
		`"deployment_frequency":{"deployments":0,"per_day":0,"tier":null},` +
		`"lead_time":{"changes":0,"median_seconds":null,"p90_seconds":null,"tier":null,"start_to_merged_median_seconds":null,"merged_to_deployed_median_seconds":null},` +
		`"change_failure_rate":{"failed":0,"deployments":0,"rate":null,"tier":null},` +
		`"recovery_time":{"failures":0,"median_seconds":null,"tier":null},` +
		`"time_to_restore":{"incidents":0,"median_seconds":null},` +
		`"rework_rate":{"rework":0,"deployments":0,"rate":null},` +
		`"quick_check":{"source":"DORA Quick Check (2024 survey scale)","deployment_frequency":null,"lead_time":null,"change_failure_rate":null,"recovery_time":null,"rework_rate":null,"overall":null}}`
	if code != 200 || strings.TrimSpace(string(raw)) != wantEmpty {
		t.Errorf("empty window: %d\n%s\nwant\n%s", code, raw, wantEmpty)
	}

	// Before the first stored event (28 February): no covered day, so no
	// rate per day and no tier; the count is still a real zero.
	code, raw = getRaw(t, app.URL()+"/api/v1/dora?from=2026-01-01&to=2026-01-31", read)
	if want := `"covered_days":0,"deployment_frequency":{"deployments":0,"per_day":null,"tier":null}`; code != 200 || !strings.Contains(string(raw), want) {
		t.Errorf("window before coverage: %d %s; want %s", code, raw, want)
	}
	for _, bad := range []string{"from=2026-3-2&to=2026-03-05", "from=2026-03-05&to=2026-03-02", "from=2020-01-01&to=2026-03-02", "bucket=day"} {
		path := "/api/v1/dora?"
		if strings.HasPrefix(bad, "bucket") {
			path = "/api/v1/dora/trend?"
		}
		code, raw := getRaw(t, app.URL()+path+bad, read)
		if code != http.StatusBadRequest || !strings.Contains(string(raw), `"invalid"`) {
			t.Errorf("%s: %d %s", bad, code, raw)
		}
	}

	// Trend: weeks start on Monday.
	var trend struct {
		Buckets []map[string]any `json:"buckets"`
	}
	getJSON(t, app.URL()+"/api/v1/dora/trend?from=2026-02-25&to=2026-03-10&bucket=week&service=checkout", read, &trend)
	if len(trend.Buckets) != 3 || trend.Buckets[0]["start"] != "2026-02-23" || trend.Buckets[0]["from"] != "2026-02-25" ||
		trend.Buckets[1]["deployment_frequency"].(map[string]any)["deployments"] != 8.0 {
		t.Errorf("trend %v", trend.Buckets)
	}

	// Deployments, with the reason each failed one failed.
	var deps struct {
		Deployments []map[string]any `json:"deployments"`
	}
	getJSON(t, app.URL()+"/api/v1/deployments?from=2026-03-02&to=2026-03-05&service=checkout", read, &deps)
	if len(deps.Deployments) != 8 {
		t.Fatalf("%d deployments", len(deps.Deployments))
	}
	failed, reasons := 0, 0
	var d4 map[string]any
	for _, d := range deps.Deployments {
		for _, k := range []string{"id", "source", "service", "artifact", "time", "rollback", "failed", "failure_reason", "rework", "changes"} {
			if _, ok := d[k]; !ok {
				t.Errorf("deployment lacks %q: %v", k, d)
			}
		}
		if d["failed"] == true {
			failed++
			if r, _ := d["failure_reason"].(string); r != "" {
				reasons++
			}
		} else if d["failure_reason"] != nil {
			t.Errorf("reason on a deployment that did not fail: %v", d)
		}
		if d["artifact"] == "A4" {
			d4 = d
		}
	}
	if failed != 4 || reasons != 4 {
		t.Errorf("failed %d with reasons %d", failed, reasons)
	}

	// An override through the API is in the metrics at once.
	admin := token(t, app, domain.ScopeAdmin)
	body, _ := json.Marshal(map[string]any{"source": d4["source"], "id": d4["id"], "failed": false, "reason": "provider outage"})
	req, _ := http.NewRequest(http.MethodPost, app.URL()+"/api/v1/deployments/override", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("override: %v %v", err, resp.StatusCode)
	}
	getJSON(t, app.URL()+"/api/v1/dora?from=2026-03-02&to=2026-03-05&service=checkout", read, &got)
	if got["change_failure_rate"].(map[string]any)["failed"] != 3.0 {
		t.Errorf("after override: %v", got["change_failure_rate"])
	}
	_ = evs
}

func compareJSON(t *testing.T, name string, got, want map[string]any) {
	t.Helper()
	for k, w := range want {
		g := got[k]
		if wm, ok := w.(map[string]any); ok {
			gm, _ := g.(map[string]any)
			for kk, ww := range wm {
				gg, present := gm[kk]
				if !present {
					t.Errorf("%s: %s.%s missing", name, k, kk)
					continue
				}
				if wf, ok := ww.(float64); ok {
					if gf, ok := gg.(float64); !ok || math.Abs(gf-wf) > 1e-9 {
						t.Errorf("%s: %s.%s = %v; want %v", name, k, kk, gg, ww)
					}
				} else if gg != ww {
					t.Errorf("%s: %s.%s = %v; want %v", name, k, kk, gg, ww)
				}
			}
			continue
		}
		if g != w {
			t.Errorf("%s: %s = %v; want %v", name, k, g, w)
		}
	}
}
