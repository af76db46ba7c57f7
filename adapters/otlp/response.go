package otlp

import (
	"encoding/json"
	"net/http"
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"
)

// The two response messages are small enough to write by hand, which keeps
// the collector package (and with it gRPC) out of the server.

// EncodeResponse writes an ExportMetricsServiceResponse. A partial_success
// is set only when points were rejected or message is not empty, as the
// specification asks.
func EncodeResponse(enc Encoding, rejected int64, message string) []byte {
	if rejected == 0 && message == "" {
		if enc == JSON {
			return []byte("{}")
		}
		return []byte{}
	}
	if enc == JSON {
		// protojson writes int64 as a string; OTLP JSON readers take both.
		type partial struct {
			RejectedDataPoints string `json:"rejectedDataPoints,omitempty"`
			ErrorMessage       string `json:"errorMessage,omitempty"`
		}
		p := partial{ErrorMessage: message}
		if rejected != 0 {
			p.RejectedDataPoints = strconv.FormatInt(rejected, 10)
		}
		b, _ := json.Marshal(map[string]partial{"partialSuccess": p})
		return b
	}
	var inner []byte
	if rejected != 0 {
		inner = protowire.AppendTag(inner, 1, protowire.VarintType) // rejected_data_points
		inner = protowire.AppendVarint(inner, uint64(rejected))
	}
	if message != "" {
		inner = protowire.AppendTag(inner, 2, protowire.BytesType) // error_message
		inner = protowire.AppendString(inner, message)
	}
	out := protowire.AppendTag(nil, 1, protowire.BytesType) // partial_success
	return protowire.AppendBytes(out, inner)
}

// EncodeStatus writes the google.rpc.Status body of an error response, with
// the gRPC code that matches the HTTP status.
func EncodeStatus(enc Encoding, httpStatus int, message string) []byte {
	code := grpcCode(httpStatus)
	if enc == JSON {
		b, _ := json.Marshal(struct {
			Code    int32  `json:"code,omitempty"`
			Message string `json:"message,omitempty"`
		}{code, message})
		return b
	}
	var out []byte
	if code != 0 {
		out = protowire.AppendTag(out, 1, protowire.VarintType)
		out = protowire.AppendVarint(out, uint64(code))
	}
	if message != "" {
		out = protowire.AppendTag(out, 2, protowire.BytesType)
		out = protowire.AppendString(out, message)
	}
	return out
}

// grpcCode maps an HTTP status to a google.rpc.Code.
func grpcCode(status int) int32 {
	switch status {
	case http.StatusBadRequest, http.StatusUnsupportedMediaType:
		return 3 // INVALID_ARGUMENT
	case http.StatusUnauthorized:
		return 16 // UNAUTHENTICATED
	case http.StatusForbidden:
		return 7 // PERMISSION_DENIED
	case http.StatusNotFound:
		return 5 // NOT_FOUND
	case http.StatusRequestEntityTooLarge, http.StatusTooManyRequests:
		return 8 // RESOURCE_EXHAUSTED
	case http.StatusServiceUnavailable:
		return 14 // UNAVAILABLE
	}
	if status >= 500 {
		return 13 // INTERNAL
	}
	return 2 // UNKNOWN
}
