package web

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/throughline/throughline/domain"
)

// maxFormBody bounds the body of a page request: a form. The largest form a
// person fills in, a value stream with every stage row, is a few kilobytes;
// a mebibyte leaves room for long texts and bounds the memory one request
// takes. SLO import, a file of up to maxSLOFile, has its own limit.
const maxFormBody = 1 << 20

// pageBodyLimit is the largest body the page route takes.
func pageBodyLimit(route string) int64 {
	if route == "/slos/import" {
		return 2 * maxSLOFile // the file, multipart-encoded, or the same YAML pasted
	}
	return maxFormBody
}

// readPageBody reads a page request's body, before the CSRF check parses it
// as a form: a body larger than its route takes is refused with 413 however
// it is sent (with a Content-Length or chunked), and a form holding text no
// database stores is refused with 400. Handlers then read the form from
// memory.
func readPageBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		if req.Body == nil || req.Body == http.NoBody {
			return next(c)
		}
		n := pageBodyLimit(c.Path())
		if req.ContentLength > n {
			return bodyTooLarge(n)
		}
		body, err := io.ReadAll(http.MaxBytesReader(c.Response(), req.Body, n))
		if err != nil {
			if errors.As(err, new(*http.MaxBytesError)) {
				return bodyTooLarge(n)
			}
			return domain.Errorf(domain.EINVALID, "Could not read the request body.")
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		if err := req.ParseForm(); err != nil {
			return domain.Errorf(domain.EINVALID, "Could not read the form.")
		}
		if err := req.ParseMultipartForm(n); err != nil && !errors.Is(err, http.ErrNotMultipart) {
			return domain.Errorf(domain.EINVALID, "Could not read the form.")
		}
		if !storableValues(req.Form) {
			return errUnstorable
		}
		return next(c)
	}
}

// limitBody refuses bodies larger than n bytes with 413: at once when the
// Content-Length says so, otherwise when the handler reads past n.
func limitBody(n int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if c.Request().ContentLength > n {
				return bodyTooLarge(n)
			}
			c.Request().Body = http.MaxBytesReader(c.Response(), c.Request().Body, n)
			return next(c)
		}
	}
}

func bodyTooLarge(n int64) error {
	return &domain.Error{Code: domain.ETOOLARGE, Message: "The request body is larger than " + byteSize(n) + "."}
}

// byteSize writes n bytes in MiB or KiB.
func byteSize(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return strconv.FormatInt(n>>20, 10) + " MiB"
	}
	return strconv.FormatInt(n>>10, 10) + " KiB"
}

// errUnstorable refuses text that would reach the database as something
// else or not at all: the SQL layer cannot write a NUL character in text,
// and would replace invalid UTF-8.
var errUnstorable = domain.Errorf(domain.EINVALID, "The request holds a NUL character or text that is not UTF-8; Throughline stores neither.")

// refuseUnstorableText answers 400 to a request whose path or query holds
// text no database stores (forms are checked by readPageBody).
func refuseUnstorableText(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !storableText(c.Request().URL.Path) || !storableValues(c.QueryParams()) {
			return errUnstorable
		}
		return next(c)
	}
}

func storableValues(vals url.Values) bool {
	for k, vs := range vals {
		if !storableText(k) {
			return false
		}
		for _, v := range vs {
			if !storableText(v) {
				return false
			}
		}
	}
	return true
}

func storableText(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}
