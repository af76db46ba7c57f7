package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/throughline/throughline/domain"
	"github.com/throughline/throughline/web/views"
)

// ValueStreamStore keeps value streams and measures their flow.
type ValueStreamStore interface {
	ValueStreams(ctx context.Context) ([]domain.ValueStream, error)
	ValueStream(ctx context.Context, id int64) (domain.ValueStream, error)
	CreateValueStream(ctx context.Context, v domain.ValueStream, by string) (domain.ValueStream, error)
	UpdateValueStream(ctx context.Context, id int64, by string, update func(*domain.ValueStream) error) (domain.ValueStream, error)
	DeleteValueStream(ctx context.Context, id int64, by string) error
	Flow(ctx context.Context, v *domain.ValueStream, w domain.Window, now time.Time) (domain.FlowReport, error)
	FlowVersion(ctx context.Context) (int64, error)
}

// listWindowDays is the period the value streams list summarises.
const listWindowDays = 90

func streamID(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, domain.Errorf(domain.ENOTFOUND, "No value stream %q.", c.Param("id"))
	}
	return id, nil
}

func (s *Server) handleValueStreams(c echo.Context) error {
	ctx := c.Request().Context()
	streams, err := s.deps.ValueStreams.ValueStreams(ctx)
	if err != nil {
		return err
	}
	now := s.now()
	today := domain.Midnight(now)
	w, _ := domain.NewWindow(today.AddDate(0, 0, -(listWindowDays-1)), today)
	v := views.ValueStreamsView{Days: listWindowDays}
	for i := range streams {
		r, err := s.deps.ValueStreams.Flow(ctx, &streams[i], w, now)
		if err != nil {
			return err
		}
		v.Streams = append(v.Streams, views.ValueStreamCard{Stream: streams[i], Report: r, Segments: timeSegments(r)})
	}
	return render(c, http.StatusOK, views.ValueStreams(s.page(c, "Value streams", "value-streams"), v))
}

func timeSegments(r domain.FlowReport) []views.TimeSegment {
	out := make([]views.TimeSegment, 0, len(r.Stages))
	for _, st := range r.Stages {
		seg := views.TimeSegment{Name: st.Name, Active: st.Kind == domain.StageActive}
		if st.TimeInStage.Median != nil {
			seg.Seconds = *st.TimeInStage.Median
		}
		out = append(out, seg)
	}
	return out
}

func (s *Server) handleValueStream(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := streamID(c)
	if err != nil {
		return err
	}
	vs, err := s.deps.ValueStreams.ValueStream(ctx, id)
	if err != nil {
		return err
	}
	w, err := s.windowQuery(c)
	if err != nil {
		return err
	}
	r, err := s.deps.ValueStreams.Flow(ctx, &vs, w, s.now())
	if err != nil {
		return err
	}
	base := "/value-streams/" + strconv.FormatInt(id, 10)
	q := url.Values{"from": {w.From.Format(domain.DateLayout)}, "to": {w.To.Format(domain.DateLayout)}}
	postures, err := s.postures(ctx)
	if err != nil {
		return err
	}
	services, err := s.deps.DORA.Services(ctx)
	if err != nil {
		return err
	}
	covered := streamServices(&vs, services)
	if vs.Everything() {
		for svc := range postures {
			covered = append(covered, svc)
		}
		sort.Strings(covered)
	}
	v := views.ValueStreamView{
		Posture: postureOf(postures, covered),
		Stream:  vs, Report: r, Segments: timeSegments(r),
		Query:   views.FlowQuery{From: w.From.Format(domain.DateLayout), To: w.To.Format(domain.DateLayout)},
		APIHref: "/value-streams/" + strconv.FormatInt(id, 10) + ".json?" + q.Encode(),
	}
	today := domain.Midnight(s.now())
	for _, p := range []struct {
		label string
		days  int
	}{{"30 days", 30}, {"90 days", 90}, {"6 months", 182}, {"1 year", 365}} {
		from := today.AddDate(0, 0, -(p.days - 1))
		pq := url.Values{"from": {from.Format(domain.DateLayout)}, "to": {today.Format(domain.DateLayout)}}
		v.Presets = append(v.Presets, views.Preset{Label: p.label, Href: base + "?" + pq.Encode(), Current: w.To.Equal(today) && w.From.Equal(from)})
	}
	flowCharts(&v, r)
	v.OldestTable = views.OldestTable(v.Oldest)
	if id := csvRequested(c); id != "" {
		return servePageTable(c, id, v.OldestTable)
	}
	return render(c, http.StatusOK, views.ValueStream(s.page(c, vs.Name, "value-streams"), v))
}

