package views

import (
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/a-h/templ"
)

// Numbers in a CSV carry six significant digits, never fewer than their
// whole part, in plain decimal notation without trailing zeros: no float
// noise, no exponent, no "-0".
func TestCSVNumber(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want string
	}{
		{1.0 / 21, "0.047619"}, // the 0.047619047619047616
		{9.0 / 7, "1.28571"},
		{0.5, "0.5"},
		{1, "1"},
		{0, "0"},
		{math.Copysign(0, -1), "0"},
		{-0.0000001, "-0.0000001"},
		{-1e-12, "-0.000000000001"},
		{0.000012345678, "0.0000123457"},
		{0.99999995, "1"},          // rounding carries into the whole part
		{123456.789, "123457"},     // six digits, all of them whole
		{123456789.4, "123456789"}, // the whole part is never rounded away
		{-2.5e7, "-25000000"},      // no exponent
		{1e21, "1000000000000000000000"},
		{math.NaN(), ""},
		{math.Inf(1), ""},
	} {
		if got := CSVNumber(tc.in); got != tc.want {
			t.Errorf("CSVNumber(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// Each kind writes its raw value one way in every CSV, and the page shows
// the same cell formatted; a missing value is empty in the CSV.
func TestCellValuesByKind(t *testing.T) {
	paris := time.FixedZone("CET", 3600)
	at := time.Date(2026, 3, 2, 0, 30, 15, 600_000_000, paris) // 1 March 23:30:15.6 UTC
	secs := 5400.6
	rate := 1.0 / 21
	for _, tc := range []struct {
		name      string
		kind      Kind
		cell      Cell
		csv, page string
	}{
		{"date in UTC", KindDate, TimeCell(at), "2026-03-01", "1 Mar 2026"},
		{"time RFC 3339 UTC to the second", KindTime, TimeCell(at), "2026-03-01T23:30:15Z", "2026-03-01 23:30 UTC"},
		{"no time", KindTime, TimeCell(time.Time{}), "", "—"},
		{"duration whole seconds", KindDuration, NumberCell(&secs), "5401", "1.5 h"},
		{"no duration", KindDuration, NumberCell(nil), "", "—"},
		{"a duration that does not apply", KindDuration, BlankCell(), "", ""},
		{"rate", KindRate, NumberCell(&rate), "0.047619", "4.8 %"},
		{"count", KindCount, CountCell(42), "42", "42"},
		{"number", KindNumber, ValueCell(12345.678), "12345.7", "12.3k"},
		{"text", KindText, TextCell("checkout"), "checkout", "checkout"},
		{"link text", KindLink, LinkCell("CHK-1", "/ideas/CHK-1"), "CHK-1", "CHK-1"},
		{"page text of its own, raw value in the CSV", KindRate, Cell{num: 0.5, ok: true, Show: "50.0%"}, "0.5", "50.0%"},
		{"page text for a missing value", KindDuration, Cell{Show: "open"}, "", "open"},
	} {
		if got := tc.cell.CSVValue(tc.kind); got != tc.csv {
			t.Errorf("%s: CSV %q, want %q", tc.name, got, tc.csv)
		}
		if got := tc.cell.Display(tc.kind); got != tc.page {
			t.Errorf("%s: page %q, want %q", tc.name, got, tc.page)
		}
	}
}

// The CSV has every column under its CSV name, a record per row, text
// guarded against formulas; the controls drawn in cells and rows are not
// cells, so nothing of them reaches it, while the page draws them.
func TestTableCSVAndPage(t *testing.T) {
	control := func(label string) Control {
		return func(Page) templ.Component {
			return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
				_, err := io.WriteString(w, "<button>"+label+"</button>")
				return err
			})
		}
	}
	secs := 90.0
	name := TextCell("=HYPERLINK(\"http://evil.example\")")
	name.After = control("Revoke")
	tbl := Table{ID: "t", Actions: true, Columns: []Column{
		{Head: "Name", Kind: KindText},
		{Head: "Note", Kind: KindText, Place: PlaceBelow},
		{Head: "Hidden", Kind: KindCount, Place: PlaceNone},
		{Head: "Took", CSVHead: "Took (s)", Kind: KindDuration},
		{Head: "Delta", Kind: KindNumber},
	}, Rows: []Row{
		{Cells: []Cell{name, TextCell("a note"), CountCell(3), NumberCell(&secs), ValueCell(-0.25)}, Actions: control("Remove")},
		{Cells: []Cell{TextCell("+1 more"), {}, CountCell(0), NumberCell(nil), ValueCell(2.0 / 3)}},
	}}
	var b bytes.Buffer
	if err := tbl.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	got, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"Name", "Note", "Hidden", "Took (s)", "Delta"},
		{"'=HYPERLINK(\"http://evil.example\")", "a note", "3", "90", "-0.25"},
		{"'+1 more", "", "0", "", "0.666667"},
	}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("CSV\n%q\nwant\n%q", got, want)
	}

	var page strings.Builder
	if err := TableView(Page{}, tbl).Render(context.Background(), &page); err != nil {
		t.Fatal(err)
	}
	html := page.String()
	for _, s := range []string{`data-csv="t"`, "<button>Revoke</button>", "<button>Remove</button>", "a note", "2 min"} {
		if !strings.Contains(html, s) {
			t.Errorf("the page lacks %q:\n%s", s, html)
		}
	}
	if strings.Contains(html, "Hidden") || strings.Contains(html, ">Note<") {
		t.Errorf("a column placed elsewhere has a head of its own:\n%s", html)
	}
	if n := strings.Count(html, "<th>") + strings.Count(html, "<th "); n != 4 { // Name, Took, Delta and the actions' blank one
		t.Errorf("%d heads:\n%s", n, html)
	}
}

// FuzzCSVSafe: no downloaded cell starts a spreadsheet formula, and numbers
// stay numbers.
func FuzzCSVSafe(f *testing.F) {
	for _, s := range []string{"=HYPERLINK(\"http://evil.example\")", "-12.5", "+1", "@SUM(A1)", "\tx", "checkout", "", "-", "-Inf"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cell string) {
		got := CSVSafe([]string{cell})[0]
		if _, err := strconv.ParseFloat(cell, 64); err == nil {
			if got != cell {
				t.Fatalf("number %q changed to %q", cell, got)
			}
			return
		}
		if got != "" && strings.ContainsRune("=+-@\t\r", rune(got[0])) {
			t.Fatalf("CSVSafe(%q) = %q starts a formula", cell, got)
		}
	})
}
