package web

import (
	"context"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/throughline/throughline/domain"
	"github.com/throughline/throughline/web/views"
)

// SLOStore keeps SLOs and evaluates them from the telemetry rollups.
type SLOStore interface {
	SLOs(ctx context.Context) ([]domain.SLO, error)
	SLO(ctx context.Context, id int64) (domain.SLO, error)
	CreateSLO(ctx context.Context, s domain.SLO, by string) (domain.SLO, error)
	UpdateSLO(ctx context.Context, id int64, by string, update func(*domain.SLO) error) (domain.SLO, error)
	DeleteSLO(ctx context.Context, id int64, by string) error
	ImportSLOs(ctx context.Context, slos []domain.SLO, by string) (created, updated int, err error)
	EvaluateSLO(ctx context.Context, s domain.SLO, asOf time.Time) (domain.SLOStatus, error)
	SLODaily(ctx context.Context, s domain.SLO, from, to time.Time) ([]domain.CountPoint, error)
}

// SLOCodec reads and writes SLO files (OpenSLO v1 YAML).
type SLOCodec interface {
	Marshal(slos []domain.SLO) ([]byte, error)
	Unmarshal(data []byte) ([]domain.SLO, error)
}

// sloStatusTTL is how long evaluated SLOs are reused by the pages that show
// postures (every roadmap card, map and service row).
const sloStatusTTL = 15 * time.Second

// maxSLOFile bounds an imported file.
const maxSLOFile = 1 << 20

type sloCache struct {
	mu       sync.Mutex
	at       time.Time
	statuses []domain.SLOStatus
}

// sloStatuses evaluates every SLO, reusing the answer for sloStatusTTL.
func (s *Server) sloStatuses(ctx context.Context) ([]domain.SLOStatus, error) {
	if s.deps.SLOs == nil {
		return nil, nil
	}
	c := &s.slos
	c.mu.Lock()
	defer c.mu.Unlock()
	now := s.now()
	if c.statuses != nil && now.Sub(c.at) < sloStatusTTL && !now.Before(c.at) {
		return c.statuses, nil
	}
	slos, err := s.deps.SLOs.SLOs(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]domain.SLOStatus, 0, len(slos))
	for _, slo := range slos {
		st, err := s.deps.SLOs.EvaluateSLO(ctx, slo, now)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	c.at, c.statuses = now, out
	return out, nil
}

// forgetSLOStatuses makes the next read evaluate again (after an edit).
func (s *Server) forgetSLOStatuses() {
	s.slos.mu.Lock()
	s.slos.statuses = nil
	s.slos.mu.Unlock()
}

// postures is the worst posture of each service's SLOs.
func (s *Server) postures(ctx context.Context) (map[string]domain.Posture, error) {
	sts, err := s.sloStatuses(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]domain.Posture{}
	for _, st := range sts {
		out[st.SLO.Service] = domain.Worst(out[st.SLO.Service], st.Posture)
	}
	return out, nil
}

// postureOf is the worst posture among services, and those that set it.
func postureOf(p map[string]domain.Posture, services []string) views.PostureBadge {
	var b views.PostureBadge
	for _, svc := range services {
		if ps, ok := p[svc]; ok && ps.Severity() > 1 {
			if ps.Severity() > b.Posture.Severity() {
				b.Posture, b.Services = ps, []string{svc}
			} else if ps == b.Posture {
				b.Services = append(b.Services, svc)
			}
		}
	}
	return b
}

func (s *Server) handleSLOs(c echo.Context) error {
	ctx := c.Request().Context()
	sts, err := s.sloStatuses(ctx)
	if err != nil {
		return err
	}
	v := views.SLOsView{Statuses: sts, ImportYAML: c.FormValue("yaml"), Table: views.SLOsTable(sts)}
	if id := csvRequested(c); id != "" {
		return servePageTable(c, id, v.Table)
	}
	return render(c, http.StatusOK, views.SLOs(s.page(c, "SLOs", "slos"), v))
}

func sloID(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, domain.Errorf(domain.ENOTFOUND, "No SLO %q.", c.Param("id"))
	}
	return id, nil
}

// sloHistoryDays is how far back the SLO page draws the budget.
const sloHistoryDays = 90

