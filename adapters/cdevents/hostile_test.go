package cdevents_test

import (
	"encoding/json"
	"math"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/throughline/throughline/adapters/cdevents"
	"github.com/throughline/throughline/domain"
)

// checkStorable is the property every decode keeps in addition to
// checkOutcome's: a refusal's message can be stored and sent as a NATS header
// (bounded, valid UTF-8, no NUL); an accepted event holds no text a database
// refuses, a time in range and, for telemetry, finite samples the rollups
// can add up.
func checkStorable(t *testing.T, ev domain.Event, err error) {
	t.Helper()
	if err != nil {
		msg := domain.ErrorMessage(err)
		if domain.RejectReason(err) == "" || msg == "" || len(msg) > 600 || !utf8.ValidString(msg) || strings.ContainsRune(msg, 0) {
			t.Fatalf("refusal cannot be stored: reason %q, message %q", domain.RejectReason(err), msg)
		}
		return
	}
	texts := append([]string{ev.ID, ev.Source, ev.Type, ev.SubjectID, ev.SubjectSource, ev.Repository, ev.Environment, ev.Artifact,
		ev.Service, ev.Change, ev.ChangeSource, ev.PipelineName, ev.Team, ev.Title, ev.Branch}, ev.Ideas...)
	if f := ev.Flag; f != nil {
		texts = append(append(texts, f.Key, f.Variant), f.Services...)
		for _, name := range append([]string{f.Key}, f.Services...) {
			if len(name) > domain.MaxNameBytes {
				t.Fatalf("accepted a flag or service name of %d bytes", len(name))
			}
		}
		if f.Percentage < 0 || f.Percentage > 100 {
			t.Fatalf("accepted percentage %v", f.Percentage)
		}
	}
	if r := ev.Rollout; r != nil {
		texts = append(texts, r.Rollout, r.Message)
		if r.Weight != nil && (*r.Weight < 0 || *r.Weight > 100) {
			t.Fatalf("accepted weight %v", *r.Weight)
		}
	}
	for _, s := range ev.Samples {
		texts = append(texts, s.Metric)
		for k, v := range s.Attributes {
			texts = append(texts, k, v)
		}
		if math.IsNaN(s.Value) || math.Abs(s.Value) > cdevents.MaxSampleValue || s.Time.Year() < 1970 || s.Time.Year() > 9999 {
			t.Fatalf("sample accepted: %+v", s)
		}
	}
	for _, s := range texts {
		if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
			t.Fatalf("accepted event holds text a database refuses: %q", s)
		}
	}
	if ev.Time.Year() < 1970 || ev.Time.Year() > 9999 {
		t.Fatalf("accepted event at %v", ev.Time)
	}
	// Names reach NATS subjects and page headings, identifiers database
	// keys and the Nats-Msg-Id header: an accepted event keeps to both limits.
	for _, name := range []string{ev.Service, ev.Environment, ev.Team} {
		if len(name) > domain.MaxNameBytes {
			t.Fatalf("accepted a name of %d bytes", len(name))
		}
	}
	for _, id := range []string{ev.ID, ev.Source, ev.SubjectID, ev.Artifact, ev.Change} {
		if len(id) > domain.MaxIdentifierBytes {
			t.Fatalf("accepted an identifier of %d bytes", len(id))
		}
	}
	for _, s := range ev.Samples {
		if len(s.Metric) > domain.MaxNameBytes || len(s.Attributes["service"]) > domain.MaxNameBytes || len(s.Attributes["env"]) > domain.MaxNameBytes ||
			domain.AttributesSize(s.Attributes) > domain.MaxAttributesBytes {
			t.Fatalf("accepted a sample with a name over the limit: %.100q", s.Metric)
		}
	}
}

// kinds are the CloudEvent types the data fuzzer chooses among: one per
// projection the decoder feeds.
var kinds = []string{
	"dev.cdevents.change.merged.0.3.0", "dev.cdevents.build.finished.0.2.0", "dev.cdevents.pipelinerun.finished.0.2.0",
	"dev.cdevents.testsuiterun.finished.0.2.0", "dev.cdevents.artifact.packaged.0.2.0", "dev.cdevents.artifact.published.0.2.0",
	"dev.cdevents.service.deployed.0.2.0", "dev.cdevents.service.rolledback.0.2.0", "dev.cdevents.incident.detected.0.1.0",
	cdevents.FlagChangedType, cdevents.RolloutStartedType, cdevents.RolloutProgressedType,
	cdevents.RolloutPromotedType, cdevents.RolloutAbortedType,
	cdevents.TelemetryType,
}

