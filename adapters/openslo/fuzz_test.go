package openslo_test

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/throughline/throughline/adapters/openslo"
	"github.com/throughline/throughline/domain"
)

// base is an SLO file as a team keeps it.
const base = `apiVersion: openslo/v1
kind: SLO
metadata:
  name: checkout-availability
  displayName: Checkout availability
spec:
  description: Checkout answers
  service: checkout
  indicator:
    metadata: {name: checkout-availability-sli}
    spec:
      ratioMetric:
        counter: true
        good: {metricSource: {type: throughline, spec: {metric: http.requests.good, attributes: {route: /checkout}}}}
        total: {metricSource: {type: throughline, spec: {metric: http.requests}}}
  timeWindow: [{duration: 28d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{target: 0.999}]
`

// separateSLI names its indicator by indicatorRef, with a target in per
// cent and a window in weeks.
const separateSLI = `apiVersion: openslo/v1
kind: SLI
metadata: {name: pay}
spec:
  ratioMetric:
    good: {metricSource: {type: throughline, spec: {metric: pay.ok, attributes: {tier: 1}}}}
    total: {metricSource: {type: throughline, spec: {metric: pay.all}}}
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: pay}
spec:
  service: payments
  indicatorRef: pay
  timeWindow: [{duration: 4w, isRolling: true}]
  objectives: [{targetPercent: 99.5}]
`

// laughs is the billion laughs: nine levels of ten aliases each, expanded
// where the file may hold any value (a metric source's attributes).
func laughs() string {
	var b strings.Builder
	b.WriteString("spec:\n  lols:\n    - &l0 [lol]\n")
	for i := 1; i <= 9; i++ {
		b.WriteString("    - &l" + string(rune('0'+i)) + " [")
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(",")
			}
			b.WriteString("*l" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	return strings.Replace(strings.Replace(base, "spec:\n", b.String(), 1), "{route: /checkout}", "*l9", 1)
}

func FuzzUnmarshal(f *testing.F) {
	f.Add(base)
	f.Add(separateSLI)
	f.Add(base + "---\n" + separateSLI)
	f.Add(strings.Replace(base, "description: Checkout answers", `description: "a\0b"`, 1))
	f.Add(strings.Replace(base, "target: 0.999", "target: .nan", 1))
	f.Add(strings.Replace(base, "duration: 28d", "duration: 9223372036854775807w", 1))
	f.Add(strings.Replace(base, "{route: /checkout}", "{route: {nested: [1, 2]}, 3: x, ? [a] : b}", 1))
	f.Add(strings.Replace(base, "  service: checkout\n", "  service: &s checkout\n  <<: {service: *s}\n", 1))
	f.Add("kind: [")
	f.Add(strings.Repeat("[", 200) + strings.Repeat("]", 200))
	f.Add("--- !!binary aGVsbG8=\n")
	f.Add(laughs())
	f.Fuzz(func(t *testing.T, data string) {
		slos, err := openslo.Unmarshal([]byte(data))
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an error without a message")
			}
			return
		}
		for _, s := range slos {
			if errs := s.Validate(); len(errs) > 0 {
				t.Fatalf("invalid SLO accepted: %v %+v", errs, s)
			}
			for _, text := range sloTexts(s) {
				if !utf8.ValidString(text) || strings.ContainsRune(text, 0) {
					t.Fatalf("SLO holds text a database refuses: %q", text)
				}
			}
		}
		y, err := openslo.Marshal(slos)
		if err != nil {
			t.Fatalf("cannot write what was read: %v", err)
		}
		again, err := openslo.Unmarshal(y)
		if err != nil || !reflect.DeepEqual(again, slos) {
			t.Fatalf("round trip:\n%+v\n%+v, %v\n%s", slos, again, err, y)
		}
	})
}

func sloTexts(s domain.SLO) []string {
	out := []string{s.Name, s.DisplayName, s.Description, s.Service, s.Good.Metric, s.Total.Metric}
	for _, q := range []domain.MetricQuery{s.Good, s.Total} {
		for k, v := range q.Attributes {
			out = append(out, k, v)
		}
	}
	return out
}

// TestHostileFilesAreRefused: an alias bomb, deep nesting, NUL characters
// and too many documents are refused with a message, quickly.
func TestHostileFilesAreRefused(t *testing.T) {
	many := strings.Repeat("---\napiVersion: openslo/v1\nkind: Service\nmetadata: {name: s}\n", 501)
	for name, c := range map[string]struct{ data, says string }{
		"billion laughs":     {laughs(), "aliasing"},
		"deep flow nesting":  {"spec: " + strings.Repeat("[", 100_000), "depth"},
		"deep block nesting": {strings.Repeat("- ", 100_000) + "a", "depth"},
		"NUL in a text":      {strings.Replace(base, "description: Checkout answers", `description: "a\0b"`, 1), "NUL"},
		"NUL in a metric":    {strings.Replace(base, "metric: http.requests}", `metric: "http\0requests"}`, 1), "NUL"},
		"501 documents":      {many, "more than 500 documents"},
	} {
		_, err := openslo.Unmarshal([]byte(c.data))
		if err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: %v; want an error saying %q", name, err, c.says)
		}
	}
}

// TestMarshalsNoSLOs: exporting an empty list (no SLOs yet, or none of the
// service asked for) is an empty file, not an error.
func TestMarshalsNoSLOs(t *testing.T) {
	if y, err := openslo.Marshal(nil); err != nil || len(y) != 0 {
		t.Fatalf("%q %v", y, err)
	}
}
