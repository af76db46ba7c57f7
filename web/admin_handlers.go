package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/throughline/throughline/domain"
	"github.com/throughline/throughline/web/views"
)

// actor names the signed-in user in the audit log.
func actor(c echo.Context) string {
	if u := domain.UserFromContext(c.Request().Context()); u != nil {
		return u.Email
	}
	return "unknown"
}

// userEmail names a user in the audit log: the e-mail still means
// something once the account is gone, which its id does not.
func (s *Server) userEmail(ctx context.Context, id int64) (string, error) {
	users, err := s.deps.Admin.Users(ctx)
	if err != nil {
		return "", err
	}
	for _, u := range users {
		if u.ID == id {
			return u.Email, nil
		}
	}
	return strconv.FormatInt(id, 10), nil
}

// tokenName names a token in the audit log.
func (s *Server) tokenName(ctx context.Context, id int64) (string, error) {
	toks, err := s.deps.Admin.Tokens(ctx)
	if err != nil {
		return "", err
	}
	for _, t := range toks {
		if t.ID == id {
			return t.Name, nil
		}
	}
	return strconv.FormatInt(id, 10), nil
}

func pathID(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, domain.Errorf(domain.ENOTFOUND, "Not found.")
	}
	return id, nil
}

func (s *Server) handleUsers(c echo.Context) error {
	return s.renderUsers(c, http.StatusOK, views.UsersView{Form: views.UserForm{Role: string(domain.RoleViewer)}})
}

func (s *Server) renderUsers(c echo.Context, status int, v views.UsersView) error {
	users, err := s.deps.Admin.Users(c.Request().Context())
	if err != nil {
		return err
	}
	v.Users, v.Table = users, views.UsersTable(users)
	if id := csvRequested(c); id != "" {
		return servePageTable(c, id, v.Table)
	}
	return render(c, status, views.Users(s.page(c, "Users", "settings"), v))
}

func (s *Server) handleCreateUser(c echo.Context) error {
	form := views.UserForm{Email: strings.TrimSpace(c.FormValue("email")), Role: c.FormValue("role")}
	errs := map[string]string{}
	email, err := domain.NormalizeEmail(form.Email)
	if err != nil {
		errs["email"] = domain.ErrorMessage(err)
	}
	role, err := domain.ParseRole(form.Role)
	if err != nil {
		errs["role"] = domain.ErrorMessage(err)
	}
	if len(errs) > 0 {
		return s.renderUsers(c, http.StatusUnprocessableEntity, views.UsersView{Form: form, Errors: errs})
	}
	password := domain.GeneratePassword()
	ctx := c.Request().Context()
	if _, err := s.deps.Admin.CreateUser(ctx, email, role, password); err != nil {
		if domain.ErrorCode(err) == domain.ECONFLICT {
			return s.renderUsers(c, http.StatusUnprocessableEntity, views.UsersView{Form: form, Errors: map[string]string{"email": domain.ErrorMessage(err)}})
		}
		return err
	}
	if err := s.deps.Admin.Audit(ctx, actor(c), "user.create", email, "role "+string(role)); err != nil {
		return err
	}
	return s.renderUsers(c, http.StatusCreated, views.UsersView{
		Form: views.UserForm{Role: string(domain.RoleViewer)}, NewEmail: email, NewPassword: password,
	})
}

func (s *Server) handleSetUserRole(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	role, err := domain.ParseRole(c.FormValue("role"))
	if err != nil {
		return s.redirectWithFlash(c, "/settings/users", "error", domain.ErrorMessage(err))
	}
	ctx := c.Request().Context()
	if err := s.deps.Admin.SetUserRole(ctx, id, role); err != nil {
		if code := domain.ErrorCode(err); code == domain.ECONFLICT || code == domain.ENOTFOUND {
			return s.redirectWithFlash(c, "/settings/users", "error", domain.ErrorMessage(err))
		}
		return err
	}
	email, err := s.userEmail(ctx, id)
	if err != nil {
		return err
	}
	if err := s.deps.Admin.Audit(ctx, actor(c), "user.role", email, "role "+string(role)); err != nil {
		return err
	}
	return s.redirectWithFlash(c, "/settings/users", "success", "Role changed to "+string(role)+".")
}

