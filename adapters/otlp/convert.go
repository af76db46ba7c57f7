package otlp

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"

	"github.com/throughline/throughline/domain"
)

// TelemetryType is the CloudEvent type of Throughline telemetry samples
// (cdevents.TelemetryType; adapters do not import each other).
const TelemetryType = "dev.throughline.telemetry.samples.v1"

// Converter turns a request into telemetry CloudEvents. The zero value uses
// the defaults below; cmd/throughline sets the limits the decoder enforces.
type Converter struct {
	// MaxSamples bounds the samples of one event (the decoder's
	// MaxSamplesPerEvent).
	MaxSamples int
	// MaxDataBytes bounds the data of one event, well under the NATS
	// server's largest message.
	MaxDataBytes int
	// MaxValue bounds a value's magnitude (the decoder's MaxSampleValue).
	MaxValue float64
}

// Defaults for a zero Converter.
const (
	DefaultMaxSamples   = 10_000
	DefaultMaxDataBytes = 256 << 10
	DefaultMaxValue     = 1e100
)

// maxSourceService bounds the service name in an event's source, which
// also travels as the Nats-Msg-Id header.
const maxSourceService = 200

// Batch is a request converted: the events to publish, how many data points
// each carries, and the points rejected on the way.
type Batch struct {
	Events []domain.CloudEvent
	Points []int
	// Samples is the number of samples in each event.
	Samples  []int
	rejected int64
	errs     errorText
}

// Rejected is the number of data points refused so far.
func (b *Batch) Rejected() int64 { return b.rejected }

// Message says why points were refused ("" when none were).
func (b *Batch) Message() string { return b.errs.String() }

// RejectEvent records that event i could not be published: its points are
// rejected too.
func (b *Batch) RejectEvent(i int, why string) {
	b.rejected += int64(b.Points[i])
	b.errs.add("%d data points not stored: %s", b.Points[i], why)
}

// sample is one entry of the telemetry data's samples list.
type sample struct {
	Metric     string            `json:"metric"`
	Value      json.Number       `json:"value"`
	Time       string            `json:"time"`
	Attributes map[string]string `json:"attributes,omitempty"`
}

// point is one data point's samples, encoded; a point's samples always
// travel in the same event.
type point struct {
	samples [][]byte
	size    int
}

// group gathers the points of one source, in order.
type group struct {
	source string
	points []point
}

// Convert maps every data point of req to samples and packs them into
// events (see the package comment).
func (cv Converter) Convert(req *Request) *Batch {
	if cv.MaxSamples <= 0 {
		cv.MaxSamples = DefaultMaxSamples
	}
	if cv.MaxDataBytes <= 0 {
		cv.MaxDataBytes = DefaultMaxDataBytes
	}
	if cv.MaxValue <= 0 {
		cv.MaxValue = DefaultMaxValue
	}
	b := &Batch{}
	var groups []*group
	bySource := map[string]*group{}
	for _, rm := range req.GetResourceMetrics() {
		res := resourceAttributes(rm.GetResource().GetAttributes())
		source := "/otlp"
		if s := res["service"]; s != "" {
			source += "/" + domain.Shorten(s, maxSourceService)
		}
		g := bySource[source]
		if g == nil {
			g = &group{source: source}
			bySource[source] = g
			groups = append(groups, g)
		}
		for _, sm := range rm.GetScopeMetrics() {
			for _, m := range sm.GetMetrics() {
				cv.metric(b, g, m, res)
			}
		}
	}
	for _, g := range groups {
		cv.pack(b, g)
	}
	return b
}

