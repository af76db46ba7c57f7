package views

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/throughline/throughline/domain"
)

func statusText(code int) string { return fmt.Sprintf("Error %d", code) }

// formatTime shows a time in UTC, the zone every metric uses.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// curlExample shows how to post one CloudEvent to the API.
func curlExample(base string) string {
	return "curl -X POST " + base + "/api/v1/events \\\n" +
		"  -H \"Authorization: Bearer $TOKEN\" \\\n" +
		"  -H \"Content-Type: application/cloudevents+json\" \\\n" +
		"  --data @event.json"
}

// formatCount writes a count with thin thousands separators.
func formatCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteRune(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// preview shows a message body as text, cut to a readable length.
func preview(b []byte) string {
	const max = 4096
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	if len(s) > max {
		return s[:max] + "\n… (" + strconv.Itoa(len(b)-max) + " more bytes)"
	}
	return s
}

// formatSeconds writes a duration the way people read one.
func formatSeconds(p *float64) string {
	if p == nil {
		return "—"
	}
	return domain.HumanSeconds(*p)
}

// formatRate writes a fraction as a percentage.
func formatRate(p *float64) string {
	if p == nil {
		return "—"
	}
	return trimZero(fmt.Sprintf("%.1f", *p*100)) + " %"
}

func trimZero(s string) string { return strings.TrimSuffix(s, ".0") }

// formatDay writes a date as people read it.
func formatDay(t time.Time) string { return t.UTC().Format("2 Jan 2006") }

// shortID keeps the end of a long identifier (artifact digests).
func shortID(s string) string {
	if len(s) <= 28 {
		return s
	}
	return "…" + s[len(s)-27:]
}

func joinList(xs []string) string { return strings.Join(xs, ", ") }

func recoveryLabel(r domain.Recovery) string {
	switch r {
	case domain.RecoveredByResolution:
		return "incident resolved"
	case domain.RecoveredByRollback:
		return "rolled back"
	case domain.RecoveredByDeployment:
		return "next good deployment"
	}
	return ""
}

func ruleLabel(r domain.FailureRule) string {
	switch r {
	case domain.RuleIncidentArtifact:
		return "names the artifact it deployed"
	case domain.RuleIncidentWindow:
		return "started soon after it"
	case domain.RuleOverride:
		return "tied to it by an editor"
	}
	return string(r)
}

func sortStrings(xs []string) { sort.Strings(xs) }

// FormatDuration writes seconds as people read a duration.
func FormatDuration(secs float64) string { return formatSeconds(&secs) }

func eventURL(id domain.Identity) string {
	return "/events/view?" + url.Values{"source": {id.Source}, "id": {id.ID}}.Encode()
}

// derivedFoot says how far derivation is behind what is stored.
func derivedFoot(st domain.IngestStatus) string {
	if behind := st.Stored - st.Derived; behind > 0 {
		return formatCount(behind) + " stored events not in every figure yet"
	}
	return "every stored event is in every figure"
}
