package web_test

import (
	"context"
	"encoding/json"
	"github.com/throughline/throughline/domain/domaintest"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/throughline/throughline/adapters/cdevents"
	"github.com/throughline/throughline/adapters/sqlstore"
	"github.com/throughline/throughline/domain"
)

// Instants a broken clock sends: the Unix epoch itself (a zero timestamp),
// a day after it, and the last second the decoder takes (it refuses years
// before 1970 and after 9999).
var (
	epoch     = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	nearEpoch = time.Date(1970, 1, 2, 3, 4, 5, 0, time.UTC)
	doomsday  = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
)

// seedExtremeDates stores, next to the ordinary seed, a change, its
// deployment, an incident and telemetry of the service checkout and the idea
// CHK-1 dated 1 January 1970, and the same dated 31 December 9999: data a
// producer with a broken clock sends, stored before any rule refused it.
func (e *hostileEnv) seedExtremeDates(tb testing.TB) {
	tb.Helper()
	dec, err := cdevents.NewDecoder("")
	if err != nil {
		tb.Fatal(err)
	}
	var recs []domain.EventRecord
	seq := uint64(1000)
	add := func(ev domain.Event) {
		tb.Helper()
		ce, err := cdevents.FromEvent(ev)
		if err != nil {
			tb.Fatal(err)
		}
		body, err := cdevents.EncodeStructured(ce)
		if err != nil {
			tb.Fatal(err)
		}
		_, decoded, err := dec.DecodeMessage(nil, body)
		if err != nil {
			tb.Fatalf("%s at %s: %v", ev.Kind, ev.Time, err)
		}
		seq++
		recs = append(recs, domain.EventRecord{Event: decoded, Raw: body, Subject: "throughline.events.delivery.checkout", StreamSeq: seq})
	}
	for i, at := range []time.Time{epoch, nearEpoch, doomsday} {
		n := []string{"epoch", "1970", "9999"}[i]
		id := func(s string) domain.Identity { return domain.Identity{Source: "/clock/" + n, ID: s} }
		change, artifact := "acme/shop#"+n, "pkg:oci/shop@"+n
		add(domain.Event{Identity: id("created"), Kind: domain.KindChangeCreated, Time: at, SubjectID: change, Repository: "acme/shop", Ideas: []string{"CHK-1"}})
		add(domain.Event{Identity: id("merged"), Kind: domain.KindChangeMerged, Time: at, SubjectID: change, Repository: "acme/shop", Ideas: []string{"CHK-1"}})
		add(domain.Event{Identity: id("packaged"), Kind: domain.KindArtifactPackaged, Time: at, SubjectID: artifact, Change: change})
		add(domain.Event{Identity: id("deployed"), Kind: domain.KindServiceDeployed, Time: at, SubjectID: "checkout", Service: "checkout",
			Environment: "production", Artifact: artifact, Team: "payments", Ideas: []string{"CHK-1"}})
		add(domain.Event{Identity: id("detected"), Kind: domain.KindIncidentDetected, Time: at, SubjectID: "inc-" + n, Service: "checkout", Environment: "production"})
		add(domain.Event{Identity: id("telemetry"), Kind: domain.KindTelemetry, Time: at, Samples: []domain.Sample{
			{Metric: "checkout.conversion", Value: 0.5, Time: at, Attributes: map[string]string{"service": "checkout", "env": "production"}},
			{Metric: "http.requests", Value: 10, Time: at, Attributes: map[string]string{"service": "checkout"}},
			{Metric: "http.requests.good", Value: 1, Time: at, Attributes: map[string]string{"service": "checkout"}}}})
	}
	// And an idea at work for ten days, as a yardstick beside CHK-1.
	if _, err := e.store.CreateIdea(context.Background(), domain.Idea{Key: "CHK-2", Title: "Saved carts", Horizon: domain.HorizonNow,
		FlowType: domain.FlowFeature, Services: []string{"checkout"}}, "seed"); err != nil {
		tb.Fatal(err)
	}
	add(domain.Event{Identity: domain.Identity{Source: "/ci", ID: "chk-2"}, Kind: domain.KindChangeCreated, Time: fuzzNow.AddDate(0, 0, -10),
		SubjectID: "acme/shop#2", Repository: "acme/shop", Ideas: []string{"CHK-2"}})
	if _, err := e.store.StoreEvents(context.Background(), recs); err != nil {
		tb.Fatal(err)
	}
}

