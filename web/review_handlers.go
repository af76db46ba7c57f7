package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/throughline/throughline/domain"
	"github.com/throughline/throughline/web/views"
)

// ReviewStore keeps blameless post-incident reviews and their action items,
// and reads the incident facts a review shows.
type ReviewStore interface {
	Incident(ctx context.Context, id string) (domain.IncidentRecord, error)
	IncidentEvents(ctx context.Context, id string) ([]domain.IncidentEvent, error)
	ChangeMerges(ctx context.Context, ids []string) ([]domain.ChangeMerge, error)
	Review(ctx context.Context, incidentID string) (domain.Review, error)
	SaveReview(ctx context.Context, r domain.Review, by string) (domain.Review, error)
	Actions(ctx context.Context, incidentID string) ([]domain.ActionItem, error)
	ActionsForIdea(ctx context.Context, key string) ([]domain.ActionItem, error)
	AddAction(ctx context.Context, incidentID, title, by string) (domain.ActionItem, error)
	UpdateAction(ctx context.Context, incidentID string, id int64, by, action string, update func(*domain.ActionItem) error) (domain.ActionItem, error)
	ReviewSummaries(ctx context.Context, incidents []domain.IncidentRecord) ([]domain.ReviewSummary, error)
}

// reviewPath is the review page of an incident; ids may hold any character.
func reviewPath(id string) string { return "/incidents/" + url.PathEscape(id) + "/review" }

// incidentParam is the incident id of the route, unescaped.
func incidentParam(c echo.Context) (string, error) {
	id, err := url.PathUnescape(c.Param("id"))
	if err != nil || strings.TrimSpace(id) == "" {
		return "", domain.Errorf(domain.EINVALID, "Give an incident id.")
	}
	return id, nil
}

// reviewModel gathers one incident's review: the facts from the DORA
// records, the timeline, what was written and the action items with their
// ideas.
func (s *Server) reviewModel(ctx context.Context, id string) (domain.Review, views.ReviewView, error) {
	var v views.ReviewView
	rec, err := s.deps.Reviews.Incident(ctx, id)
	if err != nil {
		return domain.Review{}, v, err
	}
	now := s.now()
	start := rec.Incident.Start
	if start.IsZero() {
		start = now
	}
	// A first pass finds the deployments the incident made fail (they may
	// be older than the lookback); the span then covers them.
	day := func(t time.Time) time.Time { return t.UTC().Truncate(24 * time.Hour) }
	f := domain.DORAFilter{Service: rec.Incident.Service}
	around := domain.Window{From: day(start.Add(-domain.ReviewLookback)), To: day(now)}
	if !rec.Incident.Resolved.IsZero() && rec.Incident.Resolved.Before(now) {
		around.To = day(rec.Incident.Resolved.Add(time.Hour))
	}
	if rec.Attributed() {
		if at := s.attributedAt(ctx, rec); !at.IsZero() && at.Before(around.From) {
			around.From = day(at)
		}
	}
	var deps []domain.DeploymentRecord
	var others []domain.IncidentRecord
	if rec.Incident.Service != "" {
		if deps, err = s.deps.DORA.DeploymentsIn(ctx, around, f, false, 0); err != nil {
			return domain.Review{}, v, err
		}
		if others, err = s.deps.DORA.IncidentsOverlapping(ctx, around, f, 0); err != nil {
			return domain.Review{}, v, err
		}
	}
	v.Facts = domain.NewReviewFacts(rec, deps)
	from, to := domain.ReviewSpan(v.Facts, now)
	evs, err := s.deps.Reviews.IncidentEvents(ctx, id)
	if err != nil {
		return domain.Review{}, v, err
	}
	v.Events = evs
	var changes []string
	for _, d := range deps {
		changes = append(changes, d.Verdict.Changes...)
	}
	merges, err := s.deps.Reviews.ChangeMerges(ctx, changes)
	if err != nil {
		return domain.Review{}, v, err
	}
	v.From, v.To = from, to
	v.Timeline = domain.BuildTimeline(from, to,
		domain.IncidentEntries(rec.Incident, evs),
		domain.DeploymentEntries(v.Facts, deps),
		domain.ChangeEntries(rec.Incident.Service, merges),
		domain.OtherIncidentEntries(id, others))
	r, err := s.deps.Reviews.Review(ctx, id)
	if err != nil {
		return domain.Review{}, v, err
	}
	if v.Actions, err = s.deps.Reviews.Actions(ctx, id); err != nil {
		return domain.Review{}, v, err
	}
	v.Ideas = map[string]*domain.Idea{}
	for _, a := range v.Actions {
		if a.IdeaKey != "" {
			if idea, err := s.deps.Roadmap.Idea(ctx, a.IdeaKey); err == nil {
				v.Ideas[a.IdeaKey] = idea
			}
		}
	}
	v.Review = r
	return r, v, nil
}

