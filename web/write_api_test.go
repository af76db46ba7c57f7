package web_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/throughline/throughline/domain"
)

// writeErr is the JSON error of a refused write.
type writeErr struct {
	Error struct {
		Code, Message, Field string
		Fields               map[string]string
	} `json:"error"`
}

func decodeBody[T any](t *testing.T, body string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("not JSON: %v: %s", err, body)
	}
	return v
}

// tokens creates one token per scope and returns their secrets.
func scopedTokens(t *testing.T, e *env, scopes ...domain.Scope) map[domain.Scope]string {
	t.Helper()
	out := map[domain.Scope]string{}
	for _, sc := range scopes {
		_, secret, err := e.store.CreateToken(t.Context(), "t-"+string(sc), []domain.Scope{sc})
		if err != nil {
			t.Fatal(err)
		}
		out[sc] = secret
	}
	return out
}

// A write token changes the roadmap and reads it; read and ingest tokens
// are refused with 403 JSON, no token with 401; nothing they sent is kept.
func TestWriteAPIScopes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	tok := scopedTokens(t, e, domain.ScopeRead, domain.ScopeIngest, domain.ScopeWrite)
	idea := `{"key":"CHK-1","title":"One-click checkout","horizon":"now"}`
	for _, sc := range []domain.Scope{domain.ScopeRead, domain.ScopeIngest} {
		code, _, body := apiDo(t, e, http.MethodPost, "/api/v1/ideas", tok[sc], idea)
		if code != http.StatusForbidden || decodeBody[writeErr](t, body).Error.Code != domain.EFORBIDDEN {
			t.Errorf("%s token: %d %s; want 403 forbidden", sc, code, body)
		}
	}
	if code, _, body := apiDo(t, e, http.MethodPost, "/api/v1/ideas", "", idea); code != http.StatusUnauthorized || apiErrorCode(body) != domain.EUNAUTHORIZED {
		t.Errorf("no token: %d %s", code, body)
	}
	if _, err := e.store.Idea(t.Context(), "CHK-1"); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Fatalf("a refused write was kept: %v", err)
	}
	code, _, body := apiDo(t, e, http.MethodPost, "/api/v1/ideas", tok[domain.ScopeWrite], idea)
	if code != http.StatusCreated || !strings.Contains(body, `"key":"CHK-1"`) {
		t.Fatalf("write token: %d %s", code, body)
	}
	if code, _, body := apiDo(t, e, http.MethodGet, "/api/v1/ideas/CHK-1", tok[domain.ScopeWrite], ""); code != http.StatusOK {
		t.Errorf("write includes read: %d %s", code, body)
	}
}

