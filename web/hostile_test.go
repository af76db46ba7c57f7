package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/throughline/throughline/domain/domaintest"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/throughline/throughline/adapters/openslo"
	"github.com/throughline/throughline/adapters/sqlstore"
	"github.com/throughline/throughline/domain"
)

// chunked hides a body's length, as a client streaming it does.
type chunked struct{ io.Reader }

// send posts body to path over the network, as the signed-in admin for
// pages and with the token for the API, with or without a Content-Length.
func send(t *testing.T, srv *httptest.Server, e *hostileEnv, path, contentType string, body []byte, withLength bool) (*http.Response, []byte) {
	t.Helper()
	var r io.Reader = bytes.NewReader(body)
	if !withLength {
		r = chunked{r}
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+path, r)
	req.Header.Set("Content-Type", contentType)
	if isAPIPath(path) {
		req.Header.Set("Authorization", "Bearer "+e.token)
	} else {
		req.AddCookie(&http.Cookie{Name: "throughline_session", Value: e.session})
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func multipartFile(name string, content []byte) (string, []byte) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile(name, "slos.yaml")
	_, _ = fw.Write(content)
	_ = mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

// TestRequestBodiesAreLimited: a form over 1 MiB, an SLO file over 2 MiB and
// API bodies over their limits are refused with 413 and a clear message,
// whether or not the client says how long they are, and before the CSRF
// check or the handler reads them; SLO import still takes its larger files.
func TestRequestBodiesAreLimited(t *testing.T) {
	e := newHostileEnv(t, sqlstore.SQLite)
	srv := httptest.NewServer(e.handler)
	t.Cleanup(srv.Close)
	form := "application/x-www-form-urlencoded"
	bigForm := []byte("title=" + strings.Repeat("x", 1<<20))
	yaml := "apiVersion: openslo/v1\nkind: Service\nmetadata: {name: s}\n"

	for _, withLength := range []bool{true, false} {
		for _, path := range []string{"/ideas", "/signin", "/outcomes/objectives", "/settings/tokens", "/no-such-page"} {
			resp, body := send(t, srv, e, path, form, bigForm, withLength)
			doc, _ := goquery.NewDocumentFromReader(bytes.NewReader(body))
			if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(doc.Find("title").Text(), "Too large") ||
				!strings.Contains(doc.Find("main").Text(), "larger than 1 MiB") {
				t.Errorf("%s (length given: %v): %d %q %.200q", path, withLength, resp.StatusCode, doc.Find("title").Text(), doc.Find("main").Text())
			}
		}
		ct, file := multipartFile("file", []byte(yaml+strings.Repeat("#", 3<<20)))
		if resp, _ := send(t, srv, e, "/slos/import", ct, file, withLength); resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("3 MiB SLO file (length given: %v): %d", withLength, resp.StatusCode)
		}
		// Over the form limit, under the import limit: the handler reads it
		// and says what is wrong with the file itself.
		ct, file = multipartFile("file", []byte(yaml+strings.Repeat("#", 1500<<10)))
		resp, body := send(t, srv, e, "/slos/import", ct, file, withLength)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(body), "larger than 1 MiB") {
			t.Errorf("1.5 MiB SLO file (length given: %v): %d", withLength, resp.StatusCode)
		}
		ct, file = multipartFile("file", []byte(yaml+"#"+strings.Repeat("x", 900<<10)+"\n"))
		if resp, body := send(t, srv, e, "/slos/import", ct, file, withLength); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(body), "no document of kind SLO") {
			t.Errorf("900 KiB SLO file (length given: %v): %d", withLength, resp.StatusCode)
		}

		for path, size := range map[string]int{"/api/v1/deployments/override": 65 << 10, "/api/v1/events": 17 << 20} {
			resp, body := send(t, srv, e, path, "application/json", []byte(`{"source":"`+strings.Repeat("s", size)+`"}`), withLength)
			var out struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if err := json.Unmarshal(body, &out); resp.StatusCode != http.StatusRequestEntityTooLarge || err != nil || out.Error.Code != "too_large" || !strings.Contains(out.Error.Message, "larger than") {
				t.Errorf("%s (length given: %v): %d %.200s", path, withLength, resp.StatusCode, body)
			}
		}
	}
	// Within the limit, a form is read as before.
	if resp, _ := send(t, srv, e, "/outcomes/objectives", form, []byte("title=Fewer+refunds&description="+strings.Repeat("d", 900<<10)), true); resp.StatusCode != http.StatusOK {
		t.Errorf("900 KiB form: %d; want the outcomes page after the redirect", resp.StatusCode)
	}
}

