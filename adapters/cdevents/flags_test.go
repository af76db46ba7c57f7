package cdevents_test

import (
	"strings"
	"testing"
	"time"

	"github.com/throughline/throughline/adapters/cdevents"
	"github.com/throughline/throughline/domain"
)

func TestFlagChangedDecodes(t *testing.T) {
	dec, _ := cdevents.NewDecoder("")
	body := `{"specversion":"1.0","id":"f1","source":"/flags/unleash","type":"dev.throughline.flag.changed.v1",
	  "data":{"key":"new-checkout","environment":"production","enabled":true,"variant":"treatment","rollout_percentage":25,
	          "services":["checkout"],"ideas":["CHK-12"],"timestamp":"2026-03-02T10:00:00Z"}}`
	_, ev, err := dec.DecodeMessage(nil, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	f := ev.Flag
	if ev.Kind != domain.KindFlagChanged || f == nil || f.Key != "new-checkout" || !f.Enabled || f.Percentage != 25 ||
		f.Variant != "treatment" || f.Environment != "production" || len(f.Services) != 1 || ev.Service != "checkout" ||
		len(ev.Ideas) != 1 || ev.Ideas[0] != "CHK-12" || !ev.Time.Equal(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)) {
		t.Fatalf("decoded %+v flag %+v", ev, f)
	}
	if f.Off() || f.Full() {
		t.Fatal("25 % is neither off nor full")
	}
	// On without a percentage is on for everyone; round trip keeps it.
	_, ev, err = dec.DecodeMessage(nil, []byte(`{"specversion":"1.0","id":"f2","source":"/f","type":"dev.throughline.flag.changed.v1","time":"2026-03-02T10:00:00Z","data":{"key":"k","environment":"prod","enabled":true}}`))
	if err != nil || !ev.Flag.Full() {
		t.Fatalf("%v %+v", err, ev.Flag)
	}
	ce, err := cdevents.FromEvent(ev)
	if err != nil {
		t.Fatal(err)
	}
	again, err := dec.Decode(ce)
	if err != nil || again.Flag.Key != "k" || !again.Flag.Full() || !again.Time.Equal(ev.Time) {
		t.Fatalf("round trip: %v %+v", err, again.Flag)
	}
}

func TestRolloutStepsDecode(t *testing.T) {
	dec, _ := cdevents.NewDecoder("")
	for typ, kind := range map[string]domain.EventKind{
		cdevents.RolloutStartedType: domain.KindRolloutStarted, cdevents.RolloutProgressedType: domain.KindRolloutProgressed,
		cdevents.RolloutPromotedType: domain.KindRolloutPromoted, cdevents.RolloutAbortedType: domain.KindRolloutAborted,
	} {
		body := `{"specversion":"1.0","id":"r1","source":"/flagger","type":"` + typ + `","data":{"rollout":"checkout-7f3a","service":"checkout",
		  "artifact":"pkg:oci/checkout@sha256:1","environment":"production","weight":25,
		  "baseline":{"metric":"http.latency","attributes":{"track":"stable"}},"canary":{"metric":"http.latency","attributes":{"track":"canary"}},
		  "ideas":"CHK-12","timestamp":"2026-03-02T10:00:00Z"}}`
		_, ev, err := dec.DecodeMessage(nil, []byte(body))
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		r := ev.Rollout
		if ev.Kind != kind || r == nil || r.Rollout != "checkout-7f3a" || ev.Service != "checkout" || ev.Artifact != "pkg:oci/checkout@sha256:1" ||
			ev.Environment != "production" || r.Weight == nil || *r.Weight != 25 || r.Baseline.Attributes["track"] != "stable" ||
			r.Canary.Metric != "http.latency" || len(ev.Ideas) != 1 {
			t.Fatalf("%s: %+v %+v", typ, ev, r)
		}
		ce, err := cdevents.FromEvent(ev)
		if err != nil || ce.Type != typ {
			t.Fatalf("%s: encoded as %q: %v", typ, ce.Type, err)
		}
	}
}

// Bad flag and rollout events are refused with the dead-letter reason; a
// name over 256 bytes is invalid_content.
func TestBadFlagAndRolloutEventsAreRefused(t *testing.T) {
	dec, _ := cdevents.NewDecoder("")
	long := strings.Repeat("x", 257)
	for _, c := range []struct{ typ, data, reason string }{
		{cdevents.FlagChangedType, `{"environment":"prod","enabled":true}`, domain.ReasonMissingField},
		{cdevents.FlagChangedType, `{"key":"k","enabled":true}`, domain.ReasonMissingField},
		{cdevents.FlagChangedType, `{"key":"k","environment":"prod"}`, domain.ReasonMissingField},
		{cdevents.FlagChangedType, `{"key":"k","environment":"prod","enabled":true,"rollout_percentage":101}`, domain.ReasonBadValue},
		{cdevents.FlagChangedType, `{"key":"k","environment":"prod","enabled":"yes"}`, domain.ReasonInvalidContent},
		{cdevents.FlagChangedType, `{"key":"` + long + `","environment":"prod","enabled":true}`, domain.ReasonInvalidContent},
		{cdevents.FlagChangedType, `{"key":"k","environment":"` + long + `","enabled":true}`, domain.ReasonInvalidContent},
		{cdevents.FlagChangedType, `{"key":"k","environment":"prod","enabled":true,"services":["` + long + `"]}`, domain.ReasonInvalidContent},
		{cdevents.FlagChangedType, `{"key":"k","environment":"prod","enabled":true,"timestamp":"yesterday"}`, domain.ReasonBadTimestamp},
		{cdevents.RolloutStartedType, `{"environment":"prod"}`, domain.ReasonMissingField},
		{cdevents.RolloutStartedType, `{"service":"` + long + `","environment":"prod"}`, domain.ReasonInvalidContent},
		{cdevents.RolloutStartedType, `{"service":"s","environment":"prod","weight":-5}`, domain.ReasonBadValue},
		{cdevents.RolloutStartedType, `{"service":"s","environment":"prod","canary":{"metric":"` + long + `"}}`, domain.ReasonInvalidContent},
		{"dev.throughline.rollout.paused.v1", `{}`, domain.ReasonUnsupported},
	} {
		ce := domain.CloudEvent{SpecVersion: "1.0", ID: "x", Source: "/s", Type: c.typ, Time: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), Data: []byte(c.data)}
		_, err := dec.Decode(ce)
		if got := domain.RejectReason(err); got != c.reason {
			t.Errorf("%s %s: reason %q (%v), want %q", c.typ, domain.Shorten(c.data, 80), got, err, c.reason)
		}
	}
}
