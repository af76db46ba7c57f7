package domain

// The DORA research's public scales besides the 2023 tiers (DESIGN.md 4):
// a Quick-Check style 0–10 score per metric and the 2024 performance
// clusters, each labelled with its source year.

// QuickCheckSource names the scale the scores follow.
const QuickCheckSource = "DORA Quick Check (2024 survey scale)"

// QuickCheck is a report's score per metric on 0–10, nil where the report
// has no value; Overall is the mean of the five, nil unless all five exist.
type QuickCheck struct {
	DeploymentFrequency *float64
	LeadTime            *float64
	ChangeFailureRate   *float64
	RecoveryTime        *float64
	ReworkRate          *float64
	Overall             *float64
}

// quickCheckBucketScores score the survey's six answers, worst to best.
var quickCheckBucketScores = [6]float64{0, 2, 4, 6, 8, 10}

// Durations in seconds that bound the survey's answers for lead time and
// recovery time: more than six months, one to six months, one week to one
// month, one day to one week, one hour to one day, less than one hour. A
// month is 30 days, as in the 2023 tiers.
var quickCheckDurationBounds = [5]float64{180 * day, 30 * day, 7 * day, day, 3600}

// Deployments per day that bound the survey's answers for deployment
// frequency: fewer than once per six months, between once per six months
// and once per month, between once per month and once per week, between once
// per week and once per day, between once per day and once per hour, on
// demand (at least hourly).
var quickCheckFrequencyBounds = [5]float64{1.0 / 180, 1.0 / 30, 1.0 / 7, 1, 24}

// QuickCheckOf scores a report.
func QuickCheckOf(r DORAReport) QuickCheck {
	q := QuickCheck{}
	if r.Deployments > 0 && r.PerDay != nil {
		b := 0
		for b < 5 && *r.PerDay >= quickCheckFrequencyBounds[b] {
			b++
		}
		q.DeploymentFrequency = ptr(quickCheckBucketScores[b])
	}
	q.LeadTime = durationScore(r.LeadMedian)
	q.RecoveryTime = durationScore(r.RecoveryMedian)
	q.ChangeFailureRate = rateScore(r.FailureRate)
	q.ReworkRate = rateScore(r.ReworkRate)
	sum := 0.0
	for _, s := range []*float64{q.DeploymentFrequency, q.LeadTime, q.ChangeFailureRate, q.RecoveryTime, q.ReworkRate} {
		if s == nil {
			return q
		}
		sum += *s
	}
	q.Overall = ptr(sum / 5)
	return q
}

// durationScore puts a median duration in its answer: the shorter, the
// better; a bound belongs to the worse answer ("less than one day").
func durationScore(secs *float64) *float64 {
	if secs == nil {
		return nil
	}
	b := 0
	for b < 5 && *secs < quickCheckDurationBounds[b] {
		b++
	}
	return ptr(quickCheckBucketScores[b])
}

// rateScore is 10 − percent/10: 0 % scores 10, 100 % scores 0.
func rateScore(rate *float64) *float64 {
	if rate == nil {
		return nil
	}
	return ptr(10 - *rate*100/10)
}

// Cluster2024 is one of the 2024 report's four performance clusters: a
// profile of typical values and the share of respondents in it, not
// thresholds to rate a team by.
type Cluster2024 struct {
	Name                string
	Share               string // of respondents
	DeploymentFrequency string
	LeadTime            string
	ChangeFailureRate   string
	RecoveryTime        string
}

// Clusters2024 are the 2024 performance clusters as published.
func Clusters2024() []Cluster2024 {
	return []Cluster2024{
		{"Elite", "19 %", "On demand", "Less than one day", "5 %", "Less than one hour"},
		{"High", "22 %", "Between once per day and once per week", "Between one day and one week", "20 %", "Less than one day"},
		{"Medium", "35 %", "Between once per week and once per month", "Between one week and one month", "10 %", "Less than one day"},
		{"Low", "25 %", "Between once per month and once every six months", "Between one month and six months", "40 %", "Between one week and one month"},
	}
}
