package views

import (
	"encoding/csv"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"

	"github.com/throughline/throughline/domain"
)

// Table is one table of a page as data: typed columns and rows of cells
// holding raw values. The page draws each cell's display text from it and
// the CSV download writes the raw value of the same cell, so the two cannot
// disagree, and controls (forms, buttons) never reach a download because
// they are not cells.
type Table struct {
	ID      string // ?csv=<ID> downloads it
	Title   string // what the trends page's toggles name it
	CSV     string // the download link, where the page shows one beside the table
	Columns []Column
	Rows    []Row
	TestID  string
	Class   string
	// NoHead: the page shows no head row (a list of checks, a key-value
	// table); the CSV still names its columns.
	NoHead bool
	// RowHeads: the first column heads each row (th) on the page.
	RowHeads bool
	// Actions: rows carry controls in a last, headless column.
	Actions bool
}

// Kind is what a column holds: it fixes how the CSV writes a value and how
// the page shows it unless a cell says otherwise.
type Kind int

const (
	KindText     Kind = iota // names, ids, labels: as they are
	KindLink                 // text that links somewhere on the page; the CSV has the text
	KindDate                 // a day: YYYY-MM-DD (UTC)
	KindTime                 // an instant: RFC 3339 in UTC, to the second
	KindDuration             // seconds, written whole
	KindRate                 // a fraction from 0 to 1
	KindCount                // a whole number
	KindNumber               // any other number
)

// Placement is where the page shows a column; the CSV has every column.
type Placement int

const (
	PlaceColumn Placement = iota // a column of its own
	PlaceInline                  // in the previous shown column's cell, after its value
	PlaceBelow                   // in the previous shown column's cell, on a line of its own
	PlaceNone                    // only in the CSV: the page says it otherwise (a dot, another cell's text)
)

// Column is a table's column.
type Column struct {
	Head string // on the page
	// CSVHead names the column in the CSV when the page's head does not
	// say enough (the unit of a raw value, a head the page leaves blank).
	CSVHead string
	Kind    Kind
	// Class is the class of its cells on the page: of the td for a column
	// of its own, of the line for PlaceBelow, of the span for PlaceInline.
	Class string
	Place Placement
}

// Row is one row: a cell per column, in order.
type Row struct {
	Cells  []Cell
	ID     string // an anchor (/services#checkout)
	TestID string
	Attrs  templ.Attributes
	// Actions are the row's controls, drawn in the last column.
	Actions Control
}

// Control is what a page draws in a table that is not data: a form, a
// button. It is given the page when drawn (its CSRF token, the viewer) and
// returns nil when the viewer may not use it.
type Control func(p Page) templ.Component

// Cell is one value and how the page shows it. The zero Cell is empty.
type Cell struct {
	text string
	at   time.Time
	num  float64
	ok   bool // a time or number is set
	// blank: no value applies here (no recovery for a deployment that
	// did not fail); the page shows nothing rather than "—".
	blank bool

	// Show is the page's text for the value when the column's kind does
	// not say it well enough ("1.1 days", "…a1b2c3"; "open" for a
	// missing restore time).
	Show string
	// Href links the value on the page.
	Href  string
	Title string
	// Class wraps the value in a span (a badge, a posture).
	Class  string
	TestID string
	// Draw, when it returns a component, is drawn instead of the value's
	// text: several badges, a bar, a form that edits the value.
	Draw Control
	// After is drawn after the value in the same cell: a link to the
	// event behind it, a form.
	After Control
}

// TextCell is a text value; an empty one shows nothing.
func TextCell(s string) Cell { return Cell{text: s} }

// LinkCell is text that links to href on the page.
func LinkCell(s, href string) Cell { return Cell{text: s, Href: href} }

// TimeCell is a date or time; the zero time is missing.
func TimeCell(t time.Time) Cell { return Cell{at: t, ok: !t.IsZero()} }

// NumberCell is a duration in seconds, a rate or a number; nil is missing.
func NumberCell(v *float64) Cell {
	if v == nil {
		return Cell{}
	}
	return ValueCell(*v)
}

// ValueCell is a number that is always there.
func ValueCell(v float64) Cell { return Cell{num: v, ok: true} }

// CountCell is a count.
func CountCell(n int) Cell { return ValueCell(float64(n)) }

// BlankCell is a value that does not apply: empty on the page and in the
// CSV.
func BlankCell() Cell { return Cell{blank: true} }

// Missing reports whether the cell holds no value.
func (c Cell) Missing(k Kind) bool {
	switch k {
	case KindText, KindLink:
		return c.text == ""
	}
	return !c.ok
}

// Display is the page's text for the cell in a column of kind k.
func (c Cell) Display(k Kind) string {
	if c.Show != "" {
		return c.Show
	}
	if c.Missing(k) {
		if k == KindText || k == KindLink || c.blank {
			return ""
		}
		return "—"
	}
	switch k {
	case KindDate:
		return formatDay(c.at)
	case KindTime:
		return formatTime(c.at)
	case KindDuration:
		return domain.HumanSeconds(c.num)
	case KindRate:
		return formatRate(&c.num)
	case KindCount:
		return strconv.FormatFloat(c.num, 'f', 0, 64)
	case KindNumber:
		return FormatNumber(c.num)
	}
	return c.text
}

