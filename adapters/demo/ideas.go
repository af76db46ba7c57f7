package demo

import "time"

// Objectives the demo ideas serve.
const (
	objConversion = "Grow checkout conversion"
	objFind       = "Help shoppers find products"
	objDependable = "Make the platform dependable"
)

func prodAttrs(service string) map[string]string {
	return map[string]string{"service": service, "env": envProduction}
}

// roadmapPlanLead is how long before its first linked event a roadmap idea
// was moved to Now.
const roadmapPlanLead = 72 * time.Hour

// ideaSpecs is the demo roadmap. Shipped and in-progress ideas are on the
// Now horizon; Next and Later ideas have no changes yet.
func ideaSpecs(end time.Time) []IdeaSpec {
	specs := roadmapIdeas(end)
	for i := range specs {
		specs[i].PlanLead = roadmapPlanLead
	}
	return specs
}

func roadmapIdeas(end time.Time) []IdeaSpec {
	due := func(days int) time.Time { return end.AddDate(0, 0, days) }
	return []IdeaSpec{
		{
			Key: "CHK-12", Title: "One-page checkout",
			Problem:    "Shoppers drop out between the address and payment steps: 38% of sessions that reach the address step never see the payment step.",
			Hypothesis: "If address, delivery and payment fit on one page, checkout conversion rises from 3.1% to 3.6%.",
			Horizon:    "now", FlowType: "feature", Team: "payments", Objective: objConversion,
			KeyResult: &KeyResult{Metric: "checkout.conversion", Attributes: prodAttrs("checkout"),
				Baseline: 0.031, Target: 0.036, Direction: "increase", Due: due(30), Unit: "percent"},
			Reach: 42000, Impact: 2, Confidence: 0.8, Effort: 3, Services: []string{"checkout"},
		},
		{
			Key: "CHK-15", Title: "Express checkout with saved cards",
			Problem:    "Returning shoppers type their card details again on every order.",
			Hypothesis: "If returning shoppers can pay with a saved card in one tap, checkout conversion rises from 3.6% to 3.9%.",
			Horizon:    "now", FlowType: "feature", Team: "payments", Objective: objConversion,
			KeyResult: &KeyResult{Metric: "checkout.conversion", Attributes: prodAttrs("checkout"),
				Baseline: 0.036, Target: 0.039, Direction: "increase", Due: due(75), Unit: "percent"},
			Reach: 18000, Impact: 2, Confidence: 0.5, Effort: 5, Services: []string{"checkout", "payments"},
		},
		{
			Key: "CHK-18", Title: "Address autocomplete",
			Problem:    "One order in twelve has an address the courier cannot find, and typing it is the slowest part of checkout on mobile.",
			Hypothesis: "If addresses autocomplete from the postcode, checkout conversion rises from 3.6% to 3.8% and failed deliveries halve.",
			Horizon:    "next", FlowType: "feature", Team: "payments", Objective: objConversion,
			KeyResult: &KeyResult{Metric: "checkout.conversion", Attributes: prodAttrs("checkout"),
				Baseline: 0.036, Target: 0.038, Direction: "increase", Due: due(120), Unit: "percent"},
			Reach: 30000, Impact: 1, Confidence: 0.8, Effort: 2, Services: []string{"checkout"},
		},
		{
			Key: "PAY-3", Title: "Retry soft card declines",
			Problem:    "3.8% of card payments fail, many with soft declines that would succeed on a second attempt.",
			Hypothesis: "If soft declines are retried once with a network token, payment success rises from 96.2% to 97.5%.",
			Horizon:    "now", FlowType: "feature", Team: "payments", Objective: objConversion,
			KeyResult: &KeyResult{Metric: "payments.success_rate", Attributes: prodAttrs("payments"),
				Baseline: 0.962, Target: 0.975, Direction: "increase", Due: due(14), Unit: "percent"},
			Reach: 42000, Impact: 1, Confidence: 0.8, Effort: 1, Services: []string{"payments"},
		},
		{
			Key: "PAY-8", Title: "Tokenise stored card data",
			Problem:    "Stored card numbers are encrypted but not tokenised, which keeps the whole payments database in PCI scope.",
			Hypothesis: "If we store provider tokens instead of card numbers, the database leaves PCI scope and payment success does not drop.",
			Horizon:    "now", FlowType: "risk", Team: "payments", Objective: objDependable,
			Reach: 42000, Impact: 0.5, Confidence: 1, Effort: 4, Services: []string{"payments"},
		},
		{
			Key: "SRCH-40", Title: "Typo-tolerant search",
			Problem:    "One search in eight contains a typo and returns poor or no results.",
			Hypothesis: "If search tolerates one or two typos in product names, search click-through rises from 41% to 46%.",
			Horizon:    "now", FlowType: "feature", Team: "discovery", Objective: objFind,
			KeyResult: &KeyResult{Metric: "search.click_through", Attributes: prodAttrs("search"),
				Baseline: 0.41, Target: 0.46, Direction: "increase", Due: due(0), Unit: "percent"},
			Reach: 60000, Impact: 2, Confidence: 0.8, Effort: 2, Services: []string{"search"},
		},
		{
			Key: "SRCH-41", Title: "Synonym expansion",
			Problem:    "Shoppers search for \"sofa\" and miss products listed as \"couch\".",
			Hypothesis: "If queries are expanded with a synonym list, search click-through rises from 46% to 50%.",
			Horizon:    "now", FlowType: "feature", Team: "discovery", Objective: objFind,
			KeyResult: &KeyResult{Metric: "search.click_through", Attributes: prodAttrs("search"),
				Baseline: 0.46, Target: 0.50, Direction: "increase", Due: due(30), Unit: "percent"},
			Reach: 60000, Impact: 1, Confidence: 0.5, Effort: 2, Services: []string{"search"},
		},
		{
			Key: "SRCH-44", Title: "Personalised ranking",
			Problem:    "Everyone sees the same ranking, although returning shoppers buy from a few categories.",
			Hypothesis: "If ranking favours categories a shopper bought from, search click-through rises from 46% to 52%.",
			Horizon:    "later", FlowType: "feature", Team: "discovery", Objective: objFind,
			KeyResult: &KeyResult{Metric: "search.click_through", Attributes: prodAttrs("search"),
				Baseline: 0.46, Target: 0.52, Direction: "increase", Due: due(180), Unit: "percent"},
			Reach: 60000, Impact: 3, Confidence: 0.3, Effort: 8, Services: []string{"search", "catalog"},
		},
		{
			Key: "CAT-7", Title: "Cache product detail pages",
			Problem:    "Product pages take 820 ms at p95 because every request assembles prices, stock and images from three services.",
			Hypothesis: "If assembled product pages are cached for 60 seconds, p95 latency falls below 600 ms.",
			Horizon:    "now", FlowType: "debt", Team: "discovery", Objective: objFind,
			KeyResult: &KeyResult{Metric: "catalog.p95_latency_ms", Attributes: prodAttrs("catalog"),
				Baseline: 820, Target: 600, Direction: "decrease", Due: due(7), Unit: "ms"},
			Reach: 60000, Impact: 1, Confidence: 0.8, Effort: 1.5, Services: []string{"catalog"},
		},
		{
			Key: "CAT-9", Title: "Fix stale prices after catalog imports",
			Problem:    "After the nightly supplier import some products show yesterday's price until their cache expires.",
			Hypothesis: "If the import invalidates the prices it changes, price complaints to support stop.",
			Horizon:    "now", FlowType: "defect", Team: "discovery", Objective: objDependable,
			Reach: 8000, Impact: 1, Confidence: 1, Effort: 0.5, Services: []string{"catalog"},
		},
		{
			Key: "NOT-2", Title: "Stop duplicate order confirmation emails",
			Problem:    "About 1% of shoppers receive their order confirmation twice when the email provider retries.",
			Hypothesis: "If sends are idempotent per order, duplicates disappear and support tickets about them stop.",
			Horizon:    "now", FlowType: "defect", Team: "platform", Objective: objDependable,
			Reach: 3000, Impact: 1, Confidence: 1, Effort: 0.5, Services: []string{"notifications"},
		},
		{
			Key: "PLAT-1", Title: "Automatic TLS certificate rotation",
			Problem:    "Certificates are renewed by hand from a calendar reminder; one expired last year and took checkout down for 40 minutes.",
			Hypothesis: "If certificates rotate automatically, no outage is caused by an expired certificate.",
			Horizon:    "next", FlowType: "risk", Team: "platform", Objective: objDependable,
			Reach: 42000, Impact: 0.5, Confidence: 0.8, Effort: 2,
			Services: []string{"checkout", "payments", "search", "catalog", "notifications"},
		},
	}
}

