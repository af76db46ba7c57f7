package domaintest

import (
	"fmt"
	"slices"
	"time"

	"github.com/throughline/throughline/domain"
)

// ServiceStory builds one service's production history by hand, hour by
// hour from Monday: changes that work on ideas, the artifacts that package
// them and the deployments and rollbacks that ship those artifacts. It tells
// the same story as pure inputs (Deployments, Carries) for domain tests and
// as CDEvents (Events) for store and page tests.
type ServiceStory struct {
	Service  string
	deploys  []domain.ProdDeployment
	packaged map[string][]string // artifact → changes
	changes  []storyChange
}

type storyChange struct {
	id, idea string
	at       float64
}

// NewServiceStory starts a story of service.
func NewServiceStory(service string) *ServiceStory {
	return &ServiceStory{Service: service, packaged: map[string][]string{}}
}

// Change opens change id at hour h, working on idea (its title names the
// key, which links it).
func (s *ServiceStory) Change(h float64, id, idea string) *ServiceStory {
	s.changes = append(s.changes, storyChange{id: id, idea: idea, at: h})
	return s
}

// Deploy packages changes into artifact (when it is new) and deploys it to
// production at hour h.
func (s *ServiceStory) Deploy(h float64, artifact string, changes ...string) *ServiceStory {
	for _, c := range changes {
		if !slices.Contains(s.packaged[artifact], c) {
			s.packaged[artifact] = append(s.packaged[artifact], c)
		}
	}
	return s.add(h, artifact, false)
}

// Rollback rolls production back to artifact at hour h.
func (s *ServiceStory) Rollback(h float64, artifact string) *ServiceStory {
	return s.add(h, artifact, true)
}

func (s *ServiceStory) add(h float64, artifact string, rollback bool) *ServiceStory {
	n := len(s.deploys) + 1
	s.deploys = append(s.deploys, domain.ProdDeployment{
		PK: int64(n), Event: domain.Identity{Source: "/story/" + s.Service, ID: fmt.Sprintf("%s-d%02d", s.Service, n)},
		Service: s.Service, Artifact: artifact, At: Hour(h), Rollback: rollback,
	})
	return s
}

// Deployments are the story's production deployments, in the order told.
func (s *ServiceStory) Deployments() []domain.ProdDeployment {
	return append([]domain.ProdDeployment(nil), s.deploys...)
}

// Deployment is the n-th deployment told (from 1).
func (s *ServiceStory) Deployment(n int) domain.ProdDeployment { return s.deploys[n-1] }

// Carries says whether an artifact packages any of these changes.
func (s *ServiceStory) Carries(changes ...string) func(artifact string) bool {
	return func(artifact string) bool {
		for _, c := range s.packaged[artifact] {
			if slices.Contains(changes, c) {
				return true
			}
		}
		return false
	}
}

// Events tells the story as decoded CDEvents: change.created for each change
// (naming its idea, as the decoder finds it in the title), artifact.packaged an hour before an
// artifact's first deployment, and the production deployments.
func (s *ServiceStory) Events() []domain.Event {
	var evs []domain.Event
	add := func(e domain.Event) {
		e.Identity = domain.Identity{Source: "/story/" + s.Service, ID: fmt.Sprintf("%s-e%03d", s.Service, len(evs)+1)}
		e.Type = "dev.cdevents." + string(e.Kind) + ".0.3.0"
		evs = append(evs, e)
	}
	for _, c := range s.changes {
		add(domain.Event{Kind: domain.KindChangeCreated, Time: Hour(c.at), SubjectID: c.id, Title: c.idea + ": " + c.id, Repository: "acme/" + s.Service,
			Ideas: []string{c.idea}})
	}
	packed := map[string]bool{}
	for _, d := range s.deploys {
		if !packed[d.Artifact] {
			packed[d.Artifact] = true
			for _, c := range s.packaged[d.Artifact] {
				add(domain.Event{Kind: domain.KindArtifactPackaged, Time: d.At.Add(-time.Hour), SubjectID: d.Artifact, Artifact: d.Artifact, Change: c})
			}
		}
		kind := domain.KindServiceDeployed
		if d.Rollback {
			kind = domain.KindServiceRollback
		}
		e := domain.Event{Kind: kind, Time: d.At, SubjectID: s.Service, Service: s.Service, Environment: "production", Artifact: d.Artifact}
		add(e)
		evs[len(evs)-1].Identity = d.Event // the deployment keeps the id Deployments gives it
	}
	return evs
}

// RollbackStories are two services whose deployments take ideas out of
// production:
//
//	checkout: A0 0h; CHK-1's c1 in A1 10h; CHK-2's c2 in A2 20h;
//	          rollback to A0 21h (both out); c2 again in A3 30h (CHK-2 back)
//	search:   S0 0h; SRCH-1's s1 in S1 10h; S0 deployed again 20h (replaced)
//
// CHK-1 is rolled back by checkout's rollback (deployment 4), SRCH-1 by
// search's third deployment; CHK-2 is in production.
func RollbackStories() (checkout, search *ServiceStory) {
	checkout = NewServiceStory("checkout").
		Change(-20, "acme/checkout#1", "CHK-1").Change(-10, "acme/checkout#2", "CHK-2").
		Deploy(0, "A0").Deploy(10, "A1", "acme/checkout#1").Deploy(20, "A2", "acme/checkout#2").
		Rollback(21, "A0").Deploy(30, "A3", "acme/checkout#2")
	search = NewServiceStory("search").
		Change(-20, "acme/search#1", "SRCH-1").
		Deploy(0, "S0").Deploy(10, "S1", "acme/search#1").Deploy(20, "S0")
	return checkout, search
}
