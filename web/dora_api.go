package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/throughline/throughline/domain"
)

// maxWindowDays bounds a DORA window (three years).
const maxWindowDays = 1100

// Windows are days from firstWindowDay to a year after today. Delivery data
// from before 2000, or years ahead, comes from a broken clock (a zero Unix
// time is 1970); a window reaching it shows decades of nothing, or the
// junk, where people meant a quarter.
var firstWindowDay = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// lastWindowDay is the latest day a window may reach.
func lastWindowDay(today time.Time) time.Time { return domain.Midnight(today).AddDate(1, 0, 0) }

// checkWindowDay refuses a day outside the windows' range, saying which
// range, for the query parameter name.
func checkWindowDay(name string, t, today time.Time) error {
	if last, day := lastWindowDay(today), domain.Midnight(t); day.Before(firstWindowDay) || day.After(last) {
		return domain.Errorf(domain.EINVALID, "%s must be a day from %s to %s (a year from today), not %s.",
			name, firstWindowDay.Format(domain.DateLayout), last.Format(domain.DateLayout), t.UTC().Format(domain.DateLayout))
	}
	return nil
}

// windowQuery reads from and to. Without them the window is the last 90
// days, today included.
func (s *Server) windowQuery(c echo.Context) (domain.Window, error) {
	return s.windowQueryFrom(c, func(to time.Time) time.Time { return to.AddDate(0, 0, -89) })
}

// windowQueryFrom reads from and to; a missing from is defaultFrom(to).
func (s *Server) windowQueryFrom(c echo.Context, defaultFrom func(to time.Time) time.Time) (domain.Window, error) {
	today := domain.Midnight(s.now())
	parse := func(name string, def time.Time) (time.Time, error) {
		v := strings.TrimSpace(c.QueryParam(name))
		if v == "" {
			return def, nil
		}
		t, err := time.Parse(domain.DateLayout, v)
		if err != nil {
			return time.Time{}, domain.Errorf(domain.EINVALID, "%s must be a date written YYYY-MM-DD, not %q.", name, v)
		}
		return t, checkWindowDay(name, t, today)
	}
	to, err := parse("to", today)
	if err != nil {
		return domain.Window{}, err
	}
	from, err := parse("from", defaultFrom(to))
	if err != nil {
		return domain.Window{}, err
	}
	w, err := domain.NewWindow(from, to)
	if err != nil {
		return domain.Window{}, err
	}
	if w.Days() > maxWindowDays {
		return domain.Window{}, domain.Errorf(domain.EINVALID, "The window is %d days; the limit is %d.", w.Days(), maxWindowDays)
	}
	return w, nil
}

// doraQuery reads the window, service and team.
func (s *Server) doraQuery(c echo.Context) (domain.Window, domain.DORAFilter, error) {
	w, err := s.windowQuery(c)
	if err != nil {
		return domain.Window{}, domain.DORAFilter{}, err
	}
	f := domain.DORAFilter{Service: strings.TrimSpace(c.QueryParam("service")), Team: strings.TrimSpace(c.QueryParam("team"))}
	return w, f, nil
}

// JSON shapes of DESIGN.md section 5. Counts are always numbers; medians,
// rates and tiers are null when their set is empty.
type doraJSON struct {
	From                string      `json:"from"`
	To                  string      `json:"to"`
	CoveredDays         int         `json:"covered_days"`
	DeploymentFrequency freqJSON    `json:"deployment_frequency"`
	LeadTime            leadJSON    `json:"lead_time"`
	ChangeFailureRate   cfrJSON     `json:"change_failure_rate"`
	RecoveryTime        recJSON     `json:"recovery_time"`
	TimeToRestore       restoreJSON `json:"time_to_restore"`
	ReworkRate          reworkJSON  `json:"rework_rate"`
	// QuickCheck scores each metric 0–10 on the DORA Quick Check's scale,
	// beside the 2023 tiers.
	QuickCheck quickCheckJSON `json:"quick_check"`
}

type quickCheckJSON struct {
	Source              string   `json:"source"`
	DeploymentFrequency *float64 `json:"deployment_frequency"`
	LeadTime            *float64 `json:"lead_time"`
	ChangeFailureRate   *float64 `json:"change_failure_rate"`
	RecoveryTime        *float64 `json:"recovery_time"`
	ReworkRate          *float64 `json:"rework_rate"`
	Overall             *float64 `json:"overall"`
}

func toQuickCheckJSON(q domain.QuickCheck) quickCheckJSON {
	return quickCheckJSON{Source: domain.QuickCheckSource, DeploymentFrequency: q.DeploymentFrequency, LeadTime: q.LeadTime,
		ChangeFailureRate: q.ChangeFailureRate, RecoveryTime: q.RecoveryTime, ReworkRate: q.ReworkRate, Overall: q.Overall}
}

type freqJSON struct {
	Deployments int          `json:"deployments"`
	PerDay      *float64     `json:"per_day"`
	Tier        *domain.Tier `json:"tier"`
}

