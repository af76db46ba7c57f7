package web

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/throughline/throughline/domain"
	"github.com/throughline/throughline/web/views"
)

// JSON of a review: the facts (from the DORA records), the timeline, what
// the team wrote and the action items.
type reviewJSON struct {
	Incident            incidentJSON        `json:"incident"`
	Status              string              `json:"status"`
	RestoreSeconds      *float64            `json:"restore_seconds"`
	SinceDeploySeconds  *float64            `json:"since_deploy_seconds"`
	FailedDeployments   []deploymentJSON    `json:"failed_deployments"`
	Timeline            []timelineEntryJSON `json:"timeline"`
	Summary             string              `json:"summary"`
	Impact              string              `json:"impact"`
	ContributingFactors []string            `json:"contributing_factors"`
	WentWell            string              `json:"went_well"`
	Learned             string              `json:"learned"`
	UpdatedAt           *time.Time          `json:"updated_at"`
	PublishedAt         *time.Time          `json:"published_at"`
	ActionItems         []actionItemJSON    `json:"action_items"`
}

type timelineEntryJSON struct {
	Time    time.Time `json:"time"`
	Kind    string    `json:"kind"`
	Label   string    `json:"label"`
	Text    string    `json:"text"`
	Service string    `json:"service"`
	Event   *eventRef `json:"event"`
	Key     bool      `json:"key"`
}

type actionItemJSON struct {
	ID      int64      `json:"id"`
	Title   string     `json:"title"`
	Idea    *string    `json:"idea"`
	Done    bool       `json:"done"`
	Created time.Time  `json:"created"`
	DoneAt  *time.Time `json:"done_at"`
}

func toActionJSON(a domain.ActionItem) actionItemJSON {
	out := actionItemJSON{ID: a.ID, Title: a.Title, Done: a.Done, Created: a.CreatedAt.UTC(), DoneAt: timePtr(a.DoneAt)}
	if a.IdeaKey != "" {
		k := a.IdeaKey
		out.Idea = &k
	}
	return out
}

func toReviewJSON(v views.ReviewView) reviewJSON {
	r := v.Review
	out := reviewJSON{Incident: toIncidentJSON(v.Facts.Incident), Status: string(r.Status), RestoreSeconds: v.Facts.RestoreSeconds,
		SinceDeploySeconds: v.Facts.SinceDeploySeconds, FailedDeployments: []deploymentJSON{}, Timeline: []timelineEntryJSON{},
		Summary: r.Summary, Impact: r.Impact, ContributingFactors: []string{}, WentWell: r.WentWell, Learned: r.Learned,
		UpdatedAt: timePtr(r.UpdatedAt), PublishedAt: timePtr(r.PublishedAt), ActionItems: []actionItemJSON{}}
	out.ContributingFactors = append(out.ContributingFactors, r.Factors()...)
	for _, d := range v.Facts.Deployments {
		out.FailedDeployments = append(out.FailedDeployments, toDeploymentJSON(d))
	}
	for _, e := range v.Timeline {
		j := timelineEntryJSON{Time: e.At.UTC(), Kind: string(e.Kind), Label: e.Label, Text: e.Text, Service: e.Service, Key: e.Key}
		if e.Event != nil {
			j.Event = &eventRef{ID: e.Event.ID, Source: e.Event.Source}
		}
		out.Timeline = append(out.Timeline, j)
	}
	for _, a := range v.Actions {
		out.ActionItems = append(out.ActionItems, toActionJSON(a))
	}
	return out
}

// handleReviewAPI is GET /api/v1/incidents/{id}/review.
func (s *Server) handleReviewAPI(c echo.Context) error {
	id, err := incidentParam(c)
	if err != nil {
		return err
	}
	_, v, err := s.reviewModel(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toReviewJSON(v))
}

type reviewSummaryJSON struct {
	Incident    incidentJSON `json:"incident"`
	Status      string       `json:"status"`
	ActionItems int          `json:"action_items"`
	OpenActions int          `json:"open_action_items"`
}

// reviewList is the production incidents of a window with their reviews'
// status, newest first: the list page and GET /api/v1/reviews.
func (s *Server) reviewList(c echo.Context) (domain.Window, []domain.ReviewSummary, error) {
	w, f, err := s.doraQuery(c)
	if err != nil {
		return w, nil, err
	}
	ctx := c.Request().Context()
	incs, err := s.deps.DORA.IncidentsIn(ctx, w, f, 0)
	if err != nil {
		return w, nil, err
	}
	list, err := s.deps.Reviews.ReviewSummaries(ctx, incs)
	return w, list, err
}

// handleReviewsAPI is GET /api/v1/reviews?from&to[&service][&team].
func (s *Server) handleReviewsAPI(c echo.Context) error {
	w, list, err := s.reviewList(c)
	if err != nil {
		return err
	}
	out := make([]reviewSummaryJSON, len(list))
	for i, r := range list {
		out[i] = reviewSummaryJSON{Incident: toIncidentJSON(r.Incident), Status: string(r.Status), ActionItems: r.Actions, OpenActions: r.OpenActions}
	}
	return c.JSON(http.StatusOK, map[string]any{"from": w.From.Format(domain.DateLayout), "to": w.To.Format(domain.DateLayout), "reviews": out})
}

// handleReviews is the list of reviews page.
func (s *Server) handleReviews(c echo.Context) error {
	w, list, err := s.reviewList(c)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.ReviewsPage(s.page(c, "Incident reviews", "dora"), views.ReviewsView{Window: w, Reviews: list}))
}

// reviewsOf maps incidents to their review summaries; nil without review
// pages.
func (s *Server) reviewsOf(ctx context.Context, incidents []domain.IncidentRecord) (map[string]domain.ReviewSummary, error) {
	if s.deps.Reviews == nil {
		return nil, nil
	}
	list, err := s.deps.Reviews.ReviewSummaries(ctx, incidents)
	if err != nil {
		return nil, err
	}
	out := make(map[string]domain.ReviewSummary, len(list))
	for _, r := range list {
		out[r.Incident.Incident.ID] = r
	}
	return out, nil
}
