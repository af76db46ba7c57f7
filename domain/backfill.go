package domain

import (
	"strings"
	"time"
)

// ParsePlanDate reads when an idea's work was planned, for a backfill: a
// date (midnight UTC) or an RFC 3339 time, not in the future. Empty is the
// zero time (not planned).
func ParsePlanDate(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(DateLayout, s)
	if err != nil {
		if t, err = time.Parse(time.RFC3339, s); err != nil {
			return time.Time{}, Errorf(EINVALID, "Use a date such as 2026-10-01, or an RFC 3339 time.")
		}
	}
	if t.After(now) {
		return time.Time{}, Errorf(EINVALID, "The plan date cannot be in the future.")
	}
	return t.UTC(), nil
}
