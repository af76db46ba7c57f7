package main

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/spf13/pflag"

	"github.com/throughline/throughline/adapters/oidc"
	"github.com/throughline/throughline/domain"
	"github.com/throughline/throughline/web"
)

// oidcFlags configure sign-in through an OpenID Connect provider.
func oidcFlags(fs *pflag.FlagSet, c *Config) {
	fs.StringVar(&c.OIDCIssuer, "oidc-issuer", c.OIDCIssuer, "OpenID Connect issuer URL; enables single sign-on (local accounts keep working)")
	fs.StringVar(&c.OIDCClientID, "oidc-client-id", c.OIDCClientID, "client id registered at the identity provider")
	fs.StringVar(&c.OIDCClientSecret, "oidc-client-secret", c.OIDCClientSecret, "client secret registered at the identity provider (never logged)")
	fs.StringVar(&c.OIDCRedirectURL, "oidc-redirect-url", c.OIDCRedirectURL, "callback URL as registered at the provider: https://<host>/signin/oidc/callback")
	fs.StringVar(&c.OIDCName, "oidc-name", c.OIDCName, "provider name on the sign-in button ('Sign in with <name>')")
	fs.StringVar(&c.OIDCScopes, "oidc-scopes", c.OIDCScopes, "scopes to request, comma-separated (add groups for providers that need it, such as Okta)")
	fs.StringVar(&c.OIDCRoleClaim, "oidc-role-claim", c.OIDCRoleClaim, "claim whose values grant roles: a string or list; a dotted path for nested claims (realm_access.roles)")
	fs.StringVar(&c.OIDCAdminValues, "oidc-admin-values", c.OIDCAdminValues, "role-claim values that grant admin, comma-separated")
	fs.StringVar(&c.OIDCEditorValues, "oidc-editor-values", c.OIDCEditorValues, "role-claim values that grant editor, comma-separated")
	fs.StringVar(&c.OIDCViewerValues, "oidc-viewer-values", c.OIDCViewerValues, "role-claim values that grant viewer, comma-separated")
}

// ssoWiring is what web needs for single sign-on; all zero when it is off.
type ssoWiring struct {
	Provider web.SingleSignOn
	Users    web.SSOUserStore
	Roles    domain.RoleMapping
}

// singleSignOn wires sign-in through an OpenID Connect provider, or nothing
// when --oidc-issuer is empty. It does not contact the provider: discovery
// waits for the first sign-in, so Throughline starts while it is down.
func singleSignOn(cfg Config, log *slog.Logger, users web.SSOUserStore) (ssoWiring, error) {
	c, roles, err := oidcClient(cfg, log)
	if err != nil || c == nil {
		return ssoWiring{}, err
	}
	return ssoWiring{Provider: c, Users: users, Roles: roles}, nil
}

func oidcClient(cfg Config, log *slog.Logger) (*oidc.Client, domain.RoleMapping, error) {
	roles := domain.RoleMapping{
		Claim:  strings.TrimSpace(cfg.OIDCRoleClaim),
		Admin:  commaList(cfg.OIDCAdminValues),
		Editor: commaList(cfg.OIDCEditorValues),
		Viewer: commaList(cfg.OIDCViewerValues),
	}
	if strings.TrimSpace(cfg.OIDCIssuer) == "" {
		if cfg.OIDCClientID != "" || cfg.OIDCClientSecret != "" || cfg.OIDCRedirectURL != "" || !roles.Empty() {
			return nil, roles, fmt.Errorf("single sign-on: --oidc-issuer is required with the other --oidc-* flags")
		}
		return nil, roles, nil
	}
	if roles.Claim == "" {
		return nil, roles, fmt.Errorf("single sign-on: --oidc-role-claim is empty")
	}
	if roles.Empty() {
		return nil, roles, fmt.Errorf("single sign-on: no claim value grants a role; set --oidc-admin-values, --oidc-editor-values and/or --oidc-viewer-values (values of the %q claim)", roles.Claim)
	}
	c, err := oidc.New(oidc.Config{
		Name:         strings.TrimSpace(cfg.OIDCName),
		Issuer:       strings.TrimSpace(cfg.OIDCIssuer),
		ClientID:     strings.TrimSpace(cfg.OIDCClientID),
		ClientSecret: cfg.OIDCClientSecret,
		RedirectURL:  strings.TrimSpace(cfg.OIDCRedirectURL),
		Scopes:       commaList(cfg.OIDCScopes),
		RoleClaim:    roles.Claim,
		Logger:       log,
	})
	if err != nil {
		return nil, roles, fmt.Errorf("single sign-on: %w", err)
	}
	return c, roles, nil
}

func commaList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
