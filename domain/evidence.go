package domain

import (
	"math"
	"strconv"
	"time"
)

// Outcome evidence (DESIGN.md section 4): once an idea is in production,
// compare its key result's daily means over a window before and after its
// first production deployment (the deploy day excluded) with Welch's
// two-sample interval. Observational evidence, not an experiment.

// EvidenceVerdict is what the comparison suggests.
type EvidenceVerdict string

const (
	EvidenceMoved        EvidenceVerdict = "moved"
	EvidenceNoEffect     EvidenceVerdict = "no effect"
	EvidenceHarmed       EvidenceVerdict = "harmed"
	EvidenceInconclusive EvidenceVerdict = "inconclusive"
)

// MinEvidenceDays is the fewest days with data a side needs.
const MinEvidenceDays = 5

// DailyValue is a key result's mean on one day.
type DailyValue struct {
	Day   time.Time
	Value float64
}

// Evidence is a pre/post comparison around a deployment.
type Evidence struct {
	DeployedAt       time.Time
	Window           int // days on each side
	Before, After    []DailyValue
	BeforeMean       *float64
	AfterMean        *float64
	Difference       *float64 // after − before
	RelativeChange   *float64 // difference / before mean
	Low, High        *float64 // 95 % interval of the difference
	DegreesOfFreedom *float64
	Verdict          EvidenceVerdict
	Reason           string // why, in words
	WindowOpen       bool   // the after window has not ended yet
}

// CompareAround splits daily values into the windows before and after the
// deployment day and compares them. now tells whether the window is still
// open.
func CompareAround(deployedAt time.Time, window int, daily []DailyValue, dir Direction, now time.Time) Evidence {
	if window <= 0 {
		window = 14
	}
	day := Midnight(deployedAt)
	ev := Evidence{DeployedAt: deployedAt, Window: window}
	for _, d := range daily {
		dd := Midnight(d.Day)
		switch {
		case !dd.Before(day.AddDate(0, 0, -window)) && dd.Before(day):
			ev.Before = append(ev.Before, d)
		case dd.After(day) && !dd.After(day.AddDate(0, 0, window)):
			ev.After = append(ev.After, d)
		}
	}
	ev.WindowOpen = now.Before(day.AddDate(0, 0, window+1))
	pre, post := values(ev.Before), values(ev.After)
	if len(pre) > 0 {
		m := mean(pre)
		ev.BeforeMean = &m
	}
	if len(post) > 0 {
		m := mean(post)
		ev.AfterMean = &m
	}
	if len(pre) < MinEvidenceDays || len(post) < MinEvidenceDays {
		ev.Verdict = EvidenceInconclusive
		ev.Reason = "fewer than " + daysText(MinEvidenceDays) + " of data on a side (" + daysText(len(pre)) + " before, " + daysText(len(post)) + " after)"
		return ev
	}
	diff, low, high, df := WelchInterval(pre, post, 0.95)
	ev.Difference, ev.Low, ev.High = &diff, &low, &high
	if !math.IsNaN(df) {
		ev.DegreesOfFreedom = &df
	}
	if *ev.BeforeMean != 0 {
		rel := diff / math.Abs(*ev.BeforeMean)
		ev.RelativeChange = &rel
	}
	better := low > 0
	worse := high < 0
	if dir == Decrease {
		better, worse = worse, better
	}
	switch {
	case better:
		ev.Verdict, ev.Reason = EvidenceMoved, "the whole 95 % interval of the change points the way the key result should move"
	case worse:
		ev.Verdict, ev.Reason = EvidenceHarmed, "the whole 95 % interval of the change points the wrong way"
	default:
		ev.Verdict, ev.Reason = EvidenceNoEffect, "the 95 % interval of the change includes zero"
	}
	return ev
}

func daysText(n int) string {
	if n == 1 {
		return "1 day"
	}
	return strconv.Itoa(n) + " days"
}

func values(ds []DailyValue) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = d.Value
	}
	return out
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// variance is the sample variance (n − 1 in the denominator).
func variance(xs []float64) float64 {
	m := mean(xs)
	s := 0.0
	for _, x := range xs {
		s += (x - m) * (x - m)
	}
	return s / float64(len(xs)-1)
}

// WelchInterval returns mean(b) − mean(a) with its confidence interval at
// the given level under Welch's unequal-variance t approximation, and the
// Welch–Satterthwaite degrees of freedom (NaN when both samples are constant,
// in which case the interval is the difference itself).
func WelchInterval(a, b []float64, level float64) (diff, low, high, df float64) {
	diff = mean(b) - mean(a)
	va, vb := variance(a)/float64(len(a)), variance(b)/float64(len(b))
	se := math.Sqrt(va + vb)
	if se == 0 {
		return diff, diff, diff, math.NaN()
	}
	df = (va + vb) * (va + vb) / (va*va/float64(len(a)-1) + vb*vb/float64(len(b)-1))
	t := StudentTQuantile(0.5+level/2, df)
	return diff, diff - t*se, diff + t*se, df
}

// StudentTQuantile returns the p-quantile of Student's t distribution with
// df degrees of freedom (df may be fractional), for 0.5 ≤ p < 1.
func StudentTQuantile(p, df float64) float64 {
	if p <= 0.5 {
		return 0
	}
	// The CDF is increasing: bisect on t.
	lo, hi := 0.0, 1.0
	for studentTCDF(hi, df) < p {
		hi *= 2
		if hi > 1e12 {
			return math.Inf(1)
		}
	}
	for i := 0; i < 200 && hi-lo > 1e-12*math.Max(1, hi); i++ {
		mid := (lo + hi) / 2
		if studentTCDF(mid, df) < p {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

// studentTCDF is P(T ≤ t) for t ≥ 0: 1 − ½·I_{df/(df+t²)}(df/2, ½).
func studentTCDF(t, df float64) float64 {
	x := df / (df + t*t)
	return 1 - 0.5*regularizedIncompleteBeta(x, df/2, 0.5)
}

// regularizedIncompleteBeta is I_x(a, b), by the continued fraction of
// Numerical Recipes (section 6.4), using the symmetry for fast convergence.
func regularizedIncompleteBeta(x, a, b float64) float64 {
	switch {
	case x <= 0:
		return 0
	case x >= 1:
		return 1
	}
	la, _ := math.Lgamma(a)
	lb, _ := math.Lgamma(b)
	lab, _ := math.Lgamma(a + b)
	front := math.Exp(lab - la - lb + a*math.Log(x) + b*math.Log(1-x))
	if x < (a+1)/(a+b+2) {
		return front * betaContinuedFraction(x, a, b) / a
	}
	return 1 - front*betaContinuedFraction(1-x, b, a)/b
}

func betaContinuedFraction(x, a, b float64) float64 {
	const tiny = 1e-300
	qab, qap, qam := a+b, a+1, a-1
	c, d := 1.0, 1-qab*x/qap
	if math.Abs(d) < tiny {
		d = tiny
	}
	d = 1 / d
	h := d
	for m := 1; m <= 300; m++ {
		fm := float64(m)
		m2 := 2 * fm
		aa := fm * (b - fm) * x / ((qam + m2) * (a + m2))
		d = 1 + aa*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + aa/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		h *= d * c
		aa = -(a + fm) * (qab + fm) * x / ((a + m2) * (qap + m2))
		d = 1 + aa*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + aa/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < 3e-16 {
			break
		}
	}
	return h
}
