package views

import (
	"fmt"
	"math"
	"strings"
)

// Point is one value of a series; nil means no data for that period.
type Point struct {
	Label string
	Value *float64
}

// sparkPath returns the SVG path of a small line chart in a w×h box, with
// gaps where values are missing, the last point's position and the height
// of zero. The box's bottom is zero (or the lowest value below it).
func sparkPath(pts []Point, w, h float64) (path string, lastX, lastY, zeroY float64, ok bool) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range pts {
		if p.Value != nil {
			lo, hi = math.Min(lo, *p.Value), math.Max(hi, *p.Value)
		}
	}
	if math.IsInf(lo, 1) {
		return "", 0, 0, 0, false
	}
	// From zero, like every axis of counts, rates and durations: a steady
	// series is a flat line high up, not a wiggle across the box.
	lo, hi = math.Min(lo, 0), math.Max(hi, 0)
	if hi == lo {
		hi = lo + 1
	}
	pad := 3.0
	zeroY = h - pad - (0-lo)/(hi-lo)*(h-2*pad)
	var b strings.Builder
	pen := false
	for i, p := range pts {
		if p.Value == nil {
			pen = false
			continue
		}
		x := pad
		if len(pts) > 1 {
			x = pad + float64(i)*(w-2*pad)/float64(len(pts)-1)
		}
		y := h - pad - (*p.Value-lo)/(hi-lo)*(h-2*pad)
		if pen {
			fmt.Fprintf(&b, "L%.1f %.1f ", x, y)
		} else {
			fmt.Fprintf(&b, "M%.1f %.1f ", x, y)
			pen = true
		}
		lastX, lastY, ok = x, y, true
	}
	return strings.TrimSpace(b.String()), lastX, lastY, zeroY, ok
}

func f1(x float64) string { return fmt.Sprintf("%.1f", x) }