// flagSeeds are flag and rollout payloads as documented in docs/api.md and
// the hostile shapes they may arrive in.
var flagSeeds = []string{
	`{"key":"new-checkout","environment":"production","enabled":true,"variant":"on","rollout_percentage":25,"services":["checkout"],"ideas":["CHK-12"],"timestamp":"2026-03-02T10:00:00Z"}`,
	`{"key":"new-checkout","environment":"production","enabled":false,"services":["checkout","payments"]}`,
	`{"key":"k","environment":"prod","enabled":"yes","rollout_percentage":"25"}`,
	`{"key":"k","environment":"prod","enabled":true,"rollout_percentage":250}`,
	`{"key":"` + strings.Repeat("k", 257) + `","environment":"prod","enabled":true}`,
	`{"key":"k\u0000","environment":"prod","enabled":true,"services":["s\u0000"]}`,
	`{"rollout":"checkout-7f3a","service":"checkout","artifact":"pkg:oci/checkout@sha256:1","environment":"production","weight":25,"baseline":{"metric":"http.latency","attributes":{"track":"stable"}},"canary":{"metric":"http.latency","attributes":{"track":"canary"}},"ideas":"CHK-12","timestamp":"2026-03-02T10:00:00Z"}`,
	`{"service":"checkout","environment":"production","weight":-1}`,
	`{"service":"checkout","environment":"production","canary":{"metric":""}}`,
	`{"service":"` + strings.Repeat("s", 300) + `","environment":"production"}`,
	`{"service":"c","environment":"p","rollout":"` + strings.Repeat("r", 2000) + `"}`,
}

// telemetrySeeds are real telemetry payloads and the hostile shapes they
// arrive in.
var telemetrySeeds = []string{
	`{"samples":[{"metric":"checkout.conversion","value":0.031,"time":"2026-03-02T10:15:00Z","attributes":{"service":"checkout","env":"production"}}]}`,
	`{"samples":[{"metric":"http.requests","value":1000,"time":"2026-03-02T10:15:00.123456789+02:00"},{"metric":"http.requests.good","value":"998","time":"2026-03-02T10:15:00Z"}]}`,
	`{"samples":[{"metric":"m","value":1.7e308,"time":"2026-03-02T10:15:00Z"},{"metric":"m","value":-1e101,"time":"2026-03-02T10:15:00Z"}]}`,
	`{"samples":[{"metric":"m\u0000","value":1,"time":"2026-03-02T10:15:00Z","attributes":{"k\u0000":5}}]}`,
	`{"samples":[{"metric":"m","value":1,"time":"0001-01-01T00:00:00Z"}]}`,
	`{"samples":{"metric":"m"}}`, `{"samples":[null]}`, `{"samples":[[]]}`, `[]`, `"samples"`,
	`{"samples":[{"metric":"` + strings.Repeat("m", 300) + `","value":1,"time":"2026-03-02T10:15:00Z","attributes":{"service":"` + strings.Repeat("s", 5000) + `"}}]}`,
	`{"samples":[{"metric":"m","value":1,"time":"2026-03-02T10:15:00Z","attributes":{"env":"` + strings.Repeat("e", 257) + `"}}]}`,
	`{"samples":[{"metric":"m","value":1,"time":"2026-03-02T10:15:00Z","attributes":{"route":"` + strings.Repeat("\u0001", 600) + `"}}]}`,
}