// CSVValue is the cell's raw value as the CSV writes it in a column of
// kind k: days as YYYY-MM-DD and times as RFC 3339, both in UTC;
// durations in whole seconds; counts whole; rates and other numbers with
// six significant digits (CSVNumber); a missing value empty.
func (c Cell) CSVValue(k Kind) string {
	if c.Missing(k) {
		return ""
	}
	switch k {
	case KindDate:
		return c.at.UTC().Format(domain.DateLayout)
	case KindTime:
		return c.at.UTC().Truncate(time.Second).Format(time.RFC3339)
	case KindDuration, KindCount:
		return wholeNumber(c.num)
	case KindRate, KindNumber:
		return CSVNumber(c.num)
	}
	return c.text
}

// csvSignificant is how many significant digits a number keeps in a CSV:
// more than any figure Throughline shows, and no float noise
// (0.047619, not 0.047619047619047616).
const csvSignificant = 6

// CSVNumber writes a number for a spreadsheet: six significant digits, but
// never fewer than its whole part has; plain decimal notation, no exponent,
// no trailing zeros. NaN and infinities are missing values.
func CSVNumber(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return ""
	}
	if v == 0 {
		return "0"
	}
	whole := int(math.Floor(math.Log10(math.Abs(v)))) + 1 // digits before the point; ≤ 0 below 1
	decimals := max(csvSignificant-whole, 0)
	s := strconv.FormatFloat(v, 'f', decimals, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}

func wholeNumber(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return ""
	}
	s := strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	if s == "-0" {
		s = "0"
	}
	return s
}

// CSVHeadText is the column's name in the CSV.
func (c Column) CSVHeadText() string {
	if c.CSVHead != "" {
		return c.CSVHead
	}
	return c.Head
}

// Records is the table as CSV records: the head, then a record per row.
func (t Table) Records() [][]string {
	out := make([][]string, 0, len(t.Rows)+1)
	head := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		head[i] = c.CSVHeadText()
	}
	out = append(out, head)
	for _, r := range t.Rows {
		rec := make([]string, len(t.Columns))
		for i, c := range t.Columns {
			if i < len(r.Cells) {
				rec[i] = r.Cells[i].CSVValue(c.Kind)
			}
		}
		out = append(out, rec)
	}
	return out
}

// WriteCSV writes the table with encoding/csv, every cell and head guarded
// against running as a spreadsheet formula.
func (t Table) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	for _, rec := range t.Records() {
		if err := cw.Write(CSVSafe(rec)); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// CSVSafe keeps spreadsheet programs from running a cell as a formula
// (names come from events and people); numbers stay numbers.
func CSVSafe(row []string) []string {
	out := make([]string, len(row))
	for i, v := range row {
		if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
			if _, err := strconv.ParseFloat(v, 64); err != nil {
				v = "'" + v
			}
		}
		out[i] = v
	}
	return out
}

// FindTable picks the table with the given id.
func FindTable(id string, tables ...Table) (Table, bool) {
	for _, t := range tables {
		if t.ID == id {
			return t, true
		}
	}
	return Table{}, false
}

// cellGroup is what one td of the page shows: a column of its own and the
// columns placed in its cell.
type cellGroup struct {
	col    Column
	cell   Cell
	folded []foldedCell
	first  bool // the row's first cell
}

type foldedCell struct {
	col  Column
	cell Cell
}

// groups lays a row out in the page's cells.
func (t Table) groups(r Row) []cellGroup {
	var out []cellGroup
	for i, c := range t.Columns {
		var cell Cell
		if i < len(r.Cells) {
			cell = r.Cells[i]
		}
		switch {
		case c.Place == PlaceColumn || len(out) == 0 && c.Place != PlaceNone:
			out = append(out, cellGroup{col: c, cell: cell, first: len(out) == 0})
		case c.Place == PlaceInline || c.Place == PlaceBelow:
			if !cell.Missing(c.Kind) || cell.Show != "" || cell.Draw != nil {
				out[len(out)-1].folded = append(out[len(out)-1].folded, foldedCell{c, cell})
			}
		}
	}
	return out
}

// shownColumns are the columns the page gives a head.
func (t Table) shownColumns() []Column {
	var out []Column
	for i, c := range t.Columns {
		if c.Place == PlaceColumn || i == 0 && c.Place != PlaceNone {
			out = append(out, c)
		}
	}
	return out
}

// headClass keeps a number column's head aligned with its numbers.
func headClass(c Column) string {
	for _, cl := range strings.Fields(c.Class) {
		if cl == "num" {
			return "num"
		}
	}
	return ""
}

// drawn is the component a control draws for this page, if any.
func drawn(ctl Control, p Page) templ.Component {
	if ctl == nil {
		return nil
	}
	return ctl(p)
}

func tableAttrs(t Table) templ.Attributes {
	a := templ.Attributes{"data-csv": t.ID}
	if t.TestID != "" {
		a["data-testid"] = t.TestID
	}
	if t.Class != "" {
		a["class"] = t.Class
	}
	return a
}

func rowAttrs(r Row) templ.Attributes {
	a := templ.Attributes{}
	for k, v := range r.Attrs {
		a[k] = v
	}
	if r.ID != "" {
		a["id"] = r.ID
	}
	if r.TestID != "" {
		a["data-testid"] = r.TestID
	}
	return a
}

func valueAttrs(c Cell) templ.Attributes {
	a := templ.Attributes{}
	if c.Class != "" {
		a["class"] = c.Class
	}
	if c.Title != "" {
		a["title"] = c.Title
	}
	if c.TestID != "" {
		a["data-testid"] = c.TestID
	}
	return a
}

// plainValue: the value needs no element of its own.
func plainValue(c Cell) bool { return c.Class == "" && c.Title == "" && c.TestID == "" }

func classAttrs(class string) templ.Attributes {
	if class == "" {
		return templ.Attributes{}
	}
	return templ.Attributes{"class": class}
}
