package views

import (
	"strings"

	"github.com/a-h/templ"

	"github.com/throughline/throughline/domain"
)

// ChecksTable is the health of each dependency (the overview's "system",
// the settings page's "health").
func ChecksTable(id string, checks []CheckView) Table {
	t := Table{ID: id, NoHead: true, Columns: []Column{
		{Head: "Check", Kind: KindText},
		{Head: "Status", Kind: KindText, Place: PlaceNone}, // the dot's colour
		{Head: "Detail", Kind: KindText, Class: "muted small"},
	}}
	for _, c := range checks {
		name := TextCell(c.Name)
		name.Draw = func(Page) templ.Component { return checkName(c) }
		status := "ok"
		if !c.OK {
			status = "down"
		}
		t.Rows = append(t.Rows, Row{Cells: []Cell{name, TextCell(status), TextCell(c.Detail)}})
	}
	return t
}

// UsersTable lists the accounts, with the admin's controls.
func UsersTable(users []*domain.User) Table {
	t := Table{ID: "users", TestID: "users-table", Actions: true, Columns: []Column{
		{Head: "E-mail", Kind: KindText},
		{Head: "Signs in with", Kind: KindText},
		{Head: "Role", Kind: KindText},
		{Head: "Role from", Kind: KindText, Class: "small muted", Place: PlaceBelow},
		{Head: "Since", Kind: KindTime, Class: "muted small nowrap"},
	}}
	for _, u := range users {
		signIn, role, roleFrom := TextCell("password"), TextCell(string(u.Role)), Cell{}
		if u.Subject != "" {
			signIn = TextCell("single sign-on")
			signIn.Class, signIn.TestID = "badge badge-accent", "sso-user"
			roleFrom = TextCell("from the identity provider, at each sign-in")
		} else {
			role.Draw = func(p Page) templ.Component { return userRoleForm(p, u) }
		}
		t.Rows = append(t.Rows, Row{
			Cells: []Cell{TextCell(u.Email), signIn, role, roleFrom, TimeCell(u.CreatedAt)},
			Actions: func(p Page) templ.Component {
				if p.User != nil && p.User.ID == u.ID {
					return nil // no one removes their own account
				}
				return removeUserForm(p, u)
			},
		})
	}
	return t
}

// TokensTable lists the API tokens, with a control to revoke each.
func TokensTable(tokens []*domain.APIToken) Table {
	t := Table{ID: "tokens", TestID: "tokens-table", Columns: []Column{
		{Head: "Name", Kind: KindText},
		{Head: "Token", Kind: KindText, Class: "mono"},
		{Head: "Scopes", Kind: KindText},
		{Head: "Last used", Kind: KindTime, Class: "muted small nowrap"},
		{Head: "", CSVHead: "State", Kind: KindText},
	}}
	for _, tok := range tokens {
		scopes := make([]string, len(tok.Scopes))
		for i, s := range tok.Scopes {
			scopes[i] = string(s)
		}
		scopeCell := TextCell(strings.Join(scopes, " "))
		scopeCell.Draw = func(Page) templ.Component { return scopeBadges(scopes) }
		state := TextCell("revoked")
		state.Class = "badge"
		if !tok.Revoked() {
			state = TextCell("active")
			state.Draw = func(p Page) templ.Component { return revokeTokenForm(p, tok) }
		}
		t.Rows = append(t.Rows, Row{Cells: []Cell{TextCell(tok.Name), TextCell(tok.Prefix + "…"), scopeCell, TimeCell(tok.LastUsedAt), state}})
	}
	return t
}

// AuditTable is the audit log, newest first.
func AuditTable(entries []domain.AuditEntry) Table {
	t := Table{ID: "audit", TestID: "audit-table", Columns: []Column{
		{Head: "When", Kind: KindTime, Class: "nowrap small"},
		{Head: "Who", Kind: KindText},
		{Head: "Action", Kind: KindText, Class: "mono"},
		{Head: "Target", Kind: KindText},
		{Head: "Detail", Kind: KindText, Class: "muted small"},
	}}
	for _, e := range entries {
		t.Rows = append(t.Rows, Row{Cells: []Cell{TimeCell(e.At), TextCell(e.Actor), TextCell(e.Action), TextCell(e.Target), TextCell(e.Detail)}})
	}
	return t
}

// DeadLettersTable lists what could not be stored, with a control to
// replay each.
func DeadLettersTable(list []domain.DeadLetter) Table {
	t := Table{ID: "dead-letters", TestID: "dead-letters", Columns: []Column{
		{Head: "When", Kind: KindTime, Class: "nowrap small"},
		{Head: "Reason", Kind: KindText},
		{Head: "Subject", Kind: KindText, Class: "mono small"},
		{Head: "Message", Kind: KindText},
		{Head: "", CSVHead: "Replayed", Kind: KindTime, Class: "nowrap"},
	}}
	for _, dl := range list {
		reason := TextCell(dl.Reason)
		reason.Class = "badge badge-bad"
		msg := TextCell(dl.Message)
		msg.After = func(Page) templ.Component { return messagePreview(dl) }
		replayed := TimeCell(dl.ReplayedAt)
		if dl.ReplayedAt.IsZero() {
			replayed = BlankCell()
			replayed.Draw = func(p Page) templ.Component {
				if !p.IsAdmin() {
					return nil
				}
				return replayForm(p, dl)
			}
		} else {
			replayed.Show, replayed.Class = "replayed "+formatTime(dl.ReplayedAt), "badge"
		}
		t.Rows = append(t.Rows, Row{Cells: []Cell{TimeCell(dl.At), reason, TextCell(dl.Subject), msg, replayed}})
	}
	return t
}

// ServicesTable lists services with their team, who set it, and their
// error-budget posture; editors set the team in place.
func ServicesTable(v ServicesView) Table {
	t := Table{ID: "services", TestID: "services-table", Actions: true, Columns: []Column{
		{Head: "Service", Kind: KindLink},
		{Head: "Team", Kind: KindText},
		{Head: "Set by", Kind: KindText, Class: "small muted"},
		{Head: "Error budget", Kind: KindText},
	}}
	for _, s := range v.Services {
		team := TextCell(s.Team)
		if s.Team == "" {
			team.Show, team.Class = "no team", "muted"
		}
		team.Draw = func(p Page) templ.Component {
			if !p.CanEdit() {
				return nil
			}
			return teamForm(p, s)
		}
		setBy := Cell{}
		if s.TeamByUser {
			setBy = TextCell("a person")
		} else if s.Team != "" {
			setBy = TextCell("events")
		}
		posture := TextCell("")
		if ps, ok := v.Postures[s.Name]; ok {
			posture = LinkCell(ps.Label(), "/slos")
			posture.Class, posture.TestID = postureClass(ps), "service-posture"
		} else {
			posture.Show, posture.Class = "no SLO", "muted small"
			posture.Draw = func(p Page) templ.Component {
				if !p.CanEdit() {
					return nil
				}
				return addSLOLink(s.Name)
			}
		}
		row := Row{ID: s.Name, Cells: []Cell{LinkCell(s.Name, doraForService(s.Name)), team, setBy, posture}}
		if s.TeamByUser {
			row.Actions = func(p Page) templ.Component {
				if !p.CanEdit() {
					return nil
				}
				return letEventsDecideForm(p, s)
			}
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}
