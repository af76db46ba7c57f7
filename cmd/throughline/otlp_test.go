package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"
	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	statuspb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/throughline/throughline/adapters/cdevents"
	"github.com/throughline/throughline/adapters/otlp"
	"github.com/throughline/throughline/adapters/sqlstore/sqltest"
	"github.com/throughline/throughline/domain"
)

// otlpProvider is an OpenTelemetry SDK meter provider exporting to app over
// OTLP/HTTP with the real otlpmetrichttp exporter, as a service would.
func otlpProvider(t *testing.T, app *App, tok string, delta bool, opts ...otlpmetrichttp.Option) *sdkmetric.MeterProvider {
	t.Helper()
	opts = append([]otlpmetrichttp.Option{
		otlpmetrichttp.WithEndpointURL(app.URL() + "/v1/metrics"),
		otlpmetrichttp.WithHeaders(map[string]string{"Authorization": "Bearer " + tok}),
		otlpmetrichttp.WithRetry(otlpmetrichttp.RetryConfig{Enabled: false}),
	}, opts...)
	if delta {
		opts = append(opts, otlpmetrichttp.WithTemporalitySelector(func(sdkmetric.InstrumentKind) metricdata.Temporality {
			return metricdata.DeltaTemporality
		}))
	}
	exp, err := otlpmetrichttp.New(context.Background(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	res := resource.NewSchemaless(attribute.String("service.name", "checkout"),
		attribute.String("deployment.environment.name", "production"), attribute.String("host.name", "web-1"))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithResource(res),
		sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp, sdkmetric.WithInterval(time.Hour))))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	return mp
}

// rollup sums a metric's daily rollups over yesterday..tomorrow, for the
// series matching attrs (attr.k=v).
type rollup struct {
	Count    int64
	Sum      float64
	Min, Max float64
}

func metricRollup(t *testing.T, app *App, tok, name string, attrs ...string) rollup {
	t.Helper()
	q := url.Values{"bucket": {"day"}}
	now := time.Now().UTC()
	q.Set("from", now.AddDate(0, 0, -1).Format(domain.DateLayout))
	q.Set("to", now.AddDate(0, 0, 1).Format(domain.DateLayout))
	for i := 0; i+1 < len(attrs); i += 2 {
		q.Set("attr."+attrs[i], attrs[i+1])
	}
	var out struct {
		Points []struct {
			Count    int64
			Sum      float64
			Min, Max float64
		}
	}
	if code := getJSON(t, app.URL()+"/api/v1/metrics/"+url.PathEscape(name)+"?"+q.Encode(), tok, &out); code != 200 {
		t.Fatalf("GET metrics/%s: %d", name, code)
	}
	r := rollup{Min: math.Inf(1), Max: math.Inf(-1)}
	for _, p := range out.Points {
		r.Count += p.Count
		r.Sum += p.Sum
		r.Min, r.Max = min(r.Min, p.Min), max(r.Max, p.Max)
	}
	return r
}

// waitRollup waits (10 s at most) until the metric has want samples.
func waitRollup(t *testing.T, app *App, tok, name string, want int64, attrs ...string) rollup {
	t.Helper()
	var r rollup
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if r = metricRollup(t, app, tok, name, attrs...); r.Count >= want {
			break
		}
	}
	if r.Count != want {
		t.Fatalf("%s %v: %d samples; want %d", name, attrs, r.Count, want)
	}
	return r
}

