package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/throughline/throughline/domain"
)

// objectiveInput is an objective as a write gives it.
type objectiveInput struct {
	Title       string `json:"title"`
	Description string `json:"description"`
}

type objectiveDocJSON struct {
	ID          int64  `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Archived    bool   `json:"archived"`
}

func (s *Server) handleCreateObjectiveAPI(c echo.Context) error {
	var in objectiveInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if strings.TrimSpace(in.Title) == "" {
		return invalidInput(map[string]string{"title": "Give the objective a title."})
	}
	o, err := s.deps.Roadmap.CreateObjective(c.Request().Context(), domain.Objective{Title: in.Title, Description: in.Description}, tokenActor(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, toObjectiveDoc(o))
}

// keyResultInput is a key result as a write gives it.
type keyResultInput struct {
	ObjectiveID int64             `json:"objective_id"`
	Title       string            `json:"title"`
	Metric      string            `json:"metric"`
	Attributes  map[string]string `json:"attributes"`
	Baseline    *float64          `json:"baseline"`
	Target      *float64          `json:"target"`
	Direction   string            `json:"direction"`
	Due         string            `json:"due"`
	Unit        string            `json:"unit"`
}

// keyResult turns the input into a key result and says what is wrong with
// it (domain.KeyResult.Validate, as the form).
func (in keyResultInput) keyResult() (domain.KeyResult, map[string]string) {
	kr := domain.KeyResult{ObjectiveID: in.ObjectiveID, Title: strings.TrimSpace(in.Title), Metric: strings.TrimSpace(in.Metric),
		Attributes: in.Attributes, Direction: domain.Direction(in.Direction), Unit: domain.Unit(in.Unit)}
	errs := map[string]string{}
	if in.ObjectiveID <= 0 {
		errs["objective_id"] = "Choose the objective the key result belongs to."
	}
	if in.Baseline == nil {
		errs["baseline"] = "The baseline must be a number."
	} else {
		kr.Baseline = *in.Baseline
	}
	if in.Target == nil {
		errs["target"] = "The target must be a number."
	} else {
		kr.Target = *in.Target
	}
	if in.Due != "" {
		d, err := time.Parse(domain.DateLayout, in.Due)
		if err != nil {
			errs["due"] = "Use a date such as 2026-12-31."
		}
		kr.Due = d
	}
	for k, m := range kr.Validate() {
		if _, seen := errs[k]; !seen {
			errs[k] = m
		}
	}
	return kr, errs
}

func (s *Server) handleCreateKeyResultAPI(c echo.Context) error {
	var in keyResultInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	kr, errs := in.keyResult()
	if err := invalidInput(errs); err != nil {
		return err
	}
	created, err := s.deps.Roadmap.CreateKeyResult(c.Request().Context(), kr, tokenActor(c))
	if err != nil {
		if domain.ErrorCode(err) == domain.EINVALID {
			return invalidInput(map[string]string{"objective_id": domain.ErrorMessage(err)})
		}
		return err
	}
	return c.JSON(http.StatusCreated, toKeyResultDoc(created))
}

// keyResultDocJSON is a key result's definition, as the export holds it.
type keyResultDocJSON struct {
	ID          int64             `json:"id"`
	ObjectiveID int64             `json:"objective_id"`
	Title       string            `json:"title"`
	Metric      string            `json:"metric"`
	Attributes  map[string]string `json:"attributes"`
	Baseline    float64           `json:"baseline"`
	Target      float64           `json:"target"`
	Direction   string            `json:"direction"`
	Due         string            `json:"due,omitempty"`
	Unit        string            `json:"unit"`
	State       string            `json:"state,omitempty"`
}

func toKeyResultDoc(k domain.KeyResult) keyResultDocJSON {
	out := keyResultDocJSON{ID: k.ID, ObjectiveID: k.ObjectiveID, Title: k.Title, Metric: k.Metric, Attributes: k.Attributes,
		Baseline: k.Baseline, Target: k.Target, Direction: string(k.Direction), Unit: string(k.Unit), State: string(k.State())}
	if out.Attributes == nil {
		out.Attributes = map[string]string{}
	}
	if !k.Due.IsZero() {
		out.Due = k.Due.UTC().Format(domain.DateLayout)
	}
	return out
}

// valueStreamInput is a value stream as a write gives it: the shape GET
// /api/v1/value-streams/{id} answers, without what the server derives.
type valueStreamInput struct {
	Name           string              `json:"name"`
	Description    string              `json:"description"`
	Teams          []string            `json:"teams"`
	Services       []string            `json:"services"`
	Stages         []stageDefJSON      `json:"stages"`
	ConstraintRule *constraintRuleJSON `json:"constraint_rule"`
}

// apply copies the input into v and says what is wrong (the form's checks:
// domain.ValueStream.Validate). No stages means the default eight.
func (in valueStreamInput) apply(v *domain.ValueStream) map[string]string {
	errs := map[string]string{}
	v.Name, v.Description = strings.TrimSpace(in.Name), in.Description
	v.Teams, v.Services = splitComma(strings.Join(in.Teams, ",")), splitComma(strings.Join(in.Services, ","))
	v.ConstraintMinItems, v.ConstraintMinRatio = domain.DefaultConstraintMinItems, domain.DefaultConstraintMinRatio
	if r := in.ConstraintRule; r != nil {
		v.ConstraintMinItems, v.ConstraintMinRatio = r.MinItems, r.MinRatio
	}
	v.Stages = nil
	if len(in.Stages) == 0 {
		v.Stages = domain.DefaultStages()
	}
	for i, st := range in.Stages {
		def := domain.StageDef{Name: st.Name, Kind: domain.StageKind(st.Kind), FixedTime: st.FixedTime}
		if st.WIPLimit != nil {
			def.WIPLimit = *st.WIPLimit
		}
		rule, err := domain.ParseRule(strings.Join(st.Rule, ","))
		if err != nil {
			errs["stage."+strconv.Itoa(i)+".rule"] = domain.ErrorMessage(err) // the keys Validate uses
		}
		def.Rule = rule
		v.Stages = append(v.Stages, def)
	}
	for k, m := range v.Validate() {
		if _, seen := errs[k]; !seen {
			errs[k] = m
		}
	}
	return errs
}

func (s *Server) handleCreateValueStreamAPI(c echo.Context) error {
	var in valueStreamInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	var vs domain.ValueStream
	if err := invalidInput(in.apply(&vs)); err != nil {
		return err
	}
	created, err := s.deps.ValueStreams.CreateValueStream(c.Request().Context(), vs, tokenActor(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, toValueStreamJSON(created))
}

func (s *Server) handleUpdateValueStreamAPI(c echo.Context) error {
	id, err := streamID(c)
	if err != nil {
		return err
	}
	var in valueStreamInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	updated, err := s.deps.ValueStreams.UpdateValueStream(c.Request().Context(), id, tokenActor(c), func(vs *domain.ValueStream) error {
		return invalidInput(in.apply(vs))
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toValueStreamJSON(updated))
}

func (s *Server) handleDeleteValueStreamAPI(c echo.Context) error {
	id, err := streamID(c)
	if err != nil {
		return err
	}
	if err := s.deps.ValueStreams.DeleteValueStream(c.Request().Context(), id, tokenActor(c)); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
