package sqlstore_test

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/throughline/throughline/adapters/sqlstore"
	"github.com/throughline/throughline/adapters/sqlstore/sqltest"
	"github.com/throughline/throughline/domain"
)

func TestSQLitePragmasAreApplied(t *testing.T) {
	s := sqltest.Open(t, sqlstore.SQLite)
	ctx := context.Background()
	// Ask several pooled connections: pragmas must hold on every one.
	conns := make([]interface{ Close() error }, 0, 4)
	for i := 0; i < 4; i++ {
		conn, err := s.DB().Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, conn)
		var mode string
		var busy, fk int
		if err := conn.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if err := conn.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy); err != nil {
			t.Fatal(err)
		}
		if err := conn.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
			t.Fatal(err)
		}
		if mode != "wal" || busy != 5000 || fk != 1 {
			t.Fatalf("conn %d: journal_mode=%s busy_timeout=%d foreign_keys=%d; want wal 5000 1", i, mode, busy, fk)
		}
	}
	for _, c := range conns {
		c.Close()
	}
}

func TestMigrateIsIdempotent(t *testing.T) {
	sqltest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		applied, err := s.Migrate(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(applied) != 0 {
			t.Fatalf("second migrate applied %v; want nothing", applied)
		}
	})
}

func TestFailedMigrationIsNotMarkedApplied(t *testing.T) {
	sqltest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		fsys := fstest.MapFS{
			"30000101000001_good.tx.up.sql": {Data: []byte("CREATE TABLE mig_good (id INTEGER PRIMARY KEY);")},
			"30000101000002_bad.tx.up.sql":  {Data: []byte("CREATE TABLE mig_bad (id INTEGER PRIMARY KEY);\n--bun:split\nSELECT * FROM no_such_table;")},
		}
		applied, err := s.MigrateFS(ctx, fsys)
		if err == nil {
			t.Fatal("bad migration succeeded")
		}
		if len(applied) != 1 || !strings.HasPrefix(applied[0], "30000101000001") {
			t.Fatalf("applied = %v; want only the good one", applied)
		}
		var names []string
		if err := s.DB().NewRaw("SELECT name FROM bun_migrations WHERE name LIKE '3000%' ORDER BY name").Scan(ctx, &names); err != nil {
			t.Fatal(err)
		}
		if len(names) != 1 || names[0] != "30000101000001" {
			t.Fatalf("marked applied: %v; want [30000101000001]", names)
		}
		// The failed migration's transaction rolled back: its table is absent.
		var n int
		err = s.DB().NewRaw("SELECT count(*) FROM mig_bad").Scan(ctx, &n)
		if err == nil {
			t.Fatal("mig_bad exists: the failed migration was not rolled back")
		}
	})
}

func TestUsersAndSessions(t *testing.T) {
	sqltest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		u, err := s.CreateUser(ctx, " Ada@Example.com ", domain.RoleAdmin, "correct horse battery")
		if err != nil {
			t.Fatal(err)
		}
		if u.Email != "ada@example.com" || u.ID == 0 {
			t.Fatalf("user = %+v", u)
		}
		if _, err := s.CreateUser(ctx, "ada@example.com", domain.RoleViewer, "another long password"); domain.ErrorCode(err) != domain.ECONFLICT {
			t.Fatalf("duplicate e-mail: err = %v; want conflict", err)
		}
		if _, err := s.CreateUser(ctx, "short@example.com", domain.RoleViewer, "short"); domain.ErrorCode(err) != domain.EINVALID {
			t.Fatalf("short password: err = %v; want invalid", err)
		}
		if _, err := s.Authenticate(ctx, "ada@example.com", "wrong password!!"); domain.ErrorCode(err) != domain.EUNAUTHORIZED {
			t.Fatalf("wrong password: err = %v", err)
		}
		if _, err := s.Authenticate(ctx, "nobody@example.com", "correct horse battery"); domain.ErrorCode(err) != domain.EUNAUTHORIZED {
			t.Fatalf("unknown user: err = %v", err)
		}
		got, err := s.Authenticate(ctx, "ADA@example.com", "correct horse battery")
		if err != nil || got.ID != u.ID {
			t.Fatalf("authenticate: %v %v", got, err)
		}

		secret, err := s.CreateSession(ctx, u.ID, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if su, err := s.UserBySession(ctx, secret); err != nil || su.ID != u.ID {
			t.Fatalf("session user: %v %v", su, err)
		}
		if _, err := s.UserBySession(ctx, secret+"x"); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Fatalf("forged session: err = %v", err)
		}
		expired, err := s.CreateSession(ctx, u.ID, -time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.UserBySession(ctx, expired); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Fatalf("expired session accepted: %v", err)
		}
		if err := s.DeleteSession(ctx, secret); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UserBySession(ctx, secret); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Fatalf("signed-out session accepted: %v", err)
		}
	})
}

