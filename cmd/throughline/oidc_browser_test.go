package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// A person clicks "Sign in with …", passes the identity provider and lands
// signed in on the page they first asked for, with the role their groups give.
func TestBrowserSingleSignOn(t *testing.T) {
	ctx := newBrowser(t)
	m := startIdP(t, "")
	app, _ := startApp(t, ssoConfig(t, m.Issuer(), m.ClientID, m.ClientSecret))
	m.QueueUser(person("sub-grace", "grace@example.com", "tl-admins"))

	if err := chromedp.Do(ctx,
		chromedp.Navigate(app.URL()+"/dora"),
		chromedp.WaitVisible(`[data-testid="signin-sso"]`),
	); err != nil {
		t.Fatal(err)
	}
	if label := browse(t, ctx, chromedp.Text(`[data-testid="signin-sso"]`)); label != "Sign in with Acme SSO" {
		t.Errorf("button %q", label)
	}
	screenshot(t, ctx, "oidc-signin")

	if err := chromedp.Do(ctx,
		chromedp.Click(`[data-testid="signin-sso"]`),
		chromedp.WaitVisible(`[data-testid="nav"]`),
	); err != nil {
		t.Fatal(err)
	}
	url := browse(t, ctx, chromedp.Location())
	user := browse(t, ctx, chromedp.Text(`[data-testid="usermenu"]`))
	if !strings.HasSuffix(url, "/dora") || !strings.Contains(user, "grace@example.com") || !strings.Contains(strings.ToLower(user), "admin") {
		t.Fatalf("after single sign-on at %s as %q", url, user)
	}
	screenshot(t, ctx, "oidc-signed-in")

	// The users page says who signs in through the provider.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(app.URL()+"/settings/users"),
		chromedp.WaitVisible(`[data-testid="users-table"]`),
	); err != nil {
		t.Fatal(err)
	}
	if n := browse(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="sso-user"]').length`)); n != 1 {
		t.Errorf("%d accounts marked single sign-on, want 1 (grace)", n)
	}
	screenshot(t, ctx, "oidc-users")
}