// Events dated 1970 and 9999, once stored, are shown sanely: no page or API
// answer fails or writes the year 1; windows reaching before 2000 or more
// than a year ahead are refused with a message naming the range, which the
// date inputs carry as min and max; an item whose clock said 1970 sits on
// the top edge of the aging chart instead of flattening the others; and
// durations of decades read in years, not tens of thousands of days.
func TestStoredEventsFrom1970And9999ShowSanely(t *testing.T) {
	domaintest.Slow(t)
	e := newHostileEnv(t, sqlstore.SQLite) // seeds them (seedExtremeDates)
	stream := strconv.FormatInt(e.stream, 10)
	manyDays := regexp.MustCompile(`\b\d{4,}(\.\d)? d\b`)
	for _, r := range e.getRoutes() {
		for _, target := range []string{r[0], r[0] + "?" + r[1]} {
			rec := e.get(target)
			checkAnswer(t, target, rec)
			body := rec.Body.String()
			if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") && !json.Valid(rec.Body.Bytes()) {
				t.Errorf("%s: not JSON", target)
			}
			for _, bad := range []string{"0001-01-01", "NaN", "Inf"} {
				if strings.Contains(body, bad) {
					t.Errorf("%s: writes %q", target, bad)
				}
			}
			if m := manyDays.FindString(body); m != "" {
				t.Errorf("%s: a duration of %s", target, m)
			}
		}
	}

	// The range of windows, from the server's clock (fuzzNow).
	const first, last = "2000-01-01", "2027-03-20"
	windowed := []string{"/dora", "/trends", "/trends.csv?table=compare-team-lead_time&compare=team", "/value-streams/" + stream,
		"/api/v1/dora", "/api/v1/dora/trend", "/api/v1/deployments", "/api/v1/incidents", "/api/v1/value-streams/" + stream + "/flow",
		"/api/v1/metrics/checkout.conversion", "/api/v1/annotations"}
	for _, path := range windowed {
		join := "?"
		if strings.Contains(path, "?") {
			join = "&"
		}
		for _, q := range []string{"from=1970-01-01&to=1970-03-31", "from=9999-10-01&to=9999-12-31", "from=1999-12-31&to=2000-01-31",
			"from=2027-03-01&to=2027-03-21", "from=1970-01-01"} {
			rec := e.get(path + join + q)
			checkRefused(t, path+join+q, rec, http.StatusBadRequest)
			if !strings.Contains(rec.Body.String(), "from "+first+" to "+last) {
				t.Errorf("%s%s%s: the refusal does not name the range: %.300s", path, join, q, rec.Body.String())
			}
		}
		for _, q := range []string{"from=" + first + "&to=2000-01-31", "from=2027-01-01&to=" + last} {
			if rec := e.get(path + join + q); rec.Code != http.StatusOK {
				t.Errorf("%s%s%s: %d; the range's own ends are refused", path, join, q, rec.Code)
			}
		}
	}
	for _, page := range []string{"/dora", "/trends", "/value-streams/" + stream} {
		doc, _ := goquery.NewDocumentFromReader(e.get(page).Body)
		inputs := doc.Find(`input[type="date"]`)
		if inputs.Length() != 2 {
			t.Errorf("%s: %d date inputs", page, inputs.Length())
		}
		inputs.Each(func(_ int, s *goquery.Selection) {
			if lo, _ := s.Attr("min"); lo != first {
				t.Errorf("%s: date input min %q", page, lo)
			}
			if hi, _ := s.Attr("max"); hi != last {
				t.Errorf("%s: date input max %q", page, hi)
			}
		})
	}

	// CHK-1 has been in Deploy since 1970-01-02, CHK-2 in Code ten days.
	doc, _ := goquery.NewDocumentFromReader(e.get("/value-streams/" + stream).Body)
	aging := doc.Find(`[data-testid="aging-chart"]`)
	if aging.Find(`[data-testid="aging-off-scale"]`).Length() != 1 {
		t.Error("the aging chart does not say an item is off its scale")
	}
	aging.Find("circle").Each(func(_ int, s *goquery.Selection) {
		class, _ := s.Attr("class")
		if off := strings.Contains(class, "dot-off-scale"); off != strings.HasPrefix(s.Find("title").Text(), "CHK-1") {
			t.Errorf("dot %q: off the scale %v", s.Find("title").Text(), off)
		}
	})
	ticks := aging.Find("svg.chart-y text")
	var top string
	ticks.Each(func(_ int, s *goquery.Selection) {
		if strings.HasSuffix(s.Text(), " d") || strings.HasSuffix(s.Text(), " y") {
			top = s.Text()
		}
	})
	if top != "10 d" { // CHK-2's 10 d, in steps of 2
		t.Errorf("the aging chart's scale reaches %q", top)
	}
	doc, _ = goquery.NewDocumentFromReader(e.get("/ideas/CHK-1").Body)
	if got := doc.Find(`.timeline-when`).Text(); !strings.Contains(got, "56.2 y") {
		t.Errorf("the idea's stages since 1970: %q", got)
	}
}
