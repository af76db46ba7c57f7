package cdevents_test

import (
	"strings"
	"testing"

	"github.com/throughline/throughline/adapters/cdevents"
	"github.com/throughline/throughline/domain"
)

// checkOutcome is the property every decode must keep: no panic; either a
// rejection with a reason and a message, or an event with an identity that
// survives a structured round trip unchanged.
func checkOutcome(t *testing.T, dec *cdevents.Decoder, ce domain.CloudEvent, ev domain.Event, err error) {
	t.Helper()
	if err != nil {
		if domain.RejectReason(err) == "" || domain.ErrorMessage(err) == "" {
			t.Fatalf("error without reason or message: %v", err)
		}
		return
	}
	if ev.ID == "" || ev.Source == "" || ev.Kind == "" || ev.Time.IsZero() {
		t.Fatalf("accepted event lacks identity, kind or time: %+v", ev)
	}
	if ev.Kind == domain.KindTelemetry && len(ev.Samples) == 0 {
		t.Fatal("telemetry event without samples accepted")
	}
	again, err := cdevents.EncodeStructured(ce)
	if err != nil {
		t.Fatal(err)
	}
	_, ev2, err := dec.DecodeMessage(nil, again)
	if err != nil {
		t.Fatalf("re-encoded event refused: %v\n%s", err, again)
	}
	if ev2.Identity != ev.Identity || ev2.Kind != ev.Kind || !ev2.Time.Equal(ev.Time) || ev2.SubjectID != ev.SubjectID || ev2.Artifact != ev.Artifact {
		t.Fatalf("round trip changed the event:\n%+v\n%+v", ev, ev2)
	}
}

func FuzzDecodeStructured(f *testing.F) {
	for _, ce := range conformance(f) {
		b, _ := cdevents.EncodeStructured(ce)
		f.Add(b)
	}
	for _, s := range []string{
		``, `{}`, `[]`, `null`, `{"specversion":"1.0"}`,
		`{"specversion":"1.0","id":"t1","source":"/otel","type":"dev.throughline.telemetry.samples.v1","data":{"samples":[{"metric":"m","value":1,"time":"2026-03-02T10:15:00Z"}]}}`,
		`{"specversion":"1.0","id":"x","source":"/s","type":"dev.cdevents.change.merged.0.3.0","data_base64":"e30="}`,
		`{"specversion":"1.0","id":"f1","source":"/flags","type":"dev.throughline.flag.changed.v1","data":{"key":"new-checkout","environment":"production","enabled":true,"rollout_percentage":25,"services":["checkout"],"ideas":["CHK-12"],"timestamp":"2026-03-02T10:00:00Z"}}`,
		`{"specversion":"1.0","id":"r1","source":"/flagger","type":"dev.throughline.rollout.promoted.v1","time":"2026-03-02T10:00:00Z","data":{"service":"checkout","environment":"production","artifact":"a1","weight":100}}`,
	} {
		f.Add([]byte(s))
	}
	dec, _ := cdevents.NewDecoder("")
	f.Fuzz(func(t *testing.T, body []byte) {
		ce, ev, err := dec.DecodeMessage(nil, body)
		checkOutcome(t, dec, ce, ev, err)
	})
}

func FuzzDecodeBinary(f *testing.F) {
	for _, ce := range conformance(f) {
		h, body := cdevents.EncodeBinary(ce)
		f.Add(h.Get("ce-id"), h.Get("ce-source"), h.Get("ce-type"), "", body)
	}
	f.Add("a%20b", "/s", "dev.cdevents.change.merged.0.3.0", "2026-01-01T00:00:00Z", []byte(`{"context":{"version":"0.4.1"},"subject":{"id":"c"}}`))
	dec, _ := cdevents.NewDecoder("")
	f.Fuzz(func(t *testing.T, id, source, typ, ctime string, body []byte) {
		if strings.ContainsAny(id+source+typ+ctime, "\r\n") {
			t.Skip() // header values cannot carry line breaks on the wire
		}
		h := cdevents.Header{"ce-specversion": {"1.0"}, "ce-id": {id}, "ce-source": {source}, "ce-type": {typ}}
		if ctime != "" {
			h["ce-time"] = []string{ctime}
		}
		ce, ev, err := dec.DecodeMessage(h, body)
		checkOutcome(t, dec, ce, ev, err)
	})
}
