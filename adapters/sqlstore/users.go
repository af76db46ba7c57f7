package sqlstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"time"

	"github.com/uptrace/bun"
	"golang.org/x/crypto/bcrypt"

	"github.com/throughline/throughline/domain"
)

type userRow struct {
	bun.BaseModel `bun:"table:users,alias:u"`

	ID           int64  `bun:"id,pk,autoincrement"`
	Email        string `bun:"email"`
	Role         string `bun:"role"`
	PasswordHash []byte `bun:"password_hash"`
	OIDCSubject  string `bun:"oidc_subject"`
	CreatedAt    int64  `bun:"created_at"`
}

func (r *userRow) toDomain() *domain.User {
	return &domain.User{
		ID: r.ID, Email: r.Email, Role: domain.Role(r.Role),
		PasswordHash: r.PasswordHash, Subject: r.OIDCSubject, CreatedAt: fromMicros(r.CreatedAt),
	}
}

// bcryptCost is bcrypt's default; sign-in is rate limited in front of it.
const bcryptCost = bcrypt.DefaultCost

// CreateUser adds a local account. The password is hashed with bcrypt.
func (s *Store) CreateUser(ctx context.Context, email string, role domain.Role, password string) (*domain.User, error) {
	email, err := domain.NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	if !role.Valid() {
		return nil, domain.Errorf(domain.EINVALID, "Unknown role %q.", role)
	}
	if err := domain.ValidatePassword(password); err != nil {
		return nil, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcryptCost)
	if err != nil {
		return nil, err
	}
	row := &userRow{Email: email, Role: string(role), PasswordHash: hash, CreatedAt: micros(s.now())}
	if _, err := s.db.NewInsert().Model(row).Returning("id").Exec(ctx); err != nil {
		if isUniqueViolation(err) {
			return nil, domain.Errorf(domain.ECONFLICT, "A user with e-mail %s already exists.", email)
		}
		return nil, err
	}
	return row.toDomain(), nil
}

// UserByID returns one user.
func (s *Store) UserByID(ctx context.Context, id int64) (*domain.User, error) {
	row := new(userRow)
	if err := s.db.NewSelect().Model(row).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFound(err, "User not found.")
	}
	return row.toDomain(), nil
}

// Users lists every account, oldest first.
func (s *Store) Users(ctx context.Context) ([]*domain.User, error) {
	var rows []userRow
	if err := s.db.NewSelect().Model(&rows).Order("id").Scan(ctx); err != nil {
		return nil, err
	}
	out := make([]*domain.User, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

// CountUsers returns how many accounts exist.
func (s *Store) CountUsers(ctx context.Context) (int64, error) {
	return s.db.NewSelect().Model((*userRow)(nil)).Count(ctx)
}

// SetUserRole changes a user's role. The last admin cannot be demoted, so
// that the installation never loses its administrator.
func (s *Store) SetUserRole(ctx context.Context, id int64, role domain.Role) error {
	if !role.Valid() {
		return domain.Errorf(domain.EINVALID, "Unknown role %q.", role)
	}
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if role != domain.RoleAdmin {
			if err := keepOneAdmin(ctx, tx, id, "demote"); err != nil {
				return err
			}
		}
		res, err := tx.NewUpdate().Model((*userRow)(nil)).Set("role = ?", string(role)).Where("id = ?", id).Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return domain.Errorf(domain.ENOTFOUND, "User not found.")
		}
		return nil
	})
}

// DeleteUser removes an account and its sessions; never the last admin.
func (s *Store) DeleteUser(ctx context.Context, id int64) error {
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := keepOneAdmin(ctx, tx, id, "remove"); err != nil {
			return err
		}
		res, err := tx.NewDelete().Model((*userRow)(nil)).Where("id = ?", id).Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return domain.Errorf(domain.ENOTFOUND, "User not found.")
		}
		return nil
	})
}