// TestUnstorableTextIsRefused: a NUL character or invalid UTF-8 anywhere in
// a request (path, query or form) is refused with 400 on both databases,
// instead of the 500 the SQL layer answered with; other Unicode is stored.
func TestUnstorableTextIsRefused(t *testing.T) {
	for _, dialect := range []sqlstore.Dialect{sqlstore.SQLite, sqlstore.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			e := newHostileEnv(t, dialect)
			for _, target := range []string{
				"/api/v1/dora?service=a%00b", "/api/v1/dora?team=%ff", "/api/v1/events/view?source=a%00&id=b", "/api/v1/ideas/CHK-1%00",
				"/ideas/CHK%00", "/api/v1/metrics/a%00b", "/trends?service=a%00b", "/dora?team=%ff", "/api/v1/deployments?service=%00",
				"/roadmap?team=%c3%28", "/signin?next=%00",
			} {
				checkRefused(t, target, e.get(target), http.StatusBadRequest)
			}
			for path, vals := range map[string]url.Values{
				"/ideas":                {"key": {"ABC-1"}, "title": {"a\x00b"}, "horizon": {"now"}, "flow_type": {"feature"}},
				"/ideas/CHK-1":          {"title": {"a\xffb"}, "horizon": {"now"}, "flow_type": {"feature"}},
				"/outcomes/objectives":  {"title": {"x\x00"}},
				"/services/team":        {"service": {"checkout\x00"}, "team": {"x"}},
				"/settings/tokens":      {"name": {"n\x00"}, "scope": {"read"}},
				"/value-streams":        {"name": {"\xc3\x28"}},
				"/slos/import":          {"yaml": {"apiVersion: openslo/v1\x00"}},
				"/dora/override":        {"source": {"/ci"}, "id": {"x\x00"}, "verdict": {"failed"}},
				"/ideas/CHK-1/verdict":  {"verdict": {"validated"}, "note": {"\x00"}},
				"/outcomes/key-results": {"title": {"k"}, "metric": {"m"}, "attributes": {"a=\x00"}},
			} {
				checkRefused(t, "POST "+path, e.postForm(path, vals.Encode()), http.StatusBadRequest)
			}
			// However a form is encoded.
			var buf bytes.Buffer
			mw := multipart.NewWriter(&buf)
			_ = mw.WriteField("title", "x\x00")
			_ = mw.Close()
			ct := strings.Replace(mw.FormDataContentType(), "multipart/form-data", "Multipart/Form-Data", 1)
			rec := e.do(http.MethodPost, &url.URL{Path: "/outcomes/objectives"}, &buf, http.Header{"Content-Type": {ct}})
			checkRefused(t, "POST /outcomes/objectives (multipart)", rec, http.StatusBadRequest)

			ok := url.Values{"key": {"UNI-1"}, "title": {"Zoë’s ✓ checkout 🚀"}, "horizon": {"now"}, "flow_type": {"feature"}}
			if rec := e.postForm("/ideas", ok.Encode()); rec.Code != http.StatusSeeOther {
				t.Fatalf("Unicode title: %d", rec.Code)
			}
			if rec := e.get("/api/v1/ideas/UNI-1"); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Zoë’s ✓ checkout 🚀") {
				t.Fatalf("Unicode title read back: %d %.300s", rec.Code, rec.Body.String())
			}
		})
	}
}