func (s *Server) handleSLO(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := sloID(c)
	if err != nil {
		return err
	}
	slo, err := s.deps.SLOs.SLO(ctx, id)
	if err != nil {
		return err
	}
	st, err := s.deps.SLOs.EvaluateSLO(ctx, slo, s.now())
	if err != nil {
		return err
	}
	alerts := views.BurnAlertsTable(st)
	if id := csvRequested(c); id != "" {
		return servePageTable(c, id, alerts)
	}
	today := domain.Midnight(s.now())
	w := domain.Window{From: today.AddDate(0, 0, -(sloHistoryDays - 1)), To: today}
	hist, err := s.budgetHistory(ctx, slo, w)
	if err != nil {
		return err
	}
	chart := budgetChart(slo, w, hist)
	v := views.SLOView{Status: st, Budget: chart, Alerts: alerts}
	if s.deps.SLOCodec != nil {
		y, err := s.deps.SLOCodec.Marshal([]domain.SLO{slo})
		if err != nil {
			return err
		}
		v.YAML = string(y)
	}
	return render(c, http.StatusOK, views.SLOPage(s.page(c, slo.Title(), "slos"), v))
}

// budgetHistory is the budget remaining at the end of each day of w.
func (s *Server) budgetHistory(ctx context.Context, slo domain.SLO, w domain.Window) ([]domain.BudgetPoint, error) {
	daily, err := s.deps.SLOs.SLODaily(ctx, slo, w.From.AddDate(0, 0, -slo.WindowDays), w.End())
	if err != nil {
		return nil, err
	}
	var days []time.Time
	for d := w.From; !d.After(w.To); d = d.AddDate(0, 0, 1) {
		days = append(days, d)
	}
	return domain.BudgetHistory(slo, daily, days), nil
}

// budgetChart draws a budget history with the posture thresholds as bands.
func budgetChart(slo domain.SLO, w domain.Window, hist []domain.BudgetPoint) views.LineChart {
	c := views.LineChart{Title: slo.Title() + " — error budget remaining (%)", XFrom: w.From, XTo: w.To,
		Bands: []views.Band{{Label: "normal", From: 50, To: 100, Class: "band-elite"}, {Label: "caution", From: 25, To: 50, Class: "band-high"},
			{Label: "freeze non-critical work", From: 10, To: 25, Class: "band-medium"}, {Label: "change freeze", From: -1000, To: 10, Class: "band-low"}},
		Refs: []views.RefLine{{Label: "budget spent", Value: 0, Class: "ref-baseline"}}}
	for _, p := range hist {
		c.Points = append(c.Points, views.OptionalPoint(p.Day, scaled(p.Remaining, 100)))
	}
	return c
}

// sloForm reads the SLO form. The target may be written as a share (0.999)
// or in per cent (99.9).
func sloForm(c echo.Context) (domain.SLO, views.SLOForm, map[string]string) {
	f := views.SLOForm{Name: c.FormValue("name"), DisplayName: c.FormValue("display_name"), Description: c.FormValue("description"),
		Service: c.FormValue("service"), GoodMetric: c.FormValue("good_metric"), GoodAttrs: c.FormValue("good_attrs"),
		TotalMetric: c.FormValue("total_metric"), TotalAttrs: c.FormValue("total_attrs"), Target: c.FormValue("target"), Window: c.FormValue("window")}
	errs := map[string]string{}
	slo := domain.SLO{Name: strings.TrimSpace(f.Name), DisplayName: f.DisplayName, Description: f.Description, Service: f.Service,
		Good: domain.MetricQuery{Metric: f.GoodMetric}, Total: domain.MetricQuery{Metric: f.TotalMetric}}
	var err error
	if slo.Good.Attributes, err = parseAttributes(f.GoodAttrs); err != nil {
		errs["good"] = domain.ErrorMessage(err)
	}
	if slo.Total.Attributes, err = parseAttributes(f.TotalAttrs); err != nil {
		errs["total"] = domain.ErrorMessage(err)
	}
	if t, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(f.Target), "%"), 64); err == nil {
		if t > 1 {
			t /= 100
		}
		slo.Target = math.Round(t*1e9) / 1e9 // 99.9 / 100 is 0.9990000000000001

	}
	slo.WindowDays, _ = strconv.Atoi(f.Window)
	for k, m := range slo.Validate() {
		if errs[k] == "" {
			errs[k] = m
		}
	}
	return slo, f, errs
}

func (s *Server) sloFormPage(c echo.Context, status int, v views.SLOFormView) error {
	services, err := s.deps.DORA.Services(c.Request().Context())
	if err != nil {
		return err
	}
	for _, sv := range services {
		v.Services = append(v.Services, sv.Name)
	}
	title := "New SLO"
	if v.ID != 0 {
		title = "Edit " + v.Form.Name
	}
	return render(c, status, views.SLOFormPage(s.page(c, title, "slos"), v))
}

func (s *Server) handleNewSLO(c echo.Context) error {
	return s.sloFormPage(c, http.StatusOK, views.SLOFormView{Form: views.SLOForm{Target: "99.9", Window: "28", Service: c.QueryParam("service")}})
}

