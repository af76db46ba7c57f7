// Package otlp receives OpenTelemetry metrics sent over OTLP/HTTP (POST
// /v1/metrics) and turns them into Throughline telemetry CloudEvents
// (dev.throughline.telemetry.samples.v1, DESIGN.md section 3), which then
// travel through NATS like every other event.
//
// # Mapping
//
// Every data point becomes one or two samples, at the point's time
// (time_unix_nano):
//
//   - gauge and sum number points: one sample named after the metric, with
//     the point's int or double value;
//   - histogram, exponential histogram and summary points: "<name>.count"
//     and "<name>.sum" (a histogram without a sum gives only the count).
//     Buckets, quantiles, min and max are dropped: the rollups keep count,
//     sum, min and max of the samples themselves.
//
// Attributes: the point's attributes, each written as a string (arrays and
// maps as JSON), plus two from the resource: service.name becomes
// "service", and deployment.environment.name (or the older
// deployment.environment) becomes "env"; these two win over point
// attributes of the same name. Every other resource attribute and the
// instrumentation scope are dropped, so that a series does not split when a
// process restarts with a new service.instance.id or host.
//
// # Temporality
//
// Both temporalities are accepted and stored as they come, without keeping
// state between requests (state would break with several Throughline
// instances behind one address and with restarts). A delta sum or histogram
// point is the amount for its interval, so the rollups' sums add up to real
// totals. A cumulative point is a reading of the running total since the
// start time: the rollups then hold readings, whose max (or last value) is
// meaningful but whose sum is not. Counters used as SLO good/total or
// summed in key results should therefore be exported with delta
// temporality (OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=delta).
//
// # Identity and limits
//
// Samples are grouped by service into events of at most MaxSamples samples
// and MaxDataBytes bytes of data; an event's source is /otlp/<service.name>
// (/otlp without one) and its id a hash of its content, so an exporter that
// retries the same request publishes duplicates, which NATS and the store
// discard, instead of counting twice. Points that cannot be stored (no
// metric name, a NaN or infinite value, no time, text with a NUL
// character) are rejected one by one and reported in the response's
// partial_success; the rest are kept.
package otlp

import (
	"fmt"
	"mime"
	"strings"

	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/throughline/throughline/domain"
)

// Content types of the two OTLP/HTTP encodings.
const (
	ContentTypeProtobuf = "application/x-protobuf"
	ContentTypeJSON     = "application/json"
)

// Encoding is how a request, and so its response, is encoded.
type Encoding int

const (
	Protobuf Encoding = iota
	JSON
)

// EncodingOf reads a Content-Type header. ok is false for anything but the
// two OTLP encodings.
func EncodingOf(contentType string) (enc Encoding, ok bool) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return Protobuf, false
	}
	switch mt {
	case ContentTypeProtobuf:
		return Protobuf, true
	case ContentTypeJSON:
		return JSON, true
	}
	return Protobuf, false
}

// ContentType is the Content-Type of a response in enc.
func (enc Encoding) ContentType() string {
	if enc == JSON {
		return ContentTypeJSON
	}
	return ContentTypeProtobuf
}

// Request is a decoded ExportMetricsServiceRequest.
//
// It is held as metrics.v1.MetricsData, which the OTLP specification keeps
// wire-compatible with ExportMetricsServiceRequest (field 1, repeated
// ResourceMetrics, in both encodings): the collector package that defines
// the request also carries the gRPC service and gateway, which the server
// does not need.
type Request = metricspb.MetricsData

// Decode reads an ExportMetricsServiceRequest. Unknown fields are ignored,
// as the OTLP specification asks of receivers. An undecodable body is
// domain.EINVALID.
func Decode(enc Encoding, body []byte) (*Request, error) {
	req := &Request{}
	var err error
	if enc == JSON {
		err = protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(body, req)
	} else {
		err = proto.Unmarshal(body, req)
	}
	if err != nil {
		return nil, &domain.Error{Code: domain.EINVALID, Err: err,
			Message: "The body is not an OTLP ExportMetricsServiceRequest in " + enc.ContentType() + ": " + domain.Shorten(err.Error(), 300)}
	}
	return req, nil
}

// errorText is a list of rejection messages, of which the response names
// the first few.
type errorText struct {
	n     int
	first []string
}

func (e *errorText) add(format string, args ...any) {
	e.n++
	if len(e.first) < 3 {
		e.first = append(e.first, fmt.Sprintf(format, args...))
	}
}

func (e *errorText) String() string {
	if e.n == 0 {
		return ""
	}
	s := strings.Join(e.first, "; ")
	if e.n > len(e.first) {
		s += fmt.Sprintf("; and %d more", e.n-len(e.first))
	}
	return domain.Shorten(s, 1000)
}
