package web

import (
	"bytes"
	"net/http"
	"path"
	"strings"

	"github.com/labstack/echo/v4"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/throughline/throughline/domain"
	"github.com/throughline/throughline/web/views"
)

// Every table a page shows can be downloaded: GET <page>?csv=<table> renders
// the page exactly as it would be shown and answers with the table marked
// data-csv="<table>" as CSV. The download is what is on the screen by
// construction, for tables that have no data model of their own to export
// (the trends page's charts export their numbers from the chart instead).
//
// Cells give their text unless they carry data-csv-value (a raw number
// behind a formatted one); cells marked data-csv-skip (row actions) and
// forms, buttons and drawings inside cells are left out.

// tableCSVParam is the query parameter that asks for a table as CSV.
const tableCSVParam = "csv"

// tableCSV is the middleware of every page group that shows tables.
func tableCSV(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		id := req.URL.Query().Get(tableCSVParam)
		if id == "" || req.Method != http.MethodGet {
			return next(c)
		}
		// The page renders as if asked for without the parameter (its
		// links, its cache entry).
		q := req.URL.Query()
		q.Del(tableCSVParam)
		req.URL.RawQuery = q.Encode()

		orig := c.Response()
		buf := &bufferedWriter{header: http.Header{}}
		c.SetResponse(echo.NewResponse(buf, c.Echo()))
		err := next(c)
		c.SetResponse(orig)
		if err != nil {
			return err
		}
		if buf.status != 0 && buf.status != http.StatusOK {
			// A redirect or an error page: let the browser follow it.
			for k, v := range buf.header {
				orig.Header()[k] = v
			}
			orig.WriteHeader(buf.status)
			_, werr := orig.Write(buf.body.Bytes())
			return werr
		}
		t, ok, err := tableFromHTML(buf.body.Bytes(), id)
		if err != nil {
			return err
		}
		if !ok {
			return domain.Errorf(domain.ENOTFOUND, "This page shows no table %q to download.", id)
		}
		page := strings.Trim(strings.ReplaceAll(path.Clean(req.URL.Path), "/", "-"), "-")
		if page == "" {
			page = "overview"
		}
		return writeCSV(c, "throughline-"+page+"-"+id+".csv", t)
	}
}

// bufferedWriter keeps a rendered page in memory.
type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *bufferedWriter) Header() http.Header         { return w.header }
func (w *bufferedWriter) Write(b []byte) (int, error) { return w.body.Write(b) }
func (w *bufferedWriter) WriteHeader(status int)      { w.status = status }

// tableFromHTML finds the table marked data-csv=id in a rendered page and
// returns its header and body rows.
func tableFromHTML(page []byte, id string) (views.DataTable, bool, error) {
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		return views.DataTable{}, false, err
	}
	table := findElement(doc, func(n *html.Node) bool {
		return n.DataAtom == atom.Table && attr(n, "data-csv") == id
	})
	if table == nil {
		return views.DataTable{}, false, nil
	}
	t := views.DataTable{ID: id}
	var rows func(n *html.Node)
	rows = func(n *html.Node) {
		for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
			switch ch.DataAtom {
			case atom.Table:
				continue // a table inside a cell is not this table's rows
			case atom.Tr:
				row, head := cells(ch)
				if head && t.Head == nil && len(t.Rows) == 0 {
					t.Head = row
				} else {
					t.Rows = append(t.Rows, row)
				}
			default:
				rows(ch)
			}
		}
	}
	rows(table)
	return t, true, nil
}

// cells returns a row's cell values and whether it is a header row (only th).
func cells(tr *html.Node) ([]string, bool) {
	var out []string
	head := true
	for c := tr.FirstChild; c != nil; c = c.NextSibling {
		if c.Type != html.ElementNode || (c.DataAtom != atom.Td && c.DataAtom != atom.Th) {
			continue
		}
		if hasAttr(c, "data-csv-skip") {
			continue
		}
		if c.DataAtom == atom.Td {
			head = false
		}
		if v, ok := attrOK(c, "data-csv-value"); ok {
			out = append(out, v)
			continue
		}
		var b strings.Builder
		cellText(c, &b)
		out = append(out, strings.Join(strings.Fields(b.String()), " "))
	}
	return out, head
}

// cellText gathers what a cell says, without its controls and drawings.
func cellText(n *html.Node, b *strings.Builder) {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		switch {
		case c.Type == html.TextNode:
			b.WriteString(c.Data)
			b.WriteByte(' ')
		case c.Type == html.ElementNode:
			switch c.DataAtom {
			case atom.Form, atom.Button, atom.Select, atom.Script, atom.Style, atom.Svg, atom.Template, atom.Input, atom.Textarea:
				continue
			}
			if hasAttr(c, "data-csv-skip") {
				continue
			}
			cellText(c, b)
		}
	}
}

func findElement(n *html.Node, match func(*html.Node) bool) *html.Node {
	if n.Type == html.ElementNode && match(n) {
		return n
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if found := findElement(c, match); found != nil {
			return found
		}
	}
	return nil
}

func attrOK(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func attr(n *html.Node, key string) string { v, _ := attrOK(n, key); return v }

func hasAttr(n *html.Node, key string) bool { _, ok := attrOK(n, key); return ok }
