package domain

import (
	"strings"
	"testing"
	"time"
)

func TestCheckLimits(t *testing.T) {
	long := strings.Repeat("é", MaxNameBytes/2) + "x" // 257 bytes, 129 characters
	atName := strings.Repeat("a", MaxNameBytes)
	atID := strings.Repeat("i", MaxIdentifierBytes)
	base := Event{Identity: Identity{Source: "/ci", ID: "1"}, Kind: KindServiceDeployed, SubjectID: "checkout", Service: "checkout", Environment: "production"}
	with := func(f func(*Event)) Event {
		ev := base
		f(&ev)
		return ev
	}
	sample := func(metric string, attrs map[string]string) Event {
		return Event{Identity: base.Identity, Kind: KindTelemetry, Samples: []Sample{{Metric: "ok"}, {Metric: metric, Attributes: attrs}}}
	}
	for _, tc := range []struct {
		name string
		ev   Event
		bad  string // a word the refusal names; "" when accepted
	}{
		{"plain", base, ""},
		{"names at the limit", with(func(e *Event) { e.Service, e.Environment, e.Team = atName, atName, atName }), ""},
		{"identifiers at the limit", with(func(e *Event) { e.ID, e.Source, e.SubjectID, e.Artifact = atID, atID, atID, atID }), ""},
		{"service one byte over", with(func(e *Event) { e.Service = long }), "service"},
		{"service of 5,000 characters", with(func(e *Event) { e.Service = strings.Repeat("s", 5000) }), "service"},
		{"environment", with(func(e *Event) { e.Environment = long }), "environment"},
		{"team", with(func(e *Event) { e.Team = long }), "team"},
		{"id over 64 KiB", with(func(e *Event) { e.ID = strings.Repeat("i", 64<<10+1) }), "id"},
		{"source", with(func(e *Event) { e.Source = atID + "/" }), "source"},
		{"subject id", with(func(e *Event) { e.SubjectID = atID + "x" }), "subject.id"},
		{"artifact", with(func(e *Event) { e.Artifact = atID + "x" }), "artifactId"},
		{"change", with(func(e *Event) { e.Change = atID + "x" }), "change.id"},
		{"metric", sample(long, nil), "metric"},
		{"metric at the limit", sample(atName, map[string]string{"service": atName, "route": strings.Repeat("/r", 700)}), ""},
		{"attributes over 2 KiB", sample("m", map[string]string{"route": strings.Repeat("/r", 1100)}), "attributes are 2213 bytes"},
		{"attributes over 2 KiB once escaped", sample("m", map[string]string{"route": strings.Repeat("\x01", 600)}), "attributes are 2413 bytes"},
		{"service attribute", sample("m", map[string]string{"service": long}), "service"},
		{"env attribute", sample("m", map[string]string{"env": long}), "environment"},
		{"environment attribute", sample("m", map[string]string{"environment": long}), "environment"},
		{"team attribute", sample("m", map[string]string{"team": long}), "team"},
	} {
		err := tc.ev.CheckLimits()
		if tc.bad == "" {
			if err != nil {
				t.Errorf("%s: refused: %v", tc.name, err)
			}
			continue
		}
		if RejectReason(err) != ReasonInvalidContent || !strings.Contains(ErrorMessage(err), tc.bad) || len(ErrorMessage(err)) > maxRejectMessage {
			t.Errorf("%s: %v; want invalid_content naming %q", tc.name, err, tc.bad)
		}
	}
}

func TestCheckName(t *testing.T) {
	if err := CheckName("service", strings.Repeat("a", MaxNameBytes)); err != nil {
		t.Errorf("256 bytes refused: %v", err)
	}
	err := CheckName("service", strings.Repeat("a", 5000))
	if ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), "5000 bytes") || !strings.Contains(ErrorMessage(err), "256") {
		t.Errorf("5000 bytes: %v", err)
	}
}