// attributedAt is the time of the deployment an incident was attributed to.
func (s *Server) attributedAt(ctx context.Context, rec domain.IncidentRecord) time.Time {
	ev, err := s.deps.StoredEvents.Event(ctx, rec.DeploymentEvent)
	if err != nil {
		return time.Time{}
	}
	return ev.At
}

func reviewForm(r domain.Review) views.ReviewForm {
	st := string(r.Status)
	if r.Status == domain.ReviewNotStarted {
		st = string(domain.ReviewDraft)
	}
	return views.ReviewForm{Status: st, Summary: r.Summary, Impact: r.Impact, ContributingFactors: r.ContributingFactors,
		WentWell: r.WentWell, Learned: r.Learned}
}

// renderReview renders the review page; the forms carry what was typed
// when status is not 200.
func (s *Server) renderReview(c echo.Context, status int, id string, edit func(*views.ReviewView)) error {
	r, v, err := s.reviewModel(c.Request().Context(), id)
	if err != nil {
		return err
	}
	v.Form = reviewForm(r)
	v.IdeaForm = views.ActionIdeaForm{Horizon: string(domain.HorizonNext), FlowType: string(domain.FlowRisk)}
	if edit != nil {
		edit(&v)
	}
	return render(c, status, views.ReviewPage(s.page(c, "Review of "+id, "dora"), v))
}

func (s *Server) handleReview(c echo.Context) error {
	id, err := incidentParam(c)
	if err != nil {
		return err
	}
	return s.renderReview(c, http.StatusOK, id, nil)
}

func (s *Server) handleSaveReview(c echo.Context) error {
	id, err := incidentParam(c)
	if err != nil {
		return err
	}
	form := views.ReviewForm{Status: c.FormValue("status"), Summary: c.FormValue("summary"), Impact: c.FormValue("impact"),
		ContributingFactors: c.FormValue("contributing_factors"), WentWell: c.FormValue("went_well"), Learned: c.FormValue("learned")}
	r := domain.Review{IncidentID: id, Status: domain.ReviewStatus(form.Status), Summary: form.Summary, Impact: form.Impact,
		ContributingFactors: form.ContributingFactors, WentWell: form.WentWell, Learned: form.Learned}
	errs := r.Validate()
	if len(errs) == 0 {
		if _, err := s.deps.Reviews.SaveReview(c.Request().Context(), r, actor(c)); err == nil {
			return s.redirectWithFlash(c, reviewPath(id), "success", "Review saved ("+r.Status.Label()+").")
		} else if !formError(err, errs, "summary", "summary") {
			return err
		}
	}
	return s.renderReview(c, http.StatusUnprocessableEntity, id, func(v *views.ReviewView) { v.Form, v.Errors = form, errs })
}

func (s *Server) handleAddAction(c echo.Context) error {
	id, err := incidentParam(c)
	if err != nil {
		return err
	}
	title := c.FormValue("title")
	if _, err := s.deps.Reviews.AddAction(c.Request().Context(), id, title, actor(c)); err != nil {
		errs := map[string]string{}
		if !formError(err, errs, "title", "title") {
			return err
		}
		return s.renderReview(c, http.StatusUnprocessableEntity, id, func(v *views.ReviewView) { v.ActionTitle, v.ActionErrors = title, errs })
	}
	return s.redirectWithFlash(c, reviewPath(id)+"#actions", "success", "Action item added.")
}

