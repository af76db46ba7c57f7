package views

import (
	"github.com/a-h/templ"

	"github.com/throughline/throughline/domain"
)

// OldestTable lists the oldest items in progress in a value stream.
func OldestTable(items []domain.AgingItem) Table {
	t := Table{ID: "oldest", TestID: "oldest", Columns: []Column{
		{Head: "Oldest items in progress", CSVHead: "Idea", Kind: KindLink},
		{Head: "Title", Kind: KindText, Place: PlaceNone}, // in the idea's link
		{Head: "Stage", Kind: KindText},
		{Head: "Type", Kind: KindText},
		{Head: "Age", CSVHead: "Age (s)", Kind: KindDuration, Class: "num"},
		{Head: "In this stage", CSVHead: "In this stage (s)", Kind: KindDuration, Class: "num"},
	}}
	for _, a := range items {
		idea := LinkCell(a.Key, "/ideas/"+a.Key)
		idea.Draw = func(Page) templ.Component { return ideaLink(a.Key, a.Title) }
		typ := TextCell(string(a.Type))
		typ.Class = "badge flow-" + string(a.Type)
		t.Rows = append(t.Rows, Row{Cells: []Cell{idea, TextCell(a.Title), TextCell(a.StageName), typ, ValueCell(a.Age), ValueCell(a.InStage)}})
	}
	return t
}
