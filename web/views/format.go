package views

import (
	"fmt"
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
