package web

import (
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/throughline/throughline/assets"
	"github.com/throughline/throughline/domain"
)

// routes registers every route in one place, with the role or scope each needs.
func (s *Server) routes() error {
	e := s.echo
	e.Use(s.observeRequests, s.recoverPanics, s.requestID, s.logRequests, s.securityHeaders, refuseUnstorableText)

	// Open to everyone: probes, assets and the sign-in page.
	e.GET("/healthz", s.handleHealthz)
	e.GET("/readyz", s.handleReadyz)
	e.GET(assets.Prefix+"*", echo.WrapHandler(s.deps.Assets))

	// OpenTelemetry exporters post to the standard OTLP/HTTP path, with an
	// ingest token; errors are answered as OTLP clients expect.
	if s.deps.OTLP != nil {
		e.POST("/v1/metrics", s.handleOTLPMetrics, s.otlpErrors, s.requireToken, requireScope(domain.ScopeIngest), limitBody(maxOTLPBody))
	}

	// Forges' webhooks are authenticated by their signature or token, which
	// each forge's receiver checks, not by a session or an API token.
	e.POST("/webhooks/github", s.handleWebhook("github"), limitBody(maxWebhookBody))
	e.POST("/webhooks/gitlab", s.handleWebhook("gitlab"), limitBody(maxWebhookBody))
	e.POST("/webhooks/flagger", s.handleWebhook("flagger"), limitBody(maxWebhookBody))
	e.POST("/webhooks/argo-rollouts", s.handleWebhook("argo-rollouts"), limitBody(maxWebhookBody))

	// Prometheus scrapes with an API token, as the JSON API does.
	e.GET("/metrics", s.handleMetrics, s.requireToken, requireScope(domain.ScopeRead))

	// Pages: a bounded body, a session cookie and CSRF protection on every
	// state change.
	pages := e.Group("", readPageBody, s.loadSession, s.csrfMiddleware, s.countWrites)
	pages.GET("/signin", s.handleSignInForm)
	pages.POST("/signin", s.handleSignIn) // throttled inside (signin_throttle.go)
	pages.POST("/signout", s.handleSignOut)
	pages.GET("/signin/oidc", s.handleSSOStart)             // open: leaves for the identity provider
	pages.GET("/signin/oidc/callback", s.handleSSOCallback) // open: checked against the flow cookie

	viewer := pages.Group("", s.requireRole(domain.RoleViewer))
	viewer.GET("/", s.handleHome)
	viewer.GET("/roadmap", s.handleRoadmap, noTables)
	viewer.GET("/value-streams", s.handleValueStreams, noTables)
	// A page's data as JSON through the session (DESIGN.md 5): the page's
	// address with .json answers the API's document.
	viewer.GET("/value-streams/:id", pageOrJSON(s.handleValueStream, s.handleFlowAPI))
	viewer.GET("/dora", s.handleDORA)
	viewer.GET("/trends", s.handleTrends, noTables)
	viewer.GET("/trends.csv", s.handleTrendsCSV)
	viewer.GET("/settings", s.handleSettings)
	viewer.GET("/settings/ingest", s.handleIngestPage)
	viewer.GET("/services", s.handleServices)
	viewer.GET("/ideas/:key", s.handleIdea)
	viewer.GET("/outcomes", s.handleOutcomes, noTables)
	viewer.GET("/events/view", s.handleEventPage, noTables)
	if s.deps.SLOs != nil {
		viewer.GET("/slos", s.handleSLOs)
		viewer.GET("/slos.yaml", s.handleExportSLOs)
		viewer.GET("/slos/:id", pageOrJSON(s.handleSLO, s.handleSLOAPI))
	}

	// Editors' actions carry the role on the route: a group here would also
	// catch unknown paths and answer them with its role check.
	pages.POST("/dora/override", s.handleOverride, s.requireRole(domain.RoleEditor))
	pages.POST("/services/team", s.handleSetTeam, s.requireRole(domain.RoleEditor))
	edit := s.requireRole(domain.RoleEditor)
	pages.GET("/ideas/new", s.handleNewIdea, edit)
	pages.POST("/ideas", s.handleCreateIdea, edit)
	pages.GET("/ideas/:key/edit", s.handleEditIdea, edit)
	pages.POST("/ideas/:key", s.handleUpdateIdea, edit)
	pages.POST("/ideas/:key/move", s.handleMoveIdea, edit)
	pages.POST("/ideas/:key/archive", s.handleArchiveIdea, edit)
	pages.POST("/ideas/:key/verdict", s.handleIdeaVerdict, edit)
	pages.POST("/outcomes/objectives", s.handleCreateObjective, edit)
	pages.POST("/outcomes/key-results", s.handleCreateKeyResult, edit)
	pages.GET("/value-streams/new", s.handleNewValueStream, edit)
	pages.POST("/value-streams", s.handleCreateValueStream, edit)
	pages.GET("/value-streams/:id/edit", s.handleEditValueStream, edit)
	pages.POST("/value-streams/:id", s.handleUpdateValueStream, edit)
	pages.POST("/value-streams/:id/delete", s.handleDeleteValueStream, edit)
	if s.deps.SLOs != nil {
		pages.GET("/slos/new", s.handleNewSLO, edit)
		pages.POST("/slos", s.handleCreateSLO, edit)
		pages.POST("/slos/import", s.handleImportSLOs, edit) // a larger body: pageBodyLimit
		pages.GET("/slos/:id/edit", s.handleEditSLO, edit)
		pages.POST("/slos/:id", s.handleUpdateSLO, edit)
		pages.POST("/slos/:id/delete", s.handleDeleteSLO, edit)
	}

	if s.deps.Reviews != nil {
		viewer.GET("/reviews", s.handleReviews)
		viewer.GET("/incidents/:id/review", s.handleReview)
		pages.POST("/incidents/:id/review", s.handleSaveReview, edit)
		pages.POST("/incidents/:id/review/actions", s.handleAddAction, edit)
		pages.POST("/incidents/:id/review/actions/:n/done", s.handleActionDone, edit)
		pages.POST("/incidents/:id/review/actions/:n/idea", s.handleActionIdea, edit)
	}

	admin := pages.Group("/settings", s.requireRole(domain.RoleAdmin))
	admin.GET("/users", s.handleUsers)
	admin.POST("/users", s.handleCreateUser)
	admin.POST("/users/:id/role", s.handleSetUserRole)
	admin.POST("/users/:id/delete", s.handleDeleteUser)
	admin.GET("/tokens", s.handleTokens)
	admin.POST("/tokens", s.handleCreateToken)
	admin.POST("/tokens/:id/revoke", s.handleRevokeToken)
	admin.GET("/audit", s.handleAudit)
	admin.POST("/dead-letters/:id/replay", s.handleReplayPage)

	// JSON API: bearer tokens with scopes; no cookies, so no CSRF.
	api := e.Group("/api/v1", s.requireToken)
	api.GET("/token", s.handleAPIToken)
	api.POST("/events", s.handlePostEvents, requireScope(domain.ScopeIngest), limitBody(maxEventsBody))
	api.GET("/ingest/status", s.handleIngestStatus, requireScope(domain.ScopeRead))
	api.GET("/dead-letters", s.handleDeadLetters, requireScope(domain.ScopeRead))
	api.POST("/dead-letters/:id/replay", s.handleReplayAPI, requireScope(domain.ScopeAdmin))
	api.GET("/dora", s.handleDORAAPI, requireScope(domain.ScopeRead))
	api.GET("/dora/trend", s.handleDORATrendAPI, requireScope(domain.ScopeRead))
	api.GET("/deployments", s.handleDeploymentsAPI, requireScope(domain.ScopeRead))
	api.GET("/incidents", s.handleIncidentsAPI, requireScope(domain.ScopeRead))
	api.GET("/annotations", s.handleAnnotationsAPI, requireScope(domain.ScopeRead))
	api.POST("/annotations", s.handleAnnotationsPostAPI, requireScope(domain.ScopeRead)) // Grafana's JSON datasource: a query, changes nothing
	api.POST("/deployments/override", s.handleOverrideAPI, requireScope(domain.ScopeAdmin))
	api.GET("/events/view", s.handleEventAPI, requireScope(domain.ScopeRead))
	api.GET("/ideas", s.handleIdeasAPI, requireScope(domain.ScopeRead))
	api.GET("/ideas/:key", s.handleIdeaAPI, requireScope(domain.ScopeRead))
	api.GET("/outcomes", s.handleOutcomesAPI, requireScope(domain.ScopeRead))
	api.GET("/metrics/:name", s.handleMetricAPI, requireScope(domain.ScopeRead))
	api.GET("/value-streams", s.handleValueStreamsAPI, requireScope(domain.ScopeRead))
	api.GET("/value-streams/:id", s.handleValueStreamAPI, requireScope(domain.ScopeRead))
	api.GET("/value-streams/:id/flow", s.handleFlowAPI, requireScope(domain.ScopeRead))
	if s.deps.Reviews != nil {
		api.GET("/reviews", s.handleReviewsAPI, requireScope(domain.ScopeRead))
		api.GET("/incidents/:id/review", s.handleReviewAPI, requireScope(domain.ScopeRead))
	}
	if s.deps.SLOs != nil {
		api.GET("/slos", s.handleSLOsAPI, requireScope(domain.ScopeRead))
		api.GET("/slos/:id", s.handleSLOAPI, requireScope(domain.ScopeRead))
	}
	s.writeRoutes(api)
	return nil
}

