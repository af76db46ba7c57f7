package web

import (
	"context"
	"fmt"

	"github.com/throughline/throughline/domain"
)

// importRoadmap writes a checked roadmap document: objectives by title, key
// results by objective and title, ideas by key and value streams by name
// are created when missing and kept when present; SLOs are created or
// replaced by name (as an OpenSLO import). One audit entry says what came.
func (s *Server) importRoadmap(ctx context.Context, doc roadmapDoc, by string) (created, kept importCounts, err error) {
	objID, err := s.importObjectives(ctx, doc, by, &created, &kept)
	if err != nil {
		return created, kept, err
	}
	krID, err := s.importKeyResults(ctx, doc, objID, by, &created, &kept)
	if err != nil {
		return created, kept, err
	}
	ideas := make([]domain.Idea, len(doc.Ideas))
	for i, d := range doc.Ideas {
		ideas[i] = d.idea()
		for _, id := range d.KeyResults {
			ideas[i].KeyResults = append(ideas[i].KeyResults, krID[id])
		}
	}
	if created.Ideas, err = s.deps.Roadmap.ImportIdeas(ctx, ideas); err != nil {
		return created, kept, err
	}
	kept.Ideas = len(ideas) - created.Ideas
	if created.Ideas > 0 {
		if err := s.deps.Roadmap.RecomputeAllFlow(ctx); err != nil {
			return created, kept, err
		}
	}
	if err := s.importValueStreams(ctx, doc, by, &created, &kept); err != nil {
		return created, kept, err
	}
	if s.deps.SLOs != nil && len(doc.SLOs) > 0 {
		slos := make([]domain.SLO, len(doc.SLOs))
		for i, sl := range doc.SLOs {
			slos[i], _ = sl.sloInput.slo()
		}
		if created.SLOs, kept.SLOs, err = s.deps.SLOs.ImportSLOs(ctx, slos, by); err != nil {
			return created, kept, err
		}
		s.forgetSLOStatuses()
	}
	err = s.deps.Admin.Audit(ctx, by, "roadmap.import", doc.Format, fmt.Sprintf("created %+v, kept %+v", created, kept))
	return created, kept, err
}

func (s *Server) importObjectives(ctx context.Context, doc roadmapDoc, by string, created, kept *importCounts) (map[int64]int64, error) {
	existing, err := s.deps.Roadmap.Objectives(ctx)
	if err != nil {
		return nil, err
	}
	byTitle := map[string]int64{}
	for _, o := range existing {
		byTitle[o.Title] = o.ID
	}
	ids := map[int64]int64{}
	for _, o := range doc.Objectives {
		if id, ok := byTitle[o.Title]; ok {
			ids[o.ID] = id
			kept.Objectives++
			continue
		}
		n, err := s.deps.Roadmap.CreateObjective(ctx, domain.Objective{Title: o.Title, Description: o.Description}, by)
		if err != nil {
			return nil, err
		}
		ids[o.ID], byTitle[n.Title] = n.ID, n.ID
		created.Objectives++
	}
	return ids, nil
}

func (s *Server) importKeyResults(ctx context.Context, doc roadmapDoc, objID map[int64]int64, by string, created, kept *importCounts) (map[int64]int64, error) {
	existing, err := s.deps.Roadmap.KeyResults(ctx)
	if err != nil {
		return nil, err
	}
	type krKey struct {
		objective int64
		title     string
	}
	found := map[krKey]int64{}
	for _, k := range existing {
		found[krKey{k.ObjectiveID, k.Title}] = k.ID
	}
	ids := map[int64]int64{}
	for _, k := range doc.KeyResults {
		b, t := k.Baseline, k.Target
		kr, _ := keyResultInput{ObjectiveID: objID[k.ObjectiveID], Title: k.Title, Metric: k.Metric, Attributes: k.Attributes,
			Baseline: &b, Target: &t, Direction: k.Direction, Due: k.Due, Unit: k.Unit}.keyResult()
		if id, ok := found[krKey{kr.ObjectiveID, kr.Title}]; ok {
			ids[k.ID] = id
			kept.KeyResults++
			continue
		}
		n, err := s.deps.Roadmap.CreateKeyResult(ctx, kr, by)
		if err != nil {
			return nil, err
		}
		ids[k.ID], found[krKey{n.ObjectiveID, n.Title}] = n.ID, n.ID
		created.KeyResults++
	}
	return ids, nil
}

func (s *Server) importValueStreams(ctx context.Context, doc roadmapDoc, by string, created, kept *importCounts) error {
	existing, err := s.deps.ValueStreams.ValueStreams(ctx)
	if err != nil {
		return err
	}
	names := map[string]bool{}
	for _, v := range existing {
		names[v.Name] = true
	}
	for _, in := range doc.ValueStreams {
		var vs domain.ValueStream
		in.apply(&vs)
		if names[vs.Name] {
			kept.ValueStreams++
			continue
		}
		if _, err := s.deps.ValueStreams.CreateValueStream(ctx, vs, by); err != nil {
			return err
		}
		names[vs.Name] = true
		created.ValueStreams++
	}
	return nil
}
