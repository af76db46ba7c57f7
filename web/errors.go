package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/throughline/throughline/domain"
	"github.com/throughline/throughline/web/views"
)

// statusOf maps domain error codes to HTTP status codes, in one place.
var statusOf = map[string]int{
	domain.EINVALID:      http.StatusBadRequest,
	domain.EUNAUTHORIZED: http.StatusUnauthorized,
	domain.EFORBIDDEN:    http.StatusForbidden,
	domain.ENOTFOUND:     http.StatusNotFound,
	domain.ECONFLICT:     http.StatusConflict,
	domain.ETOOMANY:      http.StatusTooManyRequests,
	domain.EINTERNAL:     http.StatusInternalServerError,
	domain.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	domain.EUNAVAILABLE:  http.StatusServiceUnavailable,
}

// codeOf is the reverse, for errors raised by echo itself.
func codeOf(status int) string {
	for code, st := range statusOf {
		if st == status {
			return code
		}
	}
	if status >= 500 {
		return domain.EINTERNAL
	}
	return domain.EINVALID
}

// apiError is the JSON error shape of the API (DESIGN.md section 5).
type apiError struct {
	Error apiErrorBody `json:"error"`
}

type apiErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Field and Fields name what is wrong with a write's input: the first
	// field (in name order) and a message per field.
	Field  string            `json:"field,omitempty"`
	Fields map[string]string `json:"fields,omitempty"`
}

// fieldsError is a write's input that failed validation: the messages the
// forms show, per field.
type fieldsError struct{ fields map[string]string }

func (e *fieldsError) Error() string { return "invalid fields" }

// invalidInput returns nil for no errors, or the fields' messages as an
// API error.
func invalidInput(errs map[string]string) error {
	if len(errs) == 0 {
		return nil
	}
	return &fieldsError{fields: errs}
}

// handleError turns any handler error into a JSON error for the API and an
// error page for people. Internal details are logged, never shown.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, code, msg := http.StatusInternalServerError, domain.EINTERNAL, "Something went wrong on our side. It has been logged."
	var he *echo.HTTPError
	var de *domain.Error
	var fe *fieldsError
	var body apiErrorBody
	switch {
	case errors.As(err, &fe):
		status, code = http.StatusBadRequest, domain.EINVALID
		keys := sortedKeys(fe.fields)
		msgs := make([]string, len(keys))
		for i, k := range keys {
			msgs[i] = k + ": " + fe.fields[k]
		}
		msg, body.Field, body.Fields = strings.Join(msgs, " "), keys[0], fe.fields
	case errors.As(err, &de):
		code, msg = de.Code, de.Message
		status = statusOf[code]
		if status == 0 {
			status = http.StatusInternalServerError
		}
	case errors.As(err, &he):
		status = he.Code
		code = codeOf(status)
		msg = http.StatusText(status)
		if m, ok := he.Message.(string); ok && status < 500 {
			msg = strings.ToUpper(m[:1]) + m[1:] + "."
		}
		if status == http.StatusNotFound {
			msg = "There is nothing at this address."
		}
	}
	if status >= 500 {
		s.log.Error("request failed", "err", err, "path", c.Request().URL.Path, "request_id", c.Get(ctxRequestID))
	}
	if isAPI(c) {
		if c.Request().Method == http.MethodHead {
			_ = c.NoContent(status)
			return
		}
		body.Code, body.Message = code, msg
		_ = c.JSON(status, apiError{Error: body})
		return
	}
	title := map[int]string{
		http.StatusNotFound:              "Page not found",
		http.StatusForbidden:             "Not allowed",
		http.StatusUnauthorized:          "Sign in required",
		http.StatusBadRequest:            "That did not work",
		http.StatusTooManyRequests:       "Slow down",
		http.StatusRequestEntityTooLarge: "Too large",
	}[status]
	if title == "" {
		title = "Something went wrong"
	}
	p := s.page(c, title, "")
	if err := render(c, status, views.ErrorPage(p, views.ErrorView{Status: status, Title: title, Message: msg})); err != nil {
		s.log.Error("render error page", "err", err)
	}
}

func isAPI(c echo.Context) bool {
	p := c.Request().URL.Path
	return p == "/api" || strings.HasPrefix(p, "/api/") || strings.HasSuffix(p, ".json") || p == "/healthz" || p == "/readyz" || p == "/metrics" ||
		strings.HasPrefix(p, "/webhooks/")
}
