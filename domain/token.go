package domain

import (
	"slices"
	"strings"
	"time"
)

// Scope limits what an API token may do.
type Scope string

const (
	ScopeRead   Scope = "read"   // read metrics, ideas, events status
	ScopeIngest Scope = "ingest" // publish events
	ScopeWrite  Scope = "write"  // change the roadmap; includes read
	ScopeAdmin  Scope = "admin"  // everything, including replaying dead letters
)

// ParseScopes validates a comma-separated list of scopes.
func ParseScopes(s string) ([]Scope, error) {
	var out []Scope
	for _, part := range strings.Split(s, ",") {
		sc := Scope(strings.ToLower(strings.TrimSpace(part)))
		if sc == "" {
			continue
		}
		switch sc {
		case ScopeRead, ScopeIngest, ScopeWrite, ScopeAdmin:
		default:
			return nil, Errorf(EINVALID, "Unknown scope %q: use read, ingest, write or admin.", part)
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	if len(out) == 0 {
		return nil, Errorf(EINVALID, "At least one scope is required.")
	}
	return out, nil
}

// APIToken is a bearer credential for the JSON API. Only a hash of the secret
// is kept; the secret itself is shown once, when the token is created.
type APIToken struct {
	ID         int64
	Name       string
	Prefix     string // first characters of the secret, to recognise it in lists
	Hash       []byte
	Scopes     []Scope
	CreatedAt  time.Time
	LastUsedAt time.Time
	RevokedAt  time.Time
}

// Revoked reports whether the token may no longer be used.
func (t *APIToken) Revoked() bool { return !t.RevokedAt.IsZero() }

// Allows reports whether the token grants scope s. Admin grants everything;
// write grants read too (DESIGN.md 5).
func (t *APIToken) Allows(s Scope) bool {
	if slices.Contains(t.Scopes, ScopeAdmin) || slices.Contains(t.Scopes, s) {
		return true
	}
	return s == ScopeRead && slices.Contains(t.Scopes, ScopeWrite)
}

// ScopeString joins the scopes for display and storage.
func ScopeString(scopes []Scope) string {
	parts := make([]string, len(scopes))
	for i, s := range scopes {
		parts[i] = string(s)
	}
	return strings.Join(parts, ",")
}
