package main

import (
	"context"

	"github.com/throughline/throughline/adapters/cdevents"
	"github.com/throughline/throughline/adapters/otlp"
	"github.com/throughline/throughline/domain"
)

// otlpReceiver joins the OTLP adapter to the gateway: OpenTelemetry metrics
// become telemetry CloudEvents published like any posted event.
type otlpReceiver struct {
	gw   *gateway
	conv otlp.Converter
}

func newOTLPReceiver(gw *gateway) *otlpReceiver {
	return &otlpReceiver{gw: gw, conv: otlp.Converter{
		MaxSamples: cdevents.MaxSamplesPerEvent,
		MaxValue:   cdevents.MaxSampleValue,
	}}
}

// ExportMetrics implements web.OTLPReceiver.
func (r *otlpReceiver) ExportMetrics(ctx context.Context, contentType string, body []byte) ([]byte, error) {
	enc, ok := otlp.EncodingOf(contentType)
	if !ok {
		return nil, domain.Errorf(domain.EINVALID, "Send OTLP metrics as application/x-protobuf or application/json.")
	}
	req, err := otlp.Decode(enc, body)
	if err != nil {
		return nil, err
	}
	batch := r.conv.Convert(req)
	if len(batch.Events) > 0 {
		results, err := r.gw.PublishEvents(ctx, batch.Events)
		if err != nil {
			if code := domain.ErrorCode(err); code == domain.EINTERNAL || code == domain.EUNAVAILABLE {
				// Whatever was published before the failure is a
				// duplicate when the exporter retries.
				return nil, &domain.Error{Code: domain.EUNAVAILABLE, Err: err,
					Message: "The event stream did not take the samples; retry later."}
			}
			return nil, err
		}
		for i, res := range results {
			if !res.Accepted {
				batch.RejectEvent(i, res.Reason+": "+res.Message)
			}
		}
	}
	return otlp.EncodeResponse(enc, batch.Rejected(), batch.Message()), nil
}

// ErrorBody implements web.OTLPReceiver.
func (r *otlpReceiver) ErrorBody(contentType string, status int, message string) []byte {
	enc, _ := otlp.EncodingOf(contentType)
	return otlp.EncodeStatus(enc, status, message)
}