func TestTheLastAdminStays(t *testing.T) {
	sqltest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		admin, err := s.CreateUser(ctx, "admin@example.com", domain.RoleAdmin, "correct horse battery")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SetUserRole(ctx, admin.ID, domain.RoleViewer); domain.ErrorCode(err) != domain.ECONFLICT {
			t.Fatalf("demote last admin: err = %v; want conflict", err)
		}
		if err := s.DeleteUser(ctx, admin.ID); domain.ErrorCode(err) != domain.ECONFLICT {
			t.Fatalf("delete last admin: err = %v; want conflict", err)
		}
		other, err := s.CreateUser(ctx, "second@example.com", domain.RoleAdmin, "correct horse battery")
		if err != nil {
			t.Fatal(err)
		}
		secret, err := s.CreateSession(ctx, admin.ID, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteUser(ctx, admin.ID); err != nil {
			t.Fatalf("delete one of two admins: %v", err)
		}
		// Foreign keys cascade: the deleted user's sessions are gone.
		if _, err := s.UserBySession(ctx, secret); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Fatalf("session of deleted user: %v", err)
		}
		if err := s.SetUserRole(ctx, other.ID, domain.RoleEditor); domain.ErrorCode(err) != domain.ECONFLICT {
			t.Fatalf("demote the remaining admin: %v", err)
		}
		if err := s.SetUserRole(ctx, 9999, domain.RoleEditor); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Fatalf("unknown user: %v", err)
		}
	})
}

func TestTokens(t *testing.T) {
	sqltest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		tok, secret, err := s.CreateToken(ctx, "ci", []domain.Scope{domain.ScopeIngest})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(secret, "tl_") || len(secret) < 40 || !strings.HasPrefix(secret, tok.Prefix) {
			t.Fatalf("secret %q prefix %q", secret, tok.Prefix)
		}
		// Only the hash is stored.
		var n int
		if err := s.DB().NewRaw("SELECT count(*) FROM api_tokens WHERE scopes LIKE ? OR name LIKE ?", "%"+secret+"%", "%"+secret+"%").Scan(ctx, &n); err != nil || n != 0 {
			t.Fatalf("secret found in clear: %d %v", n, err)
		}
		got, err := s.TokenBySecret(ctx, secret)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Allows(domain.ScopeIngest) || got.Allows(domain.ScopeRead) {
			t.Fatalf("scopes = %v", got.Scopes)
		}
		if err := s.RevokeToken(ctx, tok.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.TokenBySecret(ctx, secret); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Fatalf("revoked token accepted: %v", err)
		}
		if err := s.RevokeToken(ctx, tok.ID); err != nil {
			t.Fatalf("second revoke: %v", err)
		}
		if err := s.RevokeToken(ctx, 424242); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Fatalf("revoke unknown: %v", err)
		}
		list, err := s.Tokens(ctx)
		if err != nil || len(list) != 1 || !list[0].Revoked() {
			t.Fatalf("tokens = %v %v", list, err)
		}
	})
}

func TestAuditLog(t *testing.T) {
	sqltest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		for _, a := range []string{"user.create", "token.create", "token.revoke"} {
			if err := s.Audit(ctx, "ada@example.com", a, "x", ""); err != nil {
				t.Fatal(err)
			}
		}
		log, err := s.AuditLog(ctx, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(log) != 2 || log[0].Action != "token.revoke" || log[1].Action != "token.create" {
			t.Fatalf("audit log = %+v", log)
		}
	})
}

func TestOpenRejectsUnknownURL(t *testing.T) {
	_, err := sqlstore.Open(context.Background(), sqlstore.Options{DSN: "mysql://root:secret@localhost/x"})
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Fatalf("err = %v; want a refusal that hides the password", err)
	}
}
