package domain

import (
	"reflect"
	"testing"
	"time"
)

func step(pk int64, hours float64, kind EventKind, artifact string) ProdRolloutStep {
	return ProdRolloutStep{PK: pk, Event: Identity{Source: "/flagger", ID: "s" + pkString(pk)}, Service: "checkout",
		Artifact: artifact, Kind: kind, At: h(hours)}
}

func verdictByPK(t *testing.T, ev ServiceEvaluation, pk int64) (ProdDeployment, Verdict) {
	t.Helper()
	for i, d := range ev.Deployments {
		if d.PK == pk {
			return d, ev.Verdicts[i]
		}
	}
	t.Fatalf("no deployment %d in %+v", pk, ev.Deployments)
	return ProdDeployment{}, Verdict{}
}

// A rollout of A2 starts at 10h, moves its canary at 11h, and is aborted at
// 12h; the CD tool also sent service.deployed for A2 at 10h30, which is the
// same deployment. A retry starts at 20h and is promoted at 22h. By hand:
// three production deployments (D1 at 0h, the rollout at 10h, the retry at
// 20h); the first rollout is failed by rule rollout_aborted with the abort's
// event id, recovered at the abort: 2h = 7200 s; the retry is not failed.
func TestAbortedRolloutIsOneFailedDeploymentRecoveredAtTheAbort(t *testing.T) {
	hist := ServiceHistory{
		Deployments: []ProdDeployment{dep(1, 0, "A1"), dep(3, 10.5, "A2")},
		RolloutSteps: []ProdRolloutStep{
			step(20, 10, KindRolloutStarted, "A2"), step(21, 11, KindRolloutProgressed, "A2"),
			step(22, 12, KindRolloutAborted, "A2"),
			step(23, 20, KindRolloutStarted, "A2"), step(24, 22, KindRolloutPromoted, "A2"),
		},
	}
	ev := EvaluateService(hist)
	var pks []int64
	for _, d := range ev.Deployments {
		pks = append(pks, d.PK)
	}
	if !reflect.DeepEqual(pks, []int64{1, 20, 23}) {
		t.Fatalf("deployments %v, want [1 20 23] (the service.deployed during the rollout is the same deployment)", pks)
	}
	d, v := verdictByPK(t, ev, 20)
	if !d.At.Equal(h(10)) || d.Artifact != "A2" {
		t.Fatalf("rollout deployment %+v, want at 10h of A2", d)
	}
	if !v.Failed || !reflect.DeepEqual(v.Rules, []FailureRule{RuleRolloutAborted}) || v.AbortedBy == nil || v.AbortedBy.Event.ID != "s2" {
		t.Fatalf("aborted rollout verdict %+v", v)
	}
	if s, ok := v.RecoverySeconds(d); !ok || s != 7200 || v.RecoveredBy != RecoveredByAbort {
		t.Fatalf("recovery %v %v by %s, want 7200 s by the abort", s, ok, v.RecoveredBy)
	}
	if _, v := verdictByPK(t, ev, 23); v.Failed {
		t.Fatalf("the promoted retry failed: %+v", v)
	}
	if _, v := verdictByPK(t, ev, 1); v.Failed {
		t.Fatalf("D1 failed: %+v", v)
	}
}

// A rollout still running is one deployment, not failed; a service.deployed
// of another artifact during it stays a deployment of its own.
func TestRunningRolloutAndOtherArtifacts(t *testing.T) {
	ev := EvaluateService(ServiceHistory{
		Deployments:  []ProdDeployment{dep(1, 5, "B1")},
		RolloutSteps: []ProdRolloutStep{step(20, 1, KindRolloutStarted, "A2"), step(21, 2, KindRolloutProgressed, "A2")},
	})
	if len(ev.Deployments) != 2 {
		t.Fatalf("deployments %+v, want the rollout and B1", ev.Deployments)
	}
	for _, v := range ev.Verdicts {
		if v.Failed {
			t.Fatalf("failed: %+v", v)
		}
	}
}