type leadJSON struct {
	Changes                 int          `json:"changes"`
	MedianSeconds           *float64     `json:"median_seconds"`
	P90Seconds              *float64     `json:"p90_seconds"`
	Tier                    *domain.Tier `json:"tier"`
	StartToMergedSeconds    *float64     `json:"start_to_merged_median_seconds"`
	MergedToDeployedSeconds *float64     `json:"merged_to_deployed_median_seconds"`
}

type cfrJSON struct {
	Failed      int          `json:"failed"`
	Deployments int          `json:"deployments"`
	Rate        *float64     `json:"rate"`
	Tier        *domain.Tier `json:"tier"`
}

type recJSON struct {
	Failures      int          `json:"failures"`
	MedianSeconds *float64     `json:"median_seconds"`
	Tier          *domain.Tier `json:"tier"`
}

type restoreJSON struct {
	Incidents     int      `json:"incidents"`
	MedianSeconds *float64 `json:"median_seconds"`
}

type reworkJSON struct {
	Rework      int      `json:"rework"`
	Deployments int      `json:"deployments"`
	Rate        *float64 `json:"rate"`
}

func toDORAJSON(r domain.DORAReport) doraJSON {
	return doraJSON{
		From:                r.Window.From.Format(domain.DateLayout),
		To:                  r.Window.To.Format(domain.DateLayout),
		CoveredDays:         r.CoveredDays,
		DeploymentFrequency: freqJSON{Deployments: r.Deployments, PerDay: r.PerDay, Tier: r.FreqTier},
		LeadTime: leadJSON{Changes: r.LeadChanges, MedianSeconds: r.LeadMedian, P90Seconds: r.LeadP90, Tier: r.LeadTier,
			StartToMergedSeconds: r.StartToMergedMedian, MergedToDeployedSeconds: r.MergedToDeployMedian},
		ChangeFailureRate: cfrJSON{Failed: r.Failed, Deployments: r.NonRollback, Rate: r.FailureRate, Tier: r.FailureTier},
		RecoveryTime:      recJSON{Failures: r.Recovered, MedianSeconds: r.RecoveryMedian, Tier: r.RecoveryTier},
		TimeToRestore:     restoreJSON{Incidents: r.Incidents, MedianSeconds: r.RestoreMedian},
		ReworkRate:        reworkJSON{Rework: r.Rework, Deployments: r.Deployments, Rate: r.ReworkRate},
		QuickCheck:        toQuickCheckJSON(domain.QuickCheckOf(r)),
	}
}

func (s *Server) handleDORAAPI(c echo.Context) error {
	w, f, err := s.doraQuery(c)
	if err != nil {
		return err
	}
	r, err := s.deps.DORA.DORAReport(c.Request().Context(), w, f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toDORAJSON(r))
}

type trendBucketJSON struct {
	Start string `json:"start"`
	doraJSON
}

func (s *Server) handleDORATrendAPI(c echo.Context) error {
	w, f, err := s.doraQuery(c)
	if err != nil {
		return err
	}
	b := domain.Bucket(c.QueryParam("bucket"))
	switch b {
	case "":
		b = domain.BucketWeek
	case domain.BucketWeek, domain.BucketMonth:
	default:
		return domain.Errorf(domain.EINVALID, "bucket must be week or month, not %q.", b)
	}
	rs, err := s.deps.DORA.DORATrend(c.Request().Context(), w, b, f)
	if err != nil {
		return err
	}
	out := make([]trendBucketJSON, len(rs))
	for i, r := range rs {
		out[i] = trendBucketJSON{Start: r.Window.BucketStart.Format(domain.DateLayout), doraJSON: toDORAJSON(r)}
	}
	return c.JSON(http.StatusOK, map[string]any{"buckets": out})
}

type deploymentJSON struct {
	ID              string       `json:"id"`
	Source          string       `json:"source"`
	Service         string       `json:"service"`
	Team            string       `json:"team"`
	Artifact        string       `json:"artifact"`
	Time            time.Time    `json:"time"`
	Rollback        bool         `json:"rollback"`
	Hotfix          bool         `json:"hotfix"`
	Failed          bool         `json:"failed"`
	FailureReason   *string      `json:"failure_reason"`
	Rules           []string     `json:"rules"`
	Incidents       []string     `json:"incidents"`
	Override        *overrideOut `json:"override"`
	RecoveredAt     *time.Time   `json:"recovered_at"`
	RecoverySeconds *float64     `json:"recovery_seconds"`
	Rework          bool         `json:"rework"`
	ReworkReason    *string      `json:"rework_reason"`
	Changes         []string     `json:"changes"`
}

