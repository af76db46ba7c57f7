package views

import (
	"testing"

	"github.com/throughline/throughline/domain"
)

func TestFormatValue(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		u    domain.Unit
		want string
	}{
		{0.036, domain.UnitPercent, "3.6 %"},
		{0.0295, domain.UnitPercent, "2.95 %"},
		{1, domain.UnitPercent, "100 %"},
		{120, domain.UnitMS, "120 ms"},
		{42, domain.UnitCount, "42"},
		{12.5, "currency:EUR", "EUR 12.5"},
		{0.036, domain.UnitNone, "0.036"},
	} {
		if got := FormatValue(tc.v, tc.u); got != tc.want {
			t.Errorf("FormatValue(%v, %q) = %q; want %q", tc.v, tc.u, got, tc.want)
		}
	}
}
