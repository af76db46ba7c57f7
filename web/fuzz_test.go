package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/throughline/throughline/domain/domaintest"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/throughline/throughline/adapters/cdevents"
	"github.com/throughline/throughline/adapters/openslo"
	"github.com/throughline/throughline/adapters/sqlstore"
	"github.com/throughline/throughline/adapters/sqlstore/sqltest"
	"github.com/throughline/throughline/assets"
	"github.com/throughline/throughline/domain"
	"github.com/throughline/throughline/web"
)

// hostileEnv serves requests in-process, without a network, so that a fuzzer
// can send thousands a second: an admin's session, a token of every scope
// and a little of everything in the store for the parsers to find.
type hostileEnv struct {
	handler http.Handler
	store   *sqlstore.Store
	session string
	token   string
	stream  int64
	slo     int64
}

// fuzzNow is the server's clock: the seeded events fall in its default windows.
var fuzzNow = time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)

func newHostileEnv(tb testing.TB, dialect sqlstore.Dialect) *hostileEnv {
	tb.Helper()
	store := sqltest.Open(tb, dialect)
	a, err := assets.New()
	if err != nil {
		tb.Fatal(err)
	}
	s, err := web.New(web.Config{Version: "test", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, web.Deps{
		Auth: store, Admin: store, Assets: a, Ingest: store, DORA: store, Roadmap: store, ValueStreams: store, StoredEvents: store,
		Events:   gatewayFunc(func(context.Context, http.Header, []byte) ([]web.EventResult, error) { return nil, nil }),
		Replayer: replayFunc(func(context.Context, int64) error { return nil }),
		Now:      func() time.Time { return fuzzNow },
		SLOs:     store,
		Reviews:  store,
		SLOCodec: sloCodec{},
	})
	if err != nil {
		tb.Fatal(err)
	}
	e := &hostileEnv{handler: s.Handler(), store: store}
	e.seed(tb)
	e.seedExtremeDates(tb) // extreme_dates_test.go
	return e
}

// seed stores a user, a token, the CDEvents conformance examples, telemetry,
// an objective with a key result, an idea, a value stream and an SLO;
// seedExtremeDates adds events from 1970 and 9999.
func (e *hostileEnv) seed(tb testing.TB) {
	tb.Helper()
	ctx := context.Background()
	must := func(err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
	}
	u, err := e.store.CreateUser(ctx, "admin@example.com", domain.RoleAdmin, testPassword)
	must(err)
	e.session, err = e.store.CreateSession(ctx, u.ID, time.Hour)
	must(err)
	_, e.token, err = e.store.CreateToken(ctx, "fuzz", []domain.Scope{domain.ScopeAdmin})
	must(err)

	dec, err := cdevents.NewDecoder("")
	must(err)
	var recs []domain.EventRecord
	for i, body := range seedEvents(tb) {
		_, ev, err := dec.DecodeMessage(nil, body)
		must(err)
		recs = append(recs, domain.EventRecord{Event: ev, Raw: body, Subject: "throughline.events.delivery.seed", StreamSeq: uint64(i + 1)})
	}
	_, err = e.store.StoreEvents(ctx, recs)
	must(err)

	o, err := e.store.CreateObjective(ctx, domain.Objective{Title: "Checkout converts"}, "seed")
	must(err)
	kr, err := e.store.CreateKeyResult(ctx, domain.KeyResult{ObjectiveID: o.ID, Title: "Conversion", Metric: "checkout.conversion",
		Attributes: map[string]string{"service": "checkout"}, Baseline: 0.02, Target: 0.04, Direction: domain.Increase}, "seed")
	must(err)
	_, err = e.store.CreateIdea(ctx, domain.Idea{Key: "CHK-1", Title: "One-page checkout", Horizon: domain.HorizonNow,
		FlowType: domain.FlowType("feature"), KeyResults: []int64{kr.ID}, Services: []string{"checkout"}}, "seed")
	must(err)
	vs, err := e.store.CreateValueStream(ctx, domain.ValueStream{Name: "Checkout", Services: []string{"checkout"}, Stages: domain.DefaultStages()}, "seed")
	must(err)
	e.stream = vs.ID
	slo, err := e.store.CreateSLO(ctx, domain.SLO{Name: "checkout-availability", Service: "checkout",
		Good: domain.MetricQuery{Metric: "http.requests.good"}, Total: domain.MetricQuery{Metric: "http.requests"}, Target: 0.999, WindowDays: 28}, "seed")
	must(err)
	e.slo = slo.ID
}

// seedEvents are a few conformance examples as CloudEvents and a telemetry
// batch, timed inside the default windows.
func seedEvents(tb testing.TB) [][]byte {
	tb.Helper()
	var out [][]byte
	for i, name := range []string{"change_created", "change_merged", "artifact_packaged", "service_deployed", "incident_detected", "incident_resolved"} {
		data, err := os.ReadFile("../adapters/cdevents/testdata/conformance/v0.4.1/" + name + ".json")
		if err != nil {
			tb.Fatal(err)
		}
		var cd struct {
			Context struct{ Source, Type string } `json:"context"`
		}
		if err := json.Unmarshal(data, &cd); err != nil {
			tb.Fatal(err)
		}
		at := fuzzNow.Add(-time.Duration(48-i) * time.Hour).Format(time.RFC3339)
		data = []byte(strings.Replace(string(data), `"timestamp"`, `"timestamp":"`+at+`","ignored"`, 1))
		b, err := cdevents.EncodeStructured(domain.CloudEvent{SpecVersion: "1.0", ID: name, Source: cd.Context.Source, Type: cd.Context.Type, Data: data})
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	}
	tel := `{"specversion":"1.0","id":"tel-1","source":"/otel","type":"dev.throughline.telemetry.samples.v1","data":{"samples":[` +
		`{"metric":"checkout.conversion","value":0.031,"time":"2026-03-18T10:15:00Z","attributes":{"service":"checkout","env":"production"}},` +
		`{"metric":"http.requests","value":1000,"time":"2026-03-19T10:15:00Z","attributes":{"service":"checkout"}},` +
		`{"metric":"http.requests.good","value":998,"time":"2026-03-19T10:15:00Z","attributes":{"service":"checkout"}}]}}`
	return append(out, []byte(tel))
}

// do sends one request as the signed-in admin (pages) or with the token
// (API). Form posts carry Sec-Fetch-Site, which the CSRF check trusts.
func (e *hostileEnv) do(method string, u *url.URL, body io.Reader, header http.Header) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "/", body)
	req.URL, req.RequestURI = u, u.RequestURI()
	for k, v := range header {
		req.Header[k] = v
	}
	if isAPIPath(u.Path) {
		req.Header.Set("Authorization", "Bearer "+e.token)
	} else {
		req.AddCookie(&http.Cookie{Name: "throughline_session", Value: e.session})
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, req)
	return rec
}