type overrideOut struct {
	Failed bool      `json:"failed"`
	Reason string    `json:"reason"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
}

func toDeploymentJSON(r domain.DeploymentRecord) deploymentJSON {
	d, v := r.Deployment, r.Verdict
	out := deploymentJSON{
		ID: d.Event.ID, Source: d.Event.Source, Service: d.Service, Team: r.Team, Artifact: d.Artifact, Time: d.At.UTC(),
		Rollback: d.Rollback, Hotfix: d.Hotfix, Failed: v.Failed, Rework: v.Rework,
		Rules: []string{}, Incidents: []string{}, Changes: []string{},
	}
	if reason := r.FailureReason(); reason != "" {
		out.FailureReason = &reason
	}
	for _, rule := range v.Rules {
		out.Rules = append(out.Rules, string(rule))
	}
	out.Incidents = append(out.Incidents, v.Incidents...)
	out.Changes = append(out.Changes, v.Changes...)
	if o := v.Override; o != nil {
		out.Override = &overrideOut{Failed: o.Failed, Reason: o.Reason, By: o.By, At: o.At.UTC()}
	}
	if secs, ok := v.RecoverySeconds(d); ok {
		t := v.RecoveredAt.UTC()
		out.RecoveredAt, out.RecoverySeconds = &t, &secs
	}
	if v.Rework {
		reason := string(v.ReworkReason)
		out.ReworkReason = &reason
	}
	return out
}

func (s *Server) handleDeploymentsAPI(c echo.Context) error {
	w, f, err := s.doraQuery(c)
	if err != nil {
		return err
	}
	limit, err := limitParam(c, 10000, 10000)
	if err != nil {
		return err
	}
	failedOnly := c.QueryParam("failed") == "true"
	list, err := s.deps.DORA.DeploymentsIn(c.Request().Context(), w, f, failedOnly, limit)
	if err != nil {
		return err
	}
	out := make([]deploymentJSON, len(list))
	for i, r := range list {
		out[i] = toDeploymentJSON(r)
	}
	return c.JSON(http.StatusOK, map[string]any{"deployments": out})
}

type incidentJSON struct {
	ID                 string     `json:"id"`
	Service            string     `json:"service"`
	Artifact           string     `json:"artifact"`
	Environment        string     `json:"environment"`
	Start              *time.Time `json:"start"`
	Resolved           *time.Time `json:"resolved"`
	RestoreSeconds     *float64   `json:"restore_seconds"`
	Attributed         bool       `json:"attributed"`
	Deployment         *eventRef  `json:"deployment"`
	Rule               *string    `json:"rule"`
	UnattributedReason *string    `json:"unattributed_reason"`
}

type eventRef struct {
	ID     string `json:"id"`
	Source string `json:"source"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func toIncidentJSON(r domain.IncidentRecord) incidentJSON {
	i := r.Incident
	out := incidentJSON{ID: i.ID, Service: i.Service, Artifact: i.Artifact, Environment: r.Environment,
		Start: timePtr(i.Start), Resolved: timePtr(i.Resolved), Attributed: r.Attributed()}
	if secs, ok := i.RestoreSeconds(); ok {
		out.RestoreSeconds = &secs
	}
	if r.Attributed() {
		rule := string(r.Rule)
		out.Deployment, out.Rule = &eventRef{ID: r.DeploymentEvent.ID, Source: r.DeploymentEvent.Source}, &rule
	} else {
		reason := r.Unattributed
		out.UnattributedReason = &reason
	}
	return out
}

func (s *Server) handleIncidentsAPI(c echo.Context) error {
	w, f, err := s.doraQuery(c)
	if err != nil {
		return err
	}
	limit, err := limitParam(c, 10000, 10000)
	if err != nil {
		return err
	}
	list, err := s.deps.DORA.IncidentsIn(c.Request().Context(), w, f, limit)
	if err != nil {
		return err
	}
	out := make([]incidentJSON, len(list))
	for i, r := range list {
		out[i] = toIncidentJSON(r)
	}
	return c.JSON(http.StatusOK, map[string]any{"incidents": out})
}

type overrideIn struct {
	Source    string   `json:"source"`
	ID        string   `json:"id"`
	Failed    *bool    `json:"failed"`
	Reason    string   `json:"reason"`
	Incidents []string `json:"incidents"`
}

// handleOverrideAPI sets ({"failed": true|false, "reason", "incidents"}) or
// clears ({"failed": null}) the verdict on a production deployment;
// "incidents" names the incidents a failed deployment caused.
func (s *Server) handleOverrideAPI(c echo.Context) error {
	var in overrideIn
	const maxBody = 64 << 10
	dec := json.NewDecoder(http.MaxBytesReader(c.Response(), c.Request().Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		if errors.As(err, new(*http.MaxBytesError)) {
			return bodyTooLarge(maxBody)
		}
		return domain.Errorf(domain.EINVALID, "Send JSON: {\"source\": …, \"id\": …, \"failed\": true|false|null, \"reason\": …, \"incidents\": […]}.")
	}
	if in.Source == "" || in.ID == "" {
		return domain.Errorf(domain.EINVALID, "source and id name the deployment event.")
	}
	tok, _ := c.Get(ctxToken).(*domain.APIToken)
	by := "token:" + tok.Name
	id := domain.Identity{Source: in.Source, ID: in.ID}
	ctx := c.Request().Context()
	var err error
	if in.Failed == nil {
		err = s.deps.DORA.ClearOverride(ctx, id, by)
	} else {
		err = s.deps.DORA.SetOverride(ctx, id, *in.Failed, in.Reason, by, in.Incidents)
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]bool{"ok": true})
}
