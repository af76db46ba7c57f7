package web

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/throughline/throughline/domain"
)

// tokenJSON describes the calling token; CI uses it to check a credential.
type tokenJSON struct {
	Name      string    `json:"name"`
	Scopes    []string  `json:"scopes"`
	CreatedAt time.Time `json:"created_at"`
}

func (s *Server) handleAPIToken(c echo.Context) error {
	tok, _ := c.Get(ctxToken).(*domain.APIToken)
	if tok == nil {
		return domain.Errorf(domain.EUNAUTHORIZED, "No API token.")
	}
	scopes := make([]string, len(tok.Scopes))
	for i, sc := range tok.Scopes {
		scopes[i] = string(sc)
	}
	return c.JSON(http.StatusOK, tokenJSON{Name: tok.Name, Scopes: scopes, CreatedAt: tok.CreatedAt})
}
