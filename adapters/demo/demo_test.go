package demo_test

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/throughline/throughline/adapters/demo"
	"github.com/throughline/throughline/domain"
)

var end = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

// parsed is a generated CDEvent or telemetry batch, read back.
type parsed struct {
	ce   domain.CloudEvent
	kind string // subject.predicate or "telemetry.samples"
	cd   struct {
		Context struct {
			Version     string `json:"version"`
			SpecVersion string `json:"specversion"`
			ID          string `json:"id"`
			Source      string `json:"source"`
			Type        string `json:"type"`
			Timestamp   string `json:"timestamp"`
		} `json:"context"`
		Subject struct {
			ID      string `json:"id"`
			Source  string `json:"source"`
			Type    string `json:"type"`
			Content struct {
				Environment struct{ ID string } `json:"environment"`
				Service     struct{ ID string } `json:"service"`
				Change      struct{ ID string } `json:"change"`
				ArtifactID  string              `json:"artifactId"`
				Outcome     string              `json:"outcome"`
			} `json:"content"`
		} `json:"subject"`
		CustomData struct {
			Ideas  []string `json:"ideas"`
			Team   string   `json:"team"`
			Hotfix bool     `json:"hotfix"`
			Title  string   `json:"title"`
			Branch string   `json:"branch"`
		} `json:"customData"`
		CustomDataContentType string `json:"customDataContentType"`
	}
	samples []struct {
		Metric     string            `json:"metric"`
		Value      float64           `json:"value"`
		Time       string            `json:"time"`
		Attributes map[string]string `json:"attributes"`
	}
}

func parse(t *testing.T, ce domain.CloudEvent) parsed {
	t.Helper()
	p := parsed{ce: ce}
	if ce.Type == "dev.throughline.telemetry.samples.v1" {
		p.kind = "telemetry.samples"
		var data struct {
			Samples json.RawMessage `json:"samples"`
		}
		if err := json.Unmarshal(ce.Data, &data); err != nil {
			t.Fatalf("event %s: %v", ce.ID, err)
		}
		if err := json.Unmarshal(data.Samples, &p.samples); err != nil {
			t.Fatalf("event %s samples: %v", ce.ID, err)
		}
		return p
	}
	parts := strings.Split(ce.Type, ".")
	if len(parts) != 7 || parts[0] != "dev" || parts[1] != "cdevents" {
		t.Fatalf("event %s: type %q is not dev.cdevents.<subject>.<predicate>.<version>", ce.ID, ce.Type)
	}
	p.kind = parts[2] + "." + parts[3]
	if err := json.Unmarshal(ce.Data, &p.cd); err != nil {
		t.Fatalf("event %s: %v", ce.ID, err)
	}
	return p
}

func parseAll(t *testing.T, h demo.History) []parsed {
	t.Helper()
	out := make([]parsed, len(h.Events))
	for i, ce := range h.Events {
		out[i] = parse(t, ce)
	}
	return out
}

func isProduction(p parsed) bool {
	return strings.HasPrefix(p.kind, "service.") && p.cd.Subject.Content.Environment.ID == "production"
}

func TestGenerateIsDeterministic(t *testing.T) {
	o := demo.Options{Days: 30, Seed: 3, End: end}
	a, b := demo.Generate(o), demo.Generate(o)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two histories from the same options differ")
	}
	o.Seed = 4
	c := demo.Generate(o)
	if reflect.DeepEqual(a.Events, c.Events) {
		t.Fatal("histories from different seeds are equal")
	}
	same := 0
	for i := range min(len(a.Events), len(c.Events)) {
		if a.Events[i].ID == c.Events[i].ID {
			same++
		}
	}
	if same > 0 {
		t.Errorf("%d event ids are shared between seeds", same)
	}
}

var configs = []struct {
	name string
	o    demo.Options
}{
	{"defaults", demo.Options{End: end}},
	{"two weeks at scale 2", demo.Options{Days: 14, Scale: 2, End: end}},
	{"30 days seed 7", demo.Options{Days: 30, Seed: 7, End: end}},
	{"two days", demo.Options{Days: 2, End: end}},
	{"end in the afternoon", demo.Options{Days: 20, End: end.Add(15*time.Hour + 20*time.Minute)}},
}

