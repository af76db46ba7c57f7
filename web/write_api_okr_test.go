package web_test

import (
	"strings"
	"testing"

	"github.com/throughline/throughline/adapters/sqlstore"
	"github.com/throughline/throughline/domain"
)

// Objectives and key results edited through the API: update, re-baseline
// (the old baseline kept in the history), retire and archive (and back),
// with the forms' checks and an audit entry each.
func TestWriteAPIObjectivesAndKeyResults(t *testing.T) {
	t.Parallel()
	for _, d := range []sqlstore.Dialect{sqlstore.SQLite, sqlstore.Postgres} {
		t.Run(string(d), func(t *testing.T) { testOKRWrites(t, newEnvWith(t, envOptions{dialect: d})) })
	}
}

func testOKRWrites(t *testing.T, e *env) {
	w := scopedTokens(t, e, domain.ScopeWrite)[domain.ScopeWrite]
	do := func(method, path, body string, want int) string {
		t.Helper()
		code, _, out := apiDo(t, e, method, path, w, body)
		if code != want {
			t.Fatalf("%s %s %s: %d %s; want %d", method, path, body, code, out, want)
		}
		return out
	}
	field := func(body string) string { return decodeBody[writeErr](t, body).Error.Field }
	do("POST", "/api/v1/objectives", `{"title":"Checkout converts"}`, 201)
	if f := field(do("PATCH", "/api/v1/objectives/1", `{"title":"  "}`, 400)); f != "title" {
		t.Errorf("empty title names %q", f)
	}
	if out := do("PATCH", "/api/v1/objectives/1", `{"description":"More buyers finish"}`, 200); !strings.Contains(out, `"title":"Checkout converts","description":"More buyers finish"`) {
		t.Errorf("objective update: %s", out)
	}
	if f := field(do("POST", "/api/v1/key-results", `{"objective_id":1,"title":"Conversion","metric":"checkout.conversion","baseline":0.03,"target":0.036,"direction":"increase","unit":"furlongs"}`, 400)); f != "unit" {
		t.Errorf("unknown unit names %q", f)
	}
	do("POST", "/api/v1/key-results", `{"objective_id":1,"title":"Conversion","metric":"checkout.conversion","baseline":0.03,"target":0.036,"direction":"increase","unit":"percent"}`, 201)
	if f := field(do("PATCH", "/api/v1/key-results/1", `{"baseline":0.02}`, 400)); f != "baseline" {
		t.Errorf("baseline by PATCH names %q", f)
	}
	if f := field(do("PATCH", "/api/v1/key-results/1", `{"target":0.01}`, 400)); f != "target" {
		t.Errorf("target below an increasing baseline names %q", f)
	}
	if out := do("PATCH", "/api/v1/key-results/1", `{"title":"Checkout conversion","unit":"percent"}`, 200); !strings.Contains(out, `"title":"Checkout conversion"`) || !strings.Contains(out, `"baseline":0.03`) {
		t.Errorf("key result update: %s", out)
	}
	out := do("POST", "/api/v1/key-results/1/rebaseline", `{"baseline":0.032,"note":"tracking fixed"}`, 200)
	if !strings.Contains(out, `"baseline":0.032`) || !strings.Contains(out, `"previous_baselines":[{"baseline":0.03,`) || !strings.Contains(out, `"note":"tracking fixed"`) {
		t.Errorf("rebaseline: %s", out)
	}
	out = do("POST", "/api/v1/key-results/1/rebaseline", `{"baseline":0.031}`, 200)
	if strings.Count(out, `"replaced_at"`) != 2 {
		t.Errorf("second rebaseline keeps both: %s", out)
	}
	if out := do("POST", "/api/v1/key-results/1/retire", ``, 200); !strings.Contains(out, `"state":"retired"`) {
		t.Errorf("retire: %s", out)
	}
	if out := do("POST", "/api/v1/key-results/1/archive", `{"archived":true}`, 200); !strings.Contains(out, `"state":"archived"`) {
		t.Errorf("archive: %s", out)
	}
	if out := do("GET", "/api/v1/export", "", 200); !strings.Contains(out, `"state":"archived"`) || !strings.Contains(out, `"unit":"percent"`) {
		t.Errorf("export of the key result: %s", out)
	}
	do("POST", "/api/v1/key-results/1/archive", `{"archived":false}`, 200)
	if out := do("POST", "/api/v1/key-results/1/retire", `{"retired":false}`, 200); !strings.Contains(out, `"state":"active"`) {
		t.Errorf("unretire: %s", out)
	}
	if out := do("POST", "/api/v1/objectives/1/archive", ``, 200); !strings.Contains(out, `"archived":true`) {
		t.Errorf("objective archive: %s", out)
	}
	do("PATCH", "/api/v1/key-results/99", `{"title":"x"}`, 404)
	e.user("viewer@example.com", domain.RoleViewer)
	c := e.signIn("viewer@example.com")
	if _, doc := e.get(c, "/outcomes"); strings.Contains(doc.Text(), "Checkout converts") {
		t.Error("an archived objective is still on the outcomes page")
	}
	log, err := e.store.AuditLog(t.Context(), 50)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, a := range log {
		seen[a.Action] = true
	}
	for _, want := range []string{"objective.create", "objective.update", "objective.archive", "keyresult.create", "keyresult.update",
		"keyresult.rebaseline", "keyresult.retire", "keyresult.unretire", "keyresult.archive", "keyresult.restore"} {
		if !seen[want] {
			t.Errorf("no %s in the audit log", want)
		}
	}
}
