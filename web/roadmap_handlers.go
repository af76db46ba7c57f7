package web

import (
	"context"
	"math"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/throughline/throughline/domain"
	"github.com/throughline/throughline/web/views"
)

// RoadmapStore keeps objectives, key results and ideas, and reads what
// delivery and telemetry say about them.
type RoadmapStore interface {
	Objectives(ctx context.Context) ([]domain.Objective, error)
	CreateObjective(ctx context.Context, o domain.Objective, by string) (domain.Objective, error)
	KeyResults(ctx context.Context) ([]domain.KeyResult, error)
	CreateKeyResult(ctx context.Context, k domain.KeyResult, by string) (domain.KeyResult, error)
	UpdateObjective(ctx context.Context, id int64, by, action string, update func(*domain.Objective) error) (domain.Objective, error)
	UpdateKeyResult(ctx context.Context, id int64, by, action, note string, update func(*domain.KeyResult) error) (domain.KeyResult, error)
	KeyResultBaselines(ctx context.Context, id int64) ([]domain.KRBaseline, error)
	Ideas(ctx context.Context, f domain.IdeaFilter) ([]*domain.Idea, error)
	Idea(ctx context.Context, key string) (*domain.Idea, error)
	IdeaTeams(ctx context.Context) ([]string, error)
	CreateIdea(ctx context.Context, idea domain.Idea, by string) (*domain.Idea, error)
	UpdateIdea(ctx context.Context, key, by, action string, update func(*domain.Idea) error) (*domain.Idea, error)
	MoveIdea(ctx context.Context, key string, h domain.Horizon, by string) (*domain.Idea, error)
	SetIdeaVerdict(ctx context.Context, key string, v domain.IdeaVerdict, note, by string) (*domain.Idea, error)
	ReorderIdeas(ctx context.Context, h domain.Horizon, keys []string, by string) error
	ImportIdeas(ctx context.Context, ideas []domain.Idea) (int, error)
	RecomputeAllFlow(ctx context.Context) error
	IdeaFlow(ctx context.Context, keys []string) (map[string]domain.FlowItem, error)
	IdeaLinks(ctx context.Context, key string) (domain.IdeaLinks, error)
	MetricSeries(ctx context.Context, metric string, filter map[string]string, bucket string, from, to time.Time) ([]domain.MetricPoint, error)
	MetricDaily(ctx context.Context, metric string, filter map[string]string, from, to time.Time) ([]domain.DailyValue, error)
	MetricNames(ctx context.Context) ([]string, error)
	IdeaExposure(ctx context.Context, key string) ([]domain.ExposurePoint, error)
}

// evidenceAnchor is where an idea's outcome evidence is centred
// (domain.EvidenceAnchor): where its exposure in production became full,
// or its first production deployment.
func (s *Server) evidenceAnchor(ctx context.Context, key string, firstProd time.Time) (domain.Anchor, error) {
	points, err := s.deps.Roadmap.IdeaExposure(ctx, key)
	if err != nil {
		return domain.Anchor{}, err
	}
	return domain.EvidenceAnchor(points, firstProd), nil
}

