package oidc

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestClaimValues(t *testing.T) {
	var claims map[string]any
	if err := json.Unmarshal([]byte(`{
		"groups": ["tl-admins", 7, "tl-viewers"],
		"role": "editor",
		"realm_access": {"roles": ["offline_access", "throughline-editor"]},
		"https://example.com/roles": ["auth0-admin"],
		"deep": {"a": {"b": "x"}},
		"number": 3
	}`), &claims); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		want []string
	}{
		{"groups", []string{"tl-admins", "tl-viewers"}},
		{"role", []string{"editor"}},
		{"realm_access.roles", []string{"offline_access", "throughline-editor"}},
		{"https://example.com/roles", []string{"auth0-admin"}},
		{"deep.a.b", []string{"x"}},
		{"deep.a", nil},
		{"number", nil},
		{"missing", nil},
		{"realm_access.roles.more", nil},
		{"", nil},
	} {
		if got := claimValues(claims, c.path); !slices.Equal(got, c.want) {
			t.Errorf("%q: got %q, want %q", c.path, got, c.want)
		}
	}
}

func TestBoolClaim(t *testing.T) {
	for in, want := range map[any]string{true: "true", false: "false", "false": "false", "TRUE": "true", "maybe": "nil", nil: "nil", 1.0: "nil"} {
		got := "nil"
		if b := boolClaim(in); b != nil {
			got = map[bool]string{true: "true", false: "false"}[*b]
		}
		if got != want {
			t.Errorf("%v: got %s, want %s", in, got, want)
		}
	}
}