// Writes validate as the forms do and name the field; the audit log gets
// the forms' entries, with the token as the actor.
func TestWriteAPIIdeas(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	w := scopedTokens(t, e, domain.ScopeWrite)[domain.ScopeWrite]
	post := func(path, body string) (int, string) {
		code, _, out := apiDo(t, e, http.MethodPost, path, w, body)
		return code, out
	}
	for _, tc := range []struct{ body, field string }{
		{`{"key":"CHK-1","title":""}`, "title"},
		{`{"key":"chk","title":"x"}`, "key"},
		{`{"key":"CHK-1","title":"x","horizon":"someday"}`, "horizon"},
		{`{"key":"CHK-1","title":"x","confidence":1.5}`, "confidence"},
		{`{"key":"CHK-1","title":"x","reach":"many"}`, "reach"},
		{`{"key":"CHK-1","title":"x","colour":"red"}`, "colour"},
		{`{"key":"CHK-1","title":"x","planned_at":"2999-01-01"}`, "planned_at"},
	} {
		code, body := post("/api/v1/ideas", tc.body)
		if got := decodeBody[writeErr](t, body); code != http.StatusBadRequest || got.Error.Code != domain.EINVALID || got.Error.Field != tc.field {
			t.Errorf("%s: %d %s; want 400 naming %s", tc.body, code, body, tc.field)
		}
	}
	for _, b := range []string{
		`{"key":"CHK-1","title":"One-click checkout","horizon":"next","reach":1000,"impact":2,"confidence":0.5,"effort":1}`,
		`{"key":"CHK-2","title":"Saved carts","horizon":"next","reach":1000,"impact":2,"confidence":1,"effort":1}`,
		`{"key":"CHK-3","title":"Gift cards","horizon":"next","planned_at":"2026-10-01"}`,
	} {
		if code, body := post("/api/v1/ideas", b); code != http.StatusCreated {
			t.Fatalf("create: %d %s", code, body)
		}
	}
	if code, body := post("/api/v1/ideas", `{"key":"CHK-1","title":"again"}`); code != http.StatusConflict {
		t.Errorf("duplicate key: %d %s", code, body)
	}
	code, _, body := apiDo(t, e, http.MethodPatch, "/api/v1/ideas/CHK-1", w, `{"title":"One-click checkout for returning buyers"}`)
	if code != http.StatusOK || !strings.Contains(body, "returning buyers") || !strings.Contains(body, `"reach":1000`) {
		t.Errorf("patch keeps what it does not name: %d %s", code, body)
	}
	if code, body := post("/api/v1/ideas/CHK-1/move", `{"horizon":"now"}`); code != http.StatusOK || !strings.Contains(body, `"horizon":"now"`) {
		t.Errorf("move: %d %s", code, body)
	}
	if code, body := post("/api/v1/ideas/CHK-1/move", `{"horizon":"done"}`); code != http.StatusBadRequest || !strings.Contains(body, `"field":"horizon"`) {
		t.Errorf("move to done: %d %s", code, body)
	}
	// RICE: CHK-1 1000·2·0.5/1 = 1000, CHK-2 2000, CHK-3 none (and CHK-1 left Next).
	if code, body := post("/api/v1/roadmap/next/rank-by-rice", `{}`); code != http.StatusOK || !strings.Contains(body, `"order":["CHK-2","CHK-3"]`) {
		t.Errorf("rank by RICE: %d %s", code, body)
	}
	if code, body := post("/api/v1/ideas/CHK-3/rank", `{"position":1}`); code != http.StatusOK || !strings.Contains(body, `"order":["CHK-3","CHK-2"]`) {
		t.Errorf("rank: %d %s", code, body)
	}
	ideas, err := e.store.Ideas(t.Context(), domain.IdeaFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, i := range ideas {
		order = append(order, i.Key)
	}
	if strings.Join(order, ",") != "CHK-1,CHK-3,CHK-2" {
		t.Errorf("shared order = %v", order)
	}
	if i, _ := e.store.Idea(t.Context(), "CHK-3"); i.PlannedAt.Format(domain.DateLayout) != "2026-10-01" {
		t.Errorf("backfilled plan date = %v", i.PlannedAt)
	}
	if code, body := post("/api/v1/ideas/CHK-2/archive", ``); code != http.StatusOK || !strings.Contains(body, `"archived":true`) {
		t.Errorf("archive: %d %s", code, body)
	}
	if code, body := post("/api/v1/ideas/CHK-2/archive", `{"archived":false}`); code != http.StatusOK || !strings.Contains(body, `"archived":false`) {
		t.Errorf("restore: %d %s", code, body)
	}
	if code, body := post("/api/v1/ideas/CHK-2/verdict", `{"verdict":"validated"}`); code != http.StatusConflict {
		t.Errorf("verdict before production: %d %s", code, body)
	}
	log, err := e.store.AuditLog(t.Context(), 50)
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]int{}
	for _, a := range log {
		if a.Actor == "token:t-write" {
			actions[a.Action]++
		}
	}
	for _, want := range []string{"idea.create", "idea.update", "idea.move", "idea.reorder", "idea.archive", "idea.restore"} {
		if actions[want] == 0 {
			t.Errorf("no %s audit entry by the token: %v", want, actions)
		}
	}
}

