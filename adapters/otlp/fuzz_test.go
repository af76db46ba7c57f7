package otlp_test

import (
	"encoding/json"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/throughline/throughline/adapters/otlp"
	"github.com/throughline/throughline/domain"
)

// FuzzDecode feeds arbitrary bodies, in both encodings, through decoding and
// conversion: nothing panics, and every event is valid telemetry data
// within the limits.
func FuzzDecode(f *testing.F) {
	pb, err := proto.Marshal(request(nil, gauge("g", dbl(1, str("k", "v")))))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(pb, false)
	f.Add([]byte(`{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"g","gauge":{"dataPoints":[{"timeUnixNano":"1","asDouble":1}]}}]}]}]}`), true)
	// Names over the limit: a metric, a service, an environment.
	long := strings.Repeat("n", 5000)
	f.Add([]byte(`{"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"`+long+`"}}]},"scopeMetrics":[{"metrics":[`+
		`{"name":"`+long+`","gauge":{"dataPoints":[{"timeUnixNano":"1","asDouble":1}]}},`+
		`{"name":"g","gauge":{"dataPoints":[{"timeUnixNano":"1","asDouble":1,"attributes":[{"key":"env","value":{"stringValue":"`+long+`"}}]}]}}]}]}]}`), true)
	f.Fuzz(func(t *testing.T, body []byte, isJSON bool) {
		enc := otlp.Protobuf
		if isJSON {
			enc = otlp.JSON
		}
		req, err := otlp.Decode(enc, body)
		if err != nil {
			return
		}
		cv := otlp.Converter{MaxSamples: 50, MaxDataBytes: 4096}
		b := cv.Convert(req)
		for i, ce := range b.Events {
			var d struct{ Samples []map[string]any }
			if err := json.Unmarshal(ce.Data, &d); err != nil {
				t.Fatalf("event %d: %v", i, err)
			}
			if len(d.Samples) == 0 || len(d.Samples) > 50 {
				t.Fatalf("event %d has %d samples", i, len(d.Samples))
			}
			// Names reach subjects and database keys: none over the limit.
			for _, s := range d.Samples {
				metric, _ := s["metric"].(string)
				attrs, _ := s["attributes"].(map[string]any)
				written := map[string]string{}
				for k, v := range attrs {
					written[k], _ = v.(string)
				}
				if domain.AttributesSize(written) > domain.MaxAttributesBytes {
					t.Fatalf("event %d carries attributes of %d bytes", i, domain.AttributesSize(written))
				}
				for _, name := range []any{metric, attrs["service"], attrs["env"], attrs["environment"], attrs["team"]} {
					if n, _ := name.(string); len(n) > domain.MaxNameBytes {
						t.Fatalf("event %d carries a name of %d bytes", i, len(n))
					}
				}
			}
			if b.Points[i] > 1 && len(ce.Data) > 4096 {
				t.Fatalf("event %d has %d bytes", i, len(ce.Data))
			}
		}
		otlp.EncodeResponse(enc, b.Rejected(), b.Message())
	})
}