// ideaServices is the services an idea touches: those it names and those
// its changes were deployed to.
func ideaServices(idea *domain.Idea, it *domain.FlowItem) []string {
	out := append([]string(nil), idea.Services...)
	for _, s := range it.Services {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// readKeyResult reads a key result's current value at moment at: the days
// domain.ReadKeyResult averages, fetched, and its reading.
func (s *Server) readKeyResult(ctx context.Context, kr domain.KeyResult, at time.Time) (domain.KRReading, error) {
	w := domain.KRCurrentWindow(at)
	daily, err := s.deps.Roadmap.MetricDaily(ctx, kr.Metric, kr.Attributes, w.From, w.End())
	if err != nil {
		return domain.KRReading{}, err
	}
	return domain.ReadKeyResult(kr, daily, at), nil
}

// krReader reads each key result once per page.
type krReader struct {
	s    *Server
	at   time.Time
	seen map[int64]domain.KRReading
}

func (s *Server) newKRReader(at time.Time) *krReader {
	return &krReader{s: s, at: at, seen: map[int64]domain.KRReading{}}
}

func (r *krReader) read(ctx context.Context, kr domain.KeyResult) (domain.KRReading, error) {
	if got, ok := r.seen[kr.ID]; ok {
		return got, nil
	}
	got, err := r.s.readKeyResult(ctx, kr, r.at)
	if err == nil {
		r.seen[kr.ID] = got
	}
	return got, err
}

func (s *Server) handleRoadmap(c echo.Context) error {
	return s.renderCachedBuild(c, s.freshnessVersion(c), func() (func(views.Page) templ.Component, error) {
		v, err := s.roadmapView(c)
		if err != nil {
			return nil, err
		}
		return func(p views.Page) templ.Component { return views.Roadmap(p, v) }, nil
	}, "Roadmap", "roadmap")
}

// roadmapView gathers the roadmap's columns for the filter in the URL.
func (s *Server) roadmapView(c echo.Context) (views.RoadmapView, error) {
	ctx := c.Request().Context()
	f := domain.IdeaFilter{Team: c.QueryParam("team")}
	if o := c.QueryParam("objective"); o != "" {
		id, err := strconv.ParseInt(o, 10, 64)
		if err != nil {
			return views.RoadmapView{}, domain.Errorf(domain.EINVALID, "objective must be an objective's number.")
		}
		f.ObjectiveID = id
	}
	ideas, err := s.deps.Roadmap.Ideas(ctx, f)
	if err != nil {
		return views.RoadmapView{}, err
	}
	flow, err := s.deps.Roadmap.IdeaFlow(ctx, ideaKeys(ideas))
	if err != nil {
		return views.RoadmapView{}, err
	}
	krs, err := s.deps.Roadmap.KeyResults(ctx)
	if err != nil {
		return views.RoadmapView{}, err
	}
	krByID := map[int64]domain.KeyResult{}
	for _, k := range krs {
		krByID[k.ID] = k
	}
	objectives, err := s.deps.Roadmap.Objectives(ctx)
	if err != nil {
		return views.RoadmapView{}, err
	}
	teams, err := s.deps.Roadmap.IdeaTeams(ctx)
	if err != nil {
		return views.RoadmapView{}, err
	}
	postures, err := s.postures(ctx)
	if err != nil {
		return views.RoadmapView{}, err
	}
	now := s.now()
	readings := s.newKRReader(now)
	v := views.RoadmapView{Teams: teams, Objectives: objectives, Team: f.Team, Objective: f.ObjectiveID, Return: c.Request().URL.RequestURI()}
	card := func(bc domain.BoardCard) (views.IdeaCard, error) {
		idea := bc.Idea
		out := views.IdeaCard{Idea: idea, Timeline: bc.Timeline, Posture: postureOf(postures, ideaServices(idea, &bc.Item)),
			Stall: domain.StalledIn(idea.Horizon, bc.Timeline, now)}
		if len(idea.KeyResults) > 0 {
			if kr, ok := krByID[idea.KeyResults[0]]; ok {
				out.KeyResult = &kr
				r, err := readings.read(ctx, kr)
				if err != nil {
					return out, err
				}
				out.Reading = r
			}
		}
		return out, nil
	}
	for _, col := range domain.RoadmapBoard(ideas, flow, now) {
		vc := views.RoadmapColumn{Horizon: col.Horizon}
		for _, bc := range col.Open {
			c, err := card(bc)
			if err != nil {
				return views.RoadmapView{}, err
			}
			vc.Cards = append(vc.Cards, c)
		}
		for _, bc := range col.Done {
			c, err := card(bc)
			if err != nil {
				return views.RoadmapView{}, err
			}
			vc.Done = append(vc.Done, c)
		}
		v.Columns = append(v.Columns, vc)
	}
	return v, nil
}

func (s *Server) handleIdea(c echo.Context) error {
	ctx := c.Request().Context()
	idea, err := s.deps.Roadmap.Idea(ctx, c.Param("key"))
	if err != nil {
		return err
	}
	flow, err := s.deps.Roadmap.IdeaFlow(ctx, []string{idea.Key})
	if err != nil {
		return err
	}
	links, err := s.deps.Roadmap.IdeaLinks(ctx, idea.Key)
	if err != nil {
		return err
	}
	now := s.now()
	it := flow[idea.Key]
	tl := domain.StageTimeline(&it, now)
	postures, err := s.postures(ctx)
	if err != nil {
		return err
	}
	v := views.IdeaPageView{Idea: idea, Timeline: tl, Links: links, Window: s.cfg.EvidenceWindow, Posture: postureOf(postures, ideaServices(idea, &it)),
		VerdictOpen: domain.VerdictOpen(idea, tl)}
	v.Stages = stageRows(tl, now)
	anchor, err := s.evidenceAnchor(ctx, idea.Key, it.Signals.At(domain.TrigDeployProd))
	if err != nil {
		return err
	}
	v.Anchor = anchor
	panels, err := s.evidencePanels(ctx, idea, it.Signals.At(domain.TrigDeployProd), anchor, links, now)
	if err != nil {
		return err
	}
	v.Panels = panels
	if s.deps.Reviews != nil {
		if v.FromReviews, err = s.deps.Reviews.ActionsForIdea(ctx, idea.Key); err != nil {
			return err
		}
	}
	v.Tables = views.NewIdeaTables(v)
	if id := csvRequested(c); id != "" {
		return servePageTable(c, id, v.Tables.All()...)
	}
	return render(c, http.StatusOK, views.IdeaPage(s.page(c, idea.Key+" "+idea.Title, "roadmap"), v))
}

// stageRows turns a timeline into rows with the time spent in each stage.
func stageRows(tl domain.Timeline, now time.Time) []views.StageRow {
	rows := make([]views.StageRow, len(domain.Stages))
	skipped := map[domain.Stage]bool{}
	for _, s := range tl.Skipped {
		skipped[s] = true
	}
	for i, s := range domain.Stages {
		// A rolled back idea is in no stage any more: its last one ended
		// when its changes left production.
		rows[i] = views.StageRow{Stage: s, Entered: tl.Entered[s], Skipped: skipped[s], Current: tl.Current == s && !tl.Done && tl.RolledBack == nil}
		if rows[i].Entered.IsZero() {
			continue
		}
		// Time in stage: until the next stage reached, or until now (or
		// until the idea was done or rolled back).
		end := now
		switch {
		case tl.RolledBack != nil:
			end = tl.RolledBack.At
		case tl.Done:
			end = tl.DoneAt
		}
		for _, next := range domain.Stages[i+1:] {
			if t, ok := tl.Entered[next]; ok {
				end = t
				break
			}
		}
		if d := end.Sub(rows[i].Entered); d > 0 {
			secs := d.Seconds()
			rows[i].Duration = views.FormatDuration(secs)
		}
	}
	return rows
}

func (s *Server) evidencePanels(ctx context.Context, idea *domain.Idea, firstProd time.Time, anchor domain.Anchor, links domain.IdeaLinks, now time.Time) ([]views.KRPanel, error) {
	if len(idea.KeyResults) == 0 {
		return nil, nil
	}
	krs, err := s.deps.Roadmap.KeyResults(ctx)
	if err != nil {
		return nil, err
	}
	objectives, err := s.deps.Roadmap.Objectives(ctx)
	if err != nil {
		return nil, err
	}
	objTitle := map[int64]string{}
	for _, o := range objectives {
		objTitle[o.ID] = o.Title
	}
	window := s.cfg.EvidenceWindow
	var panels []views.KRPanel
	for _, kr := range krs {
		if !containsID(idea.KeyResults, kr.ID) {
			continue
		}
		p := views.KRPanel{KeyResult: kr, Objective: objTitle[kr.ObjectiveID], Anchor: anchor}
		if p.Reading, err = s.readKeyResult(ctx, kr, now); err != nil {
			return nil, err
		}
		// Chart: a window around the first production deployment, or the
		// last 60 days.
		to := domain.Midnight(now).AddDate(0, 0, 1)
		from := to.AddDate(0, 0, -60)
		if !anchor.At.IsZero() {
			day := domain.Midnight(anchor.At)
			from = day.AddDate(0, 0, -2*window)
			if end := day.AddDate(0, 0, 2*window+1); end.Before(to) {
				to = end
			}
		}
		daily, err := s.deps.Roadmap.MetricDaily(ctx, kr.Metric, kr.Attributes, from, to)
		if err != nil {
			return nil, err
		}
		p.Chart = views.KeyResultChart(kr.Title+" (daily mean", kr, daily)
		for _, d := range links.Deployments {
			if d.Production && !d.Rollback && !d.At.Before(from) && d.At.Before(to) {
				label := "deployed to " + d.Service
				if d.At.Equal(firstProd) {
					label = "first production deployment"
				}
				p.Chart.Markers = append(p.Chart.Markers, views.Marker{Label: label, At: d.At})
			}
		}
		if !anchor.At.IsZero() {
			if anchor.Kind != domain.AnchorFirstDeployment && !anchor.At.Before(from) && anchor.At.Before(to) {
				p.Chart.Markers = append(p.Chart.Markers, views.Marker{Label: "exposure full", At: anchor.At})
			}
			ev := domain.CompareAround(anchor.At, window, daily, kr.Direction, now)
			p.Evidence = &ev
		}
		panels = append(panels, p)
	}
	return panels, nil
}

func containsID(ids []int64, id int64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// ideaFormFrom reads the idea form as typed.
func ideaFormFrom(c echo.Context) (views.IdeaForm, error) {
	if err := c.Request().ParseForm(); err != nil {
		return views.IdeaForm{}, domain.Errorf(domain.EINVALID, "Could not read the form.")
	}
	f := c.Request().PostForm
	form := views.IdeaForm{
		Key: strings.TrimSpace(f.Get("key")), Title: f.Get("title"), Problem: f.Get("problem"), Hypothesis: f.Get("hypothesis"),
		Horizon: f.Get("horizon"), FlowType: f.Get("flow_type"), Team: f.Get("team"), Services: f.Get("services"),
		Reach: f.Get("reach"), Impact: f.Get("impact"), Confidence: f.Get("confidence"), Effort: f.Get("effort"),
	}
	for _, v := range f["key_results"] {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil {
			form.KeyResults = append(form.KeyResults, id)
		}
	}
	return form, nil
}

// applyForm copies the form into an idea and returns what is wrong with it.
func applyForm(form views.IdeaForm, idea *domain.Idea) map[string]string {
	errs := map[string]string{}
	idea.Title, idea.Problem, idea.Hypothesis = strings.TrimSpace(form.Title), form.Problem, form.Hypothesis
	idea.Horizon, idea.FlowType, idea.Team = domain.Horizon(form.Horizon), domain.FlowType(form.FlowType), strings.TrimSpace(form.Team)
	idea.Services = nil
	for _, s := range strings.Split(form.Services, ",") {
		if s = strings.TrimSpace(s); s != "" {
			idea.Services = append(idea.Services, s)
		}
	}
	idea.KeyResults = form.KeyResults
	num := func(field, v string, dst *float64) {
		n, err := domain.ParseOptionalNumber(v)
		if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
			errs[field] = "Use a number, like 2.5."
			return
		}
		*dst = n
	}
	num("reach", form.Reach, &idea.Reach)
	num("impact", form.Impact, &idea.Impact)
	num("effort", form.Effort, &idea.Effort)
	num("confidence", form.Confidence, &idea.Confidence)
	if strings.HasSuffix(strings.TrimSpace(form.Confidence), "%") || idea.Confidence > 1 {
		idea.Confidence /= 100 // "80 %" or 80 means 0.8
	}
	for k, v := range idea.Validate() {
		if _, seen := errs[k]; !seen {
			errs[k] = v
		}
	}
	return errs
}

func (s *Server) ideaFormView(ctx context.Context, editing bool, form views.IdeaForm, errs map[string]string) (views.IdeaFormView, error) {
	objectives, err := s.deps.Roadmap.Objectives(ctx)
	if err != nil {
		return views.IdeaFormView{}, err
	}
	krs, err := s.deps.Roadmap.KeyResults(ctx)
	if err != nil {
		return views.IdeaFormView{}, err
	}
	teams, err := s.deps.Roadmap.IdeaTeams(ctx)
	if err != nil {
		return views.IdeaFormView{}, err
	}
	return views.IdeaFormView{Editing: editing, Form: form, Errors: errs, Objectives: objectives, KeyResults: krs, Teams: teams}, nil
}

func (s *Server) handleNewIdea(c echo.Context) error {
	v, err := s.ideaFormView(c.Request().Context(), false, views.IdeaForm{Horizon: "next", FlowType: "feature"}, nil)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.IdeaFormPage(s.page(c, "New idea", "roadmap"), v))
}

func (s *Server) handleCreateIdea(c echo.Context) error {
	ctx := c.Request().Context()
	form, err := ideaFormFrom(c)
	if err != nil {
		return err
	}
	idea := domain.Idea{Key: strings.ToUpper(form.Key)}
	errs := applyForm(form, &idea)
	if len(errs) == 0 {
		if _, err := s.deps.Roadmap.CreateIdea(ctx, idea, actor(c)); err != nil {
			if !formError(err, errs, "key", "title") {
				return err
			}
		} else {
			return s.redirectWithFlash(c, "/ideas/"+idea.Key, "success", "Idea "+idea.Key+" created.")
		}
	}
	v, err := s.ideaFormView(ctx, false, form, errs)
	if err != nil {
		return err
	}
	return render(c, http.StatusUnprocessableEntity, views.IdeaFormPage(s.page(c, "New idea", "roadmap"), v))
}

func ideaToForm(i *domain.Idea) views.IdeaForm {
	num := func(f float64) string {
		if f == 0 {
			return ""
		}
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return views.IdeaForm{Key: i.Key, Title: i.Title, Problem: i.Problem, Hypothesis: i.Hypothesis, Horizon: string(i.Horizon),
		FlowType: string(i.FlowType), Team: i.Team, Services: strings.Join(i.Services, ", "), Reach: num(i.Reach),
		Impact: num(i.Impact), Confidence: num(i.Confidence), Effort: num(i.Effort), KeyResults: i.KeyResults}
}

func (s *Server) handleEditIdea(c echo.Context) error {
	ctx := c.Request().Context()
	idea, err := s.deps.Roadmap.Idea(ctx, c.Param("key"))
	if err != nil {
		return err
	}
	v, err := s.ideaFormView(ctx, true, ideaToForm(idea), nil)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.IdeaFormPage(s.page(c, "Edit "+idea.Key, "roadmap"), v))
}

func (s *Server) handleUpdateIdea(c echo.Context) error {
	ctx := c.Request().Context()
	key := strings.ToUpper(c.Param("key"))
	form, err := ideaFormFrom(c)
	if err != nil {
		return err
	}
	form.Key = key
	var errs map[string]string
	_, err = s.deps.Roadmap.UpdateIdea(ctx, key, actor(c), "idea.update", func(i *domain.Idea) error {
		errs = applyForm(form, i)
		if len(errs) > 0 {
			return domain.Errorf(domain.EINVALID, "form")
		}
		return nil
	})
	if err == nil {
		return s.redirectWithFlash(c, "/ideas/"+key, "success", "Saved.")
	}
	if domain.ErrorCode(err) != domain.EINVALID {
		return err
	}
	v, verr := s.ideaFormView(ctx, true, form, errs)
	if verr != nil {
		return verr
	}
	return render(c, http.StatusUnprocessableEntity, views.IdeaFormPage(s.page(c, "Edit "+key, "roadmap"), v))
}

func (s *Server) handleMoveIdea(c echo.Context) error {
	key := strings.ToUpper(c.Param("key"))
	back := safeNext(c.FormValue("return"))
	if !strings.HasPrefix(back, "/roadmap") && !strings.HasPrefix(back, "/ideas/") {
		back = "/roadmap"
	}
	if _, err := s.deps.Roadmap.MoveIdea(c.Request().Context(), key, domain.Horizon(c.FormValue("horizon")), actor(c)); err != nil {
		if code := domain.ErrorCode(err); code == domain.EINVALID || code == domain.ENOTFOUND {
			return s.redirectWithFlash(c, back, "error", domain.ErrorMessage(err))
		}
		return err
	}
	return s.redirectWithFlash(c, back, "success", key+" moved to "+domain.Horizon(c.FormValue("horizon")).Label()+".")
}

func (s *Server) handleArchiveIdea(c echo.Context) error {
	key := strings.ToUpper(c.Param("key"))
	back := safeNext(c.FormValue("return"))
	if !strings.HasPrefix(back, "/roadmap") {
		back = "/roadmap"
	}
	archive := c.FormValue("archived") != "false"
	action := "idea.archive"
	if !archive {
		action = "idea.restore"
	}
	if _, err := s.deps.Roadmap.UpdateIdea(c.Request().Context(), key, actor(c), action, func(i *domain.Idea) error {
		i.Archived = archive
		return nil
	}); err != nil {
		return err
	}
	if archive {
		return s.redirectWithFlash(c, back, "success", key+" archived; it no longer shows on the roadmap.")
	}
	return s.redirectWithFlash(c, "/ideas/"+key, "success", key+" is back on the roadmap.")
}

// verdictOpen reads an idea and whether a verdict can be recorded for it now
// (domain.VerdictOpen): the form and the write API ask the same question.
func (s *Server) verdictOpen(ctx context.Context, key string) (*domain.Idea, bool, error) {
	idea, err := s.deps.Roadmap.Idea(ctx, key)
	if err != nil {
		return nil, false, err
	}
	flow, err := s.deps.Roadmap.IdeaFlow(ctx, []string{idea.Key})
	if err != nil {
		return nil, false, err
	}
	it := flow[idea.Key]
	return idea, domain.VerdictOpen(idea, domain.StageTimeline(&it, s.now())), nil
}

func (s *Server) handleIdeaVerdict(c echo.Context) error {
	key := strings.ToUpper(c.Param("key"))
	ctx := c.Request().Context()
	_, open, err := s.verdictOpen(ctx, key)
	if err != nil {
		return err
	}
	if !open {
		return s.redirectWithFlash(c, "/ideas/"+key, "error", "A verdict can be recorded once a change of "+key+" reaches production.")
	}
	if _, err := s.deps.Roadmap.SetIdeaVerdict(c.Request().Context(), key, domain.IdeaVerdict(c.FormValue("verdict")), c.FormValue("note"), actor(c)); err != nil {
		if domain.ErrorCode(err) == domain.EINVALID {
			return s.redirectWithFlash(c, "/ideas/"+key, "error", domain.ErrorMessage(err))
		}
		return err
	}
	return s.redirectWithFlash(c, "/ideas/"+key, "success", "Verdict recorded: "+c.FormValue("verdict")+".")
}

// outcomesView builds the outcomes page.
func (s *Server) outcomesView(ctx context.Context) (views.OutcomesView, error) {
	var v views.OutcomesView
	objectives, err := s.deps.Roadmap.Objectives(ctx)
	if err != nil {
		return v, err
	}
	krs, err := s.deps.Roadmap.KeyResults(ctx)
	if err != nil {
		return v, err
	}
	ideas, err := s.deps.Roadmap.Ideas(ctx, domain.IdeaFilter{})
	if err != nil {
		return v, err
	}
	if v.MetricNames, err = s.deps.Roadmap.MetricNames(ctx); err != nil {
		return v, err
	}
	now := s.now()
	today := domain.Midnight(now)
	for _, o := range objectives {
		if !o.ArchivedAt.IsZero() {
			continue // in the archive, restorable
		}
		ov := views.OutcomeObjective{Objective: o}
		for _, kr := range krs {
			if kr.ObjectiveID != o.ID || kr.State() == domain.KRArchived {
				continue
			}
			okr := views.OutcomeKR{KeyResult: kr}
			if okr.Reading, err = s.readKeyResult(ctx, kr, now); err != nil {
				return v, err
			}
			daily, err := s.deps.Roadmap.MetricDaily(ctx, kr.Metric, kr.Attributes, today.AddDate(0, 0, -89), today.AddDate(0, 0, 1))
			if err != nil {
				return v, err
			}
			okr.Chart = views.KeyResultChart(kr.Title+" (daily mean, 90 days", kr, daily)
			for _, idea := range ideas {
				if containsID(idea.KeyResults, kr.ID) {
					okr.Ideas = append(okr.Ideas, idea)
				}
			}
			ov.KeyResults = append(ov.KeyResults, okr)
		}
		v.Objectives = append(v.Objectives, ov)
	}
	if len(objectives) > 0 {
		v.KRForm.ObjectiveID = objectives[0].ID
	}
	return v, nil
}

func (s *Server) handleOutcomes(c echo.Context) error {
	v, err := s.outcomesView(c.Request().Context())
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.Outcomes(s.page(c, "Outcomes", "outcomes"), v))
}

