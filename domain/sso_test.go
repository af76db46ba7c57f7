package domain

import "testing"

func TestRoleMappingHighestRoleOrNone(t *testing.T) {
	m := RoleMapping{Claim: "groups", Admin: []string{"tl-admins"}, Editor: []string{"tl-editors", "platform"}, Viewer: []string{"tl-viewers"}}
	for _, c := range []struct {
		values []string
		want   Role
	}{
		{[]string{"tl-viewers", "tl-admins"}, RoleAdmin},
		{[]string{"platform", "tl-viewers"}, RoleEditor},
		{[]string{"tl-viewers"}, RoleViewer},
		{[]string{"TL-ADMINS", "engineering"}, ""}, // exact match only
		{[]string{""}, ""},
		{nil, ""},
	} {
		if got := m.RoleFor(c.values); got != c.want {
			t.Errorf("%q: %q, want %q", c.values, got, c.want)
		}
	}
	if (RoleMapping{Claim: "groups"}).RoleFor([]string{""}) != "" || !(RoleMapping{}).Empty() || m.Empty() {
		t.Error("an empty mapping grants nothing")
	}
	if got, want := m.Describe(), "“tl-viewers” (viewer), “tl-editors” (editor), “platform” (editor), “tl-admins” (admin)"; got != want {
		t.Errorf("Describe = %q", got)
	}
}
