package otlp_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	"google.golang.org/protobuf/proto"

	"github.com/throughline/throughline/adapters/otlp"
)

var t0 = time.Date(2026, 3, 2, 10, 15, 0, 0, time.UTC)

func ns(t time.Time) uint64 { return uint64(t.UnixNano()) }

func str(k, v string) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
}

func request(resource []*commonpb.KeyValue, metrics ...*metricspb.Metric) *otlp.Request {
	return &otlp.Request{ResourceMetrics: []*metricspb.ResourceMetrics{{
		Resource:     &resourcepb.Resource{Attributes: resource},
		ScopeMetrics: []*metricspb.ScopeMetrics{{Scope: &commonpb.InstrumentationScope{Name: "test"}, Metrics: metrics}},
	}}}
}

func gauge(name string, pts ...*metricspb.NumberDataPoint) *metricspb.Metric {
	return &metricspb.Metric{Name: name, Data: &metricspb.Metric_Gauge{Gauge: &metricspb.Gauge{DataPoints: pts}}}
}

func dbl(v float64, attrs ...*commonpb.KeyValue) *metricspb.NumberDataPoint {
	return &metricspb.NumberDataPoint{TimeUnixNano: ns(t0), Value: &metricspb.NumberDataPoint_AsDouble{AsDouble: v}, Attributes: attrs}
}

type gotSample struct {
	Metric     string            `json:"metric"`
	Value      float64           `json:"value"`
	Time       string            `json:"time"`
	Attributes map[string]string `json:"attributes"`
}

// samples decodes every event's data, checking the envelope on the way.
func samples(t *testing.T, b *otlp.Batch) []gotSample {
	t.Helper()
	var out []gotSample
	for i, ce := range b.Events {
		if ce.Type != "dev.throughline.telemetry.samples.v1" || ce.ID == "" || !strings.HasPrefix(ce.Source, "/otlp") {
			t.Errorf("event %d: %+v", i, ce)
		}
		var d struct{ Samples []gotSample }
		if err := json.Unmarshal(ce.Data, &d); err != nil {
			t.Fatalf("event %d data: %v: %s", i, err, ce.Data)
		}
		if len(d.Samples) != b.Samples[i] {
			t.Errorf("event %d: %d samples, Batch says %d", i, len(d.Samples), b.Samples[i])
		}
		out = append(out, d.Samples...)
	}
	return out
}