func (s *Server) handleCreateSLO(c echo.Context) error {
	slo, form, errs := sloForm(c)
	if len(errs) == 0 {
		created, err := s.deps.SLOs.CreateSLO(c.Request().Context(), slo, actor(c))
		if err == nil {
			s.forgetSLOStatuses()
			return s.redirectWithFlash(c, "/slos/"+strconv.FormatInt(created.ID, 10), "success", "SLO created.")
		}
		if !formError(err, errs, "name", "") {
			return err
		}
	}
	return s.sloFormPage(c, http.StatusUnprocessableEntity, views.SLOFormView{Form: form, Errors: errs})
}

// formError turns a store's conflict or validation error into the message
// of a form field (conflictField, invalidField; "" is the whole form);
// false for any other error.
func formError(err error, errs map[string]string, conflictField, invalidField string) bool {
	switch domain.ErrorCode(err) {
	case domain.ECONFLICT:
		errs[conflictField] = domain.ErrorMessage(err)
	case domain.EINVALID:
		errs[invalidField] = domain.ErrorMessage(err)
	default:
		return false
	}
	return true
}

func sloFormOf(slo domain.SLO) views.SLOForm {
	attrs := func(m map[string]string) string {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + "=" + m[k]
		}
		return strings.Join(parts, ", ")
	}
	return views.SLOForm{Name: slo.Name, DisplayName: slo.DisplayName, Description: slo.Description, Service: slo.Service,
		GoodMetric: slo.Good.Metric, GoodAttrs: attrs(slo.Good.Attributes), TotalMetric: slo.Total.Metric, TotalAttrs: attrs(slo.Total.Attributes),
		Target: strconv.FormatFloat(slo.Target*100, 'f', -1, 64), Window: strconv.Itoa(slo.WindowDays)}
}

func (s *Server) handleEditSLO(c echo.Context) error {
	id, err := sloID(c)
	if err != nil {
		return err
	}
	slo, err := s.deps.SLOs.SLO(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return s.sloFormPage(c, http.StatusOK, views.SLOFormView{ID: id, Form: sloFormOf(slo)})
}

func (s *Server) handleUpdateSLO(c echo.Context) error {
	id, err := sloID(c)
	if err != nil {
		return err
	}
	slo, form, errs := sloForm(c)
	if len(errs) == 0 {
		_, err := s.deps.SLOs.UpdateSLO(c.Request().Context(), id, actor(c), func(cur *domain.SLO) error {
			slo.ID, slo.CreatedAt = cur.ID, cur.CreatedAt
			*cur = slo
			return nil
		})
		if err == nil {
			s.forgetSLOStatuses()
			return s.redirectWithFlash(c, "/slos/"+strconv.FormatInt(id, 10), "success", "SLO saved.")
		}
		if !formError(err, errs, "name", "") {
			return err
		}
	}
	return s.sloFormPage(c, http.StatusUnprocessableEntity, views.SLOFormView{ID: id, Form: form, Errors: errs})
}

func (s *Server) handleDeleteSLO(c echo.Context) error {
	id, err := sloID(c)
	if err != nil {
		return err
	}
	if err := s.deps.SLOs.DeleteSLO(c.Request().Context(), id, actor(c)); err != nil {
		return err
	}
	s.forgetSLOStatuses()
	return s.redirectWithFlash(c, "/slos", "success", "SLO deleted.")
}

// handleImportSLOs reads OpenSLO YAML pasted or uploaded: every SLO in it
// is created or replaced by name, or, on any error, none.
func (s *Server) handleImportSLOs(c echo.Context) error {
	text := c.FormValue("yaml")
	if fh, err := c.FormFile("file"); err == nil && fh.Size > 0 {
		if fh.Size > maxSLOFile {
			return s.importError(c, text, "The file is larger than 1 MiB.")
		}
		f, err := fh.Open()
		if err != nil {
			return err
		}
		b, err := io.ReadAll(io.LimitReader(f, maxSLOFile))
		f.Close()
		if err != nil {
			return err
		}
		text = string(b)
	}
	if strings.TrimSpace(text) == "" {
		return s.importError(c, text, "Paste OpenSLO YAML or choose a file.")
	}
	slos, err := s.deps.SLOCodec.Unmarshal([]byte(text))
	if err != nil {
		return s.importError(c, text, "The file could not be read: "+err.Error()+".")
	}
	created, updated, err := s.deps.SLOs.ImportSLOs(c.Request().Context(), slos, actor(c))
	if err != nil {
		if domain.ErrorCode(err) == domain.EINVALID {
			return s.importError(c, text, domain.ErrorMessage(err))
		}
		return err
	}
	s.forgetSLOStatuses()
	return s.redirectWithFlash(c, "/slos", "success", "Imported: "+strconv.Itoa(created)+" created, "+strconv.Itoa(updated)+" updated.")
}

func (s *Server) importError(c echo.Context, text, msg string) error {
	sts, err := s.sloStatuses(c.Request().Context())
	if err != nil {
		return err
	}
	return render(c, http.StatusUnprocessableEntity, views.SLOs(s.page(c, "SLOs", "slos"), views.SLOsView{Statuses: sts, ImportYAML: text, ImportError: msg, Table: views.SLOsTable(sts)}))
}

// handleExportSLOs downloads every SLO (or one service's) as OpenSLO YAML.
func (s *Server) handleExportSLOs(c echo.Context) error {
	slos, err := s.deps.SLOs.SLOs(c.Request().Context())
	if err != nil {
		return err
	}
	if svc := c.QueryParam("service"); svc != "" {
		kept := slos[:0]
		for _, slo := range slos {
			if slo.Service == svc {
				kept = append(kept, slo)
			}
		}
		slos = kept
	}
	y, err := s.deps.SLOCodec.Marshal(slos)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderContentDisposition, `attachment; filename="slos.openslo.yaml"`)
	return c.Blob(http.StatusOK, "application/yaml; charset=utf-8", y)
}

