package demo

import (
	"slices"
	"strconv"
	"time"

	"github.com/throughline/throughline/domain"
)

// profile describes how a service behaves: who owns it, how often it ships,
// how much traffic it serves and what its changes and incidents look like.
type profile struct {
	name, team string
	ideaPrefix string // prefix of the keys of its ideas (CHK for CHK-12)
	// weekday[n] is the weight of n production deployments on a weekday.
	weekday  []float64
	prodKind domain.EventKind // service.deployed or service.upgraded
	v04      bool             // emits CDEvents v0.4 shapes
	traffic  float64          // requests per hour at the daily peak
	firstPR  int
	titles   []string // ordinary change titles; the first word says what kind of work it is (flowTypeOf)
	failures []string // incident descriptions after a bad deployment
	hotfixes []string // hotfix change titles
}

func profiles() []profile {
	return []profile{
		{
			name: "checkout", team: "payments", ideaPrefix: "CHK",
			weekday: []float64{0.1, 0.4, 0.4, 0.1}, prodKind: domain.KindServiceUpgraded,
			traffic: 18000, firstPR: 1180,
			titles: []string{
				"Fix rounding of discounted basket totals", "Move order summary into its own component",
				"Add metrics for basket abandonment", "Retry address validation on timeout",
				"Remove legacy coupon endpoint", "Tidy checkout error messages",
				"Cache delivery options per session", "Log chosen payment method",
				"Bump stripe-go to v76", "Upgrade Go toolchain to 1.22", "Fix flaky basket merge test",
				"Show delivery date estimate on review step", "Refactor tax calculation",
				"Lazy-load the gift message form",
				"Patch script injection in the gift message preview", "Harden basket API against replayed requests",
				"Restrict order edits to support roles", "Show saved addresses first on mobile",
				"Fix VAT line missing on the order confirmation page", "Remove unused basket experiment flags",
				"Split checkout controller by step", "Fix double submit on slow connections",
				"Prefill email for signed-in shoppers", "Drop old browser polyfills from the checkout bundle",
			},
			failures: []string{
				"Checkout error rate above 2% after release", "Order placement p95 latency above 3 s",
				"Basket totals wrong for multi-currency orders",
			},
			hotfixes: []string{
				"Hotfix: guard empty delivery address in order summary", "Hotfix: restore coupon validation",
				"Hotfix: revert price rounding change",
			},
		},
		{
			name: "payments", team: "payments", ideaPrefix: "PAY",
			weekday: []float64{0.3, 0.7}, prodKind: domain.KindServiceDeployed,
			traffic: 9000, firstPR: 640,
			titles: []string{
				"Rotate acquirer API client credentials", "Add idempotency keys to refunds",
				"Log decline codes with the order id", "Bump adyen client to 21.3",
				"Fix currency of partial refunds", "Reduce authorisation timeout to 8 s",
				"Remove unused wallet provider", "Add contract tests for the refunds API",
				"Refactor 3-D Secure challenge flow", "Alert on settlement file delays",
				"Encrypt settlement files at rest", "Patch webhook signature check",
				"Restrict refund API to the back office network", "Fix duplicate refund on retried webhook",
				"Upgrade Postgres driver", "Show refund status in the back office", "Split payout job by currency",
				"Harden card range lookup against timeouts",
			},
			failures: []string{
				"Card authorisation failures above threshold", "Refunds stuck in pending",
			},
			hotfixes: []string{
				"Hotfix: restore 3-D Secure redirect", "Hotfix: fix refund amount rounding",
			},
		},
		{
			name: "search", team: "discovery", ideaPrefix: "SRCH",
			weekday: []float64{0.15, 0.35, 0.45, 0.05}, prodKind: domain.KindServiceUpgraded,
			traffic: 60000, firstPR: 2210,
			titles: []string{
				"Tune title boost for exact matches", "Add query latency histogram",
				"Fix pagination after filter change", "Bump elasticsearch client to 8.13",
				"Remove legacy autocomplete endpoint", "Index colour facet",
				"Log zero-result queries", "Refactor query builder", "Cap facet counts at 1000",
				"Warm caches after reindex",
				"Patch query parser against pathological patterns", "Restrict reindex endpoint to internal callers",
				"Fix sorting by price for sale items", "Boost in-stock products", "Upgrade analyser for German compounds",
				"Highlight matched terms in results", "Fix facet counts after price filter", "Drop unused language analysers",
				"Harden search API rate limits", "Show category suggestions in autocomplete",
			},
			failures: []string{
				"Search returning empty results for some queries", "Search p95 latency above 1 s",
			},
			hotfixes: []string{
				"Hotfix: restore default analyser", "Hotfix: fix facet query for empty filters",
			},
		},
		{
			name: "catalog", team: "discovery", ideaPrefix: "CAT",
			weekday: []float64{0.6, 0.4}, prodKind: domain.KindServiceDeployed,
			traffic: 45000, firstPR: 410,
			titles: []string{
				"Add stock level to product API", "Fix missing images for bundle products",
				"Bump pgx to 5.5", "Split price import into batches", "Remove unused variant fields",
				"Validate supplier feed before import", "Add product schema markup",
				"Encrypt supplier API keys in config", "Fix wrong sale badge after price import", "Upgrade image resizer",
				"Add size guide to product API", "Refactor variant mapping",
				"Harden supplier feed parser against oversized files", "Fix stock count for discontinued products",
			},
			failures: []string{
				"Product pages returning 500s", "Product import left prices stale",
			},
			hotfixes: []string{
				"Hotfix: skip products without a price", "Hotfix: restore image fallback",
			},
		},
		{
			name: "notifications", team: "platform", ideaPrefix: "NOT",
			weekday: []float64{0.8, 0.2}, prodKind: domain.KindServiceDeployed, v04: true,
			traffic: 4000, firstPR: 150,
			titles: []string{
				"Move email templates to the design system", "Bump aws-sdk-go-v2",
				"Add unsubscribe link to shipping emails", "Retry SMS sends on throttling",
				"Fix time zone in delivery emails", "Drop unused push topics",
				"Patch template rendering against HTML injection", "Restrict SMS sending to verified numbers",
				"Fix missing order number in SMS", "Add delivery slot reminder email", "Upgrade templating library",
				"Split email worker by priority",
			},
			failures: []string{
				"Order confirmation emails failing to send", "Notification queue backlog growing",
			},
			hotfixes: []string{
				"Hotfix: restore email sender address", "Hotfix: fix template variable for order number",
			},
		},
	}
}