func isAPIPath(p string) bool { return strings.HasPrefix(p, "/api/") }

// target reads a request target the way the HTTP server does; one it
// refuses (a control character, say) never reaches the handlers.
func target(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.ParseRequestURI(raw)
	if err != nil || strings.ContainsAny(raw, " \t") {
		t.Skip("the HTTP server refuses this target itself")
	}
	return u
}

func (e *hostileEnv) get(raw string) *httptest.ResponseRecorder {
	u, err := url.ParseRequestURI(raw)
	if err != nil {
		panic(err)
	}
	return e.do(http.MethodGet, u, nil, nil)
}

func (e *hostileEnv) postForm(path string, body string) *httptest.ResponseRecorder {
	return e.do(http.MethodPost, &url.URL{Path: path}, strings.NewReader(body), http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
}

// checkAnswer is the property every request keeps, whatever it carries: no
// panic and no 5xx; a refusal of an API request is a JSON error with a code
// and a message, and of a page an HTML page.
func checkAnswer(t *testing.T, what string, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code >= 500 {
		t.Fatalf("%s: %d\n%.2000s", what, rec.Code, rec.Body.String())
	}
	if rec.Code < 400 {
		return
	}
	ct := rec.Header().Get("Content-Type")
	if strings.HasPrefix(ct, "application/json") {
		var body struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error.Code == "" || body.Error.Message == "" {
			t.Fatalf("%s: %d without a JSON error: %.500s", what, rec.Code, rec.Body.String())
		}
		return
	}
	if isAPIPath(what) || !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("%s: %d with content type %q: %.500s", what, rec.Code, ct, rec.Body.String())
	}
}

// checkRefused is checkAnswer for a request that must be refused with
// status (text no database stores, a form that cannot be read).
func checkRefused(t *testing.T, what string, rec *httptest.ResponseRecorder, status int) {
	t.Helper()
	checkAnswer(t, what, rec)
	if rec.Code != status {
		t.Fatalf("%s: %d; want %d: %.500s", what, rec.Code, status, rec.Body.String())
	}
}