// TestWhatTheFuzzersFound: requests the fuzzers found answered with 5xx,
// and the flash cookie a long form field would have made too large.
func TestWhatTheFuzzersFound(t *testing.T) {
	e := newHostileEnv(t, sqlstore.SQLite)
	for _, target := range []string{
		"/api/v1/metrics/checkout.conversion?from=9999-12-29&to=9999-12-31", // "to" was year 10000, which JSON cannot write
		"/api/v1/metrics/checkout.conversion?from=0001-01-01&to=2026-01-01",
	} {
		checkRefused(t, target, e.get(target), http.StatusBadRequest)
	}
	// No SLO of the service: an empty file, where the encoder failed.
	if rec := e.get("/slos.yaml?service=none"); rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Errorf("export of no SLOs: %d %.200s", rec.Code, rec.Body.String())
	}
	rec := e.postForm("/services/team", url.Values{"service": {strings.Repeat("s", 5000)}, "team": {"t"}}.Encode())
	if rec.Code != http.StatusSeeOther || len(rec.Header().Get("Set-Cookie")) > 4096 {
		t.Errorf("long service name: %d, cookie of %d bytes", rec.Code, len(rec.Header().Get("Set-Cookie")))
	}
}

// longNamesStored reports names over the limit among the stored SLOs, key
// results and value streams: none may get there.
func longNamesStored(t *testing.T, store *sqlstore.Store) []string {
	t.Helper()
	ctx := context.Background()
	var bad []string
	slos, err := store.SLOs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range slos {
		for _, n := range []string{s.Service, s.Good.Metric, s.Total.Metric} {
			if len(n) > domain.MaxNameBytes {
				bad = append(bad, "SLO "+s.Name)
			}
		}
	}
	krs, err := store.KeyResults(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range krs {
		if len(k.Metric) > domain.MaxNameBytes {
			bad = append(bad, "key result "+k.Title)
		}
	}
	streams, err := store.ValueStreams(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range streams {
		for _, n := range append(append([]string{}, v.Services...), v.Teams...) {
			if len(n) > domain.MaxNameBytes {
				bad = append(bad, "value stream "+v.Name)
			}
		}
	}
	return bad
}

// A name over 256 bytes is a form error on every page that takes one, and
// the import refuses it: nothing with it is stored. An SLO of a service of
// 5,000 characters closed the NATS connection at every evaluation.
func TestLongNamesAreFormErrors(t *testing.T) {
	e := newHostileEnv(t, sqlstore.SQLite)
	long := strings.Repeat("s", 5000)
	slo := "/slos/" + strconv.FormatInt(e.slo, 10)
	for _, tc := range []struct {
		name, path, field string
		form              url.Values
	}{
		{"new SLO, service", "/slos", "service", withValue(sloForm(), "service", long)},
		{"new SLO, good metric", "/slos", "good", withValue(sloForm(), "good_metric", long)},
		{"new SLO, environment attribute", "/slos", "total", withValue(sloForm(), "total_attrs", "env="+long)},
		{"edited SLO, service", slo, "service", withValue(sloForm(), "service", long)},
		{"key result, metric", "/outcomes/key-results", "metric", url.Values{"objective": {"1"}, "title": {"k"}, "metric": {long},
			"baseline": {"1"}, "target": {"2"}, "direction": {"increase"}}},
		{"value stream, services", "/value-streams", "services", withValue(valueStreamForm("Long", domain.DefaultStages()[:2]), "services", "checkout, "+long)},
		{"value stream, teams", "/value-streams", "teams", withValue(valueStreamForm("Long", domain.DefaultStages()[:2]), "teams", long)},
	} {
		rec := e.postForm(tc.path, tc.form.Encode())
		body := rec.Body.String()
		if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(body, `id="`+tc.field+`-error"`) || !strings.Contains(body, "5000 bytes") {
			t.Errorf("%s: %d; want 422 with the %s field's error naming the length: %.300s", tc.name, rec.Code, tc.field, errorsIn(body))
		}
	}

	y, err := openslo.Marshal([]domain.SLO{{Name: "long-service", Service: long, Good: domain.MetricQuery{Metric: "g"},
		Total: domain.MetricQuery{Metric: "t"}, Target: 0.99, WindowDays: 28}})
	if err != nil {
		t.Fatal(err)
	}
	rec := e.postForm("/slos/import", url.Values{"yaml": {string(y)}}.Encode())
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "5000 bytes") {
		t.Errorf("import of an SLO with a 5,000-character service: %d %.300s", rec.Code, errorsIn(rec.Body.String()))
	}
	if bad := longNamesStored(t, e.store); len(bad) > 0 {
		t.Errorf("stored with a name over the limit: %v", bad)
	}
}

func withValue(v url.Values, key, value string) url.Values {
	v.Set(key, value)
	return v
}

// errorsIn keeps the error messages of a page, for a failure's message.
func errorsIn(body string) string {
	var out []string
	for _, part := range strings.Split(body, `class="error"`)[1:] {
		end := strings.Index(part, "</span>")
		if end < 0 {
			end = min(len(part), 200)
		}
		out = append(out, part[:end])
	}
	if len(out) == 0 {
		return "(no field errors)"
	}
	return strings.Join(out, " | ")
}

// Events dated 1970 or 9999 can no longer arrive (bad_timestamp before
// 2000, future_time past a day ahead), but a store may hold some from
// before: every page and API route still answers, without a 5xx, with the
// windows that reach them too.
func TestEventsAtTheEdgesOfTimeShowSanely(t *testing.T) {
	domaintest.Slow(t)
	e := newHostileEnv(t, sqlstore.SQLite)
	var recs []domain.EventRecord
	for i, at := range []time.Time{time.Unix(0, 0).UTC(), time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)} {
		n := strconv.Itoa(i)
		for j, ev := range []domain.Event{
			{Kind: domain.KindChangeMerged, SubjectID: "CHK-1-edge" + n, Ideas: []string{"CHK-1"}},
			{Kind: domain.KindArtifactPackaged, SubjectID: "edge-artifact" + n, Artifact: "edge-artifact" + n, Change: "CHK-1-edge" + n},
			{Kind: domain.KindServiceDeployed, SubjectID: "checkout", Service: "checkout", Environment: "production", Artifact: "edge-artifact" + n},
			{Kind: domain.KindIncidentDetected, SubjectID: "edge-incident" + n, Service: "checkout", Environment: "production"},
			{Kind: domain.KindTelemetry, Samples: []domain.Sample{{Metric: "checkout.conversion", Value: 0.05, Time: at, Attributes: map[string]string{"service": "checkout"}}}},
		} {
			ev.Identity = domain.Identity{Source: "/edge", ID: n + "-" + strconv.Itoa(j)}
			ev.Time = at
			recs = append(recs, domain.EventRecord{Event: ev, Raw: []byte(`{}`), StreamSeq: uint64(100 + 10*i + j)})
		}
	}
	if _, err := e.store.StoreEvents(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	// They are stored and shown where they belong (the idea's deployments);
	// windows reaching them are refused with a clear 400, never a 5xx (the
	// checks below).
	if rec := e.get("/api/v1/ideas/CHK-1"); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"time":"9999-12-31T23:59:59Z"`) {
		t.Fatalf("the deployment of 9999: %d %.300s", rec.Code, rec.Body.String())
	}
	for _, r := range e.getRoutes() {
		target := r[0] + "?" + r[1]
		checkAnswer(t, target, e.get(target))
	}
	for _, target := range []string{
		"/api/v1/dora?from=9997-01-01&to=9999-12-31", "/api/v1/dora/trend?from=9997-01-01&to=9999-12-31&bucket=month",
		"/api/v1/deployments?from=9999-01-01&to=9999-12-31", "/api/v1/dora?from=1970-01-01&to=1972-12-31",
		"/api/v1/metrics/checkout.conversion?from=9999-12-01&to=9999-12-31", "/api/v1/ideas/CHK-1", "/api/v1/ideas",
		"/dora?from=9999-01-01&to=9999-12-31", "/trends?from=9998-01-01&to=9999-12-31&bucket=month", "/ideas/CHK-1",
		"/api/v1/events/view?source=%2Fedge&id=1-2",
	} {
		checkAnswer(t, target, e.get(target))
	}
}