func TestConvertMapping(t *testing.T) {
	svc := []*commonpb.KeyValue{str("service.name", "checkout"), str("deployment.environment.name", "production"),
		str("host.name", "web-1"), str("service.instance.id", "abc")}
	sum := 12.5
	cases := []struct {
		name     string
		req      *otlp.Request
		want     []gotSample
		rejected int64
		source   string
	}{
		{"gauge double, resource attributes mapped and others dropped",
			request(svc, gauge("queue.depth", dbl(3.25, str("queue", "emails")))),
			[]gotSample{{"queue.depth", 3.25, "2026-03-02T10:15:00Z", map[string]string{"queue": "emails", "service": "checkout", "env": "production"}}},
			0, "/otlp/checkout"},
		{"delta int sum, older deployment.environment",
			request([]*commonpb.KeyValue{str("service.name", "api"), str("deployment.environment", "staging")},
				&metricspb.Metric{Name: "http.requests", Data: &metricspb.Metric_Sum{Sum: &metricspb.Sum{
					AggregationTemporality: metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_DELTA, IsMonotonic: true,
					DataPoints: []*metricspb.NumberDataPoint{{TimeUnixNano: ns(t0.Add(time.Second)), Value: &metricspb.NumberDataPoint_AsInt{AsInt: 42},
						Attributes: []*commonpb.KeyValue{{Key: "code", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: 200}}}}}}}}}),
			[]gotSample{{"http.requests", 42, "2026-03-02T10:15:01Z", map[string]string{"code": "200", "service": "api", "env": "staging"}}},
			0, "/otlp/api"},
		{"histogram: count and sum",
			request(nil, &metricspb.Metric{Name: "latency", Data: &metricspb.Metric_Histogram{Histogram: &metricspb.Histogram{
				DataPoints: []*metricspb.HistogramDataPoint{{TimeUnixNano: ns(t0), Count: 4, Sum: &sum, BucketCounts: []uint64{1, 3}, ExplicitBounds: []float64{5}}}}}}),
			[]gotSample{{"latency.count", 4, "2026-03-02T10:15:00Z", nil}, {"latency.sum", 12.5, "2026-03-02T10:15:00Z", nil}},
			0, "/otlp"},
		{"histogram without a sum: count only",
			request(nil, &metricspb.Metric{Name: "latency", Data: &metricspb.Metric_Histogram{Histogram: &metricspb.Histogram{
				DataPoints: []*metricspb.HistogramDataPoint{{TimeUnixNano: ns(t0), Count: 7}}}}}),
			[]gotSample{{"latency.count", 7, "2026-03-02T10:15:00Z", nil}},
			0, "/otlp"},
		{"exponential histogram and summary",
			request(nil,
				&metricspb.Metric{Name: "size", Data: &metricspb.Metric_ExponentialHistogram{ExponentialHistogram: &metricspb.ExponentialHistogram{
					DataPoints: []*metricspb.ExponentialHistogramDataPoint{{TimeUnixNano: ns(t0), Count: 3, Sum: &sum}}}}},
				&metricspb.Metric{Name: "rpc", Data: &metricspb.Metric_Summary{Summary: &metricspb.Summary{
					DataPoints: []*metricspb.SummaryDataPoint{{TimeUnixNano: ns(t0), Count: 2, Sum: 0.5}}}}}),
			[]gotSample{{"size.count", 3, "2026-03-02T10:15:00Z", nil}, {"size.sum", 12.5, "2026-03-02T10:15:00Z", nil},
				{"rpc.count", 2, "2026-03-02T10:15:00Z", nil}, {"rpc.sum", 0.5, "2026-03-02T10:15:00Z", nil}},
			0, "/otlp"},
		{"NaN, Inf, no name, no time, no value, NUL rejected one by one; the good point kept",
			request(nil,
				gauge("g", dbl(math.NaN()), dbl(math.Inf(1)), dbl(1e101), dbl(2),
					&metricspb.NumberDataPoint{Value: &metricspb.NumberDataPoint_AsDouble{AsDouble: 1}},
					&metricspb.NumberDataPoint{TimeUnixNano: ns(t0)},
					dbl(1, str("bad", "a\x00b"))),
				gauge("", dbl(1), dbl(2))),
			[]gotSample{{"g", 2, "2026-03-02T10:15:00Z", nil}},
			8, "/otlp"},
		{"a point marked no-recorded-value is skipped, not rejected",
			request(nil, gauge("g", &metricspb.NumberDataPoint{TimeUnixNano: ns(t0), Flags: 1})),
			nil, 0, ""},
		{"array and bool attributes as text; point attribute service loses to the resource",
			request([]*commonpb.KeyValue{str("service.name", "web")}, gauge("g", dbl(1, str("service", "spoof"),
				&commonpb.KeyValue{Key: "ok", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: true}}},
				&commonpb.KeyValue{Key: "tags", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{
					Values: []*commonpb.AnyValue{{Value: &commonpb.AnyValue_StringValue{StringValue: "a"}}, {Value: &commonpb.AnyValue_IntValue{IntValue: 2}}}}}}}))),
			[]gotSample{{"g", 1, "2026-03-02T10:15:00Z", map[string]string{"service": "web", "ok": "true", "tags": `["a",2]`}}},
			0, "/otlp/web"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := otlp.Converter{}.Convert(tc.req)
			got := samples(t, b)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d samples %+v; want %+v", len(got), got, tc.want)
			}
			for i := range got {
				w, g := tc.want[i], got[i]
				if g.Metric != w.Metric || g.Value != w.Value || g.Time != w.Time || len(g.Attributes) != len(w.Attributes) {
					t.Errorf("sample %d: %+v; want %+v", i, g, w)
				}
				for k, v := range w.Attributes {
					if g.Attributes[k] != v {
						t.Errorf("sample %d attribute %s = %q; want %q", i, k, g.Attributes[k], v)
					}
				}
			}
			if b.Rejected() != tc.rejected {
				t.Errorf("rejected %d; want %d (%s)", b.Rejected(), tc.rejected, b.Message())
			}
			if (tc.rejected > 0) != (b.Message() != "") {
				t.Errorf("message %q with %d rejected", b.Message(), tc.rejected)
			}
			if tc.source != "" && b.Events[0].Source != tc.source {
				t.Errorf("source %q; want %q", b.Events[0].Source, tc.source)
			}
		})
	}
}