// checkNoLongNames is the property of every form that takes a name: none
// over the limit is ever stored (a long SLO service closed the NATS
// connection at every evaluation).
func checkNoLongNames(t *testing.T, e *hostileEnv) {
	t.Helper()
	if bad := longNamesStored(t, e.store); len(bad) > 0 {
		t.Fatalf("stored with a name over %d bytes: %v", domain.MaxNameBytes, bad)
	}
}

// unstorable reports whether any of texts holds what no database stores.
func unstorable(texts ...string) bool {
	for _, s := range texts {
		if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
			return true
		}
	}
	return false
}

// checkForm checks the answer to a form: refused with 400 when the form
// cannot be read or holds unstorable text, answered without 5xx otherwise.
func checkForm(t *testing.T, what, body string, rec *httptest.ResponseRecorder) {
	t.Helper()
	vals, err := url.ParseQuery(body)
	hostile := err != nil
	for k, vs := range vals {
		hostile = hostile || unstorable(k) || unstorable(vs...)
	}
	if hostile {
		checkRefused(t, what, rec, http.StatusBadRequest)
		return
	}
	checkAnswer(t, what, rec)
}

// getRoutes are the GET routes with their path parameters filled in, and a
// real query of each for the seed corpus.
func (e *hostileEnv) getRoutes() [][2]string {
	stream, slo := strconv.FormatInt(e.stream, 10), strconv.FormatInt(e.slo, 10)
	return [][2]string{
		{"/", ""}, {"/roadmap", "team=payments&objective=1"}, {"/value-streams", ""},
		{"/value-streams/" + stream, "from=2026-01-01&to=2026-03-20"}, {"/dora", "from=2025-12-21&to=2026-03-20&service=checkout&show=all"},
		{"/trends", "from=2025-10-01&to=2026-03-20&bucket=week&compare=service&stream=" + stream},
		{"/trends.csv", "from=2025-10-01&to=2026-03-20&compare=team&table=compare-team-lead_time"},
		{"/settings", ""}, {"/settings/ingest", ""}, {"/services", ""}, {"/ideas/CHK-1", ""}, {"/outcomes", ""},
		{"/events/view", "source=%2Fotel&id=tel-1"}, {"/slos", "yaml=apiVersion"}, {"/slos.yaml", "service=checkout"}, {"/slos/" + slo, ""},
		{"/ideas/new", ""}, {"/ideas/CHK-1/edit", ""}, {"/value-streams/new", ""}, {"/value-streams/" + stream + "/edit", ""},
		{"/slos/new", "service=checkout"}, {"/slos/" + slo + "/edit", ""}, {"/settings/users", ""}, {"/settings/tokens", ""},
		{"/settings/audit", ""}, {"/signin", "next=%2Fdora"},
		{"/api/v1/token", ""}, {"/api/v1/ingest/status", ""}, {"/api/v1/dead-letters", "limit=50"},
		{"/api/v1/dora", "from=2026-01-01&to=2026-03-31&service=checkout&team=payments"},
		{"/api/v1/dora/trend", "from=2026-01-01&to=2026-03-31&bucket=month"},
		{"/api/v1/deployments", "from=2026-01-01&to=2026-03-31&failed=true&limit=10"}, {"/api/v1/incidents", "limit=10000"},
		{"/api/v1/events/view", "source=%2Fotel&id=tel-1"}, {"/api/v1/ideas", "horizon=now&team=payments&archived=true"},
		{"/api/v1/ideas/CHK-1", ""}, {"/api/v1/outcomes", ""},
		{"/api/v1/metrics/checkout.conversion", "from=2026-03-01&to=2026-03-20T10:00:00Z&bucket=hour&attr.service=checkout"},
		{"/api/v1/value-streams", ""}, {"/api/v1/value-streams/" + stream, ""}, {"/api/v1/value-streams/" + stream + "/flow", "from=2026-01-01&to=2026-03-20"},
		{"/api/v1/slos", ""}, {"/api/v1/slos/" + slo, ""},
		{"/api/v1/annotations", "from=1772409600000&to=2026-03-20T10:00:00Z&service=checkout&kind=all"},
	}
}

