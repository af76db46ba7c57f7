package sqlstore_test

import (
	"context"
	"testing"

	"github.com/throughline/throughline/adapters/sqlstore"
	"github.com/throughline/throughline/adapters/sqlstore/sqltest"
	"github.com/throughline/throughline/domain"
)

func TestSignInExternal(t *testing.T) {
	sqltest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		grace := domain.ExternalIdentity{Subject: "https://idp.example grace-1", Email: "Grace@Example.com"}

		u, was, err := s.SignInExternal(ctx, grace, domain.RoleViewer)
		if err != nil || was != "" || u.Role != domain.RoleViewer || u.Email != "grace@example.com" || u.Subject != grace.Subject {
			t.Fatalf("first sign-in: %+v was=%q err=%v", u, was, err)
		}
		// Role and e-mail follow the provider at the next sign-in; same account.
		grace.Email = "grace.hopper@example.com"
		u2, was, err := s.SignInExternal(ctx, grace, domain.RoleAdmin)
		if err != nil || was != domain.RoleViewer || u2.ID != u.ID || u2.Role != domain.RoleAdmin || u2.Email != "grace.hopper@example.com" {
			t.Fatalf("second sign-in: %+v was=%q err=%v", u2, was, err)
		}
		// The provider may demote even the only admin.
		if u3, was, err := s.SignInExternal(ctx, grace, domain.RoleEditor); err != nil || was != domain.RoleAdmin || u3.Role != domain.RoleEditor {
			t.Fatalf("demotion: %+v was=%q err=%v", u3, was, err)
		}
		// No password works for a single sign-on account, not even an empty one.
		for _, pw := range []string{"", "correct horse battery"} {
			if _, err := s.Authenticate(ctx, "grace.hopper@example.com", pw); domain.ErrorCode(err) != domain.EUNAUTHORIZED {
				t.Fatalf("password %q: %v", pw, err)
			}
		}
		// A local account with the same e-mail is never taken over.
		local, err := s.CreateUser(ctx, "ada@example.com", domain.RoleViewer, "correct horse battery")
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = s.SignInExternal(ctx, domain.ExternalIdentity{Subject: "https://idp.example ada", Email: "ada@example.com"}, domain.RoleAdmin)
		if domain.ErrorCode(err) != domain.ECONFLICT {
			t.Fatalf("local e-mail: %v", err)
		}
		if got, _ := s.UserByID(ctx, local.ID); got.Role != domain.RoleViewer || got.Subject != "" {
			t.Fatalf("local account changed: %+v", got)
		}
		if _, err := s.Authenticate(ctx, "ada@example.com", "correct horse battery"); err != nil {
			t.Fatalf("local sign-in after refusal: %v", err)
		}
		// Nor may a changed e-mail collide with another account.
		grace.Email = "ada@example.com"
		if _, _, err := s.SignInExternal(ctx, grace, domain.RoleViewer); domain.ErrorCode(err) != domain.ECONFLICT {
			t.Fatalf("e-mail collision: %v", err)
		}
		// Bad input is refused and stores nothing.
		for _, bad := range []domain.ExternalIdentity{{Subject: "", Email: "x@example.com"}, {Subject: "s", Email: "not an address"}} {
			if _, _, err := s.SignInExternal(ctx, bad, domain.RoleViewer); domain.ErrorCode(err) != domain.EINVALID {
				t.Fatalf("%+v: %v", bad, err)
			}
		}
		if _, _, err := s.SignInExternal(ctx, domain.ExternalIdentity{Subject: "s", Email: "s@example.com"}, ""); domain.ErrorCode(err) != domain.EINVALID {
			t.Fatalf("no role: %v", err)
		}
		if n, _ := s.CountUsers(ctx); n != 2 {
			t.Fatalf("users = %d, want 2", n)
		}
	})
}