// FuzzDecodeData fuzzes the data of an event of a known type, below the
// envelope that FuzzDecodeStructured mostly stops at.
func FuzzDecodeData(f *testing.F) {
	index := map[domain.EventKind]uint8{}
	for i, k := range kinds {
		kind, _ := cdevents.ParseType(k)
		index[kind] = uint8(i)
	}
	for _, ce := range conformance(f) {
		if kind, err := cdevents.ParseType(ce.Type); err == nil {
			if i, ok := index[kind]; ok {
				f.Add(i, ce.Data)
			}
		}
	}
	for _, s := range telemetrySeeds {
		f.Add(uint8(len(kinds)-1), []byte(s))
	}
	for i, k := range kinds {
		if kind, _ := cdevents.ParseType(k); kind == domain.KindFlagChanged || kind.IsRollout() {
			for _, s := range flagSeeds {
				f.Add(uint8(i), []byte(s))
			}
		}
	}
	for i := range kinds[:len(kinds)-1] {
		f.Add(uint8(i), []byte(`{"context":{"version":"0.4.1","timestamp":"2026-01-01T00:00:00Z"},"subject":"c-1"}`))
		f.Add(uint8(i), []byte(`{"context":{"version":"0.4.1","timestamp":"2026-01-01T00:00:00Z"},"subject":{"id":"c\u0000","content":{"environment":"prod","artifactId":"a","change":{"id":"CHK-1"}}},"customData":{"ideas":"CHK-1, ab-2","hotfix":"true"}}`))
		long := strings.Repeat("x", 5000)
		f.Add(uint8(i), []byte(`{"context":{"version":"0.4.1","timestamp":"2026-01-01T00:00:00Z"},"subject":{"id":"`+long+`","content":{"environment":"`+long+`","service":"`+long+`","artifactId":"`+long+`","change":{"id":"`+long+`"}}},"customData":{"team":"`+long+`"}}`))
	}
	dec, _ := cdevents.NewDecoder("")
	f.Fuzz(func(t *testing.T, kind uint8, data []byte) {
		ce := domain.CloudEvent{SpecVersion: "1.0", ID: "fuzz", Source: "/fuzz", Type: kinds[int(kind)%len(kinds)], Data: data}
		ev, err := dec.Decode(ce)
		checkStorable(t, ev, err)
		checkOutcome(t, dec, ce, ev, err)
	})
}

// FuzzDecodeStorable is FuzzDecodeStructured with the storable property:
// the message of every refusal reaches the dead-letter stream and the
// database intact.
func FuzzDecodeStorable(f *testing.F) {
	for _, ce := range conformance(f) {
		b, _ := cdevents.EncodeStructured(ce)
		f.Add(b)
	}
	for _, s := range []string{
		`{"specversion":"1.0","id":42,"source":"/s","type":"dev.cdevents.change.merged.0.3.0"}`,
		`{"specversion":"1.0","id":"x","source":"/s","type":"dev.cdevents.change.merged.0.3.0","time":{"at":"2026-01-01T00:00:00Z"}}`,
		`{"specversion":"1.0","id":"x\u0000","source":"/s","type":"t"}`,
		`{"specversion":"1.0","id":"x","source":"/s","type":"dev.cdevents.change.merged.0.3.0","id":"y"}`,
		`{"specversion":"1.0","id":"x","source":"/s","type":"dev.cdevents.change.merged.0.3.0","data":{"context":{"timestamp":"` + strings.Repeat("9", 600) + `"},"subject":{"id":"c"}}}`,
		`{"specversion":"1.0","id":"x","source":"/s","type":"` + cdevents.TelemetryType + `","data":{"samples":[{"metric":"` + strings.Repeat("m\\u0000", 100) + `","value":"NaN","time":"2026-01-01T00:00:00Z"}]}}`,
	} {
		f.Add([]byte(s))
	}
	for _, s := range flagSeeds {
		f.Add([]byte(`{"specversion":"1.0","id":"f","source":"/flags","type":"` + cdevents.FlagChangedType + `","data":` + s + `}`))
		f.Add([]byte(`{"specversion":"1.0","id":"r","source":"/rollouts","type":"` + cdevents.RolloutAbortedType + `","time":"2026-03-02T10:00:00Z","data":` + s + `}`))
	}
	dec, _ := cdevents.NewDecoder("")
	f.Fuzz(func(t *testing.T, body []byte) {
		_, ev, err := dec.DecodeMessage(nil, body)
		checkStorable(t, ev, err)
	})
}

// FuzzSplitBatch fuzzes the HTTP batch format: every element is judged on
// its own, and a batch that is not an array of JSON values is refused whole.
func FuzzSplitBatch(f *testing.F) {
	var all []json.RawMessage
	names := make([]string, 0)
	evs := conformance(f)
	for name := range evs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names[:5] {
		b, _ := cdevents.EncodeStructured(evs[name])
		all = append(all, b)
	}
	batch, _ := json.Marshal(all)
	f.Add(batch)
	for _, s := range []string{`[]`, `[{}]`, `{}`, `[1,"a",null]`, `[{"specversion":"1.0"},`, `[[[[[[[[[[]]]]]]]]]]`} {
		f.Add([]byte(s))
	}
	dec, _ := cdevents.NewDecoder("")
	f.Fuzz(func(t *testing.T, body []byte) {
		items, err := cdevents.SplitBatch(body)
		if err != nil {
			checkStorable(t, domain.Event{}, err)
			return
		}
		for _, item := range items {
			if !json.Valid(item) {
				t.Fatalf("batch element is not JSON: %q", item)
			}
			_, ev, err := dec.DecodeMessage(nil, item)
			checkStorable(t, ev, err)
		}
	})
}