// FuzzGETQueries sends any query string to every GET route: the window,
// bucket, compare, table, limit, filter and identity parsers, with repeated,
// missing, malformed and hostile parameters.
func FuzzGETQueries(f *testing.F) {
	domaintest.Slow(f)
	e := newHostileEnv(f, sqlstore.SQLite)
	routes := e.getRoutes()
	for i, r := range routes {
		f.Add(uint8(i), r[1])
	}
	for _, q := range []string{
		"from=0000-01-01&to=0003-01-01", "from=9999-12-29&to=9999-12-31", "from=2026-03-31&to=2026-01-01", "from=2026-01-01&from=2027-01-01",
		"to=2026-02-30", "bucket=year", "compare=everything", "table=", "limit=-1", "limit=99999999999999999999", "stream=1e3",
		"stream=-1", "source=&id=", "%zz", "service=%00", "service=%ff", "attr.=x&attr.a=1&attr.a=2", "horizon=soon", "objective=x",
		"from=2026-03-01T10:00:00%2B14:00&to=2026-03-01T10:00:00-12:00&bucket=minute", "next=%2F%2Fevil.example",
		"from=1970-01-01&to=1970-03-31", "from=9999-10-01&to=9999-12-31", "from=1999-12-31", "to=2027-03-21", "from=0&to=253402300799999",
	} {
		for _, i := range []int{1, 3, 4, 5, 6, 12, 28, 29, 30, 31, 32, 37, 40} {
			f.Add(uint8(i), q)
		}
	}
	f.Fuzz(func(t *testing.T, route uint8, query string) {
		path := routes[int(route)%len(routes)][0]
		u := target(t, path+"?"+query)
		rec := e.do(http.MethodGet, u, nil, nil)
		if unstorable(u.Path) || !storableQuery(u.RawQuery) {
			checkRefused(t, path+"?"+query, rec, http.StatusBadRequest)
			return
		}
		checkAnswer(t, path+"?"+query, rec)
	})
}

func storableQuery(raw string) bool {
	vals, _ := url.ParseQuery(raw)
	for k, vs := range vals {
		if unstorable(k) || unstorable(vs...) {
			return false
		}
	}
	return true
}

// FuzzPathParams puts any text where a route takes a key or an id.
func FuzzPathParams(f *testing.F) {
	e := newHostileEnv(f, sqlstore.SQLite)
	paths := []string{"/ideas/%s", "/ideas/%s/edit", "/value-streams/%s", "/value-streams/%s/edit", "/slos/%s", "/slos/%s/edit",
		"/api/v1/ideas/%s", "/api/v1/metrics/%s", "/api/v1/value-streams/%s", "/api/v1/value-streams/%s/flow", "/api/v1/slos/%s"}
	for i := range paths {
		for _, p := range []string{"CHK-1", "chk-1", "1", strconv.FormatInt(e.stream, 10), "checkout.conversion", "0", "-1",
			"99999999999999999999", "1e3", "a b", "%00", "..", "x/y", "\xff"} {
			f.Add(uint8(i), p)
		}
	}
	f.Fuzz(func(t *testing.T, route uint8, param string) {
		path := strings.Replace(paths[int(route)%len(paths)], "%s", url.PathEscape(param), 1)
		u := target(t, path)
		rec := e.do(http.MethodGet, u, nil, nil)
		if unstorable(u.Path) {
			checkRefused(t, path, rec, http.StatusBadRequest)
			return
		}
		checkAnswer(t, path, rec)
	})
}

// FuzzIdeaForm fills in the idea form, to create an idea and to edit one.
func FuzzIdeaForm(f *testing.F) {
	e := newHostileEnv(f, sqlstore.SQLite)
	f.Add("CHK-12", "One-page checkout", "Checkout drops", "Fewer steps convert", "now", "feature", "payments", "checkout, payments", "1000", "2", "80 %", "3", "1")
	f.Add("chk-13", "Retry payments", "", "", "later", "debt", "", "", "1,000", "0.5", "0.8", "", "x")
	f.Add("", "", "", "", "", "", "", ",,,", "NaN", "Inf", "1e999", "-1", "-1")
	f.Add("A-1", strings.Repeat("t", 201), "p", "h", "NOW", "Feature", " t ", " , a ,", "1e308", "1e308", "100", "1e-320", "99999999999999999999")
	f.Fuzz(func(t *testing.T, key, title, problem, hypothesis, horizon, flowType, team, services, reach, impact, confidence, effort, kr string) {
		body := url.Values{"key": {key}, "title": {title}, "problem": {problem}, "hypothesis": {hypothesis}, "horizon": {horizon},
			"flow_type": {flowType}, "team": {team}, "services": {services}, "reach": {reach}, "impact": {impact},
			"confidence": {confidence}, "effort": {effort}, "key_results": {kr}}.Encode()
		checkForm(t, "POST /ideas", body, e.postForm("/ideas", body))
		checkForm(t, "POST /ideas/CHK-1", body, e.postForm("/ideas/CHK-1", body))
	})
}