func TestCheckTime(t *testing.T) {
	arrived := time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)
	deploy := func(at time.Time) Event { return Event{Kind: KindServiceDeployed, Time: at} }
	samples := func(at ...time.Time) Event {
		ev := Event{Kind: KindTelemetry, Time: arrived} // the CloudEvent time does not count for telemetry
		for _, t := range at {
			ev.Samples = append(ev.Samples, Sample{Metric: "m", Time: t})
		}
		return ev
	}
	for _, tc := range []struct {
		name   string
		ev     Event
		reason string
	}{
		{"now", deploy(arrived), ""},
		{"a year ago", deploy(arrived.AddDate(-1, 0, 0)), ""},
		{"exactly 24 h ahead", deploy(arrived.Add(24 * time.Hour)), ""},
		{"24 h and a second ahead", deploy(arrived.Add(24*time.Hour + time.Second)), ReasonFutureTime},
		{"year 9999", deploy(time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)), ReasonFutureTime},
		{"2000-01-01", deploy(EarliestEventTime), ""},
		{"a second before 2000", deploy(EarliestEventTime.Add(-time.Second)), ReasonBadTimestamp},
		{"Unix time 0", deploy(time.Unix(0, 0).UTC()), ReasonBadTimestamp},
		{"samples in range", samples(arrived.Add(-time.Hour), arrived.Add(23*time.Hour)), ""},
		{"one sample from the future", samples(arrived, arrived.Add(25*time.Hour)), ReasonFutureTime},
		{"one sample from 1970", samples(arrived, time.Unix(0, 0).UTC()), ReasonBadTimestamp},
	} {
		err := tc.ev.CheckTime(arrived)
		if got := RejectReason(err); got != tc.reason {
			t.Errorf("%s: reason %q (%v); want %q", tc.name, got, err, tc.reason)
		}
		if err != nil && !strings.Contains(ErrorMessage(err), "20") {
			t.Errorf("%s: the message %q does not quote the time", tc.name, ErrorMessage(err))
		}
	}
	// The telemetry event's own time, later than the tolerance, is not a
	// sample's: only samples date telemetry.
	ev := samples(arrived)
	ev.Time = arrived.AddDate(1, 0, 0)
	if err := ev.CheckTime(arrived); err != nil {
		t.Errorf("telemetry dated by its envelope: %v", err)
	}
}

// Every form and import that takes a name refuses one over the limit, on
// the field that holds it (a long SLO service made every alert evaluation
// close the NATS connection).
func TestValidateRefusesLongNames(t *testing.T) {
	long := strings.Repeat("s", 5000)
	slo := SLO{Name: "checkout-availability", Service: "checkout", Good: MetricQuery{Metric: "good"}, Total: MetricQuery{Metric: "all"}, Target: 0.99, WindowDays: 28}
	if errs := slo.Validate(); len(errs) != 0 {
		t.Fatalf("a valid SLO: %v", errs)
	}
	for field, change := range map[string]func(*SLO){
		"service": func(s *SLO) { s.Service = long },
		"good":    func(s *SLO) { s.Good.Metric = long },
		"total":   func(s *SLO) { s.Total.Metric = long },
	} {
		bad := slo
		change(&bad)
		if msg := bad.Validate()[field]; !strings.Contains(msg, "5000 bytes") {
			t.Errorf("SLO %s of 5,000 bytes: %q", field, msg)
		}
	}
	bad := slo
	bad.Good.Attributes = map[string]string{"env": long}
	if msg := bad.Validate()["good"]; !strings.Contains(msg, "environment") {
		t.Errorf("SLO good query env of 5,000 bytes: %q", msg)
	}

	kr := KeyResult{Title: "Conversion", Metric: long, Direction: Increase, Baseline: 1, Target: 2, Attributes: map[string]string{"service": long}}
	errs := kr.Validate()
	if !strings.Contains(errs["metric"], "5000 bytes") || !strings.Contains(errs["attributes"], "service") {
		t.Errorf("key result: %v", errs)
	}

	vs := ValueStream{Name: "Checkout", Stages: DefaultStages(), Teams: []string{"payments", long}, Services: []string{long}}
	errs = vs.Validate()
	if !strings.Contains(errs["teams"], "team name is 5000 bytes") || !strings.Contains(errs["services"], "service name is 5000 bytes") {
		t.Errorf("value stream: %v", errs)
	}
}
