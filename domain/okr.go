package domain

import (
	"regexp"
	"strings"
	"time"
)

// Unit says what a key result's values are, so that pages show 0.036 as
// 3.6 %: "" (a plain number), "percent" (a share, 0.036 is 3.6 %), "ms",
// "count", or "currency:XXX" with an ISO 4217 code ("currency:EUR").
type Unit string

const (
	UnitNone    Unit = ""
	UnitPercent Unit = "percent"
	UnitMS      Unit = "ms"
	UnitCount   Unit = "count"
)

var currencyUnit = regexp.MustCompile(`^currency:[A-Z]{3}$`)

// Valid reports whether u is a known unit.
func (u Unit) Valid() bool {
	switch u {
	case UnitNone, UnitPercent, UnitMS, UnitCount:
		return true
	}
	return currencyUnit.MatchString(string(u))
}

// Currency is the ISO 4217 code of a currency unit, "" for the others.
func (u Unit) Currency() string {
	c, _ := strings.CutPrefix(string(u), "currency:")
	if c == string(u) {
		return ""
	}
	return c
}

// UnitMessage explains the units, for a field error.
const UnitMessage = `Use percent, ms, count, currency:EUR (any ISO 4217 code), or leave it empty for a plain number.`

// KRBaseline is a baseline a re-baseline replaced: the history of a key
// result's starting point.
type KRBaseline struct {
	Baseline   float64
	ReplacedAt time.Time
	ReplacedBy string
	Note       string
}

// KRState is where a key result stands in its life.
type KRState string

const (
	KRActive   KRState = "active"
	KRRetired  KRState = "retired"  // no longer pursued; its history stays
	KRArchived KRState = "archived" // off the pages; restorable
)

// State is the key result's state: archived wins over retired.
func (k KeyResult) State() KRState {
	switch {
	case !k.ArchivedAt.IsZero():
		return KRArchived
	case !k.RetiredAt.IsZero():
		return KRRetired
	}
	return KRActive
}