func (s *Server) handleDeleteUser(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	if u := domain.UserFromContext(c.Request().Context()); u != nil && u.ID == id {
		return s.redirectWithFlash(c, "/settings/users", "error", "You cannot remove your own account.")
	}
	ctx := c.Request().Context()
	email, err := s.userEmail(ctx, id)
	if err != nil {
		return err
	}
	if err := s.deps.Admin.DeleteUser(ctx, id); err != nil {
		if code := domain.ErrorCode(err); code == domain.ECONFLICT || code == domain.ENOTFOUND {
			return s.redirectWithFlash(c, "/settings/users", "error", domain.ErrorMessage(err))
		}
		return err
	}
	if err := s.deps.Admin.Audit(ctx, actor(c), "user.delete", email, "id "+strconv.FormatInt(id, 10)); err != nil {
		return err
	}
	return s.redirectWithFlash(c, "/settings/users", "success", "User removed; their sessions have ended.")
}

func (s *Server) handleTokens(c echo.Context) error {
	return s.renderTokens(c, http.StatusOK, views.TokensView{Form: views.TokenForm{Scopes: []string{"read"}}})
}

func (s *Server) renderTokens(c echo.Context, status int, v views.TokensView) error {
	toks, err := s.deps.Admin.Tokens(c.Request().Context())
	if err != nil {
		return err
	}
	v.Tokens, v.Table = toks, views.TokensTable(toks)
	if id := csvRequested(c); id != "" {
		return servePageTable(c, id, v.Table)
	}
	return render(c, status, views.Tokens(s.page(c, "API tokens", "settings"), v))
}

func (s *Server) handleCreateToken(c echo.Context) error {
	if err := c.Request().ParseForm(); err != nil {
		return domain.Errorf(domain.EINVALID, "Could not read the form.")
	}
	form := views.TokenForm{Name: strings.TrimSpace(c.FormValue("name")), Scopes: c.Request().PostForm["scope"]}
	errs := map[string]string{}
	if form.Name == "" {
		errs["name"] = "Give the token a name that says who uses it."
	} else if len(form.Name) > 100 {
		errs["name"] = "Keep the name under 100 characters."
	}
	scopes, err := domain.ParseScopes(strings.Join(form.Scopes, ","))
	if err != nil {
		errs["scope"] = domain.ErrorMessage(err)
	}
	if len(errs) > 0 {
		return s.renderTokens(c, http.StatusUnprocessableEntity, views.TokensView{Form: form, Errors: errs})
	}
	ctx := c.Request().Context()
	tok, secret, err := s.deps.Admin.CreateToken(ctx, form.Name, scopes)
	if err != nil {
		return err
	}
	if err := s.deps.Admin.Audit(ctx, actor(c), "token.create", tok.Name, "scopes "+domain.ScopeString(tok.Scopes)); err != nil {
		return err
	}
	return s.renderTokens(c, http.StatusCreated, views.TokensView{
		Form: views.TokenForm{Scopes: []string{"read"}}, NewSecret: secret, NewName: tok.Name,
	})
}

func (s *Server) handleRevokeToken(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	name, err := s.tokenName(ctx, id)
	if err != nil {
		return err
	}
	if err := s.deps.Admin.RevokeToken(ctx, id); err != nil {
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			return s.redirectWithFlash(c, "/settings/tokens", "error", domain.ErrorMessage(err))
		}
		return err
	}
	// Names repeat; the id tells which token it was.
	if err := s.deps.Admin.Audit(ctx, actor(c), "token.revoke", name, "id "+strconv.FormatInt(id, 10)); err != nil {
		return err
	}
	return s.redirectWithFlash(c, "/settings/tokens", "success", "Token revoked. Requests that use it are refused from now on.")
}

func (s *Server) handleAudit(c echo.Context) error {
	entries, err := s.deps.Admin.AuditLog(c.Request().Context(), 200)
	if err != nil {
		return err
	}
	t := views.AuditTable(entries)
	if id := csvRequested(c); id != "" {
		return servePageTable(c, id, t)
	}
	return render(c, http.StatusOK, views.Audit(s.page(c, "Audit log", "settings"), t))
}