// FuzzIdeaActions moves an idea, records a verdict and archives it.
func FuzzIdeaActions(f *testing.F) {
	e := newHostileEnv(f, sqlstore.SQLite)
	f.Add("CHK-1", "next", "/roadmap?team=payments", "validated", "KR moved 12 %", "true")
	f.Add("CHK-1", "now", "/ideas/CHK-1", "inconclusive", "", "false")
	f.Add("chk-1", "sometime", "//evil.example", "great", strings.Repeat("n", 3000), "")
	f.Add("NOPE-9", "", "https://evil.example/", "", "", "maybe")
	f.Fuzz(func(t *testing.T, key, horizon, ret, verdict, note, archived string) {
		base := "/ideas/" + url.PathEscape(key)
		u := target(t, base)
		forms := map[string]string{
			"/move":    url.Values{"horizon": {horizon}, "return": {ret}}.Encode(),
			"/verdict": url.Values{"verdict": {verdict}, "note": {note}}.Encode(),
			"/archive": url.Values{"archived": {archived}}.Encode(),
		}
		for action, body := range forms {
			rec := e.postForm(u.Path+action, body)
			if unstorable(u.Path) {
				checkRefused(t, base+action, rec, http.StatusBadRequest)
				continue
			}
			checkForm(t, base+action, body, rec)
			if loc := rec.Header().Get("Location"); rec.Code == http.StatusSeeOther && !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") {
				t.Fatalf("%s redirects off the site: %q", base+action, loc)
			}
		}
	})
}

// FuzzOutcomeForms adds objectives and key results.
func FuzzOutcomeForms(f *testing.F) {
	e := newHostileEnv(f, sqlstore.SQLite)
	f.Add("Checkout converts", "More buyers finish", "1", "Conversion", "checkout.conversion", "service=checkout, env=production", "0.02", "0.04", "increase", "2026-06-30")
	f.Add("", "", "x", "", "", "=, k=", "NaN", "Inf", "sideways", "2026-02-30")
	f.Add("o", "d", "99999999999999999999", "k", "m", "a=b=c,,", "-1e308", "1e308", "decrease", "30/06/2026")
	f.Add("Checkout converts", "", "1", "Conversion", strings.Repeat("m", 5000), "service="+strings.Repeat("s", 257), "0.02", "0.04", "increase", "")
	f.Fuzz(func(t *testing.T, title, description, objective, krTitle, metric, attrs, baseline, target, direction, due string) {
		defer checkNoLongNames(t, e)
		obj := url.Values{"title": {title}, "description": {description}}.Encode()
		checkForm(t, "POST /outcomes/objectives", obj, e.postForm("/outcomes/objectives", obj))
		kr := url.Values{"objective": {objective}, "title": {krTitle}, "metric": {metric}, "attributes": {attrs}, "baseline": {baseline},
			"target": {target}, "direction": {direction}, "due": {due}}.Encode()
		checkForm(t, "POST /outcomes/key-results", kr, e.postForm("/outcomes/key-results", kr))
	})
}

// valueStreamForm is the form the edit page sends for the default stages.
func valueStreamForm(name string, stages []domain.StageDef) url.Values {
	v := url.Values{"name": {name}, "description": {"From idea to outcome"}, "teams": {"payments, checkout-web"}, "services": {"checkout"}}
	for i, st := range stages {
		p := "stage." + strconv.Itoa(i) + "."
		v.Set(p+"order", strconv.Itoa(i+1))
		v.Set(p+"name", st.Name)
		v.Set(p+"kind", string(st.Kind))
		v.Set(p+"wip_limit", "")
		v.Set(p+"rule", domain.RuleText(st.Rule))
	}
	return v
}