// ideaPlan says when an idea's work reaches production: the first regular
// deployment of service at or after frac of the history carries ship
// changes; the following deployments carry one follow-up change each.
// Work items (workitems.go) are planned on their own and use only the
// fields that say how their changes look.
type ideaPlan struct {
	key, service string
	frac         float64
	ship         int
	followUps    int
	slug         string
	titles       []string // of its changes, in order
	branch       string   // branch prefix; "feature/" when empty
	link         int      // how its first change names it (see ideaChange)
}

func ideaPlans() []ideaPlan {
	return []ideaPlan{
		{key: "CAT-9", service: "catalog", frac: 0.20, ship: 2, followUps: 0, slug: "stale-prices",
			titles: []string{"Invalidate changed prices after import", "Add test for price cache invalidation"}},
		{key: "SRCH-40", service: "search", frac: 0.28, ship: 2, followUps: 2, slug: "typo-tolerance",
			titles: []string{"Fuzzy matching on product names", "Typo tolerance for brand names", "Tune fuzziness for short queries", "Drop old spelling fallback"}},
		{key: "PAY-3", service: "payments", frac: 0.30, ship: 2, followUps: 1, slug: "retry-soft-declines",
			titles: []string{"Retry soft declines with network tokens", "Classify decline codes as soft or hard", "Report retried authorisations"}},
		{key: "CHK-12", service: "checkout", frac: 0.40, ship: 3, followUps: 3, slug: "one-page-checkout",
			titles: []string{"Merge address and delivery steps into one page", "Inline card form on the checkout page", "Enable one-page checkout for all shoppers", "Tidy one-page checkout validation messages", "Track time spent per checkout section", "Remove old multi-step checkout pages"}},
		{key: "CAT-7", service: "catalog", frac: 0.50, ship: 2, followUps: 1, slug: "cache-product-pages",
			titles: []string{"Cache assembled product pages for 60 seconds", "Purge product page cache on price change", "Expose product cache hit ratio"}},
		{key: "NOT-2", service: "notifications", frac: 0.55, ship: 1, followUps: 1, slug: "duplicate-confirmations",
			titles: []string{"Make order confirmation sends idempotent", "Drop duplicate provider webhooks"}},
		{key: "PAY-8", service: "payments", frac: 0.58, ship: 1, followUps: 3, slug: "tokenise-cards",
			titles: []string{"Store provider tokens next to card numbers", "Read cards by token", "Backfill tokens for stored cards", "Stop writing card numbers"}},
		{key: "SRCH-41", service: "search", frac: 0.68, ship: 2, followUps: 1, slug: "synonyms",
			titles: []string{"Expand queries with synonym list", "Synonym list for furniture and garden", "Admin endpoint to reload synonyms"}},
		{key: "CHK-15", service: "checkout", frac: 0.95, ship: 2, followUps: 1, slug: "express-checkout",
			titles: []string{"Pay with a saved card", "List saved cards at checkout", "One-tap express checkout button on basket"}},
	}
}

