package views

import (
	"strconv"
	"time"
)

// DataTable is the numbers behind a chart: shown on the page and served as
// CSV from the same rows, so the download always matches what is drawn.
type DataTable struct {
	ID    string
	Title string
	Head  []string
	Rows  [][]string
	CSV   string // download link
}

// CSVNumber writes a value for a spreadsheet: full precision, no units.
func CSVNumber(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// CSVOptional writes an optional value, empty when missing.
func CSVOptional(v *float64) string {
	if v == nil {
		return ""
	}
	return CSVNumber(*v)
}

// Table is a line chart's numbers.
func (c LineChart) Table(id string) DataTable {
	t := DataTable{ID: id, Title: c.Title, CSV: c.CSV, Head: []string{"date", columnName(c.Title, c.Unit)}}
	for _, p := range c.Points {
		v := ""
		if !p.Gap {
			v = CSVNumber(p.Value)
		}
		t.Rows = append(t.Rows, []string{p.At.UTC().Format(time.DateOnly), v})
	}
	return t
}

// Table is a bar chart's numbers, one column per series.
func (c StackedBars) Table(id string) DataTable {
	t := DataTable{ID: id, Title: c.Title, CSV: c.CSV, Head: []string{"period"}}
	for _, s := range c.Series {
		t.Head = append(t.Head, s.Name)
	}
	for i, l := range c.Labels {
		row := []string{l}
		for _, s := range c.Series {
			v := ""
			if i < len(s.Values) && !c.noData(i) {
				v = CSVNumber(s.Values[i])
			}
			row = append(row, v)
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

func columnName(title, unit string) string {
	if unit == "" {
		return title
	}
	return title + " (" + unit + ")"
}