// flowCharts builds the page's charts from the report.
func flowCharts(v *views.ValueStreamView, r domain.FlowReport) {
	v.Velocity.Title = "Items finished per week, by type"
	for _, t := range domain.FlowTypes {
		v.Velocity.Series = append(v.Velocity.Series, views.BarSeries{Name: string(t), Class: "bar-" + string(t)})
	}
	v.FlowTime = views.LineChart{Title: "Flow time (median days)"}
	v.Load = views.LineChart{Title: "Flow load"}
	v.Efficiency = views.LineChart{Title: "Flow efficiency (%)"}
	for _, wk := range r.Weeks {
		v.Velocity.Labels = append(v.Velocity.Labels, wk.Start.Format("2 Jan"))
		for i, t := range domain.FlowTypes {
			v.Velocity.Series[i].Values = append(v.Velocity.Series[i].Values, float64(wk.ByType[t]))
		}
		v.FlowTime.Points = append(v.FlowTime.Points, views.OptionalPoint(wk.Start, scaled(wk.FlowTime.Median, 1.0/86400)))
		v.Load.Points = append(v.Load.Points, views.OptionalPoint(wk.Start, wk.Load))
		v.Efficiency.Points = append(v.Efficiency.Points, views.OptionalPoint(wk.Start, scaled(wk.Efficiency, 100)))
	}
	if p := r.FlowTime.Median; p != nil {
		v.FlowTime.Refs = []views.RefLine{{Label: "period median", Value: *p / 86400, Class: "ref-baseline"}}
	}
	v.CFD = views.StackedArea{Title: "Cumulative flow", Days: r.CFD.Days, Series: r.CFD.Series, Counts: r.CFD.Counts}
	for _, st := range r.Stages {
		v.Aging.Stages = append(v.Aging.Stages, st.Name)
	}
	labels := []string{"50 %", "70 %", "85 %", "95 %"}
	for i, p := range r.Aging.Percentiles {
		if p != nil {
			class := "ref-baseline"
			if domain.AgingPercentiles[i] >= 85 {
				class = "ref-warn"
			}
			v.Aging.Percentiles = append(v.Aging.Percentiles, views.RefLine{Label: labels[i], Value: *p / 86400, Class: class})
		}
	}
	p85 := r.Aging.Percentiles[2]
	for _, a := range r.Aging.Items {
		class := "dot-ok"
		if p85 != nil && a.Age > *p85 {
			class = "dot-old"
		}
		v.Aging.Points = append(v.Aging.Points, views.AgingPoint{Stage: a.Stage, AgeDays: a.Age / 86400,
			Label: fmt.Sprintf("%s %s — %s in %s, %s in the stream", a.Key, a.Title, domain.HumanSeconds(a.InStage), a.StageName, domain.HumanSeconds(a.Age)),
			Href:  "/ideas/" + a.Key, Class: class})
	}
	oldest := slices.Clone(r.Aging.Items)
	sort.SliceStable(oldest, func(i, j int) bool { return oldest[i].Age > oldest[j].Age })
	v.Oldest = oldest[:min(len(oldest), 15)]
}

// streamForm reads the form as typed.
func streamForm(c echo.Context) (views.ValueStreamForm, error) {
	vals, err := c.FormParams()
	if err != nil {
		return views.ValueStreamForm{}, domain.Errorf(domain.EINVALID, "The form could not be read.")
	}
	f := views.ValueStreamForm{Name: vals.Get("name"), Description: vals.Get("description"), Teams: vals.Get("teams"), Services: vals.Get("services"),
		MinItems: vals.Get("constraint_min_items"), MinRatio: vals.Get("constraint_min_ratio")}
	for i := 0; i < domain.MaxStages+4; i++ {
		p := "stage." + strconv.Itoa(i) + "."
		if _, ok := vals[p+"name"]; !ok {
			break
		}
		f.Stages = append(f.Stages, views.StageForm{Order: vals.Get(p + "order"), Name: vals.Get(p + "name"),
			Kind: vals.Get(p + "kind"), WIPLimit: vals.Get(p + "wip_limit"), Rule: vals.Get(p + "rule"),
			FixedTime: vals.Get(p+"fixed_time") != ""})
	}
	return f, nil
}

