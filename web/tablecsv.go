package web

import (
	"net/http"
	"path"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/throughline/throughline/domain"
	"github.com/throughline/throughline/web/views"
)

// Every table a page shows can be downloaded: GET <page>?csv=<table>. The
// page's handler builds its tables (views.Table) from the same read model
// it renders, and answers a download from them without rendering the page:
// the CSV has the raw value of each cell the page formats, and controls are
// not cells, so they never reach it.

// tableCSVParam is the query parameter that asks for a table as CSV.
const tableCSVParam = "csv"

// csvRequested names the table asked for, "" for the page itself.
func csvRequested(c echo.Context) string {
	if c.Request().Method != http.MethodGet {
		return ""
	}
	return c.QueryParam(tableCSVParam)
}

// noTables answers ?csv=<id> on a page that shows no table to download
// (the trends page's tables download from /trends.csv).
func noTables(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if id := csvRequested(c); id != "" {
			return domain.Errorf(domain.ENOTFOUND, "This page shows no table %q to download.", id)
		}
		return next(c)
	}
}

// servePageTable answers ?csv=<id> with one of the page's tables.
func servePageTable(c echo.Context, id string, tables ...views.Table) error {
	t, ok := views.FindTable(id, tables...)
	if !ok {
		return domain.Errorf(domain.ENOTFOUND, "This page shows no table %q to download.", id)
	}
	page := strings.Trim(strings.ReplaceAll(path.Clean(c.Request().URL.Path), "/", "-"), "-")
	if page == "" {
		page = "overview"
	}
	return writeCSV(c, "throughline-"+page+"-"+id+".csv", t)
}

// writeCSV answers with a table as an attachment.
func writeCSV(c echo.Context, filename string, t views.Table) error {
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	h.Set(echo.HeaderContentDisposition, `attachment; filename="`+strings.NewReplacer(`"`, "", "\n", "", "\r", "").Replace(filename)+`"`)
	h.Set("Cache-Control", "no-store")
	c.Response().WriteHeader(http.StatusOK)
	return t.WriteCSV(c.Response())
}
