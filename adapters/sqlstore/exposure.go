package sqlstore

import (
	"context"
	"sort"

	"github.com/throughline/throughline/domain"
)

// IdeaExposure is an idea's exposure in production, in time order: the
// flag changes and rollout steps that name the idea (DESIGN.md 4, the
// evidence anchor). A flag is full when on for 100 %; a rollout when
// promoted.
func (s *Store) IdeaExposure(ctx context.Context, key string) ([]domain.ExposurePoint, error) {
	var flags []flagChangeRow
	if err := s.db.NewSelect().Model(&flags).
		Join("JOIN event_ideas AS ei ON ei.event_pk = fc.event_pk").
		Where("ei.idea_key = ?", key).Where("fc.production = ?", true).
		OrderExpr("fc.at, fc.event_pk").Scan(ctx); err != nil {
		return nil, err
	}
	var steps []rolloutStepRow
	if err := s.db.NewSelect().Model(&steps).
		Join("JOIN event_ideas AS ei ON ei.event_pk = rs.event_pk").
		Where("ei.idea_key = ?", key).Where("rs.production = ?", true).
		OrderExpr("rs.at, rs.event_pk").Scan(ctx); err != nil {
		return nil, err
	}
	out := make([]domain.ExposurePoint, 0, len(flags)+len(steps))
	for _, f := range flags {
		pct := 0.0
		if f.Enabled {
			pct = f.Percentage
		}
		out = append(out, domain.ExposurePoint{At: fromMicros(f.At), Kind: domain.ExposureFlag, Name: f.FlagKey,
			Step: domain.KindFlagChanged, Percent: pct, Full: pct >= 100})
	}
	for _, r := range steps {
		kind := domain.EventKind(r.Kind)
		pct := 0.0
		switch {
		case kind == domain.KindRolloutPromoted:
			pct = 100
		case r.Weight != nil && kind != domain.KindRolloutAborted:
			pct = *r.Weight
		}
		out = append(out, domain.ExposurePoint{At: fromMicros(r.At), Kind: domain.ExposureRollout, Name: r.Service,
			Step: kind, Percent: pct, Full: kind == domain.KindRolloutPromoted})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out, nil
}
