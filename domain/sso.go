package domain

import (
	"slices"
	"strings"
)

// ExternalIdentity is a person as an identity provider (OpenID Connect)
// vouched for them at sign-in.
type ExternalIdentity struct {
	// Subject names the person at the provider for good: "<issuer> <sub>".
	Subject string
	Email   string
	// EmailVerified is nil when the provider did not say.
	EmailVerified *bool
	// RoleValues are the values of the configured role claim (groups, roles…).
	RoleValues []string
}

// RoleMapping turns the values of an identity provider's role claim into a
// Throughline role. A value may grant several roles; the highest wins.
type RoleMapping struct {
	Claim  string
	Admin  []string
	Editor []string
	Viewer []string
}

// RoleFor returns the highest role granted by values, or "" when none is:
// a person the mapping does not name gets no role, never a default one.
// Values compare exactly (group names and role ids are case-sensitive at
// most providers).
func (m RoleMapping) RoleFor(values []string) Role {
	grants := func(names []string) bool {
		for _, v := range values {
			if v != "" && slices.Contains(names, v) {
				return true
			}
		}
		return false
	}
	switch {
	case grants(m.Admin):
		return RoleAdmin
	case grants(m.Editor):
		return RoleEditor
	case grants(m.Viewer):
		return RoleViewer
	}
	return ""
}

// Empty reports whether no value grants any role.
func (m RoleMapping) Empty() bool {
	return len(m.Admin)+len(m.Editor)+len(m.Viewer) == 0
}

// Describe lists the claim values that grant each role, for the page that
// refuses a person without one: `groups "tl-viewers" (viewer), …`.
func (m RoleMapping) Describe() string {
	var parts []string
	for _, g := range []struct {
		role   Role
		values []string
	}{{RoleViewer, m.Viewer}, {RoleEditor, m.Editor}, {RoleAdmin, m.Admin}} {
		for _, v := range g.values {
			parts = append(parts, "“"+v+"” ("+string(g.role)+")")
		}
	}
	return strings.Join(parts, ", ")
}