// Objectives, key results, value streams and SLOs through the API, then the
// whole roadmap exported and imported into a new database, twice: the second
// import creates nothing.
func TestWriteAPIExportImportRoundTrip(t *testing.T) {
	t.Parallel()
	src := newEnv(t, false)
	w := scopedTokens(t, src, domain.ScopeWrite)[domain.ScopeWrite]
	must := func(e *env, tok, method, path, body string, want int) string {
		t.Helper()
		code, _, out := apiDo(t, e, method, path, tok, body)
		if code != want {
			t.Fatalf("%s %s: %d %s; want %d", method, path, code, out, want)
		}
		return out
	}
	obj := decodeBody[struct{ ID int64 }](t, must(src, w, "POST", "/api/v1/objectives", `{"title":"Checkout converts","description":"More buyers finish"}`, 201))
	code, _, body := apiDo(t, src, "POST", "/api/v1/key-results", w,
		`{"objective_id":`+itoa(obj.ID)+`,"title":"Conversion up","metric":"checkout.conversion","baseline":0.03,"target":0.02,"direction":"increase"}`)
	if code != 400 || decodeBody[writeErr](t, body).Error.Field != "target" {
		t.Errorf("key result aimed the wrong way: %d %s", code, body)
	}
	kr := decodeBody[struct{ ID int64 }](t, must(src, w, "POST", "/api/v1/key-results",
		`{"objective_id":`+itoa(obj.ID)+`,"title":"Conversion up","metric":"checkout.conversion","baseline":0.03,"target":0.036,"direction":"increase","due":"2027-03-31"}`, 201))
	must(src, w, "POST", "/api/v1/ideas", `{"key":"CHK-7","title":"Apple Pay","horizon":"now","key_results":[`+itoa(kr.ID)+`],"planned_at":"2026-10-01"}`, 201)
	must(src, w, "POST", "/api/v1/ideas", `{"key":"CHK-8","title":"Old idea","horizon":"later"}`, 201)
	must(src, w, "POST", "/api/v1/ideas/CHK-8/archive", `{"archived":true}`, 200)
	vs := decodeBody[struct{ ID int64 }](t, must(src, w, "POST", "/api/v1/value-streams", `{"name":"Checkout","services":["checkout","payments"]}`, 201))
	must(src, w, "PUT", "/api/v1/value-streams/"+itoa(vs.ID), `{"name":"Checkout","services":["checkout"],"teams":[]}`, 200)
	code, _, body = apiDo(t, src, "PUT", "/api/v1/value-streams/"+itoa(vs.ID), w, `{"name":""}`)
	if code != 400 || decodeBody[writeErr](t, body).Error.Field != "name" {
		t.Errorf("nameless value stream: %d %s", code, body)
	}
	slo := `{"name":"checkout-availability","service":"checkout","good":{"metric":"http.ok"},"total":{"metric":"http.all"},"target":0.999,"window_days":28}`
	must(src, w, "POST", "/api/v1/slos", slo, 201)
	code, _, body = apiDo(t, src, "POST", "/api/v1/slos", w, strings.Replace(slo, "0.999", "1.5", 1))
	if code != 400 || decodeBody[writeErr](t, body).Error.Field != "target" {
		t.Errorf("SLO target 1.5: %d %s", code, body)
	}
	gone := decodeBody[struct{ ID int64 }](t, must(src, w, "POST", "/api/v1/value-streams", `{"name":"Scratch"}`, 201))
	must(src, w, "DELETE", "/api/v1/value-streams/"+itoa(gone.ID), "", 204)

	doc := must(src, w, "GET", "/api/v1/export", "", 200)
	for _, want := range []string{`"format":"throughline.roadmap/v1"`, `"key":"CHK-7"`, `"archived":true`, `"planned_at":"2026-10-01T00:00:00Z"`,
		`"name":"Checkout"`, `"name":"checkout-availability"`, `"title":"Conversion up"`} {
		if !strings.Contains(doc, want) {
			t.Errorf("export lacks %s: %s", want, doc)
		}
	}
	if strings.Contains(doc, "Scratch") {
		t.Error("a deleted value stream was exported")
	}

	dst := newEnv(t, false)
	dw := scopedTokens(t, dst, domain.ScopeWrite, domain.ScopeRead)
	if code, _, _ := apiDo(t, dst, "POST", "/api/v1/import", dw[domain.ScopeRead], doc); code != http.StatusForbidden {
		t.Errorf("import with a read token: %d", code)
	}
	first := must(dst, dw[domain.ScopeWrite], "POST", "/api/v1/import", doc, 200)
	if !strings.Contains(first, `"created":{"objectives":1,"key_results":1,"ideas":2,"value_streams":1,"slos":1}`) {
		t.Errorf("first import: %s", first)
	}
	second := must(dst, dw[domain.ScopeWrite], "POST", "/api/v1/import", doc, 200)
	if !strings.Contains(second, `"created":{"objectives":0,"key_results":0,"ideas":0,"value_streams":0,"slos":0}`) {
		t.Errorf("second import created something: %s", second)
	}
	again := must(dst, dw[domain.ScopeWrite], "GET", "/api/v1/export", "", 200)
	strip := func(s string) string { // ids and the export time may differ
		var d map[string]any
		_ = json.Unmarshal([]byte(s), &d)
		delete(d, "exported_at")
		b, _ := json.Marshal(d)
		return string(b)
	}
	if strip(again) != strip(doc) {
		t.Errorf("the new database's roadmap differs:\n%s\nwant\n%s", strip(again), strip(doc))
	}
	idea, err := dst.store.Idea(t.Context(), "CHK-7")
	if err != nil || idea.PlannedAt.Format(domain.DateLayout) != "2026-10-01" || len(idea.KeyResults) != 1 {
		t.Errorf("imported idea: %+v %v", idea, err)
	}
	bad := strings.Replace(doc, `"title":"Apple Pay"`, `"title":""`, 1)
	code, _, body = apiDo(t, dst, "POST", "/api/v1/import", dw[domain.ScopeWrite], bad)
	if code != 400 || !strings.HasPrefix(decodeBody[writeErr](t, body).Error.Field, "ideas.") {
		t.Errorf("import with a nameless idea: %d %s", code, body)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