// metric converts the points of one metric into g.
func (cv Converter) metric(b *Batch, g *group, m *metricspb.Metric, res map[string]string) {
	name := m.GetName()
	reject := func(n int, format string, args ...any) {
		if n == 0 {
			return
		}
		b.rejected += int64(n)
		b.errs.add(format, args...)
	}
	if strings.TrimSpace(name) == "" || strings.IndexByte(name, 0) >= 0 {
		n := pointCount(m)
		reject(n, "%d data points of a metric without a usable name", n)
		return
	}
	// Refused here, point by point, rather than with the whole event the
	// decoder would refuse: the service's other metrics still get through.
	if len(name)+len(".count") > domain.MaxNameBytes {
		n := pointCount(m)
		reject(n, "%d data points of a metric whose name is %d bytes long (names are at most %d bytes)", n, len(name), domain.MaxNameBytes)
		return
	}
	type value struct {
		suffix string
		v      float64
		int    bool
	}
	add := func(attrs []*commonpb.KeyValue, ns uint64, flags uint32, vals ...value) {
		if flags&uint32(metricspb.DataPointFlags_DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK) != 0 {
			return // a staleness marker: no value to store, nothing lost
		}
		if ns == 0 || ns > math.MaxInt64 {
			reject(1, "%s: a data point without a time", name)
			return
		}
		t := time.Unix(0, int64(ns)).UTC().Format(time.RFC3339Nano)
		a, bad := pointAttributes(attrs, res)
		if bad != "" {
			reject(1, "%s: attribute %q contains a NUL character", name, bad)
			return
		}
		for _, k := range []string{"service", "env", "environment", "team"} {
			if len(a[k]) > domain.MaxNameBytes {
				reject(1, "%s: the %s name is %d bytes long (names are at most %d bytes)", name, k, len(a[k]), domain.MaxNameBytes)
				return
			}
		}
		if n := domain.AttributesSize(a); n > domain.MaxAttributesBytes {
			reject(1, "%s: its attributes are %d bytes written out (at most %d)", name, n, domain.MaxAttributesBytes)
			return
		}
		var p point
		for _, v := range vals {
			if math.IsNaN(v.v) || math.IsInf(v.v, 0) {
				reject(1, "%s%s: value %v is not finite", name, v.suffix, v.v)
				return
			}
			if math.Abs(v.v) > cv.MaxValue {
				reject(1, "%s%s: value %v is beyond ±%g", name, v.suffix, v.v, cv.MaxValue)
				return
			}
			num := strconv.FormatFloat(v.v, 'g', -1, 64)
			if v.int && math.Abs(v.v) < 1<<62 {
				num = strconv.FormatInt(int64(v.v), 10)
			}
			enc, err := json.Marshal(sample{Metric: name + v.suffix, Value: json.Number(num), Time: t, Attributes: a})
			if err != nil { // cannot happen: every field is plain text or a valid number
				reject(1, "%s: %v", name, err)
				return
			}
			p.samples = append(p.samples, enc)
			p.size += len(enc) + 1
		}
		g.points = append(g.points, p)
	}
	number := func(dp *metricspb.NumberDataPoint) {
		switch v := dp.GetValue().(type) {
		case *metricspb.NumberDataPoint_AsInt:
			add(dp.GetAttributes(), dp.GetTimeUnixNano(), dp.GetFlags(), value{v: float64(v.AsInt), int: true})
		case *metricspb.NumberDataPoint_AsDouble:
			add(dp.GetAttributes(), dp.GetTimeUnixNano(), dp.GetFlags(), value{v: v.AsDouble})
		default:
			if dp.GetFlags()&uint32(metricspb.DataPointFlags_DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK) == 0 {
				reject(1, "%s: a data point without a value", name)
			}
		}
	}
	switch d := m.GetData().(type) {
	case *metricspb.Metric_Gauge:
		for _, dp := range d.Gauge.GetDataPoints() {
			number(dp)
		}
	case *metricspb.Metric_Sum:
		for _, dp := range d.Sum.GetDataPoints() {
			number(dp)
		}
	case *metricspb.Metric_Histogram:
		for _, dp := range d.Histogram.GetDataPoints() {
			vals := []value{{suffix: ".count", v: float64(dp.GetCount()), int: true}}
			if dp.Sum != nil {
				vals = append(vals, value{suffix: ".sum", v: dp.GetSum()})
			}
			add(dp.GetAttributes(), dp.GetTimeUnixNano(), dp.GetFlags(), vals...)
		}
	case *metricspb.Metric_ExponentialHistogram:
		for _, dp := range d.ExponentialHistogram.GetDataPoints() {
			vals := []value{{suffix: ".count", v: float64(dp.GetCount()), int: true}}
			if dp.Sum != nil {
				vals = append(vals, value{suffix: ".sum", v: dp.GetSum()})
			}
			add(dp.GetAttributes(), dp.GetTimeUnixNano(), dp.GetFlags(), vals...)
		}
	case *metricspb.Metric_Summary:
		for _, dp := range d.Summary.GetDataPoints() {
			add(dp.GetAttributes(), dp.GetTimeUnixNano(), dp.GetFlags(),
				value{suffix: ".count", v: float64(dp.GetCount()), int: true}, value{suffix: ".sum", v: dp.GetSum()})
		}
	}
}

// pointCount is the number of data points m holds.
func pointCount(m *metricspb.Metric) int {
	switch d := m.GetData().(type) {
	case *metricspb.Metric_Gauge:
		return len(d.Gauge.GetDataPoints())
	case *metricspb.Metric_Sum:
		return len(d.Sum.GetDataPoints())
	case *metricspb.Metric_Histogram:
		return len(d.Histogram.GetDataPoints())
	case *metricspb.Metric_ExponentialHistogram:
		return len(d.ExponentialHistogram.GetDataPoints())
	case *metricspb.Metric_Summary:
		return len(d.Summary.GetDataPoints())
	}
	return 0
}

