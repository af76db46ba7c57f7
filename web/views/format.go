package views

import (
	"fmt"
	"strconv"
	"strings"
	"time"
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
