package sqlstore_test

import (
	"context"
	"strings"
	"testing"

	"github.com/throughline/throughline/adapters/sqlstore"
	"github.com/throughline/throughline/adapters/sqlstore/sqltest"
	"github.com/throughline/throughline/domain"
)

func TestValueStreamKeepsFixedTimeMarksAndConstraintRule(t *testing.T) {
	sqltest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		// Thresholds left unset are stored as the defaults.
		v, err := s.CreateValueStream(ctx, domain.ValueStream{Name: "Checkout", Stages: domain.DefaultStages()}, "pm")
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.ValueStream(ctx, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.ConstraintMinItems != 5 || got.ConstraintMinRatio != 1.5 || !got.Stages[6].FixedTime || !got.Stages[7].FixedTime || got.Stages[5].FixedTime {
			t.Fatalf("stored %+v", got)
		}
		// An editor unmarks Monitor, marks Release and asks for less evidence.
		_, err = s.UpdateValueStream(ctx, v.ID, "pm", func(v *domain.ValueStream) error {
			v.Stages[7].FixedTime, v.Stages[4].FixedTime = false, true
			v.ConstraintMinItems, v.ConstraintMinRatio = 3, 1.25
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		got, _ = s.ValueStream(ctx, v.ID)
		if got.ConstraintMinItems != 3 || got.ConstraintMinRatio != 1.25 || got.Stages[7].FixedTime || !got.Stages[4].FixedTime || !got.Stages[6].FixedTime {
			t.Fatalf("after the edit %+v", got)
		}
		log, _ := s.AuditLog(ctx, 1)
		for _, want := range []string{"Release fixed time marked", "Monitor fixed time unmarked", "constraint needs 5 items and 1.5× → 3 items and 1.25×"} {
			if !strings.Contains(log[0].Detail, want) {
				t.Errorf("audit %q lacks %q", log[0].Detail, want)
			}
		}
		// Invalid thresholds are refused and change nothing.
		if _, err := s.UpdateValueStream(ctx, v.ID, "pm", func(v *domain.ValueStream) error { v.ConstraintMinRatio = 0.5; return nil }); domain.ErrorCode(err) != domain.EINVALID {
			t.Errorf("ratio 0.5: %v", err)
		}

		// A stream stored before stages had marks: Operate and Monitor (rules
		// of timed triggers only) wait by design, the rest do not.
		legacy := `[{"name":"Code","kind":"active","rule":["change"]},{"name":"Deploy","kind":"active","rule":["deploy.production"]},` +
			`{"name":"Soak","kind":"wait","rule":["operate"]},{"name":"Evidence","kind":"wait","rule":["keyresult"]}]`
		if _, err := s.DB().NewRaw("UPDATE value_streams SET stages = ? WHERE id = ?", legacy, v.ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		got, err = s.ValueStream(ctx, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		var marks []bool
		for _, st := range got.Stages {
			marks = append(marks, st.FixedTime)
		}
		if len(marks) != 4 || marks[0] || marks[1] || !marks[2] || !marks[3] {
			t.Errorf("legacy marks %v", marks)
		}
	})
}
