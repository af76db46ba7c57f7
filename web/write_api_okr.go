package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/throughline/throughline/domain"
)

func okrID(c echo.Context, what string) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, domain.Errorf(domain.ENOTFOUND, "No %s %q.", what, c.Param("id"))
	}
	return id, nil
}

// handleUpdateObjectiveAPI changes an objective's title or description.
func (s *Server) handleUpdateObjectiveAPI(c echo.Context) error {
	id, err := okrID(c, "objective")
	if err != nil {
		return err
	}
	var in struct {
		Title       *string `json:"title"`
		Description *string `json:"description"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.Title != nil && strings.TrimSpace(*in.Title) == "" {
		return invalidInput(map[string]string{"title": "Give the objective a title."})
	}
	o, err := s.deps.Roadmap.UpdateObjective(c.Request().Context(), id, tokenActor(c), "objective.update", func(o *domain.Objective) error {
		if in.Title != nil {
			o.Title = *in.Title
		}
		if in.Description != nil {
			o.Description = *in.Description
		}
		return nil
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toObjectiveDoc(o))
}

// archiveFlag reads {"archived": bool}; no body means true.
func archiveFlag(c echo.Context, name string) (bool, error) {
	in := map[string]*bool{}
	if c.Request().ContentLength != 0 {
		if err := decodeJSON(c, &in); err != nil {
			return false, err
		}
	}
	for k := range in {
		if k != name {
			return false, invalidInput(map[string]string{k: "Unknown field."})
		}
	}
	if v := in[name]; v != nil {
		return *v, nil
	}
	return true, nil
}

func (s *Server) handleArchiveObjectiveAPI(c echo.Context) error {
	id, err := okrID(c, "objective")
	if err != nil {
		return err
	}
	archive, err := archiveFlag(c, "archived")
	if err != nil {
		return err
	}
	action := map[bool]string{true: "objective.archive", false: "objective.restore"}[archive]
	o, err := s.deps.Roadmap.UpdateObjective(c.Request().Context(), id, tokenActor(c), action, func(o *domain.Objective) error {
		o.ArchivedAt = stamp(archive, o.ArchivedAt, s.now())
		return nil
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toObjectiveDoc(o))
}

// stamp keeps a set moment, sets now when on, clears it when off.
func stamp(on bool, cur, now time.Time) time.Time {
	switch {
	case !on:
		return time.Time{}
	case cur.IsZero():
		return now
	}
	return cur
}

func toObjectiveDoc(o domain.Objective) objectiveDocJSON {
	return objectiveDocJSON{ID: o.ID, Title: o.Title, Description: o.Description, Archived: !o.ArchivedAt.IsZero()}
}

// handleUpdateKeyResultAPI changes a key result's definition; its baseline
// changes only by a re-baseline, which keeps the old one.
func (s *Server) handleUpdateKeyResultAPI(c echo.Context) error {
	id, err := okrID(c, "key result")
	if err != nil {
		return err
	}
	var in struct {
		Title      *string            `json:"title"`
		Metric     *string            `json:"metric"`
		Attributes *map[string]string `json:"attributes"`
		Baseline   *float64           `json:"baseline"`
		Target     *float64           `json:"target"`
		Direction  *string            `json:"direction"`
		Due        *string            `json:"due"`
		Unit       *string            `json:"unit"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.Baseline != nil {
		return invalidInput(map[string]string{"baseline": "Change the baseline with POST /api/v1/key-results/{id}/rebaseline, which keeps the old one."})
	}
	k, err := s.deps.Roadmap.UpdateKeyResult(c.Request().Context(), id, tokenActor(c), "keyresult.update", "", func(k *domain.KeyResult) error {
		set := func(p *string, dst *string) {
			if p != nil {
				*dst = strings.TrimSpace(*p)
			}
		}
		set(in.Title, &k.Title)
		set(in.Metric, &k.Metric)
		if in.Attributes != nil {
			k.Attributes = *in.Attributes
		}
		if in.Target != nil {
			k.Target = *in.Target
		}
		if in.Direction != nil {
			k.Direction = domain.Direction(*in.Direction)
		}
		if in.Unit != nil {
			k.Unit = domain.Unit(*in.Unit)
		}
		if in.Due != nil {
			k.Due = time.Time{}
			if *in.Due != "" {
				d, err := time.Parse(domain.DateLayout, *in.Due)
				if err != nil {
					return invalidInput(map[string]string{"due": "Use a date such as 2026-12-31."})
				}
				k.Due = d
			}
		}
		return invalidInput(k.Validate())
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toKeyResultDoc(k))
}

// handleRebaselineAPI sets a new baseline; the old one stays in the
// key result's history with the note.
func (s *Server) handleRebaselineAPI(c echo.Context) error {
	id, err := okrID(c, "key result")
	if err != nil {
		return err
	}
	var in struct {
		Baseline *float64 `json:"baseline"`
		Target   *float64 `json:"target"`
		Note     string   `json:"note"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.Baseline == nil {
		return invalidInput(map[string]string{"baseline": "The baseline must be a number."})
	}
	ctx := c.Request().Context()
	k, err := s.deps.Roadmap.UpdateKeyResult(ctx, id, tokenActor(c), "keyresult.rebaseline", in.Note, func(k *domain.KeyResult) error {
		k.Baseline = *in.Baseline
		if in.Target != nil {
			k.Target = *in.Target
		}
		return invalidInput(k.Validate())
	})
	if err != nil {
		return err
	}
	return s.keyResultWithHistory(c, k)
}

func (s *Server) keyResultWithHistory(c echo.Context, k domain.KeyResult) error {
	hist, err := s.deps.Roadmap.KeyResultBaselines(c.Request().Context(), k.ID)
	if err != nil {
		return err
	}
	type baselineJSON struct {
		Baseline   float64   `json:"baseline"`
		ReplacedAt time.Time `json:"replaced_at"`
		ReplacedBy string    `json:"replaced_by"`
		Note       string    `json:"note"`
	}
	out := struct {
		keyResultDocJSON
		Previous []baselineJSON `json:"previous_baselines"`
	}{keyResultDocJSON: toKeyResultDoc(k), Previous: []baselineJSON{}}
	for _, h := range hist {
		out.Previous = append(out.Previous, baselineJSON{Baseline: h.Baseline, ReplacedAt: h.ReplacedAt.UTC(), ReplacedBy: h.ReplacedBy, Note: h.Note})
	}
	return c.JSON(http.StatusOK, out)
}

// handleKeyResultStateAPI retires or archives a key result (or undoes it):
// field is "retired" or "archived".
func (s *Server) handleKeyResultStateAPI(field string) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := okrID(c, "key result")
		if err != nil {
			return err
		}
		on, err := archiveFlag(c, field)
		if err != nil {
			return err
		}
		action := map[string][2]string{"retired": {"keyresult.retire", "keyresult.unretire"}, "archived": {"keyresult.archive", "keyresult.restore"}}[field]
		name := action[1]
		if on {
			name = action[0]
		}
		k, err := s.deps.Roadmap.UpdateKeyResult(c.Request().Context(), id, tokenActor(c), name, "", func(k *domain.KeyResult) error {
			if field == "retired" {
				k.RetiredAt = stamp(on, k.RetiredAt, s.now())
			} else {
				k.ArchivedAt = stamp(on, k.ArchivedAt, s.now())
			}
			return nil
		})
		if err != nil {
			return err
		}
		return s.keyResultWithHistory(c, k)
	}
}
