package otlp_test

import (
	"net/http"
	"testing"

	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	statuspb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/throughline/throughline/adapters/otlp"
)

// The hand-written responses read back with the generated types, in both
// encodings.
func TestResponsesReadBackWithGeneratedTypes(t *testing.T) {
	for _, enc := range []otlp.Encoding{otlp.Protobuf, otlp.JSON} {
		unmarshal := proto.Unmarshal
		if enc == otlp.JSON {
			unmarshal = protojson.Unmarshal
		}
		var resp colmetricspb.ExportMetricsServiceResponse
		if err := unmarshal(otlp.EncodeResponse(enc, 3, "3 points: value NaN is not finite"), &resp); err != nil {
			t.Fatalf("%v: %v", enc, err)
		}
		if ps := resp.GetPartialSuccess(); ps.GetRejectedDataPoints() != 3 || ps.GetErrorMessage() != "3 points: value NaN is not finite" {
			t.Errorf("%v: partial success %+v", enc, ps)
		}
		resp.Reset()
		if err := unmarshal(otlp.EncodeResponse(enc, 0, ""), &resp); err != nil || resp.PartialSuccess != nil {
			t.Errorf("%v: full success read back as %+v, %v", enc, resp.PartialSuccess, err)
		}
		var st statuspb.Status
		if err := unmarshal(otlp.EncodeStatus(enc, http.StatusBadRequest, "not OTLP"), &st); err != nil {
			t.Fatalf("%v: %v", enc, err)
		}
		if st.GetCode() != 3 || st.GetMessage() != "not OTLP" {
			t.Errorf("%v: status %+v", enc, &st)
		}
	}
}