func TestEventsAreWellFormed(t *testing.T) {
	for _, tc := range configs {
		t.Run(tc.name, func(t *testing.T) {
			h := demo.Generate(tc.o)
			days := cmpOr(tc.o.Days, 90)
			start := tc.o.End.Add(-time.Duration(days) * 24 * time.Hour)
			if len(h.Events) == 0 {
				t.Fatal("no events")
			}
			ids := map[string]bool{}
			for i, ce := range h.Events {
				if i > 0 {
					prev := h.Events[i-1]
					if ce.Time.Before(prev.Time) || ce.Time.Equal(prev.Time) && ce.ID < prev.ID {
						t.Fatalf("events %d and %d are out of order", i-1, i)
					}
				}
				if ce.Time.Before(start) || ce.Time.After(tc.o.End) {
					t.Errorf("event %s at %s is outside %s..%s", ce.ID, ce.Time, start, tc.o.End)
				}
				if ce.Time.Location() != time.UTC {
					t.Errorf("event %s time is not UTC", ce.ID)
				}
				if ids[ce.ID] {
					t.Errorf("id %s is used twice", ce.ID)
				}
				ids[ce.ID] = true
				if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$`).MatchString(ce.ID) {
					t.Errorf("id %q is not shaped like a UUID", ce.ID)
				}
				if ce.SpecVersion != "1.0" || ce.Source == "" || ce.DataContentType != "application/json" {
					t.Errorf("event %s envelope: %+v", ce.ID, ce)
				}
				checkData(t, parse(t, ce))
			}
		})
	}
}

func checkData(t *testing.T, p parsed) {
	t.Helper()
	ce := p.ce
	if p.kind == "telemetry.samples" {
		if ce.Source != "/otel/collector" || len(p.samples) == 0 {
			t.Errorf("telemetry %s: source %q, %d samples", ce.ID, ce.Source, len(p.samples))
		}
		for _, s := range p.samples {
			st, err := time.Parse(time.RFC3339, s.Time)
			if err != nil || !st.Equal(ce.Time) || !strings.HasSuffix(s.Time, "Z") {
				t.Errorf("telemetry %s: sample time %q (event at %s): %v", ce.ID, s.Time, ce.Time, err)
			}
			if math.IsNaN(s.Value) || math.IsInf(s.Value, 0) || s.Value < 0 {
				t.Errorf("telemetry %s: %s = %v", ce.ID, s.Metric, s.Value)
			}
			if s.Metric == "" || s.Attributes["service"] == "" || s.Attributes["env"] != "production" {
				t.Errorf("telemetry %s: sample %+v", ce.ID, s)
			}
		}
		return
	}
	c := p.cd.Context
	if c.ID != ce.ID || c.Source != ce.Source || c.Type != ce.Type || c.Timestamp != ce.Time.Format(time.RFC3339) {
		t.Errorf("event %s: context %+v does not match the CloudEvent (%s %s %s)", ce.ID, c, ce.Source, ce.Type, ce.Time)
	}
	// Only the notifications service (and its copies) speaks CDEvents v0.4,
	// and every event about it names it.
	v04 := strings.Contains(string(ce.Data), "notifications")
	switch {
	case v04 && (c.Version != "0.4.1" || c.SpecVersion != "" || p.cd.Subject.Type == ""):
		t.Errorf("event %s about notifications is not a v0.4.1 CDEvent: %s", ce.ID, ce.Data)
	case !v04 && (c.SpecVersion != "0.5.1" || c.Version != "" || p.cd.Subject.Type != ""):
		t.Errorf("event %s is not a v0.5.1 CDEvent: %s", ce.ID, ce.Data)
	}
	if p.cd.Subject.ID == "" {
		t.Errorf("event %s has no subject id", ce.ID)
	}
	if o := p.cd.Subject.Content.Outcome; o != "" {
		want := map[bool][]string{true: {"pass", "fail"}, false: {"success", "failure"}}[v04]
		if !slices.Contains(want, o) {
			t.Errorf("event %s: outcome %q, want one of %v", ce.ID, o, want)
		}
	}
	switch {
	case strings.HasPrefix(p.kind, "service."):
		env := p.cd.Subject.Content.Environment.ID
		if env != "production" && env != "staging" || p.cd.Subject.Content.ArtifactID == "" || p.cd.CustomData.Team == "" {
			t.Errorf("deployment %s: %s", ce.ID, ce.Data)
		}
	case strings.HasPrefix(p.kind, "incident."):
		if p.cd.Subject.Content.Environment.ID != "production" || p.cd.CustomData.Team == "" {
			t.Errorf("incident %s: %s", ce.ID, ce.Data)
		}
	case p.kind == "artifact.packaged":
		if p.cd.Subject.Content.Change.ID == "" || !strings.HasPrefix(p.cd.Subject.ID, "pkg:oci/") {
			t.Errorf("artifact.packaged %s: %s", ce.ID, ce.Data)
		}
	case strings.HasPrefix(p.kind, "change."):
		if !regexp.MustCompile(`^acme/[a-z0-9-]+#\d+$`).MatchString(p.cd.Subject.ID) {
			t.Errorf("change id %q", p.cd.Subject.ID)
		}
	}
	if p.cd.CustomDataContentType == "" && strings.Contains(string(ce.Data), `"customData"`) {
		t.Errorf("event %s has customData without customDataContentType", ce.ID)
	}
}

func cmpOr(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// roadmapKeys are the demo roadmap's ideas; the rest of History.Ideas are
// small work items.
var roadmapKeys = []string{"CHK-12", "CHK-15", "CHK-18", "PAY-3", "PAY-8", "SRCH-40", "SRCH-41", "SRCH-44", "CAT-7", "CAT-9", "NOT-2", "PLAT-1"}

func isWorkItem(idea demo.IdeaSpec) bool { return !slices.Contains(roadmapKeys, idea.Key) }

var ideaKeyPattern = regexp.MustCompile(domain.DefaultIdeaKeyPattern)

// ideasOf are the ideas an event names the ways Throughline reads them.
func ideasOf(p parsed) []string {
	cd := p.cd.CustomData
	texts := []string{cd.Title, cd.Branch}
	if strings.HasPrefix(p.kind, "change.") {
		texts = append(texts, p.cd.Subject.ID)
	}
	return domain.IdeaKeys(ideaKeyPattern, cd.Ideas, texts...)
}

// changesPerIdea counts the distinct changes whose events name each idea.
func changesPerIdea(events []parsed) map[string]int {
	seen := map[string]bool{}
	out := map[string]int{}
	for _, p := range events {
		if !strings.HasPrefix(p.kind, "change.") {
			continue
		}
		for _, key := range ideasOf(p) {
			if k := key + " " + p.cd.Subject.ID; !seen[k] {
				seen[k] = true
				out[key]++
			}
		}
	}
	return out
}

func TestIdeasLinkedToChangesExist(t *testing.T) {
	h := demo.Generate(demo.Options{End: end})
	known := map[string]demo.IdeaSpec{}
	for _, idea := range h.Ideas {
		if _, dup := known[idea.Key]; dup {
			t.Errorf("idea %s twice", idea.Key)
		}
		known[idea.Key] = idea
	}
	for i, key := range roadmapKeys {
		if i >= len(h.Ideas) || h.Ideas[i].Key != key {
			t.Errorf("roadmap idea %d is not %s", i, key)
		}
		if idea, ok := known[key]; !ok || idea.PlanLead != 72*time.Hour {
			t.Errorf("roadmap idea %s: %+v", key, idea)
		}
	}
	changesPerIdea := changesPerIdea(parseAll(t, h))
	for key := range changesPerIdea {
		if _, ok := known[key]; !ok {
			t.Errorf("a change names idea %s, which is not in Ideas", key)
		}
	}
	for _, idea := range h.Ideas {
		n := changesPerIdea[idea.Key]
		switch {
		case idea.Horizon == "now" && n == 0:
			t.Errorf("idea %s is on Now but has no changes", idea.Key)
		case idea.Horizon != "now" && n > 0:
			t.Errorf("idea %s is on %s but has %d changes", idea.Key, idea.Horizon, n)
		}
		if kr := idea.KeyResult; kr != nil && (kr.Direction != "increase" && kr.Direction != "decrease" || kr.Due.IsZero()) {
			t.Errorf("idea %s key result %+v", idea.Key, kr)
		}
	}
}

// incidentsByAttribution applies DESIGN.md's attribution rules in their
// simplest form to the generated incidents.
func incidentsByAttribution(t *testing.T, events []parsed) (attributed, unattributed, unresolved int) {
	t.Helper()
	type deploy struct {
		at       time.Time
		artifact string
		rollback bool
	}
	deploys := map[string][]deploy{}
	type inc struct {
		start             time.Time
		service, artifact string
		resolved          bool
	}
	incidents := map[string]*inc{}
	var order []string
	for _, p := range events {
		switch {
		case isProduction(p):
			deploys[p.cd.Subject.ID] = append(deploys[p.cd.Subject.ID], deploy{p.ce.Time, p.cd.Subject.Content.ArtifactID, p.kind == "service.rolledback"})
		case strings.HasPrefix(p.kind, "incident."):
			i := incidents[p.cd.Subject.ID]
			if i == nil {
				i = &inc{start: p.ce.Time, service: p.cd.Subject.Content.Service.ID, artifact: p.cd.Subject.Content.ArtifactID}
				incidents[p.cd.Subject.ID] = i
				order = append(order, p.cd.Subject.ID)
			}
			i.resolved = i.resolved || p.kind == "incident.resolved"
		}
	}
	for _, id := range order {
		i := incidents[id]
		if !i.resolved {
			unresolved++
		}
		found := false
		var last *deploy
		for _, d := range deploys[i.service] {
			if !d.at.Before(i.start) {
				break
			}
			if d.artifact == i.artifact && !d.rollback {
				found = true
			}
			if !d.rollback {
				last = &d
			}
		}
		if i.artifact == "" && last != nil && i.start.Sub(last.at) <= 24*time.Hour {
			found = true
		}
		if found {
			attributed++
		} else {
			unattributed++
		}
	}
	return attributed, unattributed, unresolved
}

func TestIncidentsAttributedAndNot(t *testing.T) {
	events := parseAll(t, demo.Generate(demo.Options{End: end}))
	attributed, unattributed, unresolved := incidentsByAttribution(t, events)
	deployments := 0
	for _, p := range events {
		if isProduction(p) && p.kind != "service.rolledback" {
			deployments++
		}
	}
	rate := float64(attributed) / float64(deployments)
	t.Logf("%d production deployments, %d attributed incidents (%.1f%%), %d unattributed, %d unresolved",
		deployments, attributed, 100*rate, unattributed, unresolved)
	if rate < 0.06 || rate > 0.15 {
		t.Errorf("change failure rate %.3f, want about 10%%", rate)
	}
	if unattributed < 3 || unattributed > 5 {
		t.Errorf("%d unattributed incidents, want 3 to 5", unattributed)
	}
	if unresolved != 1 {
		t.Errorf("%d incidents unresolved at the end, want 1", unresolved)
	}
}

func TestRollbacksAndHotfixes(t *testing.T) {
	for _, tc := range configs[:3] {
		t.Run(tc.name, func(t *testing.T) {
			live := map[string][]string{} // artifacts deployed to production so far, per service
			rollbacks, hotfixes := 0, 0
			for _, p := range parseAll(t, demo.Generate(tc.o)) {
				if !isProduction(p) {
					continue
				}
				svc, art := p.cd.Subject.ID, p.cd.Subject.Content.ArtifactID
				if p.kind == "service.rolledback" {
					rollbacks++
					if !slices.Contains(live[svc], art) {
						t.Errorf("%s rolled back to %s, never deployed to production before", svc, art)
					}
				}
				if p.cd.CustomData.Hotfix {
					hotfixes++
				}
				live[svc] = append(live[svc], art)
			}
			if rollbacks == 0 || hotfixes == 0 {
				t.Errorf("%d rollbacks and %d hotfix deployments; want at least one of each", rollbacks, hotfixes)
			}
		})
	}
}

// TestDeploymentsShipPackagedChanges follows each production deployment back
// to the changes its artifact packages.
func TestDeploymentsShipPackagedChanges(t *testing.T) {
	events := parseAll(t, demo.Generate(demo.Options{End: end}))
	merged := map[string]time.Time{}
	packaged := map[string][]string{}
	staged := map[string]time.Time{}
	for _, p := range events {
		switch {
		case p.kind == "change.merged":
			merged[p.cd.Subject.ID] = p.ce.Time
		case p.kind == "artifact.packaged":
			ch := p.cd.Subject.Content.Change.ID
			if at, ok := merged[ch]; ok && at.After(p.ce.Time) {
				t.Errorf("%s packaged before it merged", ch)
			}
			packaged[p.cd.Subject.ID] = append(packaged[p.cd.Subject.ID], ch)
		case p.kind == "service.deployed" && p.cd.Subject.Content.Environment.ID == "staging":
			staged[p.cd.Subject.Content.ArtifactID] = p.ce.Time
		case isProduction(p) && p.kind != "service.rolledback":
			art := p.cd.Subject.Content.ArtifactID
			if _, ok := staged[art]; !ok && p.ce.Time.After(end.Add(-80*24*time.Hour)) {
				t.Errorf("%s reached production without staging", art)
			}
			if n := len(packaged[art]); n == 0 && p.ce.Time.After(end.Add(-80*24*time.Hour)) || n > 8 {
				t.Errorf("production deployment of %s carries %d changes", art, n)
			}
		}
	}
}

func TestVolumeScalesWithDaysAndScale(t *testing.T) {
	count := func(o demo.Options) (delivery, telemetry, samples int) {
		o.End = end
		for _, ce := range demo.Generate(o).Events {
			if strings.HasPrefix(ce.Type, "dev.cdevents.") {
				delivery++
				continue
			}
			telemetry++
			var data struct{ Samples []json.RawMessage }
			if err := json.Unmarshal(ce.Data, &data); err != nil {
				t.Fatal(err)
			}
			samples = max(samples, len(data.Samples))
		}
		return
	}
	base, tel, samples := count(demo.Options{Days: 90})
	t.Logf("90 days: %d delivery events, %d telemetry events of %d samples", base, tel, samples)
	if base < 2000 || base > 9000 {
		t.Errorf("%d delivery events for 90 days, want a few thousand", base)
	}
	if tel != 90*24 || samples != 4+2*5 {
		t.Errorf("%d telemetry events of %d samples, want %d of %d", tel, samples, 90*24, 4+2*5)
	}
	tests := []struct {
		name     string
		o        demo.Options
		ratio    float64
		tel, smp int
	}{
		{"half the days", demo.Options{Days: 45}, 0.5, 45 * 24, 14},
		{"twice the services", demo.Options{Days: 90, Scale: 2}, 2, 90 * 24, 24},
		{"three times the services", demo.Options{Days: 90, Scale: 3}, 3, 90 * 24, 34},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, tel, smp := count(tc.o)
			got := float64(n) / float64(base)
			if math.Abs(got-tc.ratio) > 0.2*tc.ratio {
				t.Errorf("%d delivery events, %.2f times the 90-day history; want about %.1f", n, got, tc.ratio)
			}
			if tel != tc.tel || smp != tc.smp {
				t.Errorf("%d telemetry events of %d samples, want %d of %d", tel, smp, tc.tel, tc.smp)
			}
		})
	}
}

// TestOutcomeMetricsFollowIdeas compares daily means of outcome metrics
// 14 days before and after each idea's first production deployment.
func TestOutcomeMetricsFollowIdeas(t *testing.T) {
	h := demo.Generate(demo.Options{End: end})
	events := parseAll(t, h)
	pattern := regexp.MustCompile(domain.DefaultIdeaKeyPattern)
	ideasOfChange := map[string][]string{}
	ideasOfArtifact := map[string][]string{}
	firstDeploy := map[string]time.Time{}
	for _, p := range events {
		switch {
		case strings.HasPrefix(p.kind, "change."):
			cd := p.cd.CustomData
			ideasOfChange[p.cd.Subject.ID] = domain.IdeaKeys(pattern, cd.Ideas, cd.Title, cd.Branch)
		case p.kind == "artifact.packaged":
			ideasOfArtifact[p.cd.Subject.ID] = append(ideasOfArtifact[p.cd.Subject.ID], ideasOfChange[p.cd.Subject.Content.Change.ID]...)
		case isProduction(p) && p.kind != "service.rolledback":
			for _, key := range ideasOfArtifact[p.cd.Subject.Content.ArtifactID] {
				if _, ok := firstDeploy[key]; !ok {
					firstDeploy[key] = p.ce.Time
				}
			}
		}
	}
	daily := map[string]map[time.Time][]float64{}
	for _, p := range events {
		for _, s := range p.samples {
			day := p.ce.Time.Truncate(24 * time.Hour)
			if daily[s.Metric] == nil {
				daily[s.Metric] = map[time.Time][]float64{}
			}
			daily[s.Metric][day] = append(daily[s.Metric][day], s.Value)
		}
	}
	meanAround := func(metric string, at time.Time, from, to int) float64 {
		var sum float64
		var n int
		for d := from; d <= to; d++ {
			for _, v := range daily[metric][at.Truncate(24*time.Hour).AddDate(0, 0, d)] {
				sum += v
				n++
			}
		}
		if n == 0 {
			t.Fatalf("no %s samples around %s", metric, at)
		}
		return sum / float64(n)
	}
	tests := []struct {
		idea, metric   string
		change, within float64
	}{
		{"CHK-12", "checkout.conversion", 0.005, 0.0015},
		{"PAY-3", "payments.success_rate", 0.013, 0.004},
		{"SRCH-40", "search.click_through", 0.05, 0.015},
		{"SRCH-41", "search.click_through", 0, 0.015},
		{"CAT-7", "catalog.p95_latency_ms", -210, 50},
	}
	for _, tc := range tests {
		t.Run(tc.idea, func(t *testing.T) {
			at, ok := firstDeploy[tc.idea]
			if !ok {
				t.Fatalf("%s never reached production", tc.idea)
			}
			before := meanAround(tc.metric, at, -14, -1)
			after := meanAround(tc.metric, at, 1, 14)
			if math.Abs(after-before-tc.change) > tc.within {
				t.Errorf("%s moved from %.4f to %.4f after %s shipped on %s; want a change of %v ± %v",
					tc.metric, before, after, tc.idea, at.Format(time.DateOnly), tc.change, tc.within)
			}
		})
	}
}

func TestSLIsDipDuringIncidents(t *testing.T) {
	events := parseAll(t, demo.Generate(demo.Options{End: end}))
	type counts struct{ good, total float64 }
	normal, worst := counts{}, 1.0
	for _, p := range events {
		byService := map[string]*counts{}
		for _, s := range p.samples {
			svc := s.Attributes["service"]
			if byService[svc] == nil {
				byService[svc] = &counts{}
			}
			switch s.Metric {
			case "http.requests.good":
				byService[svc].good += s.Value
			case "http.requests.total":
				byService[svc].total += s.Value
			}
		}
		for _, c := range byService {
			if c.total == 0 {
				continue
			}
			if c.good > c.total {
				t.Fatalf("more good requests than requests at %s", p.ce.Time)
			}
			normal.good += c.good
			normal.total += c.total
			worst = min(worst, c.good/c.total)
		}
	}
	if r := normal.good / normal.total; r < 0.995 || r > 0.9995 {
		t.Errorf("overall good/total %.5f, want about 0.999", r)
	}
	if worst > 0.99 {
		t.Errorf("worst hourly good/total %.4f; incidents should show", worst)
	}
}

func TestDefaultsEndToday(t *testing.T) {
	h := demo.Generate(demo.Options{Days: 3})
	today := time.Now().UTC().Truncate(24 * time.Hour)
	last := h.Events[len(h.Events)-1].Time
	if last.After(today) || last.Before(today.Add(-3*time.Hour)) {
		t.Errorf("last event at %s, want the hours before %s", last, today)
	}
	if len(h.Services) != 5 || h.Services[0] != (demo.ServiceSpec{Name: "checkout", Team: "payments"}) {
		t.Errorf("services %+v", h.Services)
	}
}

func BenchmarkGenerate(b *testing.B) {
	for _, o := range []demo.Options{{Days: 90}, {Days: 90, Scale: 10}} {
		o.End = end
		b.Run(fmt.Sprintf("days=%d/scale=%d", o.Days, max(o.Scale, 1)), func(b *testing.B) {
			for b.Loop() {
				demo.Generate(o)
			}
		})
	}
}

// TestSomeWorkIsRolledBack: the demo shows rolled back ideas (DESIGN.md 4) —
// work whose only deployment was rolled back and never shipped again — while
// the roadmap's shipped ideas stay in production (their ship deployment
// sticks). Presence is decided as Throughline does (domain.PresenceOn).
func TestSomeWorkIsRolledBack(t *testing.T) {
	h := demo.Generate(demo.Options{End: end})
	keys := map[string]bool{}
	roadmap := map[string]bool{}
	for _, i := range h.Ideas {
		keys[i.Key] = true
		if i.KeyResult != nil {
			roadmap[i.Key] = true
		}
	}
	keyPattern := regexp.MustCompile(domain.DefaultIdeaKeyPattern)
	ideasOf := map[string][]string{} // change → ideas
	packaged := map[string][]string{}
	history := map[string][]domain.ProdDeployment{}
	for i, p := range parseAll(t, h) {
		switch {
		case strings.HasPrefix(p.kind, "change."):
			found := append(append([]string{}, p.cd.CustomData.Ideas...), keyPattern.FindAllString(p.cd.CustomData.Title+" "+p.cd.CustomData.Branch+" "+p.cd.Subject.ID, -1)...)
			for _, k := range found {
				if keys[k] && !slices.Contains(ideasOf[p.cd.Subject.ID], k) {
					ideasOf[p.cd.Subject.ID] = append(ideasOf[p.cd.Subject.ID], k)
				}
			}
		case p.kind == "artifact.packaged":
			packaged[p.cd.Subject.ID] = append(packaged[p.cd.Subject.ID], p.cd.Subject.Content.Change.ID)
		case isProduction(p) && p.kind != "service.removed":
			svc := p.cd.Subject.ID
			history[svc] = append(history[svc], domain.ProdDeployment{PK: int64(i), Service: svc, Artifact: p.cd.Subject.Content.ArtifactID,
				At: p.ce.Time, Rollback: p.kind == "service.rolledback"})
		}
	}
	var rolledBack []string
	for key := range keys {
		carries := func(artifact string) bool {
			for _, c := range packaged[artifact] {
				if slices.Contains(ideasOf[c], key) {
					return true
				}
			}
			return false
		}
		var ps []domain.Presence
		for _, ds := range history {
			ps = append(ps, domain.PresenceOn(ds, carries, nil))
		}
		if domain.RolledBackBy(ps) != nil {
			rolledBack = append(rolledBack, key)
			if roadmap[key] {
				t.Errorf("roadmap idea %s is rolled back", key)
			}
		}
	}
	slices.Sort(rolledBack)
	t.Logf("rolled back: %v", rolledBack)
	if len(rolledBack) == 0 {
		t.Error("no idea is rolled back: the demo does not show what a rollback does to an idea")
	}
}
