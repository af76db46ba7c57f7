package web

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/throughline/throughline/domain"
)

// The write API (scope write, DESIGN.md 5): the same validation and the
// same audit entries as the forms, through the same store functions.

// decodeJSON reads a write's body into dst; unknown fields are refused
// with their name, so a misspelt field is not silently dropped.
func decodeJSON(c echo.Context, dst any) error {
	dec := json.NewDecoder(c.Request().Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		if errors.Is(err, io.EOF) {
			return domain.Errorf(domain.EINVALID, "Send a JSON object in the body.")
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return invalidInput(map[string]string{te.Field: "Expected " + te.Type.String() + ", not a JSON " + te.Value + "."})
		}
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return invalidInput(map[string]string{strings.Trim(f, `"`): "Unknown field."})
		}
		return domain.Errorf(domain.EINVALID, "The body is not valid JSON: %s.", err.Error())
	}
	return nil
}

// ideaInput is an idea as a write gives it; absent fields are left as
// they are (on create: empty).
type ideaInput struct {
	Key        *string   `json:"key"`
	Title      *string   `json:"title"`
	Problem    *string   `json:"problem"`
	Hypothesis *string   `json:"hypothesis"`
	Horizon    *string   `json:"horizon"`
	FlowType   *string   `json:"flow_type"`
	Team       *string   `json:"team"`
	Services   *[]string `json:"services"`
	KeyResults *[]int64  `json:"key_results"`
	Reach      *float64  `json:"reach"`
	Impact     *float64  `json:"impact"`
	Confidence *float64  `json:"confidence"`
	Effort     *float64  `json:"effort"`
	// PlannedAt backfills when the work was planned (the Plan stage), as
	// a date or an RFC 3339 time.
	PlannedAt *string `json:"planned_at"`
}

// apply copies the given fields into idea and returns what is wrong with
// the result (domain.Idea.Validate, as the form).
func (in ideaInput) apply(idea *domain.Idea, now time.Time) map[string]string {
	errs := map[string]string{}
	str := func(p *string, dst *string) {
		if p != nil {
			*dst = *p
		}
	}
	num := func(p *float64, dst *float64) {
		if p != nil {
			*dst = *p
		}
	}
	str(in.Title, &idea.Title)
	idea.Title = strings.TrimSpace(idea.Title)
	str(in.Problem, &idea.Problem)
	str(in.Hypothesis, &idea.Hypothesis)
	if in.Horizon != nil {
		idea.Horizon = domain.Horizon(*in.Horizon)
	}
	if in.FlowType != nil {
		idea.FlowType = domain.FlowType(*in.FlowType)
	}
	if in.Team != nil {
		idea.Team = strings.TrimSpace(*in.Team)
	}
	if in.Services != nil {
		idea.Services = nil
		for _, s := range *in.Services {
			if s = strings.TrimSpace(s); s != "" {
				idea.Services = append(idea.Services, s)
			}
		}
	}
	if in.KeyResults != nil {
		idea.KeyResults = *in.KeyResults
	}
	num(in.Reach, &idea.Reach)
	num(in.Impact, &idea.Impact)
	num(in.Confidence, &idea.Confidence)
	num(in.Effort, &idea.Effort)
	if in.PlannedAt != nil {
		if t, err := domain.ParsePlanDate(*in.PlannedAt, now); err != nil {
			errs["planned_at"] = domain.ErrorMessage(err)
		} else {
			idea.PlannedAt = t
		}
	}
	for k, v := range idea.Validate() {
		if _, seen := errs[k]; !seen {
			errs[k] = v
		}
	}
	return errs
}

// token names the API token of a request in the audit log.
func tokenActor(c echo.Context) string {
	if tok, _ := c.Get(ctxToken).(*domain.APIToken); tok != nil {
		return "token:" + tok.Name
	}
	return actor(c)
}

// ideaDoc answers with the idea as GET /api/v1/ideas lists it.
func (s *Server) ideaDoc(c echo.Context, status int, key string) error {
	ctx := c.Request().Context()
	idea, err := s.deps.Roadmap.Idea(ctx, key)
	if err != nil {
		return err
	}
	flow, err := s.deps.Roadmap.IdeaFlow(ctx, []string{idea.Key})
	if err != nil {
		return err
	}
	now := s.now()
	it := flow[idea.Key]
	return c.JSON(status, toIdeaJSON(idea, &it, domain.StageTimeline(&it, now), now))
}

func (s *Server) handleCreateIdeaAPI(c echo.Context) error {
	var in ideaInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	idea := domain.Idea{Horizon: domain.HorizonNext, FlowType: domain.FlowFeature}
	if in.Key != nil {
		idea.Key = strings.ToUpper(strings.TrimSpace(*in.Key))
	}
	if err := invalidInput(in.apply(&idea, s.now())); err != nil {
		return err
	}
	if _, err := s.deps.Roadmap.CreateIdea(c.Request().Context(), idea, tokenActor(c)); err != nil {
		return err
	}
	return s.ideaDoc(c, http.StatusCreated, idea.Key)
}