// The same content gives the same identity, so a retried export is a
// duplicate; different content a different one.
func TestConvertIdentity(t *testing.T) {
	a := otlp.Converter{}.Convert(request(nil, gauge("g", dbl(1))))
	b := otlp.Converter{}.Convert(request(nil, gauge("g", dbl(1))))
	c := otlp.Converter{}.Convert(request(nil, gauge("g", dbl(2))))
	if a.Events[0].ID != b.Events[0].ID {
		t.Errorf("same content, ids %s and %s", a.Events[0].ID, b.Events[0].ID)
	}
	if a.Events[0].ID == c.Events[0].ID {
		t.Errorf("different content, same id %s", a.Events[0].ID)
	}
}

// Large requests are split under both limits; a histogram point's two
// samples stay together; services get their own events.
func TestConvertSplits(t *testing.T) {
	var pts []*metricspb.HistogramDataPoint
	sum := 1.0
	for i := range 7 {
		pts = append(pts, &metricspb.HistogramDataPoint{TimeUnixNano: ns(t0.Add(time.Duration(i) * time.Second)), Count: 1, Sum: &sum})
	}
	req := request([]*commonpb.KeyValue{str("service.name", "a")},
		&metricspb.Metric{Name: "h", Data: &metricspb.Metric_Histogram{Histogram: &metricspb.Histogram{DataPoints: pts}}})
	req.ResourceMetrics = append(req.ResourceMetrics, request([]*commonpb.KeyValue{str("service.name", "b")}, gauge("g", dbl(1))).ResourceMetrics...)
	b := otlp.Converter{MaxSamples: 5}.Convert(req)
	// Service a: 7 points of 2 samples, at most 5 samples an event → 2+2+2+1 points.
	wantPoints := []int{2, 2, 2, 1, 1}
	if len(b.Events) != len(wantPoints) {
		t.Fatalf("%d events; want %d", len(b.Events), len(wantPoints))
	}
	for i, n := range wantPoints {
		if b.Points[i] != n {
			t.Errorf("event %d carries %d points; want %d", i, b.Points[i], n)
		}
	}
	if b.Events[4].Source != "/otlp/b" || b.Events[0].Source != "/otlp/a" {
		t.Errorf("sources %s, %s", b.Events[0].Source, b.Events[4].Source)
	}
	if got := len(samples(t, b)); got != 15 {
		t.Errorf("%d samples; want 15", got)
	}
	small := otlp.Converter{MaxDataBytes: 300}.Convert(req)
	for i, ce := range small.Events {
		if len(ce.Data) > 300 {
			t.Errorf("event %d has %d bytes of data; limit 300", i, len(ce.Data))
		}
	}
	if len(small.Events) < 4 {
		t.Errorf("a 300-byte limit made only %d events", len(small.Events))
	}
	b.RejectEvent(0, "too large")
	if b.Rejected() != 2 || !strings.Contains(b.Message(), "too large") {
		t.Errorf("after RejectEvent: %d rejected, %q", b.Rejected(), b.Message())
	}
}