// ideaWork is some of an idea's changes, to go into one deployment.
type ideaWork struct {
	plan *ideaPlan
	n    int
}

// assignIdeas puts each idea's changes into deployments and returns the time
// of each shipped idea's first production deployment. An idea whose moment
// comes after the last suitable deployment stays in progress: its changes
// are open at the end of the history.
func (g *generator) assignIdeas(base map[string]*service) map[string]time.Time {
	shipped := map[string]time.Time{}
	for _, p := range ideaPlans() {
		s := base[p.service]
		w := ideaWork{plan: &p, n: p.ship}
		target := g.at(p.frac)
		var regular []*deployment
		for _, d := range s.live() {
			if !d.hotfix && !d.at.Before(target) {
				regular = append(regular, d)
			}
		}
		first := -1
		for i, d := range regular {
			// The ship deployment must stick, so its effect on the outcome
			// metric starts there.
			if d.failure == nil {
				first = i
				break
			}
		}
		if first < 0 {
			s.pending = append(s.pending, w)
			continue
		}
		regular[first].ideas = append(regular[first].ideas, w)
		shipped[p.key] = regular[first].at
		follow := regular[first+1:]
		for i := 0; i < p.followUps && i < len(follow); i++ {
			follow[i].ideas = append(follow[i].ideas, ideaWork{plan: &p, n: 1})
		}
	}
	return shipped
}