func (s *Server) handleUpdateIdeaAPI(c echo.Context) error {
	key := strings.ToUpper(c.Param("key"))
	var in ideaInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.Key != nil && !strings.EqualFold(strings.TrimSpace(*in.Key), key) {
		return invalidInput(map[string]string{"key": "An idea's key cannot change."})
	}
	var errs map[string]string
	_, err := s.deps.Roadmap.UpdateIdea(c.Request().Context(), key, tokenActor(c), "idea.update", func(i *domain.Idea) error {
		if errs = in.apply(i, s.now()); len(errs) > 0 {
			return invalidInput(errs)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return s.ideaDoc(c, http.StatusOK, key)
}

func (s *Server) handleMoveIdeaAPI(c echo.Context) error {
	key := strings.ToUpper(c.Param("key"))
	var in struct {
		Horizon string `json:"horizon"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if !domain.Horizon(in.Horizon).Valid() {
		return invalidInput(map[string]string{"horizon": "Choose now, next or later; an idea is done by its verdict (POST …/verdict)."})
	}
	if _, err := s.deps.Roadmap.MoveIdea(c.Request().Context(), key, domain.Horizon(in.Horizon), tokenActor(c)); err != nil {
		return err
	}
	return s.ideaDoc(c, http.StatusOK, key)
}

func (s *Server) handleArchiveIdeaAPI(c echo.Context) error {
	key := strings.ToUpper(c.Param("key"))
	in := struct {
		Archived *bool `json:"archived"`
	}{}
	if c.Request().ContentLength != 0 {
		if err := decodeJSON(c, &in); err != nil {
			return err
		}
	}
	archive := in.Archived == nil || *in.Archived
	action := "idea.archive"
	if !archive {
		action = "idea.restore"
	}
	if _, err := s.deps.Roadmap.UpdateIdea(c.Request().Context(), key, tokenActor(c), action, func(i *domain.Idea) error {
		i.Archived = archive
		return nil
	}); err != nil {
		return err
	}
	return s.ideaDoc(c, http.StatusOK, key)
}

func (s *Server) handleIdeaVerdictAPI(c echo.Context) error {
	key := strings.ToUpper(c.Param("key"))
	var in struct {
		Verdict string `json:"verdict"`
		Note    string `json:"note"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	ctx := c.Request().Context()
	_, open, err := s.verdictOpen(ctx, key)
	if err != nil {
		return err
	}
	if !open {
		return domain.Errorf(domain.ECONFLICT, "A verdict can be recorded once a change of %s reaches production.", key)
	}
	if !domain.IdeaVerdict(in.Verdict).Valid() {
		return invalidInput(map[string]string{"verdict": "Choose validated, invalidated or inconclusive."})
	}
	if _, err := s.deps.Roadmap.SetIdeaVerdict(ctx, key, domain.IdeaVerdict(in.Verdict), in.Note, tokenActor(c)); err != nil {
		return err
	}
	return s.ideaDoc(c, http.StatusOK, key)
}

// handleRankIdeaAPI puts an idea at a position of its horizon (1 is the
// top), the order the roadmap shows to everyone.
func (s *Server) handleRankIdeaAPI(c echo.Context) error {
	key := strings.ToUpper(c.Param("key"))
	var in struct {
		Position int `json:"position"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.Position < 1 {
		return invalidInput(map[string]string{"position": "A position counts from 1 (the top of the horizon)."})
	}
	ctx := c.Request().Context()
	idea, err := s.deps.Roadmap.Idea(ctx, key)
	if err != nil {
		return err
	}
	keys, err := s.horizonOrder(c, idea.Horizon)
	if err != nil {
		return err
	}
	order, err := domain.Reposition(keys, idea.Key, in.Position)
	if err != nil {
		return err
	}
	if err := s.deps.Roadmap.ReorderIdeas(ctx, idea.Horizon, order, tokenActor(c)); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"horizon": idea.Horizon, "order": order})
}

// handleRankByRICEAPI orders a horizon by RICE score, highest first.
func (s *Server) handleRankByRICEAPI(c echo.Context) error {
	h := domain.Horizon(c.Param("horizon"))
	if !h.Valid() {
		return domain.Errorf(domain.ENOTFOUND, "No horizon %q: use now, next or later.", c.Param("horizon"))
	}
	ideas, err := s.deps.Roadmap.Ideas(c.Request().Context(), domain.IdeaFilter{})
	if err != nil {
		return err
	}
	var in []*domain.Idea
	for _, i := range ideas {
		if i.Horizon == h {
			in = append(in, i)
		}
	}
	order := domain.RankByRICE(in)
	if err := s.deps.Roadmap.ReorderIdeas(c.Request().Context(), h, order, tokenActor(c)); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"horizon": h, "order": order})
}

// horizonOrder is the keys of a horizon's ideas in their shared order.
func (s *Server) horizonOrder(c echo.Context, h domain.Horizon) ([]string, error) {
	ideas, err := s.deps.Roadmap.Ideas(c.Request().Context(), domain.IdeaFilter{})
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, i := range ideas {
		if i.Horizon == h {
			keys = append(keys, i.Key)
		}
	}
	return keys, nil
}
