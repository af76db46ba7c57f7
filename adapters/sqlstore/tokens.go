package sqlstore

import (
	"context"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/throughline/throughline/domain"
)

type tokenRow struct {
	bun.BaseModel `bun:"table:api_tokens,alias:t"`

	ID         int64  `bun:"id,pk,autoincrement"`
	Name       string `bun:"name"`
	Prefix     string `bun:"prefix"`
	Hash       []byte `bun:"hash"`
	Scopes     string `bun:"scopes"`
	CreatedAt  int64  `bun:"created_at"`
	LastUsedAt int64  `bun:"last_used_at"`
	RevokedAt  int64  `bun:"revoked_at"`
}

func (r *tokenRow) toDomain() *domain.APIToken {
	scopes, _ := domain.ParseScopes(r.Scopes)
	return &domain.APIToken{
		ID: r.ID, Name: r.Name, Prefix: r.Prefix, Hash: r.Hash, Scopes: scopes,
		CreatedAt: fromMicros(r.CreatedAt), LastUsedAt: fromMicros(r.LastUsedAt), RevokedAt: fromMicros(r.RevokedAt),
	}
}

// tokenPrefix marks Throughline API tokens so that secret scanners recognise them.
const tokenPrefix = "tl_"

// CreateToken makes a new API token and returns it with its secret, which is
// not stored and cannot be shown again.
func (s *Store) CreateToken(ctx context.Context, name string, scopes []domain.Scope) (*domain.APIToken, string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, "", domain.Errorf(domain.EINVALID, "Token name is required.")
	}
	if len(scopes) == 0 {
		return nil, "", domain.Errorf(domain.EINVALID, "At least one scope is required.")
	}
	secret, hash, err := newSecret(tokenPrefix)
	if err != nil {
		return nil, "", err
	}
	row := &tokenRow{
		Name: name, Prefix: secret[:len(tokenPrefix)+6], Hash: hash,
		Scopes: domain.ScopeString(scopes), CreatedAt: micros(s.now()),
	}
	if _, err := s.db.NewInsert().Model(row).Returning("id").Exec(ctx); err != nil {
		return nil, "", err
	}
	return row.toDomain(), secret, nil
}

// TokenBySecret returns the live token with this secret.
func (s *Store) TokenBySecret(ctx context.Context, secret string) (*domain.APIToken, error) {
	row := new(tokenRow)
	err := s.db.NewSelect().Model(row).Where("hash = ?", hashSecret(secret)).Where("revoked_at = 0").Scan(ctx)
	if err != nil {
		return nil, notFound(err, "Unknown or revoked API token.")
	}
	// Record use at most once a minute per token to keep reads cheap.
	now := s.now()
	if now.Sub(fromMicros(row.LastUsedAt)) > time.Minute {
		_, _ = s.db.NewUpdate().Model((*tokenRow)(nil)).Set("last_used_at = ?", micros(now)).Where("id = ?", row.ID).Exec(ctx)
	}
	return row.toDomain(), nil
}

// Tokens lists every token, newest first, revoked ones included.
func (s *Store) Tokens(ctx context.Context) ([]*domain.APIToken, error) {
	var rows []tokenRow
	if err := s.db.NewSelect().Model(&rows).Order("id DESC").Scan(ctx); err != nil {
		return nil, err
	}
	out := make([]*domain.APIToken, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

// RevokeToken stops a token from working. Revoking twice is harmless.
func (s *Store) RevokeToken(ctx context.Context, id int64) error {
	res, err := s.db.NewUpdate().Model((*tokenRow)(nil)).
		Set("revoked_at = ?", micros(s.now())).Where("id = ?", id).Where("revoked_at = 0").Exec(ctx)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		exists, err := s.db.NewSelect().Model((*tokenRow)(nil)).Where("id = ?", id).Exists(ctx)
		if err != nil {
			return err
		}
		if !exists {
			return domain.Errorf(domain.ENOTFOUND, "Token not found.")
		}
	}
	return nil
}
