package domain

import (
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// SLO is a ratio service level objective of a service (DESIGN.md section 4,
// SLO constraints): the share of good events among all events, from two
// telemetry metrics, over a rolling window. Telemetry samples of the two
// metrics are counts per interval (requests in the last minute, say); the
// SLI over a period is Σgood / Σtotal of the samples in it.
type SLO struct {
	ID          int64
	Name        string // a slug, unique: checkout-availability
	DisplayName string
	Description string
	Service     string
	Good        MetricQuery
	Total       MetricQuery
	Target      float64 // 0 < target < 1, e.g. 0.999
	WindowDays  int     // 28 or 30
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// MetricQuery names a telemetry metric and the attributes its series must
// carry.
type MetricQuery struct {
	Metric     string
	Attributes map[string]string
}

// Title is the SLO's display name, or its name.
func (s SLO) Title() string {
	if s.DisplayName != "" {
		return s.DisplayName
	}
	return s.Name
}

// Window is the SLO's rolling window.
func (s SLO) Window() time.Duration { return time.Duration(s.WindowDays) * 24 * time.Hour }

var sloName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// Validate checks an SLO as a person or a file gave it, one message per
// field.
func (s SLO) Validate() map[string]string {
	errs := map[string]string{}
	if !sloName.MatchString(s.Name) {
		errs["name"] = "Give a name of lower-case letters, digits and dashes (checkout-availability), at most 63 characters."
	}
	if strings.TrimSpace(s.Service) == "" {
		errs["service"] = "Name the service this objective is for."
	} else if err := CheckName("service", s.Service); err != nil {
		errs["service"] = ErrorMessage(err)
	}
	if strings.TrimSpace(s.Good.Metric) == "" {
		errs["good"] = "Name the metric that counts good events."
	} else if err := CheckName("metric", s.Good.Metric); err != nil {
		errs["good"] = ErrorMessage(err)
	} else if err := checkNameAttributes(s.Good.Attributes); err != nil {
		errs["good"] = ErrorMessage(err)
	}
	if strings.TrimSpace(s.Total.Metric) == "" {
		errs["total"] = "Name the metric that counts all events."
	} else if err := CheckName("metric", s.Total.Metric); err != nil {
		errs["total"] = ErrorMessage(err)
	} else if err := checkNameAttributes(s.Total.Attributes); err != nil {
		errs["total"] = ErrorMessage(err)
	}
	if !(s.Target > 0 && s.Target < 1) || math.IsNaN(s.Target) {
		errs["target"] = "The target is a share between 0 and 1 exclusive, such as 0.999 (99.9%)."
	}
	if s.WindowDays != 28 && s.WindowDays != 30 {
		errs["window"] = "The window is 28 or 30 days."
	}
	return errs
}

// Counts are good and total events over a period.
type Counts struct {
	Good, Total float64
}

// SLI is good / total; nil without events.
func (c Counts) SLI() *float64 {
	if c.Total <= 0 {
		return nil
	}
	v := c.Good / c.Total
	return &v
}

// BurnRate is how fast a period spends the error budget: its error rate
// over the rate the target allows. 1 spends the budget exactly over the
// window; nil without events.
func BurnRate(c Counts, target float64) *float64 {
	sli := c.SLI()
	if sli == nil {
		return nil
	}
	b := (1 - *sli) / (1 - target)
	if b < 0 { // good > total: bad data, no negative burn
		b = 0
	}
	return &b
}

// BurnAlert is a multi-window burn-rate alert: it fires when both the long
// and the short window burn at least Factor times the sustainable rate.
type BurnAlert struct {
	Name     string
	Severity string // page, ticket
	Factor   float64
	Long     time.Duration
	Short    time.Duration
}

// BurnAlerts are the four alerts of DESIGN.md section 4.
var BurnAlerts = []BurnAlert{
	{Name: "14.4x-1h", Severity: "page", Factor: 14.4, Long: time.Hour, Short: 5 * time.Minute},
	{Name: "6x-6h", Severity: "page", Factor: 6, Long: 6 * time.Hour, Short: 30 * time.Minute},
	{Name: "3x-1d", Severity: "ticket", Factor: 3, Long: 24 * time.Hour, Short: 2 * time.Hour},
	{Name: "1x-3d", Severity: "ticket", Factor: 1, Long: 72 * time.Hour, Short: 6 * time.Hour},
}

// BurnWindows lists every window the alerts read, shortest first.
func BurnWindows() []time.Duration {
	seen := map[time.Duration]bool{}
	var out []time.Duration
	for _, a := range BurnAlerts {
		for _, d := range []time.Duration{a.Short, a.Long} {
			if !seen[d] {
				seen[d] = true
				out = append(out, d)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Posture is what a service's error budget allows.
type Posture string

const (
	PostureUnknown     Posture = ""                   // no events in the window
	PostureNormal      Posture = "normal"             // > 50% of the budget left
	PostureCaution     Posture = "caution"            // 25–50%
	PostureFreezeMinor Posture = "freeze-noncritical" // 10–25%: only critical work ships
	PostureFreeze      Posture = "change-freeze"      // < 10%
)

// PostureOf rates the budget remaining (a fraction; below 0 when overspent).
// The fraction is rounded to nine decimals first, so that a budget exactly
// at a threshold is not moved across it by floating-point noise.
func PostureOf(remaining *float64) Posture {
	if remaining == nil {
		return PostureUnknown
	}
	r := math.Round(*remaining*1e9) / 1e9
	switch {
	case r > 0.5:
		return PostureNormal
	case r >= 0.25:
		return PostureCaution
	case r >= 0.10:
		return PostureFreezeMinor
	}
	return PostureFreeze
}

// Label is the posture for people.
func (p Posture) Label() string {
	switch p {
	case PostureNormal:
		return "Normal"
	case PostureCaution:
		return "Caution"
	case PostureFreezeMinor:
		return "Freeze non-critical work"
	case PostureFreeze:
		return "Change freeze"
	}
	return "No data"
}

// Severity orders postures, worst highest.
func (p Posture) Severity() int {
	switch p {
	case PostureCaution:
		return 2
	case PostureFreezeMinor:
		return 3
	case PostureFreeze:
		return 4
	case PostureNormal:
		return 1
	}
	return 0
}

// Worst returns the more severe of two postures.
func Worst(a, b Posture) Posture {
	if b.Severity() > a.Severity() {
		return b
	}
	return a
}

// BudgetRemaining is the share of the error budget left over a window's
// counts: 1 − bad / allowed bad, where allowed bad = (1 − target) × total.
// Negative when overspent; nil without events.
func BudgetRemaining(c Counts, target float64) *float64 {
	if c.Total <= 0 {
		return nil
	}
	bad := math.Max(0, c.Total-c.Good)
	r := 1 - bad/((1-target)*c.Total)
	return &r
}

// AlertState is one burn-rate alert evaluated now.
type AlertState struct {
	Alert     BurnAlert
	LongRate  *float64
	ShortRate *float64
	Firing    bool
}

// SLOStatus is an SLO evaluated at a moment.
type SLOStatus struct {
	SLO       SLO
	AsOf      time.Time
	Window    Counts // over the rolling window
	SLI       *float64
	Remaining *float64 // budget remaining, fraction
	Posture   Posture
	BurnRates map[time.Duration]*float64
	Alerts    []AlertState
}

// Firing lists the alerts that fire.
func (s SLOStatus) Firing() []AlertState {
	var out []AlertState
	for _, a := range s.Alerts {
		if a.Firing {
			out = append(out, a)
		}
	}
	return out
}

// AlertKey names the set of firing alerts, "" when none: a change of key is
// a change of alert state.
func (s SLOStatus) AlertKey() string {
	var names []string
	for _, a := range s.Firing() {
		names = append(names, a.Alert.Name)
	}
	return strings.Join(names, ",")
}

// EvaluateSLO computes an SLO's status from the counts of its rolling
// window and of every burn window (keyed by duration, as BurnWindows
// lists them).
func EvaluateSLO(s SLO, window Counts, burn map[time.Duration]Counts, asOf time.Time) SLOStatus {
	st := SLOStatus{SLO: s, AsOf: asOf, Window: window, SLI: window.SLI(), BurnRates: map[time.Duration]*float64{}}
	st.Remaining = BudgetRemaining(window, s.Target)
	st.Posture = PostureOf(st.Remaining)
	for d, c := range burn {
		st.BurnRates[d] = BurnRate(c, s.Target)
	}
	for _, a := range BurnAlerts {
		as := AlertState{Alert: a, LongRate: st.BurnRates[a.Long], ShortRate: st.BurnRates[a.Short]}
		as.Firing = as.LongRate != nil && as.ShortRate != nil && *as.LongRate >= a.Factor && *as.ShortRate >= a.Factor
		st.Alerts = append(st.Alerts, as)
	}
	return st
}

// CountPoint is good and total events in one bucket starting At.
type CountPoint struct {
	At time.Time
	Counts
}

// SumCounts adds up the points in [from, to).
func SumCounts(points []CountPoint, from, to time.Time) Counts {
	var c Counts
	for _, p := range points {
		if !p.At.Before(from) && p.At.Before(to) {
			c.Good += p.Good
			c.Total += p.Total
		}
	}
	return c
}

// BudgetPoint is the budget remaining at the end of a day.
type BudgetPoint struct {
	Day       time.Time
	Remaining *float64
	Posture   Posture
}

// BudgetHistory is the budget remaining at the end of each day of days,
// over the rolling window ending there, from daily counts.
func BudgetHistory(s SLO, daily []CountPoint, days []time.Time) []BudgetPoint {
	out := make([]BudgetPoint, len(days))
	for i, d := range days {
		end := d.AddDate(0, 0, 1)
		c := SumCounts(daily, end.AddDate(0, 0, -s.WindowDays), end)
		r := BudgetRemaining(c, s.Target)
		out[i] = BudgetPoint{Day: d, Remaining: r, Posture: PostureOf(r)}
	}
	return out
}

// FormatTarget writes a target as a percentage: 0.999 → "99.9%".
func FormatTarget(t float64) string {
	return strconv.FormatFloat(t*100, 'f', -1, 64) + "%"
}
