package domain

import (
	"strings"
	"testing"
)

func TestRolesAreOrdered(t *testing.T) {
	for _, tc := range []struct {
		have, need Role
		ok         bool
	}{
		{RoleViewer, RoleViewer, true}, {RoleViewer, RoleEditor, false}, {RoleViewer, RoleAdmin, false},
		{RoleEditor, RoleViewer, true}, {RoleEditor, RoleEditor, true}, {RoleEditor, RoleAdmin, false},
		{RoleAdmin, RoleViewer, true}, {RoleAdmin, RoleEditor, true}, {RoleAdmin, RoleAdmin, true},
		{Role("root"), RoleViewer, false}, {Role(""), RoleViewer, false},
	} {
		if got := tc.have.Includes(tc.need); got != tc.ok {
			t.Errorf("%q includes %q = %v; want %v", tc.have, tc.need, got, tc.ok)
		}
	}
	if r, err := ParseRole(" Editor "); err != nil || r != RoleEditor {
		t.Errorf("ParseRole: %v %v", r, err)
	}
	if _, err := ParseRole("owner"); ErrorCode(err) != EINVALID {
		t.Errorf("ParseRole(owner) err = %v", err)
	}
}

func TestScopes(t *testing.T) {
	got, err := ParseScopes("read, ingest,read")
	if err != nil || ScopeString(got) != "read,ingest" {
		t.Fatalf("ParseScopes = %v %v", got, err)
	}
	for _, bad := range []string{"", " , ", "writer", "read,superuser"} {
		if _, err := ParseScopes(bad); ErrorCode(err) != EINVALID {
			t.Errorf("ParseScopes(%q) err = %v; want invalid", bad, err)
		}
	}
	tok := APIToken{Scopes: []Scope{ScopeIngest}}
	if !tok.Allows(ScopeIngest) || tok.Allows(ScopeRead) || tok.Allows(ScopeAdmin) {
		t.Error("ingest token scopes wrong")
	}
	write := APIToken{Scopes: []Scope{ScopeWrite}}
	if !write.Allows(ScopeWrite) || !write.Allows(ScopeRead) || write.Allows(ScopeIngest) || write.Allows(ScopeAdmin) {
		t.Error("write includes read and nothing else (DESIGN.md 5)")
	}
	if read := (APIToken{Scopes: []Scope{ScopeRead}}); read.Allows(ScopeWrite) {
		t.Error("read must not write")
	}
	if sc, err := ParseScopes("write"); err != nil || len(sc) != 1 || sc[0] != ScopeWrite {
		t.Errorf("ParseScopes(write) = %v %v", sc, err)
	}
	admin := APIToken{Scopes: []Scope{ScopeAdmin}}
	if !admin.Allows(ScopeRead) || !admin.Allows(ScopeIngest) || !admin.Allows(ScopeWrite) {
		t.Error("admin scope must allow everything")
	}
}

func TestEmailsAndPasswords(t *testing.T) {
	if e, err := NormalizeEmail("  Ada@Example.COM "); err != nil || e != "ada@example.com" {
		t.Errorf("NormalizeEmail = %q %v", e, err)
	}
	for _, bad := range []string{"", "ada", "Ada <ada@example.com>", "a@b@c"} {
		if _, err := NormalizeEmail(bad); ErrorCode(err) != EINVALID {
			t.Errorf("NormalizeEmail(%q) err = %v", bad, err)
		}
	}
	if ValidatePassword(strings.Repeat("x", MinPasswordLength-1)) == nil || ValidatePassword(strings.Repeat("x", MinPasswordLength)) != nil {
		t.Error("password length rule")
	}
	seen := map[string]bool{}
	for i := 0; i < 50; i++ {
		p := GeneratePassword()
		if len(p) != 20 || ValidatePassword(p) != nil || seen[p] || strings.ContainsAny(p, "0O1lI") {
			t.Fatalf("generated password %q", p)
		}
		seen[p] = true
	}
}

func TestErrorHelpers(t *testing.T) {
	err := Errorf(ENOTFOUND, "Idea %s not found.", "CHK-1")
	if ErrorCode(err) != ENOTFOUND || ErrorMessage(err) != "Idea CHK-1 not found." {
		t.Errorf("code %q message %q", ErrorCode(err), ErrorMessage(err))
	}
	plain := strings.NewReader("").UnreadByte() // any non-domain error
	if ErrorCode(plain) != EINTERNAL || ErrorMessage(plain) != "Internal error." {
		t.Errorf("plain error: %q %q", ErrorCode(plain), ErrorMessage(plain))
	}
	if ErrorCode(nil) != "" {
		t.Error("nil error has a code")
	}
}