// JSON API.

type sloJSON struct {
	ID              int64               `json:"id"`
	Name            string              `json:"name"`
	DisplayName     string              `json:"display_name"`
	Service         string              `json:"service"`
	Good            metricQueryJSON     `json:"good"`
	Total           metricQueryJSON     `json:"total"`
	Target          float64             `json:"target"`
	WindowDays      int                 `json:"window_days"`
	AsOf            time.Time           `json:"as_of"`
	GoodEvents      float64             `json:"good_events"`
	TotalEvents     float64             `json:"total_events"`
	SLI             *float64            `json:"sli"`
	BudgetRemaining *float64            `json:"budget_remaining"`
	Posture         *string             `json:"posture"`
	BurnRates       map[string]*float64 `json:"burn_rates"`
	Alerts          []alertJSON         `json:"alerts"`
}

type metricQueryJSON struct {
	Metric     string            `json:"metric"`
	Attributes map[string]string `json:"attributes"`
}

type alertJSON struct {
	Name      string   `json:"name"`
	Severity  string   `json:"severity"`
	Factor    float64  `json:"factor"`
	Long      string   `json:"long_window"`
	Short     string   `json:"short_window"`
	LongRate  *float64 `json:"long_burn_rate"`
	ShortRate *float64 `json:"short_burn_rate"`
	Firing    bool     `json:"firing"`
}

func toSLOJSON(st domain.SLOStatus) sloJSON {
	s := st.SLO
	q := func(m domain.MetricQuery) metricQueryJSON {
		a := m.Attributes
		if a == nil {
			a = map[string]string{}
		}
		return metricQueryJSON{Metric: m.Metric, Attributes: a}
	}
	out := sloJSON{ID: s.ID, Name: s.Name, DisplayName: s.Title(), Service: s.Service, Good: q(s.Good), Total: q(s.Total),
		Target: s.Target, WindowDays: s.WindowDays, AsOf: st.AsOf.UTC(), GoodEvents: st.Window.Good, TotalEvents: st.Window.Total,
		SLI: st.SLI, BudgetRemaining: st.Remaining, BurnRates: map[string]*float64{}, Alerts: []alertJSON{}}
	if st.Posture != domain.PostureUnknown {
		p := string(st.Posture)
		out.Posture = &p
	}
	for _, d := range domain.BurnWindows() {
		out.BurnRates[views.WindowName(d, "")] = st.BurnRates[d]
	}
	for _, a := range st.Alerts {
		out.Alerts = append(out.Alerts, alertJSON{Name: a.Alert.Name, Severity: a.Alert.Severity, Factor: a.Alert.Factor,
			Long: views.WindowName(a.Alert.Long, ""), Short: views.WindowName(a.Alert.Short, ""), LongRate: a.LongRate, ShortRate: a.ShortRate, Firing: a.Firing})
	}
	return out
}

func (s *Server) handleSLOsAPI(c echo.Context) error {
	sts, err := s.sloStatuses(c.Request().Context())
	if err != nil {
		return err
	}
	out := make([]sloJSON, len(sts))
	for i, st := range sts {
		out[i] = toSLOJSON(st)
	}
	return c.JSON(http.StatusOK, map[string]any{"slos": out})
}

func (s *Server) handleSLOAPI(c echo.Context) error {
	id, err := sloID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	slo, err := s.deps.SLOs.SLO(ctx, id)
	if err != nil {
		return err
	}
	st, err := s.deps.SLOs.EvaluateSLO(ctx, slo, s.now())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toSLOJSON(st))
}
