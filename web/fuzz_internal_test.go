package web

import (
	"maps"
	"sort"
	"strings"
	"testing"
)

// FuzzParseAttributes reads "k=v, k2=v2" as the key result and SLO forms
// do, and writes it back as the SLO edit form does.
func FuzzParseAttributes(f *testing.F) {
	for _, s := range []string{"service=checkout, env=production", "route=/search", "", " , ,", "=x", "a", "a=b=c", "a=1,a=2", " k = v "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		attrs, err := parseAttributes(s)
		if err != nil {
			return
		}
		keys := make([]string, 0, len(attrs))
		for k := range attrs {
			if k == "" || k != strings.TrimSpace(k) {
				t.Fatalf("%q: key %q", s, k)
			}
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + "=" + attrs[k]
		}
		again, err := parseAttributes(strings.Join(parts, ", "))
		if err != nil || !maps.Equal(again, attrs) {
			t.Fatalf("%q → %v → %v, %v", s, attrs, again, err)
		}
	})
}

// FuzzSafeNext: wherever a form or query says to go next, the redirect
// stays on this site.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/dora?from=2026-01-01", "", "//evil.example", "/\\evil.example", "https://evil.example", "/signin?next=/x", "/ok\r\nSet-Cookie: x=y", "/%2F%2Fevil"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next)
		if !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.HasPrefix(got, "/\\") || strings.ContainsAny(got, "\r\n") {
			t.Fatalf("safeNext(%q) = %q", next, got)
		}
		if got != "/" && got != next {
			t.Fatalf("safeNext(%q) changed it to %q", next, got)
		}
	})
}