func TestDecode(t *testing.T) {
	req := request([]*commonpb.KeyValue{str("service.name", "checkout")}, gauge("g", dbl(1.5)))
	pb, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	got, err := otlp.Decode(otlp.Protobuf, pb)
	if err != nil || !proto.Equal(got, req) {
		t.Fatalf("protobuf round trip: %v", err)
	}
	// OTLP JSON as the specification writes it: camelCase, int64 as a
	// string, enums as numbers, and a field this version does not know.
	js := `{"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}}]},
	  "scopeMetrics":[{"metrics":[{"name":"g","futureField":1,"sum":{"aggregationTemporality":1,"isMonotonic":true,
	  "dataPoints":[{"timeUnixNano":"1772446500000000000","asInt":"3"}]}}]}]}]}`
	got, err = otlp.Decode(otlp.JSON, []byte(js))
	if err != nil {
		t.Fatal(err)
	}
	s := samples(t, otlp.Converter{}.Convert(got))
	if len(s) != 1 || s[0].Value != 3 || s[0].Time != "2026-03-02T10:15:00Z" || s[0].Attributes["service"] != "checkout" {
		t.Errorf("JSON request gave %+v", s)
	}
	for _, bad := range []struct {
		enc  otlp.Encoding
		body string
	}{{otlp.Protobuf, "\xff\xff\xff"}, {otlp.JSON, "{"}, {otlp.JSON, `{"resourceMetrics": 3}`}} {
		if _, err := otlp.Decode(bad.enc, []byte(bad.body)); err == nil || !strings.Contains(err.Error(), "invalid") {
			t.Errorf("Decode(%q): %v; want an EINVALID error", bad.body, err)
		}
	}
}

func TestEncodingOf(t *testing.T) {
	for ct, want := range map[string]bool{
		"application/x-protobuf": true, "application/json; charset=utf-8": true, "APPLICATION/JSON": true,
		"text/plain": false, "": false, "application/grpc": false,
	} {
		if _, ok := otlp.EncodingOf(ct); ok != want {
			t.Errorf("EncodingOf(%q) = %v; want %v", ct, ok, want)
		}
	}
}

// A name over the limit rejects the points that carry it, with the reason,
// and no others: the decoder would refuse the whole event, and with it the
// service's other metrics.
func TestLongNamesRejectTheirPointsOnly(t *testing.T) {
	long := strings.Repeat("m", 300)
	req := request([]*commonpb.KeyValue{str("service.name", "checkout")},
		gauge(long, dbl(1)), gauge("ok", dbl(2), dbl(3, str("env", strings.Repeat("e", 5000))), dbl(4, str("route", strings.Repeat("r", 3000)))))
	b := otlp.Converter{}.Convert(req)
	got := samples(t, b)
	if len(got) != 1 || got[0].Metric != "ok" || got[0].Value != 2 {
		t.Errorf("samples %+v; want only ok=2", got)
	}
	if b.Rejected() != 3 || !strings.Contains(b.Message(), "300 bytes") || !strings.Contains(b.Message(), "env name is 5000 bytes") ||
		!strings.Contains(b.Message(), "attributes are 3034 bytes") {
		t.Errorf("rejected %d: %q", b.Rejected(), b.Message())
	}
	// A service name over the limit: every point of the resource.
	b = otlp.Converter{}.Convert(request([]*commonpb.KeyValue{str("service.name", strings.Repeat("s", 5000))}, gauge("ok", dbl(1))))
	if len(b.Events) != 0 || b.Rejected() != 1 || !strings.Contains(b.Message(), "service name") {
		t.Errorf("long service: %d events, %d rejected: %q", len(b.Events), b.Rejected(), b.Message())
	}
}
