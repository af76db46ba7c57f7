package web

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/throughline/throughline/domain"
)

// WebhookReceiver takes one forge's webhook deliveries: it authenticates a
// delivery by its signature or token, turns it into events and publishes
// them, returning only after JetStream acknowledged them. An unauthenticated
// delivery is an EUNAUTHORIZED error and publishes nothing.
type WebhookReceiver interface {
	// CheckHeader refuses, before the body is read, a delivery whose
	// headers already show it is not authentic (EUNAUTHORIZED).
	CheckHeader(header http.Header) error
	Receive(ctx context.Context, header http.Header, body []byte) (WebhookResult, error)
}

// WebhookResult is what became of one delivery.
type WebhookResult struct {
	// Event names what the forge sent ("pull_request.closed").
	Event string
	// Ping is a forge's test delivery.
	Ping bool
	// Ignored says why the delivery made no events.
	Ignored string
	// Results is the fate of each event the delivery made.
	Results []EventResult
}

// Forges whose webhooks Throughline takes, by the path segment and
// Deps.Webhooks key: the name people know and the flag that configures it.
var webhookForges = map[string]struct{ name, flag string }{
	"github": {"GitHub", "--github-webhook-secret"},
	"gitlab": {"GitLab", "--gitlab-webhook-token"},
	// Progressive-delivery controllers share one token.
	"flagger":       {"Flagger", "--rollout-webhook-token"},
	"argo-rollouts": {"Argo Rollouts", "--rollout-webhook-token"},
}

// queryHeaders are the webhook URL parameters passed on to the rollout
// receivers as headers: Flagger's event webhook sends no headers, so its
// token and environment ride in the URL.
var queryHeaders = map[string]string{"token": "X-Throughline-Token", "environment": "X-Throughline-Environment"}

// maxWebhookBody bounds one delivery. GitHub caps payloads at 25 MB, but
// only pushes come near that; the pull request, review, workflow run and
// deployment deliveries read here are kilobytes, and an unauthenticated
// sender should not make the server hold more before the signature is
// checked.
const maxWebhookBody = 5 << 20

type webhookResponse struct {
	Accepted   int           `json:"accepted"`
	Duplicates int           `json:"duplicates"`
	Event      string        `json:"event,omitempty"`
	Events     []string      `json:"events,omitempty"`
	Note       string        `json:"note,omitempty"`
	Rejected   []EventResult `json:"rejected,omitempty"`
}

// handleWebhook receives a forge's webhook. Forges show the answer in their
// delivery log, so it says what was done: the events accepted, or why none.
func (s *Server) handleWebhook(forge string) echo.HandlerFunc {
	f := webhookForges[forge]
	return func(c echo.Context) error {
		rcv := s.deps.Webhooks[forge]
		if rcv == nil {
			return domain.Errorf(domain.ENOTFOUND, "The %s webhook is not configured on this server: start Throughline with %s.", f.name, f.flag)
		}
		if forge == "flagger" || forge == "argo-rollouts" {
			for q, h := range queryHeaders {
				if v := c.QueryParam(q); v != "" && c.Request().Header.Get(h) == "" {
					c.Request().Header.Set(h, v)
				}
			}
		}
		if err := rcv.CheckHeader(c.Request().Header); err != nil {
			// Close the connection rather than read and discard the
			// body to keep it alive for a forger.
			c.Response().Header().Set(echo.HeaderConnection, "close")
			return err
		}
		body, err := io.ReadAll(c.Request().Body)
		if err != nil {
			if errors.As(err, new(*http.MaxBytesError)) {
				return bodyTooLarge(maxWebhookBody)
			}
			return domain.Errorf(domain.EINVALID, "Could not read the request body.")
		}
		res, err := rcv.Receive(c.Request().Context(), c.Request().Header, body)
		if err != nil {
			return err
		}
		resp := webhookResponse{Event: res.Event, Note: res.Ignored}
		if res.Ping {
			resp.Note = "Pong: the " + f.name + " webhook reaches Throughline and is authenticated."
			return c.JSON(http.StatusOK, resp)
		}
		for _, r := range res.Results {
			switch {
			case r.Accepted:
				resp.Accepted++
				resp.Events = append(resp.Events, r.ID)
				if r.Duplicate {
					resp.Duplicates++
				}
			default:
				resp.Rejected = append(resp.Rejected, r)
			}
		}
		if resp.Accepted == 0 && len(resp.Rejected) > 0 {
			msg := resp.Rejected[0].Message
			if len(resp.Rejected) > 1 {
				msg = strconv.Itoa(len(resp.Rejected)) + " events made from the delivery were rejected; see rejected[] for each reason."
			}
			return c.JSON(http.StatusBadRequest, postEventsError{Error: apiErrorBody{Code: domain.EINVALID, Message: msg}, Rejected: resp.Rejected})
		}
		if len(res.Results) == 0 && resp.Note == "" {
			resp.Note = "The delivery made no events."
		}
		if resp.Duplicates > 0 && resp.Duplicates == resp.Accepted {
			resp.Note = "A redelivery: these events were already received and are not counted twice."
		}
		return c.JSON(http.StatusAccepted, resp)
	}
}