func splitComma(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// applyStreamForm fills v from the form; errors are keyed by form field
// (stage rows by their position in the form).
func applyStreamForm(f views.ValueStreamForm, v *domain.ValueStream) map[string]string {
	errs := map[string]string{}
	v.Name, v.Description = f.Name, f.Description
	v.Teams, v.Services = splitComma(f.Teams), splitComma(f.Services)
	// Left empty, a threshold is the default; typed, it must be one.
	v.ConstraintMinItems, v.ConstraintMinRatio = domain.DefaultConstraintMinItems, domain.DefaultConstraintMinRatio
	if t := strings.TrimSpace(f.MinItems); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 1 {
			errs["constraint_min_items"] = fmt.Sprintf("A whole number of items from 1 to %d.", domain.MaxConstraintMinItems)
		}
		v.ConstraintMinItems = n
	}
	if t := strings.TrimSpace(f.MinRatio); t != "" {
		x, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSuffix(t, "×"), "x"), 64)
		if err != nil || x == 0 {
			errs["constraint_min_ratio"] = fmt.Sprintf("A ratio from 1 to %g, such as 1.5.", domain.MaxConstraintMinRatio)
			x = domain.DefaultConstraintMinRatio
		}
		v.ConstraintMinRatio = x
	}
	type row struct {
		form  int
		order float64
		def   domain.StageDef
	}
	var rows []row
	for i, st := range f.Stages {
		field := "stage." + strconv.Itoa(i) + "."
		if strings.TrimSpace(st.Name) == "" {
			continue // an unused row, or a stage being removed
		}
		r := row{form: i, order: float64(i + 1), def: domain.StageDef{Name: st.Name, Kind: domain.StageKind(st.Kind), FixedTime: st.FixedTime}}
		if o := strings.TrimSpace(st.Order); o != "" {
			n, err := strconv.ParseFloat(o, 64)
			if err == nil {
				r.order = n
			}
		}
		if w := strings.TrimSpace(st.WIPLimit); w != "" {
			n, err := strconv.Atoi(w)
			if err != nil || n < 0 {
				errs[field+"wip_limit"] = "A WIP limit is a whole number, or empty for none."
			} else {
				r.def.WIPLimit = n
			}
		}
		rule, err := domain.ParseRule(st.Rule)
		if err != nil {
			errs[field+"rule"] = domain.ErrorMessage(err)
		}
		r.def.Rule = rule
		rows = append(rows, r)
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].order < rows[j].order })
	v.Stages = v.Stages[:0]
	for _, r := range rows {
		v.Stages = append(v.Stages, r.def)
	}
	// Map the domain's errors (by stage position) back to the form rows.
	for k, msg := range v.Validate() {
		if rest, ok := strings.CutPrefix(k, "stage."); ok {
			idx, field, _ := strings.Cut(rest, ".")
			n, _ := strconv.Atoi(idx)
			if n < len(rows) {
				k = "stage." + strconv.Itoa(rows[n].form) + "." + field
			}
		}
		if _, dup := errs[k]; !dup {
			errs[k] = msg
		}
	}
	return errs
}

// streamToForm writes a stream as the form shows it, with spare rows.
func streamToForm(v domain.ValueStream) views.ValueStreamForm {
	rule := v.ConstraintRule()
	f := views.ValueStreamForm{Name: v.Name, Description: v.Description, Teams: strings.Join(v.Teams, ", "), Services: strings.Join(v.Services, ", "),
		MinItems: strconv.Itoa(rule.MinItems), MinRatio: strconv.FormatFloat(rule.MinRatio, 'f', -1, 64)}
	for i, st := range v.Stages {
		w := ""
		if st.WIPLimit > 0 {
			w = strconv.Itoa(st.WIPLimit)
		}
		f.Stages = append(f.Stages, views.StageForm{Order: strconv.Itoa(i + 1), Name: st.Name, Kind: string(st.Kind), WIPLimit: w,
			Rule: domain.RuleText(st.Rule), FixedTime: st.FixedTime})
	}
	return withSpareRows(f)
}