// checkSDKExport records a counter, a gauge and a histogram with the
// OpenTelemetry SDK, exports them gzip-compressed with delta temporality,
// and reads the rollups back: the values computed by hand arrive.
func checkSDKExport(t *testing.T, app *App, tok string) {
	ctx := context.Background()
	mp := otlpProvider(t, app, tok, true, otlpmetrichttp.WithCompression(otlpmetrichttp.GzipCompression))
	m := mp.Meter("checkout")
	orders, _ := m.Int64Counter("otlp.orders")
	depth, _ := m.Float64Gauge("otlp.queue.depth")
	latency, _ := m.Float64Histogram("otlp.latency")
	eu, us := metric.WithAttributes(attribute.String("region", "eu")), metric.WithAttributes(attribute.String("region", "us"))
	orders.Add(ctx, 3, eu)
	orders.Add(ctx, 4, eu)
	orders.Add(ctx, 5, us)
	depth.Record(ctx, 12.5)
	for _, v := range []float64{0.25, 0.5, 1.25} {
		latency.Record(ctx, v, eu)
	}
	if err := mp.ForceFlush(ctx); err != nil {
		t.Fatalf("first export: %v", err)
	}
	// A delta counter point is the amount of its interval: 3+4 for eu.
	if r := waitRollup(t, app, tok, "otlp.orders", 1, "region", "eu", "service", "checkout", "env", "production"); r.Sum != 7 {
		t.Errorf("orders eu: %+v; want one sample of 7", r)
	}
	if r := waitRollup(t, app, tok, "otlp.orders", 2, "service", "checkout"); r.Sum != 12 || r.Min != 5 || r.Max != 7 {
		t.Errorf("orders: %+v; want 7 + 5", r)
	}
	if r := waitRollup(t, app, tok, "otlp.queue.depth", 1); r.Sum != 12.5 {
		t.Errorf("queue depth: %+v; want 12.5", r)
	}
	if r := waitRollup(t, app, tok, "otlp.latency.count", 1, "region", "eu"); r.Sum != 3 {
		t.Errorf("latency.count: %+v; want 3", r)
	}
	if r := waitRollup(t, app, tok, "otlp.latency.sum", 1, "region", "eu"); r.Sum != 2 {
		t.Errorf("latency.sum: %+v; want 0.25+0.5+1.25 = 2", r)
	}
	// host.name is a resource attribute Throughline drops.
	if r := metricRollup(t, app, tok, "otlp.orders", "host.name", "web-1"); r.Count != 0 {
		t.Errorf("host.name was kept: %+v", r)
	}

	// The next interval's delta adds up with the first.
	orders.Add(ctx, 2, eu)
	if err := mp.ForceFlush(ctx); err != nil {
		t.Fatalf("second export: %v", err)
	}
	if r := waitRollup(t, app, tok, "otlp.orders", 2, "region", "eu"); r.Sum != 9 {
		t.Errorf("orders eu after the second interval: %+v; want 7 + 2", r)
	}
}

// postOTLP posts a body to /v1/metrics and returns the status, the
// response's Content-Type and its body.
func postOTLP(t *testing.T, app *App, tok, contentType string, body []byte) (int, string, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, app.URL()+"/v1/metrics", bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), raw
}

func TestOTLPMetricsFromTheSDK(t *testing.T) {
	app, _ := startApp(t, testConfig(t))
	checkSDKExport(t, app, token(t, app, domain.ScopeIngest, domain.ScopeRead))
}

func TestOTLPOnPostgresAndExternalNATS(t *testing.T) {
	cfg := testConfig(t)
	cfg.DB = sqltest.PostgresDSN(t)
	app, _, _ := startAppOnExternalNATS(t, &cfg)
	checkSDKExport(t, app, token(t, app, domain.ScopeIngest, domain.ScopeRead))
}

// Cumulative sums are stored as readings of the running total, as
// docs/integrations.md says: two exports of a counter at 5 then 10 are two
// samples whose max is the total and whose sum is not.
func TestOTLPCumulativeSumsAreReadings(t *testing.T) {
	app, _ := startApp(t, testConfig(t))
	tok := token(t, app, domain.ScopeIngest, domain.ScopeRead)
	ctx := context.Background()
	mp := otlpProvider(t, app, tok, false)
	c, _ := mp.Meter("checkout").Int64Counter("otlp.cumulative")
	c.Add(ctx, 5)
	if err := mp.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
	waitRollup(t, app, tok, "otlp.cumulative", 1)
	c.Add(ctx, 5)
	if err := mp.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
	if r := waitRollup(t, app, tok, "otlp.cumulative", 2); r.Max != 10 || r.Sum != 15 {
		t.Errorf("cumulative readings: %+v; want max 10 (the total), sum 5+10", r)
	}
}