func (s *Server) handleCreateObjective(c echo.Context) error {
	ctx := c.Request().Context()
	o := domain.Objective{Title: c.FormValue("title"), Description: c.FormValue("description")}
	if _, err := s.deps.Roadmap.CreateObjective(ctx, o, actor(c)); err != nil {
		if domain.ErrorCode(err) != domain.EINVALID {
			return err
		}
		v, verr := s.outcomesView(ctx)
		if verr != nil {
			return verr
		}
		v.ObjectiveTitle, v.ObjectiveError = o.Title, domain.ErrorMessage(err)
		return render(c, http.StatusUnprocessableEntity, views.Outcomes(s.page(c, "Outcomes", "outcomes"), v))
	}
	return s.redirectWithFlash(c, "/outcomes", "success", "Objective added.")
}

// parseAttributes reads "k=v, k2=v2".
func parseAttributes(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, domain.Errorf(domain.EINVALID, "Write attributes as name=value, separated by commas.")
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out, nil
}

func (s *Server) handleCreateKeyResult(c echo.Context) error {
	ctx := c.Request().Context()
	form := views.KRForm{Title: c.FormValue("title"), Metric: c.FormValue("metric"), Attributes: c.FormValue("attributes"),
		Baseline: c.FormValue("baseline"), Target: c.FormValue("target"), Direction: c.FormValue("direction"), Due: c.FormValue("due"),
		Unit: c.FormValue("unit")}
	form.ObjectiveID, _ = strconv.ParseInt(c.FormValue("objective"), 10, 64)
	errs := map[string]string{}
	kr := domain.KeyResult{ObjectiveID: form.ObjectiveID, Title: strings.TrimSpace(form.Title), Metric: strings.TrimSpace(form.Metric), Direction: domain.Direction(form.Direction),
		Unit: domain.Unit(form.Unit)}
	var err error
	if kr.Attributes, err = parseAttributes(form.Attributes); err != nil {
		errs["attributes"] = domain.ErrorMessage(err)
	}
	if kr.Baseline, err = strconv.ParseFloat(strings.TrimSpace(form.Baseline), 64); err != nil {
		errs["baseline"] = "The baseline must be a number."
	}
	if kr.Target, err = strconv.ParseFloat(strings.TrimSpace(form.Target), 64); err != nil {
		errs["target"] = "The target must be a number."
	}
	if form.Due != "" {
		if kr.Due, err = time.Parse(domain.DateLayout, form.Due); err != nil {
			errs["due"] = "Use a date."
		}
	}
	for k, m := range kr.Validate() {
		if _, seen := errs[k]; !seen {
			errs[k] = m
		}
	}
	if len(errs) == 0 {
		if _, err := s.deps.Roadmap.CreateKeyResult(ctx, kr, actor(c)); err != nil {
			if domain.ErrorCode(err) != domain.EINVALID {
				return err
			}
			errs["title"] = domain.ErrorMessage(err)
		} else {
			return s.redirectWithFlash(c, "/outcomes", "success", "Key result added.")
		}
	}
	v, err := s.outcomesView(ctx)
	if err != nil {
		return err
	}
	v.KRForm, v.KRErrors = form, errs
	return render(c, http.StatusUnprocessableEntity, views.Outcomes(s.page(c, "Outcomes", "outcomes"), v))
}

