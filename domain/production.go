package domain

import "time"

// Whether an idea is still in production (DESIGN.md 4, default stage rules:
// "An idea none of whose changes is in production any more — every
// production deployment carrying them rolled back or replaced — keeps its
// stage times but is rolled back").
//
// What a deployment leaves running follows the DORA definition of "changes
// in a deployment": a deployment ships the changes of its artifact that had
// not yet reached production for the service, on top of what already runs
// there. An artifact lists the changes packaged into it, not everything it
// was built from, so a new artifact that does not list an idea's changes was
// built on top of them and keeps them live.
//
// The rule, for one service, from the first non-rollback production
// deployment whose artifact carries the changes (D0) on:
//   - a deployment whose artifact carries them puts them (back) in
//     production — a rollback to such an artifact too;
//   - a deployment of an artifact already live on the service restores what
//     that artifact ran with: present if it first went live at or after D0
//     with them present, absent if it was live before D0 (an older version
//     redeployed — by a rollback or a plain deployment — replaces them);
//   - a rollback to an artifact never seen live goes back to what ran
//     before the deployment it undoes (the latest non-rollback one), as DORA
//     rule 1 pairs a rollback with that deployment;
//   - any other deployment is a new artifact and changes nothing for them.
//
// So a later non-rollback deployment whose artifact does not carry any of
// the changes replaces them only if its artifact was already live on the
// service before they were deployed.

// Presence is whether some changes are live on one service at the end of its
// deployment history.
type Presence struct {
	Shipped      bool // a non-rollback production deployment carried them
	InProduction bool
	// RemovedBy is the deployment that took them out, while they are out.
	RemovedBy *ProdDeployment
}

// PresenceOn works out whether changes are still live on a service.
// history holds the service's production deployments, in any order, at least
// from the first one that carries the changes on; those before it, and the
// artifacts in liveEarlier, count as already live before it. carries says
// whether an artifact carries any of the changes.
func PresenceOn(history []ProdDeployment, carries func(artifact string) bool, liveEarlier map[string]bool) Presence {
	ds := append([]ProdDeployment(nil), history...)
	SortDeployments(ds)
	start := -1
	for i, d := range ds {
		if !d.Rollback && carries(d.Artifact) {
			start = i
			break
		}
	}
	if start < 0 {
		return Presence{}
	}
	older := map[string]bool{}
	for a := range liveEarlier {
		older[a] = true
	}
	for _, d := range ds[:start] {
		older[d.Artifact] = true
	}
	// ranWith: for each artifact gone live since D0, whether the changes
	// were live with it.
	ranWith := map[string]bool{ds[start].Artifact: true}
	present, beforeLatest := true, false
	var removedBy *ProdDeployment
	for i := start + 1; i < len(ds); i++ {
		d := &ds[i]
		was := present
		known, seen := ranWith[d.Artifact]
		switch {
		case carries(d.Artifact):
			present = true
		case seen:
			present = known
		case older[d.Artifact]:
			present = false
		case d.Rollback:
			present = beforeLatest
		}
		if !seen {
			ranWith[d.Artifact] = present
		}
		if !d.Rollback {
			beforeLatest = was
		}
		switch {
		case present:
			removedBy = nil
		case was:
			removedBy = d
		}
	}
	return Presence{Shipped: true, InProduction: present, RemovedBy: removedBy}
}

// Removal is the production deployment that took the last of an idea's
// changes out of production.
type Removal struct {
	At       time.Time
	Service  string
	Event    Identity
	Artifact string
	// Rollback: a service.rolledback; otherwise a deployment of an older
	// artifact replaced them.
	Rollback bool
}

// RolledBackBy says whether an idea is rolled back, from its changes'
// presence on each service they reached: when none is live any more, the
// removal that came last; nil while any is live or before any shipped.
func RolledBackBy(services []Presence) *Removal {
	var last *ProdDeployment
	for _, p := range services {
		if !p.Shipped {
			continue
		}
		if p.InProduction || p.RemovedBy == nil {
			return nil
		}
		if last == nil || p.RemovedBy.At.After(last.At) {
			last = p.RemovedBy
		}
	}
	if last == nil {
		return nil
	}
	return &Removal{At: last.At.UTC(), Service: last.Service, Event: last.Event, Artifact: last.Artifact, Rollback: last.Rollback}
}

// OperateWhileLive is OperateAt for an idea that may be rolled back: rolled
// back before its day in production was over, it never reached Operate.
func OperateWhileLive(firstProd time.Time, incidents []ProdIncident, removed *Removal) time.Time {
	at := OperateAt(firstProd, incidents)
	if removed != nil && !at.IsZero() && !removed.At.After(at) {
		return time.Time{}
	}
	return at
}