// D2 at 10h; incident I1 on the service from 12h, resolved at 20h, is
// attributed to D2 (rule 3). The flag naming the service is switched off at
// 14h: D2 recovers at 14h (4h = 14400 s) by the switch-off. A switch-off
// before the incident (11h) or a change to 25 % does nothing: D2 recovers at
// the resolution, 10h = 36000 s. A switch to 0 % counts as off.
func TestFlagSwitchedOffDuringAnIncidentRecoversItsDeployments(t *testing.T) {
	flag := func(hours float64, off bool) ProdFlagSwitch {
		return ProdFlagSwitch{Event: Identity{Source: "/flags", ID: "f"}, Flag: "new-checkout", At: h(hours), Off: off}
	}
	cases := []struct {
		name  string
		flags []ProdFlagSwitch
		want  float64
		by    Recovery
	}{
		{"off during the incident", []ProdFlagSwitch{flag(13, false), flag(14, true)}, 14400, RecoveredByFlagOff},
		{"off before the incident", []ProdFlagSwitch{flag(11, true)}, 36000, RecoveredByResolution},
		{"only lowered", []ProdFlagSwitch{flag(14, false)}, 36000, RecoveredByResolution},
		{"off after resolution", []ProdFlagSwitch{flag(21, true)}, 36000, RecoveredByResolution},
		{"no flag", nil, 36000, RecoveredByResolution},
	}
	for _, c := range cases {
		ev := EvaluateService(ServiceHistory{
			Deployments:  []ProdDeployment{dep(1, 0, "A1"), dep(2, 10, "A2")},
			Incidents:    []ProdIncident{incident("I1", 12, 20, "")},
			FlagSwitches: c.flags,
		})
		if len(ev.Deployments) != 2 {
			t.Fatalf("%s: flag changes became deployments: %+v", c.name, ev.Deployments)
		}
		d, v := verdictByPK(t, ev, 2)
		s, ok := v.RecoverySeconds(d)
		if !v.Failed || !ok || s != c.want || v.RecoveredBy != c.by {
			t.Errorf("%s: recovered after %v s (%v) by %s, want %v s by %s", c.name, s, ok, v.RecoveredBy, c.want, c.by)
		}
		if (c.by == RecoveredByFlagOff) != (v.FlagOff != nil) {
			t.Errorf("%s: FlagOff %+v", c.name, v.FlagOff)
		}
	}
	// An open incident: the switch-off alone recovers it.
	ev := EvaluateService(ServiceHistory{
		Deployments:  []ProdDeployment{dep(2, 10, "A2")},
		Incidents:    []ProdIncident{incident("I1", 12, 0, "")},
		FlagSwitches: []ProdFlagSwitch{flag(15, true)},
	})
	d, v := verdictByPK(t, ev, 2)
	if s, ok := v.RecoverySeconds(d); !ok || s != 5*3600 {
		t.Fatalf("open incident, flag off at 15h: %v %v, want 18000 s", s, ok)
	}
}

func TestEvidenceAnchor(t *testing.T) {
	flag := func(hours, pct float64) ExposurePoint {
		return ExposurePoint{At: h(hours), Kind: ExposureFlag, Name: "f", Step: KindFlagChanged, Percent: pct, Full: pct >= 100}
	}
	promoted := ExposurePoint{At: h(40), Kind: ExposureRollout, Step: KindRolloutPromoted, Percent: 100, Full: true}
	started := ExposurePoint{At: h(30), Kind: ExposureRollout, Step: KindRolloutStarted, Percent: 10}
	first := h(1)
	cases := []struct {
		name   string
		points []ExposurePoint
		first  time.Time
		kind   AnchorKind
		at     time.Time
	}{
		{"flag 5, 25, 100, off, 100", []ExposurePoint{flag(2, 5), flag(3, 25), flag(4, 100), flag(5, 0), flag(6, 100)}, first, AnchorFlagFull, h(4)},
		{"flag full then rollout promoted", []ExposurePoint{flag(4, 100), started, promoted}, first, AnchorFlagAndRollout, h(40)},
		{"rollout promoted then flag full", []ExposurePoint{flag(50, 100), started, promoted}, first, AnchorFlagAndRollout, h(50)},
		{"flag never full", []ExposurePoint{flag(2, 5), flag(3, 25)}, first, AnchorNotFullYet, time.Time{}},
		{"flag full, rollout not promoted", []ExposurePoint{flag(4, 100), started}, first, AnchorNotFullYet, time.Time{}},
		{"rollout only", []ExposurePoint{started, promoted}, first, AnchorRolloutPromoted, h(40)},
		{"neither", nil, first, AnchorFirstDeployment, first},
		{"nothing", nil, time.Time{}, AnchorNotInProduction, time.Time{}},
	}
	for _, c := range cases {
		a := EvidenceAnchor(c.points, c.first)
		if a.Kind != c.kind || !a.At.Equal(c.at) || a.Text == "" {
			t.Errorf("%s: %+v, want %s at %v", c.name, a, c.kind, c.at)
		}
	}
}