// metricQuery reads /metrics/{name}?from&to&bucket&attr.k=v.
func metricQuery(c echo.Context, now time.Time) (map[string]string, time.Time, time.Time, string, error) {
	attrs := map[string]string{}
	for k, vs := range c.QueryParams() {
		if name, ok := strings.CutPrefix(k, "attr."); ok && len(vs) > 0 {
			attrs[name] = vs[0]
		}
	}
	today := domain.Midnight(now)
	parse := func(name string, def time.Time) (time.Time, error) {
		v := c.QueryParam(name)
		if v == "" {
			return def, nil
		}
		if t, err := time.Parse(domain.DateLayout, v); err == nil {
			return t, nil
		}
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			return t.UTC(), nil
		}
		return time.Time{}, domain.Errorf(domain.EINVALID, "%s must be a date (YYYY-MM-DD) or an RFC 3339 time.", name)
	}
	from, err := parse("from", today.AddDate(0, 0, -29))
	if err != nil {
		return nil, from, from, "", err
	}
	to, err := parse("to", today)
	if err != nil {
		return nil, from, to, "", err
	}
	if len(c.QueryParam("to")) == len(domain.DateLayout) || c.QueryParam("to") == "" {
		to = to.AddDate(0, 0, 1) // a date includes its whole day
	}
	if !to.After(from) {
		return nil, from, to, "", domain.Errorf(domain.EINVALID, "to must be after from.")
	}
	if err := checkWindowDay("from", from, now); err != nil {
		return nil, from, to, "", err
	}
	if err := checkWindowDay("to", to.Add(-time.Nanosecond), now); err != nil {
		return nil, from, to, "", err
	}
	bucket := c.QueryParam("bucket")
	if bucket == "" {
		bucket = "day"
	}
	return attrs, from, to, bucket, nil
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func ideaKeys(ideas []*domain.Idea) []string {
	out := make([]string, len(ideas))
	for i, idea := range ideas {
		out[i] = idea.Key
	}
	return out
}