// FuzzValueStreamForm sends any body as the value stream form: stage rows,
// their order, kinds, WIP limits and trigger rules.
func FuzzValueStreamForm(f *testing.F) {
	e := newHostileEnv(f, sqlstore.SQLite)
	f.Add(valueStreamForm("Checkout", domain.DefaultStages()).Encode())
	v := valueStreamForm("Reordered", domain.DefaultStages()[:3])
	v.Set("stage.0.order", "9.5")
	v.Set("stage.1.wip_limit", "3")
	v.Set("stage.2.rule", "change.merged or build | test")
	f.Add(v.Encode())
	v.Set("stage.1.wip_limit", "-1")
	v.Set("stage.2.rule", "nope")
	v.Set("stage.0.order", "NaN")
	f.Add(v.Encode())
	f.Add("name=x&stage.0.name=a&stage.0.name=b&stage.0.kind=wait&stage.0.rule=operate&stage.15.name=late")
	f.Add("name=&stage.0.name=&stage.1.name=Code")
	f.Add("name=x&stage.0.name=a&stage.0.kind=active&stage.0.wip_limit=99999999999999999999&stage.0.rule=keyresult")
	f.Add("%zz=1&name=x")
	f.Add(withValue(withValue(valueStreamForm("Long", domain.DefaultStages()[:2]), "services", strings.Repeat("s", 5000)), "teams", "a, "+strings.Repeat("t", 257)).Encode())
	stream := "/value-streams/" + strconv.FormatInt(e.stream, 10)
	f.Fuzz(func(t *testing.T, body string) {
		checkForm(t, "POST /value-streams", body, e.postForm("/value-streams", body))
		checkForm(t, "POST "+stream, body, e.postForm(stream, body))
		checkNoLongNames(t, e)
	})
}

// sloForm is the SLO form as a person fills it in.
func sloForm() url.Values {
	return url.Values{"name": {"search-latency"}, "display_name": {"Search is fast"}, "description": {"p95 under 300 ms"},
		"service": {"search"}, "good_metric": {"search.fast"}, "good_attrs": {"route=/search, region=eu"},
		"total_metric": {"search.all"}, "total_attrs": {"route=/search"}, "target": {"99.5"}, "window": {"28"}}
}

// FuzzSLOForm sends any body as the SLO form, to create and to edit one.
func FuzzSLOForm(f *testing.F) {
	e := newHostileEnv(f, sqlstore.SQLite)
	f.Add(sloForm().Encode())
	v := sloForm()
	v.Set("target", "0.999")
	v.Set("window", "30")
	f.Add(v.Encode())
	v.Set("target", "100%")
	v.Set("good_attrs", "=x,,a")
	v.Set("window", "99999999999999999999")
	f.Add(v.Encode())
	f.Add("name=Bad Name&target=NaN&window=-28")
	long := strings.Repeat("s", 5000)
	f.Add(withValue(sloForm(), "service", long).Encode())
	f.Add(withValue(withValue(sloForm(), "good_metric", long[:257]), "total_attrs", "env="+long).Encode())
	slo := "/slos/" + strconv.FormatInt(e.slo, 10)
	f.Fuzz(func(t *testing.T, body string) {
		checkForm(t, "POST /slos", body, e.postForm("/slos", body))
		checkForm(t, "POST "+slo, body, e.postForm(slo, body))
		checkNoLongNames(t, e)
	})
}

