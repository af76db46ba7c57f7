// Package views holds the templ components of the web interface. Components
// take typed view models built by the handlers, never database rows.
package views

import (
	"encoding/json"
	"net/url"

	"github.com/throughline/throughline/domain"
)

// AssetURLs resolves a logical asset name to its cache-busting URL.
type AssetURLs interface{ URL(name string) string }

// Flash is a one-off message shown at the top of a page.
type Flash struct {
	Kind    string // success, error, info, warn
	Message string
}

// Page carries what every page needs: title, navigation state, the signed-in
// user, the CSRF token for forms, the CSP nonce and asset URLs.
type Page struct {
	Title   string
	Section string // roadmap, value-streams, dora, trends, settings
	User    *domain.User
	CSRF    string
	Nonce   string
	Assets  AssetURLs
	Flash   *Flash
	// URL is the page's own address (path and query): table downloads
	// link to it.
	URL *url.URL
	// DateMin and DateMax (YYYY-MM-DD) bound the days a window's date
	// inputs take, as the server does.
	DateMin, DateMax string
}

// CSVHref is the address that downloads one of the page's tables (the one
// marked data-csv=id) as CSV.
func (p Page) CSVHref(id string) string {
	if p.URL == nil {
		return "?csv=" + url.QueryEscape(id)
	}
	q := p.URL.Query()
	q.Set("csv", id)
	return p.URL.Path + "?" + q.Encode()
}

// CanEdit reports whether the signed-in user may change things.
func (p Page) CanEdit() bool { return p.User != nil && p.User.Role.Includes(domain.RoleEditor) }

// IsAdmin reports whether the signed-in user administers the installation.
func (p Page) IsAdmin() bool { return p.User != nil && p.User.Role.Includes(domain.RoleAdmin) }

// NavItem is one entry of the top navigation.
type NavItem struct {
	Section string
	Label   string
	Href    string
}

// Nav is the main navigation, in the order users meet the product.
var Nav = []NavItem{
	{"roadmap", "Roadmap", "/roadmap"},
	{"outcomes", "Outcomes", "/outcomes"},
	{"value-streams", "Value streams", "/value-streams"},
	{"dora", "DORA", "/dora"},
	{"slos", "SLOs", "/slos"},
	{"trends", "Trends", "/trends"},
	{"settings", "Settings", "/settings"},
}

func ariaCurrent(p Page, section string) string {
	if p.Section == section {
		return "page"
	}
	return ""
}

// htmxConfig keeps htmx within the CSP: no eval, no injected indicator
// style element, and the nonce for anything it must inline.
func htmxConfig(nonce string) string {
	b, _ := json.Marshal(map[string]any{
		"includeIndicatorStyles": false,
		"allowEval":              false,
		"allowScriptTags":        false,
		"inlineScriptNonce":      nonce,
		"inlineStyleNonce":       nonce,
	})
	return string(b)
}

// csrfHeaders makes htmx send the CSRF token with every request.
func csrfHeaders(token string) string {
	b, _ := json.Marshal(map[string]string{"X-CSRF-Token": token})
	return string(b)
}