// nanRequest is a protobuf export with one NaN point among good ones.
func nanRequest(t *testing.T, at time.Time) []byte {
	t.Helper()
	pt := func(v float64) *metricspb.NumberDataPoint {
		return &metricspb.NumberDataPoint{TimeUnixNano: uint64(at.UnixNano()), Value: &metricspb.NumberDataPoint_AsDouble{AsDouble: v}}
	}
	req := &colmetricspb.ExportMetricsServiceRequest{ResourceMetrics: []*metricspb.ResourceMetrics{{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{{Key: "service.name",
			Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "payments"}}}}},
		ScopeMetrics: []*metricspb.ScopeMetrics{{Metrics: []*metricspb.Metric{{Name: "otlp.nan",
			Data: &metricspb.Metric_Gauge{Gauge: &metricspb.Gauge{DataPoints: []*metricspb.NumberDataPoint{pt(4), pt(math.NaN()), pt(6)}}}}}}},
	}}}
	b, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Hand-made requests: OTLP JSON, a NaN point, a retried request, garbage,
// wrong credentials and a wrong content type.
func TestOTLPRequests(t *testing.T) {
	app, _ := startApp(t, testConfig(t))
	tok := token(t, app, domain.ScopeIngest, domain.ScopeRead)
	now := time.Now().UTC().Truncate(time.Second)

	// OTLP JSON as a Collector or curl sends it.
	js := `{"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"search"}},
	  {"key":"deployment.environment","value":{"stringValue":"staging"}}]},
	  "scopeMetrics":[{"scope":{"name":"manual"},"metrics":[{"name":"otlp.json.hits","unit":"1",
	  "sum":{"aggregationTemporality":1,"isMonotonic":true,"dataPoints":[
	    {"timeUnixNano":"` + strconv.FormatInt(now.UnixNano(), 10) + `","asInt":"40","attributes":[{"key":"page","value":{"stringValue":"/"}}]},
	    {"timeUnixNano":"` + strconv.FormatInt(now.Add(time.Second).UnixNano(), 10) + `","asInt":"2","attributes":[{"key":"page","value":{"stringValue":"/"}}]}]}}]}]}]}`
	code, ct, body := postOTLP(t, app, tok, "application/json", []byte(js))
	if code != 200 || ct != "application/json" || string(body) != "{}" {
		t.Fatalf("JSON export: %d %s %s", code, ct, body)
	}
	if r := waitRollup(t, app, tok, "otlp.json.hits", 2, "page", "/", "service", "search", "env", "staging"); r.Sum != 42 {
		t.Errorf("JSON hits: %+v; want 40 + 2", r)
	}
	before := waitStored(t, app, tok, 1, 5*time.Second)

	// One NaN among three points: two stored, one reported rejected.
	nan := nanRequest(t, now)
	code, ct, body = postOTLP(t, app, tok, "application/x-protobuf", nan)
	var resp colmetricspb.ExportMetricsServiceResponse
	if code != 200 || ct != "application/x-protobuf" || proto.Unmarshal(body, &resp) != nil {
		t.Fatalf("NaN export: %d %s %q", code, ct, body)
	}
	if ps := resp.GetPartialSuccess(); ps.GetRejectedDataPoints() != 1 || !strings.Contains(ps.GetErrorMessage(), "NaN") {
		t.Errorf("partial success: %+v; want 1 rejected, naming NaN", ps)
	}
	if r := waitRollup(t, app, tok, "otlp.nan", 2, "service", "payments"); r.Sum != 10 {
		t.Errorf("otlp.nan: %+v; want 4 + 6", r)
	}
	afterFirst := waitStored(t, app, tok, int(before.Stored)+1, 5*time.Second)
	if afterFirst.Stored != before.Stored+1 {
		t.Fatalf("stored %d after the NaN export; want %d", afterFirst.Stored, before.Stored+1)
	}

	// The exporter retries the same request: a duplicate, not a double count.
	if code, _, _ = postOTLP(t, app, tok, "application/x-protobuf", nan); code != 200 {
		t.Fatalf("retried export: %d", code)
	}
	retried := status(t, app, tok)
	if retried.Stored != afterFirst.Stored || retried.Duplicates != afterFirst.Duplicates+1 {
		t.Errorf("after the retry: %+v; before it %+v; want one more duplicate, nothing more stored", retried, afterFirst)
	}
	if r := metricRollup(t, app, tok, "otlp.nan"); r.Count != 2 || r.Sum != 10 {
		t.Errorf("otlp.nan after the retry: %+v; want unchanged", r)
	}

	// Failures answer google.rpc.Status in the request's encoding.
	rpcStatus := func(what string, wantRPC int32, ct string, body []byte) {
		t.Helper()
		var st statuspb.Status
		if ct != "application/x-protobuf" || proto.Unmarshal(body, &st) != nil || st.GetCode() != wantRPC || st.GetMessage() == "" {
			t.Errorf("%s: %s %q; want a google.rpc.Status with code %d", what, ct, body, wantRPC)
		}
	}
	for _, c := range []struct {
		what     string
		tok, ct  string
		body     []byte
		wantCode int
		wantRPC  int32
	}{
		{"garbage", tok, "application/x-protobuf", []byte("\xff\xff\xff\xffnot protobuf"), 400, 3},
		{"no token", "", "application/x-protobuf", nan, 401, 16},
		{"a read-only token", token(t, app, domain.ScopeRead), "application/x-protobuf", nan, 403, 7},
	} {
		code, ct, body := postOTLP(t, app, c.tok, c.ct, c.body)
		if code != c.wantCode {
			t.Errorf("%s: %d; want %d", c.what, code, c.wantCode)
		}
		rpcStatus(c.what, c.wantRPC, ct, body)
	}
	code, ct, body = postOTLP(t, app, tok, "application/json", []byte(`{"resourceMetrics": "nope"}`))
	var jst struct {
		Code    int32
		Message string
	}
	if code != 400 || ct != "application/json" || json.Unmarshal(body, &jst) != nil || jst.Code != 3 || jst.Message == "" {
		t.Errorf("bad JSON: %d %s %s", code, ct, body)
	}
	if code, _, _ := postOTLP(t, app, tok, "text/plain", []byte("orders 1")); code != 415 {
		t.Errorf("text/plain: %d; want 415", code)
	}
	time.Sleep(300 * time.Millisecond) // anything wrongly published would be stored by now
	if after := status(t, app, tok); after.Stored != retried.Stored || after.DeadLetters != 0 {
		t.Errorf("refused requests changed the ingest status: %+v; before %+v", after, retried)
	}

	// The SDK sees a refusal as an error naming the status.
	mp := otlpProvider(t, app, token(t, app, domain.ScopeRead), true)
	c, _ := mp.Meter("x").Int64Counter("otlp.refused")
	c.Add(context.Background(), 1)
	if err := mp.ForceFlush(context.Background()); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("SDK export with a read-only token: %v; want a 403 error", err)
	}
}

// The converter's limits are the decoder's, so that no event it makes is
// refused for its size.
func TestOTLPLimitsMatchTheDecoder(t *testing.T) {
	r := newOTLPReceiver(nil)
	if r.conv.MaxSamples != cdevents.MaxSamplesPerEvent || r.conv.MaxValue != cdevents.MaxSampleValue {
		t.Errorf("converter limits %+v; decoder %d, %g", r.conv, cdevents.MaxSamplesPerEvent, cdevents.MaxSampleValue)
	}
	if otlp.DefaultMaxDataBytes >= cdevents.MaxEventBytes/2 {
		t.Errorf("data budget %d leaves no room under the %d-byte event limit", otlp.DefaultMaxDataBytes, cdevents.MaxEventBytes)
	}
}
