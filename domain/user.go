package domain

import (
	"context"
	"crypto/rand"
	"net/mail"
	"strings"
	"time"
)

// Role says what a signed-in person may do. Roles are ordered: every role
// includes the rights of the ones below it.
type Role string

const (
	RoleViewer Role = "viewer" // reads everything
	RoleEditor Role = "editor" // changes roadmap, ideas, outcomes, value streams, overrides
	RoleAdmin  Role = "admin"  // users, tokens, settings
)

// Roles lists the roles from least to most privileged.
var Roles = []Role{RoleViewer, RoleEditor, RoleAdmin}

func (r Role) rank() int {
	switch r {
	case RoleViewer:
		return 1
	case RoleEditor:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// Valid reports whether r is one of the known roles.
func (r Role) Valid() bool { return r.rank() > 0 }

// Includes reports whether a holder of r may do what needs role min.
func (r Role) Includes(min Role) bool { return r.Valid() && r.rank() >= min.rank() }

// ParseRole validates a role name.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if !r.Valid() {
		return "", Errorf(EINVALID, "Unknown role %q: use viewer, editor or admin.", s)
	}
	return r, nil
}

// User is a person who signs in to the web interface.
type User struct {
	ID           int64
	Email        string
	Role         Role
	PasswordHash []byte
	// Subject is set for accounts that sign in through single sign-on (see
	// ExternalIdentity); they have no password.
	Subject   string
	CreatedAt time.Time
}

// NormalizeEmail lower-cases and validates an e-mail address used as a login.
func NormalizeEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return "", Errorf(EINVALID, "E-mail is required.")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s {
		return "", Errorf(EINVALID, "%q is not a valid e-mail address.", s)
	}
	return s, nil
}

// MinPasswordLength is the shortest password accepted for a local account.
const MinPasswordLength = 12

// ValidatePassword checks a new password against the local account policy.
func ValidatePassword(p string) error {
	if len([]rune(p)) < MinPasswordLength {
		return Errorf(EINVALID, "Password must be at least %d characters.", MinPasswordLength)
	}
	return nil
}

type userContextKey struct{}

// NewContextWithUser returns a context that carries the signed-in user.
func NewContextWithUser(ctx context.Context, u *User) context.Context {
	return context.WithValue(ctx, userContextKey{}, u)
}

// UserFromContext returns the signed-in user, or nil.
func UserFromContext(ctx context.Context) *User {
	u, _ := ctx.Value(userContextKey{}).(*User)
	return u
}

// GeneratePassword returns a 20-character password from an unambiguous
// alphabet (about 116 bits of entropy).
func GeneratePassword() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	return randomFrom(alphabet, 20)
}

func randomFrom(alphabet string, n int) string {
	out := make([]byte, n)
	buf := make([]byte, 1)
	limit := 256 - 256%len(alphabet) // reject bytes that would bias the choice
	for i := 0; i < n; {
		if _, err := rand.Read(buf); err != nil {
			panic(err) // crypto/rand does not fail on supported platforms
		}
		if int(buf[0]) >= limit {
			continue
		}
		out[i] = alphabet[int(buf[0])%len(alphabet)]
		i++
	}
	return string(out)
}
