package domain_test

import (
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/throughline/throughline/domain"
)

// The parsers of what people type and events carry. Each fuzzer checks:
// no panic; a value or an EINVALID error with a message; and where a value
// can be written back, writing and reading it again gives it unchanged.

func checkInvalid(t *testing.T, what string, err error) {
	t.Helper()
	if domain.ErrorCode(err) != domain.EINVALID || domain.ErrorMessage(err) == "" {
		t.Fatalf("%s: error %v is not EINVALID with a message", what, err)
	}
}

func FuzzParseRule(f *testing.F) {
	for _, s := range []string{"change.merged", "build, test", "deploy.production or operate", "idea.planned|change",
		"keyresult\tartifact.published\nartifact.packaged", "", ",", "or", "Change.Merged", "deploy.production, nope", "trigger(3)"} {
		f.Add(s)
	}
	for _, st := range domain.DefaultStages() {
		f.Add(domain.RuleText(st.Rule))
	}
	f.Fuzz(func(t *testing.T, text string) {
		rule, err := domain.ParseRule(text)
		if err != nil {
			checkInvalid(t, "ParseRule", err)
			return
		}
		if len(rule) == 0 {
			t.Fatal("an empty rule accepted")
		}
		for _, tr := range rule {
			if tr >= domain.NumTriggers {
				t.Fatalf("trigger %d out of range", tr)
			}
		}
		again, err := domain.ParseRule(domain.RuleText(rule))
		if err != nil || !slices.Equal(again, rule) {
			t.Fatalf("%q → %v → %q → %v, %v", text, rule, domain.RuleText(rule), again, err)
		}
	})
}

func FuzzParseTrigger(f *testing.F) {
	for _, tr := range domain.AllTriggers() {
		f.Add(tr.String())
	}
	f.Add(" CHANGE.merged ")
	f.Add("trigger(99)")
	f.Fuzz(func(t *testing.T, s string) {
		tr, err := domain.ParseTrigger(s)
		var viaText domain.Trigger
		textErr := viaText.UnmarshalText([]byte(s))
		if (err == nil) != (textErr == nil) || viaText != tr {
			t.Fatalf("ParseTrigger and UnmarshalText disagree on %q: %v %v / %v %v", s, tr, err, viaText, textErr)
		}
		if err != nil {
			checkInvalid(t, "ParseTrigger", err)
			return
		}
		b, _ := tr.MarshalText()
		if back, err := domain.ParseTrigger(string(b)); err != nil || back != tr {
			t.Fatalf("%q → %v → %q → %v, %v", s, tr, b, back, err)
		}
	})
}

func FuzzNormalizeIdeaKey(f *testing.F) {
	for _, s := range []string{"CHK-12", " chk-12 ", "A-1", "AB-", "-12", "CHK_12", "ÄB-1", "CHK-12\n", "chk-0012", "X1-99999999999999999999"} {
		f.Add(s)
	}
	pattern := regexp.MustCompile(domain.DefaultIdeaKeyPattern)
	f.Fuzz(func(t *testing.T, s string) {
		k, err := domain.NormalizeIdeaKey(s)
		if err != nil {
			checkInvalid(t, "NormalizeIdeaKey", err)
			return
		}
		if again, err := domain.NormalizeIdeaKey(k); err != nil || again != k {
			t.Fatalf("not idempotent: %q → %q → %q, %v", s, k, again, err)
		}
		// A valid key is one delivery events can name in free text.
		if got := domain.IdeaKeys(pattern, nil, "work on "+k+" today"); !slices.Equal(got, []string{k}) {
			t.Fatalf("key %q is not found in text: %q", k, got)
		}
	})
}

func FuzzIdeaKeys(f *testing.F) {
	f.Add("CHK-1, chk-2", "feat(CHK-12): one-page checkout", "CHK-12-branch")
	f.Add("", "", "")
	f.Add(" , ,", "NOPE-x A-1 AB-2", "\u00c4B-3")
	pattern := regexp.MustCompile(domain.DefaultIdeaKeyPattern)
	f.Fuzz(func(t *testing.T, explicit, title, branch string) {
		keys := domain.IdeaKeys(pattern, strings.Split(explicit, ","), title, branch)
		if !slices.IsSorted(keys) || len(slices.Compact(slices.Clone(keys))) != len(keys) {
			t.Fatalf("keys not sorted and unique: %q", keys)
		}
		for _, k := range keys {
			if k == "" {
				t.Fatal("empty key")
			}
		}
		for _, e := range strings.Split(explicit, ",") {
			if e = strings.TrimSpace(e); e != "" && !slices.Contains(keys, strings.ToUpper(e)) {
				t.Fatalf("explicit key %q lost: %q", e, keys)
			}
		}
	})
}

