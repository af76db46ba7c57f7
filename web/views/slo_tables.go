package views

import (
	"strconv"

	"github.com/a-h/templ"

	"github.com/throughline/throughline/domain"
)

// SLOsTable lists every SLO with its error budget and posture.
func SLOsTable(statuses []domain.SLOStatus) Table {
	t := Table{ID: "slos", TestID: "slos", Columns: []Column{
		{Head: "Service", Kind: KindText},
		{Head: "SLO", Kind: KindLink},
		{Head: "Window", CSVHead: "Window (days)", Kind: KindCount, Class: "muted small", Place: PlaceBelow},
		{Head: "Target", Kind: KindRate, Class: "num"},
		{Head: "SLI", Kind: KindRate, Class: "num"},
		// A fraction of the budget: below 0 once overspent.
		{Head: "Error budget left", CSVHead: "Error budget left (1 = all of it)", Kind: KindRate},
		{Head: "Posture", Kind: KindText},
		{Head: "Alerts", CSVHead: "Alerts firing", Kind: KindText, Class: "small"},
	}}
	for _, st := range statuses {
		window := CountCell(st.SLO.WindowDays)
		window.Show = strconv.Itoa(st.SLO.WindowDays) + "-day window"
		target := ValueCell(st.SLO.Target)
		target.Show = domain.FormatTarget(st.SLO.Target)
		sli := NumberCell(st.SLI)
		sli.Show = sliText(st.SLI)
		budget := NumberCell(st.Remaining)
		budget.Draw = func(Page) templ.Component { return budgetCell(st) }
		posture := TextCell(st.Posture.Label())
		posture.Class, posture.TestID = postureClass(st.Posture), "slo-posture"
		alerts := TextCell(firingNames(st))
		if alerts.Missing(KindText) {
			alerts.Show, alerts.Class = "none", "muted"
		} else {
			alerts.Class = "badge badge-bad"
		}
		t.Rows = append(t.Rows, Row{TestID: "slo-row", Cells: []Cell{TextCell(st.SLO.Service),
			LinkCell(st.SLO.Title(), "/slos/"+strconv.FormatInt(st.SLO.ID, 10)), window, target, sli, budget, posture, alerts}})
	}
	return t
}

// BurnAlertsTable is an SLO's multi-window burn-rate alerts, each with the
// burn rate of its two windows.
func BurnAlertsTable(st domain.SLOStatus) Table {
	t := Table{ID: "burn-alerts", TestID: "burn-alerts", Columns: []Column{
		{Head: "Alert", Kind: KindText},
		{Head: "Severity", Kind: KindText},
		{Head: "Factor", Kind: KindNumber, Class: "num"},
		{Head: "Long window (s)", Kind: KindDuration, Place: PlaceNone},
		{Head: "Long window", CSVHead: "Long window burn rate", Kind: KindNumber, Class: "num"},
		{Head: "Short window (s)", Kind: KindDuration, Place: PlaceNone},
		{Head: "Short window", CSVHead: "Short window burn rate", Kind: KindNumber, Class: "num"},
		{Head: "State", Kind: KindText},
	}}
	burn := func(window float64, name string, rate *float64) (Cell, Cell) {
		c := NumberCell(rate)
		c.Show = name + ": " + burnText(rate)
		return ValueCell(window), c
	}
	for _, a := range st.Alerts {
		factor := ValueCell(a.Alert.Factor)
		factor.Show = strconv.FormatFloat(a.Alert.Factor, 'f', -1, 64) + "×"
		long, longRate := burn(a.Alert.Long.Seconds(), WindowName(a.Alert.Long, " "), a.LongRate)
		short, shortRate := burn(a.Alert.Short.Seconds(), WindowName(a.Alert.Short, " "), a.ShortRate)
		state := TextCell("ok")
		state.Class = "muted"
		if a.Firing {
			state = TextCell("firing")
			state.Class = "badge badge-bad"
		}
		t.Rows = append(t.Rows, Row{Cells: []Cell{TextCell(a.Alert.Name), TextCell(a.Alert.Severity), factor, long, longRate, short, shortRate, state}})
	}
	return t
}
