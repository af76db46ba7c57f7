package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/throughline/throughline/domain"
)

// An hour of checkout traffic ending at T: 1,000 requests a minute, 990 good
// for 50 minutes, then 900 good for the last 10. Against 99.9%:
//
//	window: 60,000 requests, 1,500 bad, 60 allowed → budget left 1 − 1500/60 = −24 (change freeze)
//	5 m: 500 bad of 5,000 → 0.1 / 0.001 = 100×;  30 m: 1,200 of 30,000 → 40×
//	1 h (and 2 h, 6 h, 1 d, 3 d: the same hour): 1,500 of 60,000 → 25×
//
// so all four burn-rate alerts fire.
func storeCheckoutTraffic(t *testing.T, e *env, T time.Time) {
	t.Helper()
	var samples []domain.Sample
	for k := 1; k <= 60; k++ {
		at := T.Add(-time.Duration(k)*time.Minute + 10*time.Second)
		good := 990.0
		if k <= 10 {
			good = 900
		}
		attrs := map[string]string{"route": "/checkout"}
		samples = append(samples, domain.Sample{Metric: "http.requests", Value: 1000, Time: at, Attributes: attrs},
			domain.Sample{Metric: "http.requests.good", Value: good, Time: at, Attributes: attrs},
			// Another route's traffic, which the filter must leave out.
			domain.Sample{Metric: "http.requests", Value: 5000, Time: at, Attributes: map[string]string{"route": "/search"}})
	}
	if _, err := e.store.StoreEvents(context.Background(), []domain.EventRecord{{Event: domain.Event{Identity: domain.Identity{Source: "/t", ID: "traffic"},
		Kind: domain.KindTelemetry, Type: "dev.throughline.telemetry.v1", Time: T, Samples: samples}, Raw: []byte(`{}`), StreamSeq: 1}}); err != nil {
		t.Fatal(err)
	}
}