// withSpareRows adds empty rows to fill in, up to the stage limit.
func withSpareRows(f views.ValueStreamForm) views.ValueStreamForm {
	for n := 0; n < 2 && len(f.Stages) < domain.MaxStages; n++ {
		f.Stages = append(f.Stages, views.StageForm{Order: strconv.Itoa(len(f.Stages) + 1), Kind: string(domain.StageWait)})
	}
	return f
}

func (s *Server) streamFormView(ctx context.Context, editing bool, id int64, f views.ValueStreamForm, errs map[string]string) (views.ValueStreamFormView, error) {
	v := views.ValueStreamFormView{Editing: editing, ID: id, Form: f, Errors: errs}
	teams, err := s.deps.DORA.Teams(ctx)
	if err != nil {
		return v, err
	}
	services, err := s.deps.DORA.Services(ctx)
	if err != nil {
		return v, err
	}
	v.Teams = teams
	for _, sv := range services {
		v.Services = append(v.Services, sv.Name)
	}
	return v, nil
}

func (s *Server) handleNewValueStream(c echo.Context) error {
	f := streamToForm(domain.ValueStream{Stages: domain.DefaultStages()})
	v, err := s.streamFormView(c.Request().Context(), false, 0, f, nil)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.ValueStreamFormPage(s.page(c, "New value stream", "value-streams"), v))
}

func (s *Server) handleCreateValueStream(c echo.Context) error {
	ctx := c.Request().Context()
	f, err := streamForm(c)
	if err != nil {
		return err
	}
	var vs domain.ValueStream
	errs := applyStreamForm(f, &vs)
	if len(errs) == 0 {
		created, err := s.deps.ValueStreams.CreateValueStream(ctx, vs, actor(c))
		if err == nil {
			return s.redirectWithFlash(c, "/value-streams/"+strconv.FormatInt(created.ID, 10), "success", "Value stream "+created.Name+" created.")
		}
		if !formError(err, errs, "name", "stages") {
			return err
		}
	}
	v, err := s.streamFormView(ctx, false, 0, f, errs)
	if err != nil {
		return err
	}
	return render(c, http.StatusUnprocessableEntity, views.ValueStreamFormPage(s.page(c, "New value stream", "value-streams"), v))
}

func (s *Server) handleEditValueStream(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := streamID(c)
	if err != nil {
		return err
	}
	vs, err := s.deps.ValueStreams.ValueStream(ctx, id)
	if err != nil {
		return err
	}
	v, err := s.streamFormView(ctx, true, id, streamToForm(vs), nil)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.ValueStreamFormPage(s.page(c, "Edit "+vs.Name, "value-streams"), v))
}

func (s *Server) handleUpdateValueStream(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := streamID(c)
	if err != nil {
		return err
	}
	f, err := streamForm(c)
	if err != nil {
		return err
	}
	var errs map[string]string
	_, err = s.deps.ValueStreams.UpdateValueStream(ctx, id, actor(c), func(vs *domain.ValueStream) error {
		if errs = applyStreamForm(f, vs); len(errs) > 0 {
			return errFormInvalid
		}
		return nil
	})
	switch {
	case err == nil:
		return s.redirectWithFlash(c, "/value-streams/"+strconv.FormatInt(id, 10), "success", "Saved. The stream's history was recomputed under the new rules.")
	case err == errFormInvalid:
	default:
		if errs = map[string]string{}; !formError(err, errs, "name", "stages") {
			return err
		}
	}
	v, err := s.streamFormView(ctx, true, id, f, errs)
	if err != nil {
		return err
	}
	return render(c, http.StatusUnprocessableEntity, views.ValueStreamFormPage(s.page(c, "Edit "+f.Name, "value-streams"), v))
}

// errFormInvalid stops an update whose form has errors; the handler shows them.
var errFormInvalid = domain.Errorf(domain.EINVALID, "The form has errors.")

func (s *Server) handleDeleteValueStream(c echo.Context) error {
	id, err := streamID(c)
	if err != nil {
		return err
	}
	if err := s.deps.ValueStreams.DeleteValueStream(c.Request().Context(), id, actor(c)); err != nil {
		return err
	}
	return s.redirectWithFlash(c, "/value-streams", "success", "Value stream deleted.")
}
