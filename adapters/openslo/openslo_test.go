package openslo

import (
	"reflect"
	"strings"
	"testing"

	"github.com/throughline/throughline/domain"
)

func TestRoundTrip(t *testing.T) {
	in := []domain.SLO{
		{Name: "checkout-availability", DisplayName: "Checkout availability", Description: "Checkout answers",
			Service: "checkout", Good: domain.MetricQuery{Metric: "http.requests.good", Attributes: map[string]string{"route": "/checkout"}},
			Total: domain.MetricQuery{Metric: "http.requests", Attributes: map[string]string{"route": "/checkout"}}, Target: 0.999, WindowDays: 28},
		{Name: "search-latency", Service: "search", Good: domain.MetricQuery{Metric: "search.fast"},
			Total: domain.MetricQuery{Metric: "search.all"}, Target: 0.95, WindowDays: 30},
	}
	y, err := Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"apiVersion: openslo/v1", "kind: SLO", "ratioMetric:", "type: throughline", "duration: 28d", "isRolling: true", "budgetingMethod: Occurrences", "target: 0.999"} {
		if !strings.Contains(string(y), want) {
			t.Errorf("YAML lacks %q:\n%s", want, y)
		}
	}
	out, err := Unmarshal(y)
	if err != nil {
		t.Fatalf("%v\n%s", err, y)
	}
	if !reflect.DeepEqual(out, in) {
		t.Errorf("round trip:\n got %+v\nwant %+v\n%s", out, in, y)
	}
}

// A file as a team might keep it: the SLI as its own document, named by
// indicatorRef, the target in per cent, the window in weeks, and a Service
// document that is not Throughline's business.
func TestReadsSeparateSLIAndSkipsOtherKinds(t *testing.T) {
	y := `
apiVersion: openslo/v1
kind: Service
metadata:
  name: payments
spec:
  description: Payments
---
apiVersion: openslo/v1
kind: SLI
metadata:
  name: payments-success
spec:
  ratioMetric:
    counter: true
    good:
      metricSource:
        type: throughline
        spec:
          metric: payments.succeeded
          attributes:
            region: eu
            tier: 1
    total:
      metricSource:
        type: throughline
        spec:
          metric: payments.attempted
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: payments-success
  displayName: Payments succeed
spec:
  service: payments
  indicatorRef: payments-success
  timeWindow:
    - duration: 4w
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - targetPercent: 99.5
`
	got, err := Unmarshal([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	want := []domain.SLO{{Name: "payments-success", DisplayName: "Payments succeed", Service: "payments",
		Good:  domain.MetricQuery{Metric: "payments.succeeded", Attributes: map[string]string{"region": "eu", "tier": "1"}},
		Total: domain.MetricQuery{Metric: "payments.attempted"}, Target: 0.995, WindowDays: 28}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestRefusesWhatItCannotEvaluate(t *testing.T) {
	base := `apiVersion: openslo/v1
kind: SLO
metadata:
  name: x
spec:
  service: s
  indicator:
    metadata: {name: x}
    spec:
      ratioMetric:
        counter: true
        good: {metricSource: {type: throughline, spec: {metric: g}}}
        total: {metricSource: {type: throughline, spec: {metric: t}}}
  timeWindow: [{duration: 28d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{target: 0.99}]
`
	if _, err := Unmarshal([]byte(base)); err != nil {
		t.Fatalf("the base document must load: %v", err)
	}
	for name, c := range map[string]struct{ from, to, want string }{
		"calendar window":  {"isRolling: true", "isRolling: false", "rolling"},
		"timeslices":       {"budgetingMethod: Occurrences", "budgetingMethod: Timeslices", "Occurrences"},
		"no metric":        {"spec: {metric: g}", "spec: {query: 'sum(rate(x[5m]))'}", "no spec.metric"},
		"7 day window":     {"duration: 28d", "duration: 7d", "28 or 30"},
		"target of 1":      {"target: 0.99", "target: 1", "target"},
		"threshold metric": {"ratioMetric:", "thresholdMetric:", "ratioMetric"},
		"other version":    {"openslo/v1", "openslo/v2alpha", "only openslo/v1"},
		"bad name":         {"name: x\nspec", "name: Bad Name\nspec", "name"},
	} {
		y := strings.Replace(base, c.from, c.to, 1)
		_, err := Unmarshal([]byte(y))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", name, err, c.want)
		}
	}
	if _, err := Unmarshal([]byte("apiVersion: openslo/v1\nkind: Service\nmetadata: {name: a}\n")); err == nil || !strings.Contains(err.Error(), "no document of kind SLO") {
		t.Errorf("a file without SLOs: %v", err)
	}
	if _, err := Unmarshal([]byte("kind: [")); err == nil {
		t.Error("broken YAML accepted")
	}
}