// pack splits g's points into events under the sample and byte limits.
func (cv Converter) pack(b *Batch, g *group) {
	const envelope = len(`{"samples":[]}`)
	var cur []point
	samples, size := 0, envelope
	flush := func() {
		if len(cur) == 0 {
			return
		}
		data := make([]byte, 0, size)
		data = append(data, `{"samples":[`...)
		first := true
		for _, p := range cur {
			for _, s := range p.samples {
				if !first {
					data = append(data, ',')
				}
				first = false
				data = append(data, s...)
			}
		}
		data = append(data, "]}"...)
		sum := sha256.Sum256(append([]byte(g.source+"\n"), data...))
		b.Events = append(b.Events, domain.CloudEvent{
			SpecVersion: "1.0", ID: hex.EncodeToString(sum[:16]), Source: g.source, Type: TelemetryType,
			DataContentType: "application/json", Data: data,
		})
		b.Points = append(b.Points, len(cur))
		b.Samples = append(b.Samples, samples)
		cur, samples, size = nil, 0, envelope
	}
	for _, p := range g.points {
		if len(cur) > 0 && (samples+len(p.samples) > cv.MaxSamples || size+p.size > cv.MaxDataBytes) {
			flush()
		}
		cur = append(cur, p)
		samples += len(p.samples)
		size += p.size
	}
	flush()
}

// resourceAttributes keeps the two resource attributes Throughline uses.
func resourceAttributes(kvs []*commonpb.KeyValue) map[string]string {
	out := map[string]string{}
	for _, kv := range kvs {
		switch kv.GetKey() {
		case "service.name":
			out["service"] = anyString(kv.GetValue())
		case "deployment.environment.name":
			out["env"] = anyString(kv.GetValue())
		case "deployment.environment":
			if _, newer := out["env"]; !newer {
				out["env"] = anyString(kv.GetValue())
			}
		}
	}
	for k, v := range out {
		if v == "" {
			delete(out, k)
		}
	}
	return out
}

// pointAttributes merges a point's attributes with the resource's. bad names
// an attribute that holds a NUL character, which no database stores.
func pointAttributes(kvs []*commonpb.KeyValue, res map[string]string) (attrs map[string]string, bad string) {
	out := make(map[string]string, len(kvs)+len(res))
	for _, kv := range kvs {
		if kv.GetKey() == "" {
			continue
		}
		out[kv.GetKey()] = anyString(kv.GetValue())
	}
	for k, v := range res {
		out[k] = v
	}
	for k, v := range out {
		if strings.IndexByte(k, 0) >= 0 || strings.IndexByte(v, 0) >= 0 {
			return nil, k
		}
	}
	return out, ""
}

// anyString writes an attribute value as text: strings as they are,
// numbers and booleans as Go writes them, bytes in base64, arrays and maps
// as JSON.
func anyString(v *commonpb.AnyValue) string {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_BoolValue:
		return strconv.FormatBool(x.BoolValue)
	case *commonpb.AnyValue_IntValue:
		return strconv.FormatInt(x.IntValue, 10)
	case *commonpb.AnyValue_DoubleValue:
		return strconv.FormatFloat(x.DoubleValue, 'g', -1, 64)
	case *commonpb.AnyValue_BytesValue:
		return base64.StdEncoding.EncodeToString(x.BytesValue)
	case *commonpb.AnyValue_ArrayValue, *commonpb.AnyValue_KvlistValue:
		b, err := json.Marshal(anyJSON(v, 0))
		if err != nil {
			return ""
		}
		return string(b)
	}
	return ""
}

// anyJSON is v as a JSON-encodable value, nested at most 16 deep.
func anyJSON(v *commonpb.AnyValue, depth int) any {
	if depth > 16 {
		return nil
	}
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_ArrayValue:
		out := make([]any, 0, len(x.ArrayValue.GetValues()))
		for _, e := range x.ArrayValue.GetValues() {
			out = append(out, anyJSON(e, depth+1))
		}
		return out
	case *commonpb.AnyValue_KvlistValue:
		out := make(map[string]any, len(x.KvlistValue.GetValues()))
		for _, kv := range x.KvlistValue.GetValues() {
			out[kv.GetKey()] = anyJSON(kv.GetValue(), depth+1)
		}
		return out
	case *commonpb.AnyValue_BoolValue:
		return x.BoolValue
	case *commonpb.AnyValue_IntValue:
		return x.IntValue
	case *commonpb.AnyValue_DoubleValue:
		if math.IsNaN(x.DoubleValue) || math.IsInf(x.DoubleValue, 0) {
			return strconv.FormatFloat(x.DoubleValue, 'g', -1, 64)
		}
		return x.DoubleValue
	case nil:
		return nil
	}
	return anyString(v)
}
