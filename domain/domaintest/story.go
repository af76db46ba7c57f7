// Package domaintest holds datasets for tests in every package: stories of
// delivery events whose DORA metrics were computed by hand.
package domaintest

import (
	"fmt"
	"time"

	"github.com/throughline/throughline/domain"
)

// Monday is 2 March 2026, 00:00 UTC.
var Monday = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

// Hour returns Monday plus h hours.
func Hour(h float64) time.Time { return Monday.Add(time.Duration(h * float64(time.Hour))) }

// DORAStory is the week of domain/dora_test.go told as events, plus a second
// service in another team that deploys change c1 five hours after checkout:
//
//	checkout (team payments)
//	D1  0h  A1 (c1, c2)      D2 10h A2 (c3), rolled back by R1 11h
//	D3 30h  A3 (c3, c4), I1 names A3 40h–42h
//	D4 45h  A4 (c6), I2 on checkout 46h–46.5h
//	D5 47h  A5 (c5) hotfix     I3 77h–81h (30h after D5: unattributed)
//	D6 80h  A6 (c8) during I3  D7 90h A7 (c7), I5 from 91h, open
//	I4 names A9 (never deployed) 99h–100h
//	search (team discovery): S1 5h, artifact B1 with c1
//
// and noise that must not count: a staging deployment and a staging incident.
func DORAStory() []domain.Event {
	var evs []domain.Event
	n := 0
	add := func(e domain.Event) {
		n++
		e.Identity = domain.Identity{Source: "/story", ID: fmt.Sprintf("e%03d", n)}
		e.Type = "dev.cdevents." + string(e.Kind) + ".0.3.0"
		evs = append(evs, e)
	}
	change := func(id string, start, merged float64) {
		add(domain.Event{Kind: domain.KindChangeCreated, Time: Hour(start), SubjectID: id})
		if merged != 0 {
			add(domain.Event{Kind: domain.KindChangeMerged, Time: Hour(merged), SubjectID: id})
		}
	}
	change("c1", -48, 0)
	change("c2", -10, -2)
	change("c3", 5, 8)
	change("c4", 20, 0)
	change("c5", 46, 0)
	change("c6", 40, 0)
	change("c7", 80, 0)
	change("c8", 70, 75)
	pack := func(artifact string, at float64, changes ...string) {
		for _, c := range changes {
			add(domain.Event{Kind: domain.KindArtifactPackaged, Time: Hour(at), SubjectID: artifact, Artifact: artifact, Change: c})
		}
	}
	pack("A1", -1, "c1", "c2")
	pack("A2", 9, "c3")
	pack("A3", 29, "c3", "c4")
	pack("A4", 44, "c6")
	pack("A5", 46.5, "c5")
	pack("A6", 79, "c8")
	pack("A7", 89, "c7")
	pack("B1", 4, "c1")
	deploy := func(service, env, artifact string, at float64, kind domain.EventKind, hotfix bool, team string) {
		add(domain.Event{Kind: kind, Time: Hour(at), SubjectID: service, Service: service, Environment: env, Artifact: artifact, Hotfix: hotfix, Team: team})
	}
	deploy("checkout", "production", "A1", 0, domain.KindServiceDeployed, false, "payments")
	deploy("checkout", "production", "A2", 10, domain.KindServiceUpgraded, false, "payments")
	deploy("checkout", "production", "A1", 11, domain.KindServiceRollback, false, "payments")
	deploy("checkout", "production", "A3", 30, domain.KindServiceDeployed, false, "payments")
	deploy("checkout", "production", "A4", 45, domain.KindServiceDeployed, false, "payments")
	deploy("checkout", "production", "A5", 47, domain.KindServiceDeployed, true, "payments")
	deploy("checkout", "production", "A6", 80, domain.KindServiceDeployed, false, "payments")
	deploy("checkout", "production", "A7", 90, domain.KindServiceDeployed, false, "payments")
	deploy("checkout", "staging", "A7", 85, domain.KindServiceDeployed, false, "payments")
	deploy("search", "production", "B1", 5, domain.KindServiceDeployed, false, "discovery")
	incident := func(id, artifact, env string, start, resolved float64) {
		add(domain.Event{Kind: domain.KindIncidentDetected, Time: Hour(start), SubjectID: id, Service: "checkout", Environment: env, Artifact: artifact})
		if resolved != 0 {
			add(domain.Event{Kind: domain.KindIncidentResolved, Time: Hour(resolved), SubjectID: id, Service: "checkout", Environment: env})
		}
	}
	incident("I1", "A3", "production", 40, 42)
	incident("I2", "", "production", 46, 46.5)
	incident("I3", "", "production", 77, 81)
	incident("I4", "A9", "production", 99, 100)
	incident("I5", "", "production", 91, 0)
	incident("Istaging", "A7", "staging", 86, 87)
	return evs
}
