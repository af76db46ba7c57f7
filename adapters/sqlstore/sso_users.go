package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/uptrace/bun"

	"github.com/throughline/throughline/domain"
)

// SignInExternal creates or updates the account of a person the identity
// provider vouched for, keyed by their subject there, with the role their
// claims map to now. It returns the account and the role it had before (""
// when it was just created). The provider is the authority on roles: a
// demotion applies even to the last admin (a local admin can always be added
// with `throughline user add`).
//
// A local account with the same e-mail is not taken over: the provider's
// word about an e-mail address is not proof of owning that account, so an
// administrator removes the local account first.
func (s *Store) SignInExternal(ctx context.Context, id domain.ExternalIdentity, role domain.Role) (*domain.User, domain.Role, error) {
	if id.Subject == "" {
		return nil, "", domain.Errorf(domain.EINVALID, "The identity provider did not name the account (no subject).")
	}
	email, err := domain.NormalizeEmail(id.Email)
	if err != nil {
		return nil, "", domain.Errorf(domain.EINVALID, "The identity provider sent no usable e-mail address for this account.")
	}
	if !role.Valid() {
		return nil, "", domain.Errorf(domain.EINVALID, "Unknown role %q.", role)
	}
	var (
		out *domain.User
		was domain.Role
	)
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		row := new(userRow)
		err := tx.NewSelect().Model(row).Where("oidc_subject = ?", id.Subject).Scan(ctx)
		switch {
		case err == nil:
			was = domain.Role(row.Role)
			if row.Email != email {
				n, err := tx.NewSelect().Model((*userRow)(nil)).Where("email = ?", email).Where("id <> ?", row.ID).Count(ctx)
				if err != nil {
					return err
				}
				if n > 0 {
					return domain.Errorf(domain.ECONFLICT, "Another account already uses %s; an administrator must remove it before you can sign in with single sign-on.", email)
				}
			}
			row.Email, row.Role = email, string(role)
			if _, err := tx.NewUpdate().Model(row).Column("email", "role").WherePK().Exec(ctx); err != nil {
				return err
			}
		case errors.Is(err, sql.ErrNoRows):
			n, err := tx.NewSelect().Model((*userRow)(nil)).Where("email = ?", email).Count(ctx)
			if err != nil {
				return err
			}
			if n > 0 {
				return domain.Errorf(domain.ECONFLICT, "An account with e-mail %s already exists that does not sign in with single sign-on; an administrator must remove it (Settings → Users) before you can sign in this way.", email)
			}
			row = &userRow{Email: email, Role: string(role), PasswordHash: []byte{}, OIDCSubject: id.Subject, CreatedAt: micros(s.now())}
			if _, err := tx.NewInsert().Model(row).Returning("id").Exec(ctx); err != nil {
				if isUniqueViolation(err) {
					return domain.Errorf(domain.ECONFLICT, "This account was created by another sign-in at the same moment; sign in again.")
				}
				return err
			}
		default:
			return err
		}
		out = row.toDomain()
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return out, was, nil
}

// RemoveExternal deletes the account of a person the identity provider no
// longer lets in (their claims grant no role, or their e-mail is no longer
// verified), with every session they hold: removing someone from the
// provider's groups ends their access here at their next sign-in attempt,
// not when their sessions expire. It returns the account removed, or nil
// when there was none. The provider is the authority, as in SignInExternal.
func (s *Store) RemoveExternal(ctx context.Context, subject string) (*domain.User, error) {
	if subject == "" {
		return nil, nil
	}
	var out *domain.User
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		row := new(userRow)
		err := tx.NewSelect().Model(row).Where("oidc_subject = ?", subject).Scan(ctx)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		// Its sessions go with it (ON DELETE CASCADE).
		if _, err := tx.NewDelete().Model((*userRow)(nil)).Where("id = ?", row.ID).Exec(ctx); err != nil {
			return err
		}
		out = row.toDomain()
		return nil
	})
	return out, err
}