// FuzzParseType checks that an accepted type names a known kind and that
// any other version of it is read as the same kind.
func FuzzParseType(f *testing.F) {
	for _, k := range kinds {
		f.Add(k)
	}
	for _, s := range []string{"dev.cdevents.service.deployed.1.0.0", "dev.cdevents.service.deployed.0.3.0-draft", "dev.cdevents..0.1.0", "com.example.x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, typ string) {
		kind, err := cdevents.ParseType(typ)
		if err != nil {
			if domain.RejectReason(err) != domain.ReasonUnsupported {
				t.Fatalf("%q: %v", typ, err)
			}
			return
		}
		if strings.HasPrefix(typ, "dev.throughline.") {
			return // Throughline's own types have one spelling each
		}
		again, err := cdevents.ParseType("dev.cdevents." + kind.Subject() + "." + kind.Predicate() + ".0.99.1")
		if err != nil || again != kind {
			t.Fatalf("%q → %q → %q, %v", typ, kind, again, err)
		}
	})
}

// TestHostileEventsAreRefusedWithAReason covers what the other tests of bad
// input leave out: the shapes issue 9 names, and text no database stores.
func TestHostileEventsAreRefusedWithAReason(t *testing.T) {
	dec, _ := cdevents.NewDecoder("")
	env := func(attrs, data string) string {
		return `{"specversion":"1.0","source":"/s","type":"dev.cdevents.change.merged.0.3.0"` + attrs + `,"data":` + data + `}`
	}
	ok := `{"context":{"version":"0.4.1","timestamp":"2026-01-01T00:00:00Z"},"subject":{"id":"c"}}`
	tel := func(samples string) string {
		return `{"specversion":"1.0","id":"x","source":"/s","type":"` + cdevents.TelemetryType + `","data":{"samples":[` + samples + `]}}`
	}
	deploy := func(service, environment string) string {
		return `{"specversion":"1.0","id":"d","source":"/s","type":"dev.cdevents.service.deployed.0.2.0","data":{"context":{"version":"0.4.1","timestamp":"2026-01-01T00:00:00Z"},` +
			`"subject":{"id":"` + service + `","content":{"environment":{"id":"` + environment + `"},"artifactId":"a"}}}}`
	}
	nested := strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000)
	for _, tc := range []struct {
		name, body, reason, says string
	}{
		{"id a number", env(`,"id":42`, ok), domain.ReasonNotCloudEvent, `"id" must be a string`},
		{"time an object", env(`,"id":"x","time":{"at":1}`, ok), domain.ReasonNotCloudEvent, `"time" must be a string`},
		{"subject a string", env(`,"id":"x"`, `{"context":{"version":"0.4.1","timestamp":"2026-01-01T00:00:00Z"},"subject":"c"}`), domain.ReasonInvalidContent, "subject should be an object"},
		{"nested in data", env(`,"id":"x"`, `{"context":{},"x":`+nested+`}`), domain.ReasonNotJSON, "depth"},
		{"nested envelope", nested, domain.ReasonNotCloudEvent, "not an object"},
		{"NUL in the id", env(`,"id":"a\u0000b"`, ok), domain.ReasonInvalidContent, `"id" contains a NUL`},
		{"NUL in the subject id", env(`,"id":"x"`, `{"context":{"version":"0.4.1","timestamp":"2026-01-01T00:00:00Z"},"subject":{"id":"c\u0000"}}`), domain.ReasonInvalidContent, "subject.id contains a NUL"},
		{"NUL in a team", env(`,"id":"x"`, `{"context":{"version":"0.4.1","timestamp":"2026-01-01T00:00:00Z"},"subject":{"id":"c"},"customData":{"team":"\u0000"}}`), domain.ReasonInvalidContent, "customData.team contains a NUL"},
		{"NUL in a metric", tel(`{"metric":"m\u0000","value":1,"time":"2026-01-01T00:00:00Z"}`), domain.ReasonInvalidContent, "sample 0 metric contains a NUL"},
		{"NUL in an attribute", tel(`{"metric":"m","value":1,"time":"2026-01-01T00:00:00Z","attributes":{"a":"\u0000"}}`), domain.ReasonInvalidContent, "sample 0 attributes contains a NUL"},
		{"sample beyond 1e100", tel(`{"metric":"m","value":1.7e308,"time":"2026-01-01T00:00:00Z"}`), domain.ReasonBadValue, "out of range"},
		{"NUL in a refused metric", tel(`{"metric":"m\u0000","value":"NaN","time":"2026-01-01T00:00:00Z"}`), domain.ReasonBadValue, `m\x00`},
		{"huge timestamp", env(`,"id":"x"`, `{"context":{"timestamp":"`+strings.Repeat("9", 100_000)+`"},"subject":{"id":"c"}}`), domain.ReasonBadTimestamp, "…"},
		// Names become NATS subject tokens and identifiers the Nats-Msg-Id
		// header and database keys: over their limits they are refused.
		{"service of 5,000 characters", deploy(strings.Repeat("s", 5000), "production"), domain.ReasonInvalidContent, "service name is 5000 bytes"},
		{"environment of 257 bytes", deploy("checkout", strings.Repeat("e", 257)), domain.ReasonInvalidContent, "environment name is 257 bytes"},
		{"team of 300 bytes", env(`,"id":"x"`, `{"context":{"version":"0.4.1","timestamp":"2026-01-01T00:00:00Z"},"subject":{"id":"c"},"customData":{"team":"`+strings.Repeat("t", 300)+`"}}`), domain.ReasonInvalidContent, "team name is 300 bytes"},
		{"incident service", strings.Replace(env(`,"id":"x"`, `{"context":{"version":"0.4.1","timestamp":"2026-01-01T00:00:00Z"},"subject":{"id":"i","content":{"environment":"production","service":{"id":"`+strings.Repeat("s", 5000)+`"}}}}`), "change.merged", "incident.detected", 1), domain.ReasonInvalidContent, "service name"},
		{"id over 64 KiB", env(`,"id":"`+strings.Repeat("i", 64<<10+1)+`"`, ok), domain.ReasonInvalidContent, "id is 65537 bytes"},
		{"source over the limit", strings.Replace(env(`,"id":"x"`, ok), `"source":"/s"`, `"source":"/`+strings.Repeat("s", domain.MaxIdentifierBytes)+`"`, 1), domain.ReasonInvalidContent, "source is 1025 bytes"},
		{"change id over the limit", env(`,"id":"x"`, `{"context":{"version":"0.4.1","timestamp":"2026-01-01T00:00:00Z"},"subject":{"id":"`+strings.Repeat("c", 2000)+`"}}`), domain.ReasonInvalidContent, "subject.id is 2000 bytes"},
		{"metric of 300 bytes", tel(`{"metric":"` + strings.Repeat("m", 300) + `","value":1,"time":"2026-01-01T00:00:00Z"}`), domain.ReasonInvalidContent, "metric name is 300 bytes"},
		{"attributes of 3 KiB", tel(`{"metric":"m","value":1,"time":"2026-01-01T00:00:00Z","attributes":{"route":"` + strings.Repeat("r", 3000) + `"}}`), domain.ReasonInvalidContent, "attributes are 3013 bytes"},
		{"service attribute of 5,000 characters", tel(`{"metric":"m","value":1,"time":"2026-01-01T00:00:00Z","attributes":{"service":"` + strings.Repeat("s", 5000) + `"}}`), domain.ReasonInvalidContent, "service name"},
	} {
		_, _, err := dec.DecodeMessage(nil, []byte(tc.body))
		msg := domain.ErrorMessage(err)
		if got := domain.RejectReason(err); got != tc.reason || !strings.Contains(msg, tc.says) {
			t.Errorf("%s: %s %.200q; want %s saying %q", tc.name, got, msg, tc.reason, tc.says)
		}
		checkStorable(t, domain.Event{}, err)
	}
	// Within ±1e100 a value is accepted, as any finite one was before.
	if _, ev, err := dec.DecodeMessage(nil, []byte(tel(`{"metric":"m","value":-1e100,"time":"2026-01-01T00:00:00Z"}`))); err != nil || ev.Samples[0].Value != -1e100 {
		t.Errorf("-1e100: %v %+v", err, ev)
	}
}
