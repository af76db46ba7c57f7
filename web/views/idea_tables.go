package views

import (
	"strconv"

	"github.com/a-h/templ"

	"github.com/throughline/throughline/domain"
)

// IdeaTables are the idea page's tables.
type IdeaTables struct {
	// Evidence is each key result panel's before/after comparison, in the
	// panels' order (a table without rows where there is no evidence yet).
	Evidence                   []Table
	Changes, Runs, Deployments Table
}

// All lists them for ?csv=<id>.
func (t IdeaTables) All() []Table {
	return append([]Table{t.Changes, t.Runs, t.Deployments}, t.Evidence...)
}

// NewIdeaTables builds the idea page's tables from its view.
func NewIdeaTables(v IdeaPageView) IdeaTables {
	t := IdeaTables{Changes: ideaChangesTable(v.Links.Changes), Runs: ideaRunsTable(v.Links.Runs), Deployments: ideaDeploymentsTable(v.Links.Deployments)}
	for _, p := range v.Panels {
		t.Evidence = append(t.Evidence, evidenceTable(p.KeyResult.ID, p.Evidence))
	}
	return t
}

// evidenceTable is the before/after comparison of a key result around
// the idea's first production deployment.
func evidenceTable(krID int64, ev *domain.Evidence) Table {
	t := Table{ID: "evidence-" + strconv.FormatInt(krID, 10), Class: "evidence-table", NoHead: true, RowHeads: true, Columns: []Column{
		{Head: "Measure", Kind: KindText},
		{Head: "Days", Kind: KindCount, Place: PlaceNone},
		{Head: "Value", Kind: KindNumber, Class: "num"},
		{Head: "Relative change", Kind: KindRate, Place: PlaceNone},
		{Head: "Low", Kind: KindNumber, Place: PlaceNone},
		{Head: "High", Kind: KindNumber, Place: PlaceNone},
	}}
	if ev == nil {
		return t
	}
	side := func(name string, days []domain.DailyValue, mean *float64) Row {
		label := TextCell(name)
		label.Show = name + " (" + strconv.Itoa(len(days)) + " days)"
		value := NumberCell(mean)
		value.Show = numberOrDash(mean)
		return Row{Cells: []Cell{label, CountCell(len(days)), value, {}, {}, {}}}
	}
	diff := NumberCell(ev.Difference)
	diff.Show = signedOrDash(ev.Difference) + relText(ev.RelativeChange)
	interval := Cell{Show: intervalText(ev.Low, ev.High)}
	t.Rows = []Row{
		side("Before", ev.Before, ev.BeforeMean),
		side("After", ev.After, ev.AfterMean),
		{Cells: []Cell{TextCell("Difference"), {}, diff, NumberCell(ev.RelativeChange), {}, {}}},
		{Cells: []Cell{TextCell("95 % interval"), {}, interval, {}, NumberCell(ev.Low), NumberCell(ev.High)}},
	}
	return t
}

func ideaChangesTable(changes []domain.LinkedChange) Table {
	t := Table{ID: "changes", TestID: "linked-changes", Columns: []Column{
		{Head: "Change", Kind: KindText, Class: "mono small"},
		{Head: "Started", Kind: KindTime, Class: "small nowrap"},
		{Head: "Merged", Kind: KindTime, Class: "small nowrap"},
		{Head: "In production", Kind: KindTime, Class: "small nowrap"},
	}}
	for _, c := range changes {
		t.Rows = append(t.Rows, Row{Cells: []Cell{TextCell(c.ID), TimeCell(c.Start), TimeCell(c.Merged), TimeCell(c.InProduction)}})
	}
	return t
}

func ideaRunsTable(runs []domain.LinkedRun) Table {
	t := Table{ID: "runs", Columns: []Column{
		{Head: "When", Kind: KindTime, Class: "small nowrap"},
		{Head: "Run", CSVHead: "Kind", Kind: KindText, Class: "small"},
		{Head: "Subject", Kind: KindText, Place: PlaceInline},
		{Head: "Outcome", Kind: KindText},
	}}
	for _, r := range runs {
		kind, outcome := TextCell(string(r.Kind)), TextCell(string(r.Outcome))
		kind.Class, outcome.Class = "mono", "badge "+outcomeClass(r.Outcome)
		t.Rows = append(t.Rows, Row{Cells: []Cell{TimeCell(r.At), kind, TextCell(r.SubjectID), outcome}})
	}
	return t
}

func ideaDeploymentsTable(deps []domain.LinkedDeployment) Table {
	t := Table{ID: "deployments", TestID: "linked-deployments", Columns: []Column{
		{Head: "When", Kind: KindTime, Class: "small"},
		{Head: "Event", Kind: KindLink, Class: "event-id", Place: PlaceBelow},
		{Head: "Service", Kind: KindText, Class: "nowrap"},
		{Head: "Environment", Kind: KindText},
		{Head: "Production", Kind: KindText, Place: PlaceNone}, // the accent of its badge
		{Head: "Artifact", Kind: KindText, Class: "mono small"},
		{Head: "Status", CSVHead: "Verdict", Kind: KindText, Class: "small deploy-status"},
		{Head: "Rolled back by", Kind: KindLink, Place: PlaceBelow},
		{Head: "Note", Kind: KindText, Place: PlaceBelow},
	}}
	for _, d := range deps {
		at := TimeCell(d.At)
		at.Class = "nowrap"
		event := LinkCell(d.Event.ID, eventURL(d.Event))
		event.Class = "mono small"
		env, prod := TextCell(d.Environment), TextCell("no")
		env.Class = "badge"
		if d.Production {
			env.Class, prod = "badge badge-accent", TextCell("yes")
		}
		artifact := TextCell(d.Artifact)
		artifact.Show, artifact.Title = tailID(d.Artifact), d.Artifact
		var status, rolledBackBy, note Cell
		switch {
		case d.Rollback:
			status = TextCell("rollback")
			status.Class = "badge badge-info"
		case d.Failed:
			status = TextCell("failed")
			status.Class = "badge badge-bad"
		}
		if by := d.RolledBackBy; by != nil {
			rolledBackBy = LinkCell(by.ID, eventURL(*by))
			rolledBackBy.Draw = func(Page) templ.Component { return rolledBackByLink(*by) }
		}
		switch {
		case d.TookOut:
			note = TextCell("took it out of production")
			note.Class, note.TestID = "badge badge-bad", "took-out"
		case !d.Carries:
			note = TextCell("does not carry this idea")
			note.Class = "muted"
		}
		t.Rows = append(t.Rows, Row{Cells: []Cell{at, event, TextCell(d.Service), env, prod, artifact, status, rolledBackBy, note}})
	}
	return t
}
