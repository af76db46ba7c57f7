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
	switch {
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
		_ = c.JSON(status, apiError{Error: apiErrorBody{Code: code, Message: msg}})
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
	return p == "/api" || strings.HasPrefix(p, "/api/") || p == "/healthz" || p == "/readyz" || p == "/metrics" ||
		strings.HasPrefix(p, "/webhooks/")
}