// writeRoutes registers the write API (scope write, which admin tokens
// also carry): the same store functions, validation and audit as the forms.
func (s *Server) writeRoutes(api *echo.Group) {
	w := requireScope(domain.ScopeWrite)
	body := limitBody(maxEventsBody)
	api.POST("/ideas", s.handleCreateIdeaAPI, w, body)
	api.PATCH("/ideas/:key", s.handleUpdateIdeaAPI, w, body)
	api.POST("/ideas/:key/move", s.handleMoveIdeaAPI, w, body)
	api.POST("/ideas/:key/rank", s.handleRankIdeaAPI, w, body)
	api.POST("/ideas/:key/archive", s.handleArchiveIdeaAPI, w, body)
	api.POST("/ideas/:key/verdict", s.handleIdeaVerdictAPI, w, body)
	api.POST("/roadmap/:horizon/rank-by-rice", s.handleRankByRICEAPI, w, body)
	api.POST("/objectives", s.handleCreateObjectiveAPI, w, body)
	api.PATCH("/objectives/:id", s.handleUpdateObjectiveAPI, w, body)
	api.POST("/objectives/:id/archive", s.handleArchiveObjectiveAPI, w, body)
	api.POST("/key-results", s.handleCreateKeyResultAPI, w, body)
	api.PATCH("/key-results/:id", s.handleUpdateKeyResultAPI, w, body)
	api.POST("/key-results/:id/rebaseline", s.handleRebaselineAPI, w, body)
	api.POST("/key-results/:id/retire", s.handleKeyResultStateAPI("retired"), w, body)
	api.POST("/key-results/:id/archive", s.handleKeyResultStateAPI("archived"), w, body)
	api.POST("/value-streams", s.handleCreateValueStreamAPI, w, body)
	api.PUT("/value-streams/:id", s.handleUpdateValueStreamAPI, w, body)
	api.DELETE("/value-streams/:id", s.handleDeleteValueStreamAPI, w)
	if s.deps.SLOs != nil {
		api.POST("/slos", s.handleCreateSLOAPI, w, body)
		api.PUT("/slos/:id", s.handleUpdateSLOAPI, w, body)
		api.DELETE("/slos/:id", s.handleDeleteSLOAPI, w)
	}
	api.GET("/export", s.handleExportAPI, requireScope(domain.ScopeRead))
	api.POST("/import", s.handleImportAPI, w, limitBody(maxRoadmapBody))
}

// pageOrJSON serves page for /x/{id} and asJSON for /x/{id}.json, with the
// id stripped of its suffix: the same document as the API, for a signed-in
// user (the API itself takes only tokens).
func pageOrJSON(page, asJSON echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, ok := strings.CutSuffix(c.Param("id"), ".json")
		if !ok {
			return page(c)
		}
		c.SetParamNames("id")
		c.SetParamValues(id)
		return asJSON(c)
	}
}