// FuzzSLOImport imports any text as OpenSLO YAML, pasted and uploaded.
func FuzzSLOImport(f *testing.F) {
	e := newHostileEnv(f, sqlstore.SQLite)
	y, err := openslo.Marshal([]domain.SLO{{Name: "search-latency", Service: "search", Good: domain.MetricQuery{Metric: "search.fast"},
		Total: domain.MetricQuery{Metric: "search.all", Attributes: map[string]string{"route": "/search"}}, Target: 0.995, WindowDays: 28}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(false, string(y))
	f.Add(true, string(y))
	f.Add(false, strings.Replace(string(y), "search-latency\n", "\"search\\0latency\"\n", 1))
	f.Add(true, "kind: [")
	f.Add(false, "")
	f.Add(false, strings.Replace(string(y), "service: search", "service: "+strings.Repeat("s", 5000), 1))
	f.Fuzz(func(t *testing.T, upload bool, text string) {
		defer checkNoLongNames(t, e)
		if !upload {
			body := url.Values{"yaml": {text}}.Encode()
			checkForm(t, "POST /slos/import", body, e.postForm("/slos/import", body))
			return
		}
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		fw, _ := mw.CreateFormFile("file", "slos.yaml")
		_, _ = fw.Write([]byte(text))
		_ = mw.Close()
		rec := e.do(http.MethodPost, &url.URL{Path: "/slos/import"}, &buf, http.Header{"Content-Type": {mw.FormDataContentType()}})
		checkAnswer(t, "POST /slos/import (file)", rec)
	})
}

// FuzzAdminForms adds users and tokens and changes a role.
func FuzzAdminForms(f *testing.F) {
	e := newHostileEnv(f, sqlstore.SQLite)
	other, err := e.store.CreateUser(context.Background(), "viewer@example.com", domain.RoleViewer, testPassword)
	if err != nil {
		f.Fatal(err)
	}
	f.Add("pm@example.com", "editor", "grafana", "read,ingest")
	f.Add(" PM@Example.com ", "ADMIN", "", "")
	f.Add("Pat <pm@example.com>", "root", strings.Repeat("n", 101), "write")
	f.Add("@", "", " ", ",,admin")
	role := "/settings/users/" + strconv.FormatInt(other.ID, 10) + "/role"
	f.Fuzz(func(t *testing.T, email, roleName, tokenName, scopes string) {
		user := url.Values{"email": {email}, "role": {roleName}}.Encode()
		checkForm(t, "POST /settings/users", user, e.postForm("/settings/users", user))
		r := url.Values{"role": {roleName}}.Encode()
		checkForm(t, "POST "+role, r, e.postForm(role, r))
		tok := url.Values{"name": {tokenName}, "scope": strings.Split(scopes, ",")}.Encode()
		checkForm(t, "POST /settings/tokens", tok, e.postForm("/settings/tokens", tok))
	})
}

// FuzzDORAForms records deployment verdicts and sets service teams.
func FuzzDORAForms(f *testing.F) {
	e := newHostileEnv(f, sqlstore.SQLite)
	f.Add("/ci", "service_deployed", "failed", "broke checkout", "/dora?service=checkout", "checkout", "payments")
	f.Add("/ci", "nope", "ok", "", "/dora", "nope", "")
	f.Add("", "", "clear", "", "//evil.example/dora", "checkout", strings.Repeat("t", 101))
	f.Add("s", "i", "maybe", strings.Repeat("r", 2000), "/roadmap", strings.Repeat("s", 5000), "t")
	f.Fuzz(func(t *testing.T, source, id, verdict, reason, ret, service, team string) {
		o := url.Values{"source": {source}, "id": {id}, "verdict": {verdict}, "reason": {reason}, "return": {ret}}.Encode()
		rec := e.postForm("/dora/override", o)
		checkForm(t, "POST /dora/override", o, rec)
		st := url.Values{"service": {service}, "team": {team}}.Encode()
		rec2 := e.postForm("/services/team", st)
		checkForm(t, "POST /services/team", st, rec2)
		for _, r := range []*httptest.ResponseRecorder{rec, rec2} {
			if loc := r.Header().Get("Location"); strings.HasPrefix(loc, "//") || len(r.Header().Get("Set-Cookie")) > 4096 {
				t.Fatalf("redirect %q with cookie of %d bytes", loc, len(r.Header().Get("Set-Cookie")))
			}
		}
	})
}

// FuzzOverrideAPI sends any body to POST /api/v1/deployments/override.
func FuzzOverrideAPI(f *testing.F) {
	e := newHostileEnv(f, sqlstore.SQLite)
	for _, s := range []string{`{"source":"/ci","id":"service_deployed","failed":true,"reason":"broke checkout"}`,
		`{"source":"/ci","id":"service_deployed","failed":null}`, `{"source":"/ci","id":"x","failed":"yes"}`, `{"source":1}`,
		`{"source":"/ci","id":"x","extra":1}`, `{"source":"a\u0000","id":"b","failed":false}`, `[]`, ``, `{"source":"/ci","id":"x"} trailing`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := e.do(http.MethodPost, &url.URL{Path: "/api/v1/deployments/override"}, bytes.NewReader(body), http.Header{"Content-Type": {"application/json"}})
		checkAnswer(t, "/api/v1/deployments/override", rec)
	})
}

// FuzzFlashCookie sends any flash cookie, which the next page reads: one
// the server did not sign is never shown (and nothing is unescaped).
func FuzzFlashCookie(f *testing.F) {
	e := newHostileEnv(f, sqlstore.SQLite)
	for _, s := range []string{"success%7CIdea+CHK-1+created.", "error%7C%3Cscript%3Ealert(1)%3C%2Fscript%3E", "warn|", "nope%7Cx", "%zz", "success%7C%00",
		"AAAAAAAAAAAAAAAAAAAAAA.success%7Cforged", ".success%7Cx", "x.y.z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		req := httptest.NewRequest(http.MethodGet, "/roadmap", nil)
		req.Header.Set("Cookie", "throughline_session="+e.session+"; throughline_flash="+value)
		rec := httptest.NewRecorder()
		e.handler.ServeHTTP(rec, req)
		checkAnswer(t, "/roadmap with flash "+value, rec)
		if strings.Contains(rec.Body.String(), "<script>alert") {
			t.Fatalf("flash %q shown unescaped", value)
		}
		if strings.Contains(rec.Body.String(), `role="status"`) {
			t.Fatalf("flash %q, not signed by the server, was shown", value)
		}
	})
}