// keepOneAdmin refuses a change that would leave no admin.
func keepOneAdmin(ctx context.Context, tx bun.Tx, id int64, verb string) error {
	var admins []int64
	if err := tx.NewSelect().Model((*userRow)(nil)).Column("id").Where("role = ?", string(domain.RoleAdmin)).Scan(ctx, &admins); err != nil {
		return err
	}
	if len(admins) == 1 && admins[0] == id {
		return domain.Errorf(domain.ECONFLICT, "Cannot %s the only admin; make someone else admin first.", verb)
	}
	return nil
}

// dummyHash is compared against when the e-mail is unknown, so that the
// response time does not reveal which accounts exist.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("throughline-timing-equaliser"), bcryptCost)

// Authenticate checks an e-mail and password and returns the user.
func (s *Store) Authenticate(ctx context.Context, email, password string) (*domain.User, error) {
	email, _ = domain.NormalizeEmail(email)
	row := new(userRow)
	err := s.db.NewSelect().Model(row).Where("email = ?", email).Scan(ctx)
	if err != nil {
		if !errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		return nil, domain.Errorf(domain.EUNAUTHORIZED, "Wrong e-mail or password.")
	}
	if row.OIDCSubject != "" || len(row.PasswordHash) == 0 {
		// Single sign-on accounts have no password; spend the same time as a
		// wrong one so that the answer does not tell them apart.
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		return nil, domain.Errorf(domain.EUNAUTHORIZED, "Wrong e-mail or password.")
	}
	if bcrypt.CompareHashAndPassword(row.PasswordHash, []byte(password)) != nil {
		return nil, domain.Errorf(domain.EUNAUTHORIZED, "Wrong e-mail or password.")
	}
	return row.toDomain(), nil
}

type sessionRow struct {
	bun.BaseModel `bun:"table:sessions"`

	IDHash    []byte `bun:"id_hash,pk"`
	UserID    int64  `bun:"user_id"`
	CreatedAt int64  `bun:"created_at"`
	ExpiresAt int64  `bun:"expires_at"`
}

// CreateSession starts a session for a user and returns the secret for the
// cookie. Only its hash is stored.
func (s *Store) CreateSession(ctx context.Context, userID int64, ttl time.Duration) (string, error) {
	secret, hash, err := newSecret("")
	if err != nil {
		return "", err
	}
	now := s.now()
	row := &sessionRow{IDHash: hash, UserID: userID, CreatedAt: micros(now), ExpiresAt: micros(now.Add(ttl))}
	if _, err := s.db.NewInsert().Model(row).Exec(ctx); err != nil {
		return "", err
	}
	// Sweep expired sessions now and then; cheap with the primary key scan bounded by expiry.
	_, _ = s.db.NewDelete().Model((*sessionRow)(nil)).Where("expires_at < ?", micros(now)).Exec(ctx)
	return secret, nil
}

// UserBySession returns the user of a live session.
func (s *Store) UserBySession(ctx context.Context, secret string) (*domain.User, error) {
	row := new(userRow)
	err := s.db.NewSelect().Model(row).
		Join("JOIN sessions AS s ON s.user_id = u.id").
		Where("s.id_hash = ?", hashSecret(secret)).
		Where("s.expires_at > ?", micros(s.now())).
		Scan(ctx)
	if err != nil {
		return nil, notFound(err, "Session expired; sign in again.")
	}
	return row.toDomain(), nil
}

// DeleteSession ends a session (sign-out).
func (s *Store) DeleteSession(ctx context.Context, secret string) error {
	_, err := s.db.NewDelete().Model((*sessionRow)(nil)).Where("id_hash = ?", hashSecret(secret)).Exec(ctx)
	return err
}

// newSecret returns a random URL-safe secret with an optional prefix and the
// SHA-256 hash that is stored in its place. The secret has 256 bits of
// entropy, so a fast hash is the right tool (unlike passwords).
func newSecret(prefix string) (string, []byte, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", nil, err
	}
	secret := prefix + base64.RawURLEncoding.EncodeToString(b)
	return secret, hashSecret(secret), nil
}

func hashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}
