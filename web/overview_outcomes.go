package web

import (
	"context"
	"strconv"

	"github.com/throughline/throughline/domain"
	"github.com/throughline/throughline/web/views"
)

// outcomeTiles are the overview's outcome numbers, each the figure its
// detail page shows: the mean key-result progress of the outcomes page, the
// quarter's row of the trends verdict chart, the trends list of ideas in
// production without a verdict, and the open ideas of the roadmap's Now
// column.
func (s *Server) outcomeTiles(ctx context.Context) ([]views.Tile, error) {
	now := s.now()
	krs, err := s.deps.Roadmap.KeyResults(ctx)
	if err != nil {
		return nil, err
	}
	readings := make([]domain.KRReading, 0, len(krs))
	for _, kr := range krs {
		r, err := s.readKeyResult(ctx, kr, now)
		if err != nil {
			return nil, err
		}
		readings = append(readings, r)
	}
	krTile := views.Tile{Label: "Key-result progress", Value: "—", Foot: "no key results yet", Href: "/outcomes", TestID: "tile-kr"}
	switch mean, n := domain.MeanProgress(readings); {
	case n > 0:
		krTile.Value = views.ProgressText(mean)
		krTile.Foot = "mean of " + plural(n, "key result", "key results") + ", baseline to target, over the " +
			strconv.Itoa(domain.KRCurrentDays) + " days to " + domain.KRCurrentWindow(now).To.Format("2 Jan")
		if n < len(krs) {
			krTile.Foot += " (" + strconv.Itoa(len(krs)-n) + " without data)"
		}
	case len(krs) > 0:
		krTile.Foot = "no data for any key result in the last " + strconv.Itoa(domain.KRCurrentDays) + " days"
	}

	ideas, err := s.deps.Roadmap.Ideas(ctx, domain.IdeaFilter{})
	if err != nil {
		return nil, err
	}
	items, err := s.deps.Roadmap.IdeaFlow(ctx, ideaKeys(ideas))
	if err != nil {
		return nil, err
	}
	list := make([]domain.Idea, len(ideas))
	for i, idea := range ideas {
		list[i] = *idea
	}
	today := domain.Midnight(now)
	quarter := domain.Window{From: domain.QuarterStart(today), To: today}
	sh := domain.VerdictShares(list, items, []domain.Window{quarter})[0]
	awaiting := domain.IdeasAwaitingVerdict(list, items, now)
	inNow := 0
	for _, col := range domain.RoadmapBoard(ideas, items, now) {
		if col.Horizon == domain.HorizonNow {
			inNow = len(col.Open)
		}
	}
	awaitingFoot := "ideas in production nobody has judged yet"
	if n := domain.WithoutKeyResult(awaiting); n > 0 {
		awaitingFoot += " · " + strconv.Itoa(n) + " with no key result to judge against"
	}
	return []views.Tile{
		krTile,
		{Label: "Shipped this quarter", Value: strconv.Itoa(sh.Shipped), TestID: "tile-shipped", Href: "/trends#outcomes",
			Foot: strconv.Itoa(sh.Validated) + " validated · " + strconv.Itoa(sh.Invalidated) + " invalidated · " +
				strconv.Itoa(sh.Inconclusive) + " inconclusive · " + strconv.Itoa(sh.Awaiting) + " awaiting a verdict"},
		{Label: "Live without a verdict", Value: strconv.Itoa(len(awaiting)), TestID: "tile-awaiting", Href: "/trends#outcomes", Foot: awaitingFoot},
		{Label: "In Now", Value: strconv.Itoa(inNow), TestID: "tile-now", Href: "/roadmap", Foot: "open ideas on the roadmap's Now column (finished ones not counted)"},
	}, nil
}

// plural writes "1 key result", "3 key results".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