func FuzzParseOptionalNumber(f *testing.F) {
	for _, s := range []string{"", "2.5", " 80 % ", "1,000", "1e3", "-0", "NaN", "Inf", "1e999", "0x1p-2", "1_000", "%", "12%%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := domain.ParseOptionalNumber(s)
		if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
			return // the forms refuse these; the point is no panic
		}
		back, err := domain.ParseOptionalNumber(strconv.FormatFloat(n, 'g', -1, 64))
		if err != nil || back != n {
			t.Fatalf("%q → %v → %v, %v", s, n, back, err)
		}
	})
}

func FuzzParseScopes(f *testing.F) {
	for _, s := range []string{"read", "read,ingest", " ADMIN , read ,", "", ",,", "read,write", "read,read"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		scopes, err := domain.ParseScopes(s)
		if err != nil {
			checkInvalid(t, "ParseScopes", err)
			return
		}
		again, err := domain.ParseScopes(domain.ScopeString(scopes))
		if err != nil || !slices.Equal(again, scopes) {
			t.Fatalf("%q → %v → %v, %v", s, scopes, again, err)
		}
	})
}

func FuzzParseRole(f *testing.F) {
	for _, s := range []string{"viewer", " Editor ", "ADMIN", "", "root", "admin\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := domain.ParseRole(s)
		if err != nil {
			checkInvalid(t, "ParseRole", err)
			return
		}
		if again, err := domain.ParseRole(string(r)); !r.Valid() || err != nil || again != r {
			t.Fatalf("%q → %q → %q, %v", s, r, again, err)
		}
	})
}

func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"pm@example.com", " PM@Example.COM ", "pm", "Pat <pm@example.com>", "a@b", "\"a b\"@example.com", "@", "pm@example.com\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := domain.NormalizeEmail(s)
		if err != nil {
			checkInvalid(t, "NormalizeEmail", err)
			return
		}
		if again, err := domain.NormalizeEmail(e); err != nil || again != e {
			t.Fatalf("not idempotent: %q → %q → %q, %v", s, e, again, err)
		}
	})
}

func FuzzParseProductionEnvs(f *testing.F) {
	for _, s := range []string{"production,prod", " Prod , , live", "", ","} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		envs := domain.ParseProductionEnvs(s)
		if again := domain.ParseProductionEnvs(envs.String()); !slices.Equal(again, envs) {
			t.Fatalf("%q → %q → %q", s, envs, again)
		}
		for _, e := range envs {
			// Upper case is not undone by lower case for every letter
			// (dotless ı becomes I, then i): only those that are.
			if up := strings.ToUpper(e); !envs.Contains(e) || strings.ToLower(up) == e && !envs.Contains(up) {
				t.Fatalf("%q does not contain its own %q", s, e)
			}
		}
	})
}

// FuzzWindow reads two dates the way the query parsers do and checks what
// the pages build from the window: buckets and quarters that cover it day
// by day, and a previous window of the same length just before it.
func FuzzWindow(f *testing.F) {
	for _, p := range [][2]string{{"2026-01-01", "2026-03-31"}, {"2026-03-31", "2026-01-01"}, {"2024-02-29", "2024-02-29"},
		{"0000-01-01", "0002-12-31"}, {"9997-01-01", "9999-12-31"}, {"2026-1-1", "2026-13-01"}, {"", ""}} {
		f.Add(p[0], p[1])
	}
	f.Fuzz(func(t *testing.T, fromText, toText string) {
		from, err1 := time.Parse(domain.DateLayout, fromText)
		to, err2 := time.Parse(domain.DateLayout, toText)
		if err1 != nil || err2 != nil {
			return
		}
		w, err := domain.NewWindow(from, to)
		if err != nil {
			checkInvalid(t, "NewWindow", err)
			if !to.Before(from) {
				t.Fatalf("%s..%s refused: %v", fromText, toText, err)
			}
			return
		}
		if w.Days() < 1 || w.Days() > 1100 {
			return // the handlers refuse windows over 1,100 days before going further
		}
		for _, b := range []domain.Bucket{domain.BucketWeek, domain.BucketMonth, "quarter"} {
			var parts []domain.Window
			if b == "quarter" {
				parts = w.Quarters()
			} else {
				parts = w.Buckets(b)
			}
			if len(parts) == 0 || !parts[0].From.Equal(w.From) || !parts[len(parts)-1].To.Equal(w.To) {
				t.Fatalf("%s buckets of %v do not cover it: %v", b, w, parts)
			}
			for i, p := range parts {
				if p.To.Before(p.From) || p.BucketStart.After(p.From) || (i > 0 && !p.From.Equal(parts[i-1].To.AddDate(0, 0, 1))) {
					t.Fatalf("%s bucket %d of %v: %v", b, i, w, p)
				}
			}
		}
		prev := domain.PreviousWindow(w)
		if prev.Days() != w.Days() || !prev.End().Equal(w.From) {
			t.Fatalf("previous of %v is %v", w, prev)
		}
	})
}
