package web

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/throughline/throughline/domain"
)

// OTLPReceiver takes OpenTelemetry metrics sent over OTLP/HTTP.
type OTLPReceiver interface {
	// ExportMetrics decodes an ExportMetricsServiceRequest (contentType is
	// application/x-protobuf or application/json, body uncompressed),
	// publishes its samples and returns the ExportMetricsServiceResponse
	// in the same encoding, only after JetStream acknowledged them. An
	// undecodable body is domain.EINVALID; a NATS outage EUNAVAILABLE.
	ExportMetrics(ctx context.Context, contentType string, body []byte) ([]byte, error)
	// ErrorBody is the google.rpc.Status body of an error response.
	ErrorBody(contentType string, status int, message string) []byte
}

// OTLP/HTTP limits: the body as sent, and as decompressed. An SDK exports
// kilobytes per interval; a Collector's batch of 8,192 points is 1–2 MiB.
// Decoding protobuf can take many times the body's size in memory (tens of
// times for bodies of tiny repeated messages), so the limit stays low and
// only Config.OTLPConcurrency exports are decoded at once.
const (
	maxOTLPBody    = 4 << 20
	maxOTLPDecoded = 4 << 20
)

const (
	otlpProtobuf = "application/x-protobuf"
	otlpJSON     = "application/json"
)

// otlpContentType is the request's encoding, or "" when it is neither of
// the two OTLP/HTTP encodings.
func otlpContentType(c echo.Context) string {
	mt, _, _ := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	if mt == otlpProtobuf || mt == otlpJSON {
		return mt
	}
	return ""
}

// handleOTLPMetrics answers POST /v1/metrics, the OTLP/HTTP metrics path, so
// that exporters pointed at Throughline's base URL work unchanged.
func (s *Server) handleOTLPMetrics(c echo.Context) error {
	ct := otlpContentType(c)
	if ct == "" {
		return echo.NewHTTPError(http.StatusUnsupportedMediaType, "Send OTLP metrics as application/x-protobuf or application/json.")
	}
	// Wait for a turn before reading the body, so that waiting exports
	// hold no memory.
	wait := time.NewTimer(s.cfg.OTLPWait)
	defer wait.Stop()
	select {
	case s.otlpSlots <- struct{}{}:
		defer func() { <-s.otlpSlots }()
	case <-wait.C:
		return domain.Errorf(domain.EUNAVAILABLE, "Too many OTLP exports are being received at once; try again shortly.")
	case <-c.Request().Context().Done():
		return domain.Errorf(domain.EUNAVAILABLE, "The export was abandoned while it waited for its turn.")
	}
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		if errors.As(err, new(*http.MaxBytesError)) {
			return bodyTooLarge(maxOTLPBody)
		}
		return domain.Errorf(domain.EINVALID, "Could not read the request body.")
	}
	switch enc := strings.ToLower(strings.TrimSpace(c.Request().Header.Get(echo.HeaderContentEncoding))); enc {
	case "", "identity":
	case "gzip":
		if body, err = gunzip(body, maxOTLPDecoded); err != nil {
			return err
		}
	default:
		return echo.NewHTTPError(http.StatusUnsupportedMediaType, "Content-Encoding "+domain.Shorten(enc, 40)+" is not supported; use gzip or none.")
	}
	resp, err := s.deps.OTLP.ExportMetrics(c.Request().Context(), ct, body)
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, ct, resp)
}

// gunzip decompresses body, refusing one that expands beyond max bytes.
func gunzip(body []byte, max int64) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, domain.Errorf(domain.EINVALID, "The body is not gzip-compressed, though Content-Encoding says gzip.")
	}
	out, err := io.ReadAll(io.LimitReader(zr, max+1))
	if err != nil {
		return nil, domain.Errorf(domain.EINVALID, "The gzip-compressed body is corrupt or cut short.")
	}
	if int64(len(out)) > max {
		return nil, domain.Errorf(domain.ETOOLARGE, "The body decompresses to more than %s; send smaller batches.", byteSize(max))
	}
	return out, nil
}

// otlpErrors answers every failure of the OTLP route, the token checks'
// included, the way OTLP/HTTP clients expect: the status code and a
// google.rpc.Status body in the request's encoding (JSON when the request
// was neither encoding, for people trying it with curl).
func (s *Server) otlpErrors(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := next(c)
		if err == nil || c.Response().Committed {
			return err
		}
		status, msg := http.StatusInternalServerError, "Something went wrong on our side. It has been logged."
		var de *domain.Error
		var he *echo.HTTPError
		switch {
		case errors.As(err, &de) && statusOf[de.Code] != 0:
			status, msg = statusOf[de.Code], de.Message
		case errors.As(err, &he) && he.Code < 500:
			status, msg = he.Code, http.StatusText(he.Code)
			if m, ok := he.Message.(string); ok {
				msg = m
			}
		}
		if status >= 500 {
			s.log.Error("otlp request failed", "err", err, "status", status, "request_id", c.Get(ctxRequestID))
		}
		if status == http.StatusServiceUnavailable {
			c.Response().Header().Set("Retry-After", "5")
		}
		ct := otlpContentType(c)
		if ct == "" {
			ct = otlpJSON
		}
		return c.Blob(status, ct, s.deps.OTLP.ErrorBody(ct, status, msg))
	}
}