// service is a profile in one copy (copy 1 is the base service), with its
// planned deployments.
type service struct {
	profile
	copy    int
	spec    cdSpec
	repo    string // acme/checkout
	deploys []*deployment
	quiet   []interval // kept free of deployments (unattributed incidents)
	pr      int        // next pull request number
	run     int        // next pipeline run number
	pending []ideaWork // idea changes not yet in any deployment
	staged  []ideaWork // work item changes in the release on its way at the end
	deck    []string   // titles left for new work items, in drawn order
}

func (g *generator) services(scale int) []*service {
	var out []*service
	for c := 1; c <= scale; c++ {
		for _, p := range profiles() {
			s := &service{profile: p, copy: c, pr: p.firstPR, run: 3 * p.firstPR / 2}
			if c > 1 {
				s.name = p.name + "-" + strconv.Itoa(c)
			}
			s.spec = specV05
			if p.v04 {
				s.spec = specV04
			}
			s.repo = "acme/" + s.name
			out = append(out, s)
		}
	}
	return out
}

// interval is a span of time [from, to].
type interval struct{ from, to time.Time }

func (i interval) overlaps(from, to time.Time) bool {
	return !from.After(i.to) && !to.Before(i.from)
}

// deployment is one planned production deployment.
type deployment struct {
	at         time.Time
	hotfix     bool
	dropped    bool
	failure    *incident // the incident this deployment causes
	remedy     remedy
	rollbackAt time.Time
	fixes      *incident // hotfix deployments: the incident they fix
	ideas      []ideaWork
	artifact   string
}

type remedy int

const (
	remedyNone remedy = iota // fixed by a flag or config change
	remedyRollback
	remedyHotfix
)

// planSlots places regular production deployments on weekdays during
// working hours, at the service's cadence.
func (g *generator) planSlots(s *service) {
	for day := g.start.Truncate(24 * time.Hour); day.Before(g.end); day = day.Add(24 * time.Hour) {
		if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
			continue
		}
		n := g.pick(s.weekday)
		times := make([]time.Time, n)
		for i := range times {
			times[i] = day.Add(11*time.Hour + g.dur(0, 7*time.Hour)).Truncate(time.Second)
		}
		slices.SortFunc(times, time.Time.Compare)
		for i := range times {
			if i > 0 && times[i].Sub(times[i-1]) < 90*time.Minute {
				times[i] = times[i-1].Add(90 * time.Minute)
			}
			t := times[i]
			// The release pipeline runs up to ~4.5h before; keep it inside
			// the history.
			if t.Hour() >= 19 || t.Before(g.start.Add(6*time.Hour)) || t.After(g.end.Add(-time.Hour)) {
				continue
			}
			s.deploys = append(s.deploys, &deployment{at: t})
		}
	}
}

// live reports the deployments that still happen, in time order.
func (s *service) live() []*deployment {
	var out []*deployment
	for _, d := range s.deploys {
		if !d.dropped {
			out = append(out, d)
		}
	}
	return out
}