func actionParam(c echo.Context) (int64, error) {
	n, err := strconv.ParseInt(c.Param("n"), 10, 64)
	if err != nil || n <= 0 {
		return 0, domain.Errorf(domain.ENOTFOUND, "No such action item.")
	}
	return n, nil
}

func (s *Server) handleActionDone(c echo.Context) error {
	id, err := incidentParam(c)
	if err != nil {
		return err
	}
	n, err := actionParam(c)
	if err != nil {
		return err
	}
	done := c.FormValue("done") == "true"
	if _, err := s.deps.Reviews.UpdateAction(c.Request().Context(), id, n, actor(c), "review.action.done", func(a *domain.ActionItem) error {
		a.Done = done
		return nil
	}); err != nil {
		return err
	}
	msg := "Action item reopened."
	if done {
		msg = "Action item done."
	}
	return s.redirectWithFlash(c, reviewPath(id)+"#actions", "success", msg)
}

// handleActionIdea puts an action item on the roadmap as an idea (Next by
// default) and links the item to it; the idea page links back.
func (s *Server) handleActionIdea(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := incidentParam(c)
	if err != nil {
		return err
	}
	n, err := actionParam(c)
	if err != nil {
		return err
	}
	form := views.ActionIdeaForm{ActionID: n, Key: strings.ToUpper(strings.TrimSpace(c.FormValue("key"))), Title: c.FormValue("title"),
		Horizon: c.FormValue("horizon"), FlowType: c.FormValue("flow_type")}
	rec, err := s.deps.Reviews.Incident(ctx, id)
	if err != nil {
		return err
	}
	idea := domain.Idea{Key: form.Key, Title: strings.TrimSpace(form.Title), Horizon: domain.Horizon(form.Horizon), FlowType: domain.FlowType(form.FlowType),
		Problem: "Action item from the review of incident " + id + ": " + reviewURLNote(id)}
	if rec.Incident.Service != "" {
		idea.Services = []string{rec.Incident.Service}
	}
	errs := idea.Validate()
	if len(errs) == 0 {
		err := s.createActionIdea(ctx, id, n, idea, actor(c))
		if err == nil {
			return s.redirectWithFlash(c, reviewPath(id)+"#actions", "success", "Idea "+idea.Key+" is on the roadmap ("+idea.Horizon.Label()+").")
		}
		if !formError(err, errs, "key", "title") {
			return err
		}
	}
	return s.renderReview(c, http.StatusUnprocessableEntity, id, func(v *views.ReviewView) { v.IdeaForm, v.IdeaErrors = form, errs })
}

func reviewURLNote(id string) string { return "see " + reviewPath(id) + "." }

// createActionIdea creates the idea, then links the action item to it. The
// roadmap and the reviews are separate stores, so these are two
// transactions; the item is checked first so that a linked one never makes
// a second idea.
func (s *Server) createActionIdea(ctx context.Context, incidentID string, n int64, idea domain.Idea, by string) error {
	items, err := s.deps.Reviews.Actions(ctx, incidentID)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(items, func(a domain.ActionItem) bool { return a.ID == n })
	switch {
	case i < 0:
		return domain.Errorf(domain.ENOTFOUND, "No action item %d on incident %s.", n, incidentID)
	case items[i].IdeaKey != "":
		return domain.Errorf(domain.ECONFLICT, "This action item is already idea %s.", items[i].IdeaKey)
	}
	if _, err := s.deps.Roadmap.CreateIdea(ctx, idea, by); err != nil {
		return err
	}
	_, err = s.deps.Reviews.UpdateAction(ctx, incidentID, n, by, "review.action.idea", func(a *domain.ActionItem) error {
		a.IdeaKey = idea.Key
		return nil
	})
	return err
}