// FuzzSignIn fills in the sign-in form, from a new address each time so
// that the rate limit does not answer instead of the handler. Every answer
// that sends the visitor on stays on this site.
func FuzzSignIn(f *testing.F) {
	e := newHostileEnv(f, sqlstore.SQLite)
	f.Add("admin@example.com", testPassword, "/dora?from=2026-01-01")
	f.Add("ADMIN@example.com ", "wrong", "//evil.example")
	f.Add("", strings.Repeat("p", 100), "https://evil.example")
	f.Add("a\x00@example.com", "p", "/signin")
	var n uint32
	f.Fuzz(func(t *testing.T, email, password, next string) {
		body := url.Values{"email": {email}, "password": {password}, "next": {next}}.Encode()
		req := httptest.NewRequest(http.MethodPost, "/signin", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		n++
		req.RemoteAddr = "10." + strconv.Itoa(int(n>>16&255)) + "." + strconv.Itoa(int(n>>8&255)) + "." + strconv.Itoa(int(n&255)) + ":1234"
		rec := httptest.NewRecorder()
		e.handler.ServeHTTP(rec, req)
		checkForm(t, "POST /signin", body, rec)
		if loc := rec.Header().Get("Location"); rec.Code == http.StatusSeeOther && (!strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//")) {
			t.Fatalf("sign-in sends %q to %q", next, loc)
		}
	})
}

// FuzzSignInDeviceCookie signs in to an account held up by failed guesses,
// with the right password and any device cookie, from a new address each
// time: no cookie the server did not sign lifts the account's wait.
func FuzzSignInDeviceCookie(f *testing.F) {
	e := newHostileEnv(f, sqlstore.SQLite)
	if _, err := e.store.CreateUser(context.Background(), "locked@example.com", domain.RoleViewer, testPassword); err != nil {
		f.Fatal(err)
	}
	post := func(addr, password, device string) *httptest.ResponseRecorder {
		body := url.Values{"email": {"locked@example.com"}, "password": {password}}.Encode()
		req := httptest.NewRequest(http.MethodPost, "/signin", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.RemoteAddr = addr + ":1234"
		if device != "" {
			req.Header.Set("Cookie", "throughline_device="+device)
		}
		rec := httptest.NewRecorder()
		e.handler.ServeHTTP(rec, req)
		return rec
	}
	// The server's clock stands still: the wait never ends.
	for i := 0; i < 6; i++ {
		post("192.0.2."+strconv.Itoa(i), "guess", "")
	}
	for _, s := range []string{"", "x", "a.b.c", "AAAAAAAAAAAAAAAAAAAAAA.99999999999.AAAAAAAAAAAAAAAAAAAAAA", "..", strings.Repeat("a", 5000) + ".1.x", "a.-1.b"} {
		f.Add(s)
	}
	var n uint32
	f.Fuzz(func(t *testing.T, device string) {
		n++
		rec := post("10."+strconv.Itoa(int(n>>16&255))+"."+strconv.Itoa(int(n>>8&255))+"."+strconv.Itoa(int(n&255)), testPassword, device)
		checkAnswer(t, "POST /signin with device cookie "+device, rec)
		if rec.Code != http.StatusTooManyRequests {
			t.Fatalf("device cookie %q: %d; want 429 (the account is held up)", device, rec.Code)
		}
	})
}