func TestSLOsFormsBudgetsAndPostures(t *testing.T) {
	T := time.Now().UTC().Truncate(time.Minute)
	e := newEnvAt(t, false, func() time.Time { return T })
	storeCheckoutTraffic(t, e, T)
	e.user("pm@example.com", domain.RoleEditor)
	e.user("viewer@example.com", domain.RoleViewer)
	c := e.signIn("pm@example.com")

	// A first attempt with mistakes: the messages show and the input stays.
	form := url.Values{"name": {"Checkout Availability"}, "service": {"checkout"}, "good_metric": {"http.requests.good"},
		"good_attrs": {"route=/checkout"}, "total_metric": {"http.requests"}, "total_attrs": {"route=/checkout"}, "target": {"150"}, "window": {"28"}}
	resp, doc := e.postForm(c, "/slos/new", "/slos", form)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad SLO: %d", resp.StatusCode)
	}
	if doc.Find("#name-error").Text() == "" || doc.Find("#target-error").Text() == "" {
		t.Errorf("no messages for name and target: %q", doc.Find(".field-error").Text())
	}
	if v, _ := doc.Find("#good_attrs").Attr("value"); v != "route=/checkout" {
		t.Errorf("typed attributes lost: %q", v)
	}
	form.Set("name", "checkout-availability")
	form.Set("target", "99.9")
	resp, _ = e.postForm(c, "/slos/new", "/slos", form)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/slos/1" {
		t.Fatalf("create: %d → %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	// The API with the numbers computed by hand above.
	_, secret, err := e.store.CreateToken(context.Background(), "r", []domain.Scope{domain.ScopeRead})
	if err != nil {
		t.Fatal(err)
	}
	code, body := apiGet(t, e, "/api/v1/slos/1", secret)
	if code != http.StatusOK {
		t.Fatalf("GET /api/v1/slos/1: %d %s", code, body)
	}
	var got struct {
		Target          float64             `json:"target"`
		TotalEvents     float64             `json:"total_events"`
		GoodEvents      float64             `json:"good_events"`
		SLI             *float64            `json:"sli"`
		BudgetRemaining *float64            `json:"budget_remaining"`
		Posture         *string             `json:"posture"`
		BurnRates       map[string]*float64 `json:"burn_rates"`
		Alerts          []struct {
			Name   string `json:"name"`
			Firing bool   `json:"firing"`
		} `json:"alerts"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	near := func(what string, p *float64, want float64) {
		t.Helper()
		if p == nil || *p < want-1e-9 || *p > want+1e-9 {
			t.Errorf("%s = %v, want %v", what, p, want)
		}
	}
	if got.TotalEvents != 60000 || got.GoodEvents != 58500 || got.Target != 0.999 {
		t.Errorf("window counts %v good of %v (target %v)", got.GoodEvents, got.TotalEvents, got.Target)
	}
	near("sli", got.SLI, 0.975)
	near("budget remaining", got.BudgetRemaining, -24)
	near("5m burn", got.BurnRates["5m"], 100)
	near("30m burn", got.BurnRates["30m"], 40)
	near("1h burn", got.BurnRates["1h"], 25)
	near("3d burn", got.BurnRates["3d"], 25)
	if got.Posture == nil || *got.Posture != "change-freeze" {
		t.Errorf("posture %v", got.Posture)
	}
	if len(got.Alerts) != 4 {
		t.Fatalf("alerts %+v", got.Alerts)
	}
	for _, a := range got.Alerts {
		if !a.Firing {
			t.Errorf("alert %s does not fire", a.Name)
		}
	}

	// The posture constrains the roadmap: a card touching checkout says so.
	if _, err := e.store.CreateIdea(context.Background(), domain.Idea{Key: "CHK-9", Title: "Faster checkout", Horizon: domain.HorizonNow,
		FlowType: domain.FlowFeature, Services: []string{"checkout"}}, "pm"); err != nil {
		t.Fatal(err)
	}
	_, doc = e.get(c, "/roadmap")
	if chip := doc.Find(`[data-key="CHK-9"] [data-testid="posture"]`).Text(); !strings.Contains(chip, "Change freeze") || !strings.Contains(chip, "checkout") {
		t.Errorf("roadmap card posture %q", chip)
	}
	_, doc = e.get(c, "/ideas/CHK-9")
	if chip := doc.Find(`[data-testid="posture"]`).Text(); !strings.Contains(chip, "Change freeze") {
		t.Errorf("idea page posture %q", chip)
	}
	_, doc = e.get(c, "/slos")
	if p := doc.Find(`[data-testid="slo-posture"]`).Text(); p != "Change freeze" {
		t.Errorf("SLO list posture %q", p)
	}
	_, doc = e.get(c, "/trends")
	if n := doc.Find(`[data-testid="reliability-trend"]`).Length(); n != 1 {
		t.Errorf("%d reliability charts on the trends page", n)
	}
	_, doc = e.get(c, "/")
	if v := strings.TrimSpace(doc.Find(`[data-testid="tile-slo"] [data-testid="value"]`).Text()); v != "Change freeze" {
		t.Errorf("overview SLO tile %q", v)
	}

	// Export, change the target in the file, import it back.
	resp, err = c.Get(e.srv.URL + "/slos.yaml")
	if err != nil {
		t.Fatal(err)
	}
	raw := new(strings.Builder)
	_, _ = io.Copy(raw, resp.Body)
	resp.Body.Close()
	y := raw.String()
	if !strings.Contains(y, "name: checkout-availability") || !strings.Contains(y, "target: 0.999") {
		t.Fatalf("export:\n%s", y)
	}
	resp, _ = e.postForm(c, "/slos", "/slos/import", url.Values{"yaml": {strings.Replace(y, "target: 0.999", "target: 0.95", 1)}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("import: %d", resp.StatusCode)
	}
	if s, err := e.store.SLO(context.Background(), 1); err != nil || s.Target != 0.95 {
		t.Errorf("after import: %+v %v", s, err)
	}
	// A broken file changes nothing and keeps what was pasted.
	resp, doc = e.postForm(c, "/slos", "/slos/import", url.Values{"yaml": {"apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: x}\nspec: {service: s}\n"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(doc.Find(`[data-testid="import-error"]`).Text(), "indicator") {
		t.Errorf("bad import: %d %q", resp.StatusCode, doc.Find(`[data-testid="import-error"]`).Text())
	}
	if ta := doc.Find("#yaml").Text(); !strings.Contains(ta, "kind: SLO") {
		t.Errorf("pasted YAML lost: %q", ta)
	}

	// A viewer reads but cannot change.
	v := e.signIn("viewer@example.com")
	if resp, _ := e.get(v, "/slos/1"); resp.StatusCode != http.StatusOK {
		t.Errorf("viewer reading an SLO: %d", resp.StatusCode)
	}
	if resp, _ := e.postForm(v, "/slos", "/slos/1/delete", nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer deleting an SLO: %d", resp.StatusCode)
	}
	if resp, _ := e.get(v, "/slos/new"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer opening the SLO form: %d", resp.StatusCode)
	}
}
