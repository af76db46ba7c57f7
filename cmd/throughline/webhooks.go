package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/throughline/throughline/adapters/webhooks"
	"github.com/throughline/throughline/web"
)

func webhookFlags(fs *pflag.FlagSet, c *Config) {
	fs.StringVar(&c.GitHubWebhookSecret, "github-webhook-secret", c.GitHubWebhookSecret, "secret of the GitHub webhook at /webhooks/github (empty: not configured)")
	fs.StringVar(&c.GitHubWebhookSecretFile, "github-webhook-secret-file", c.GitHubWebhookSecretFile, "file holding --github-webhook-secret")
	fs.StringVar(&c.GitLabWebhookToken, "gitlab-webhook-token", c.GitLabWebhookToken, "secret token of the GitLab webhook at /webhooks/gitlab (empty: not configured)")
	fs.StringVar(&c.GitLabWebhookTokenFile, "gitlab-webhook-token-file", c.GitLabWebhookTokenFile, "file holding --gitlab-webhook-token")
	fs.StringVar(&c.RolloutWebhookToken, "rollout-webhook-token", c.RolloutWebhookToken, "token of the Flagger and Argo Rollouts webhooks at /webhooks/flagger and /webhooks/argo-rollouts (empty: not configured)")
	fs.StringVar(&c.RolloutWebhookTokenFile, "rollout-webhook-token-file", c.RolloutWebhookTokenFile, "file holding --rollout-webhook-token")
}

// webhookReceivers builds a receiver for each forge whose secret is set.
func webhookReceivers(cfg Config, gw *gateway) (map[string]web.WebhookReceiver, error) {
	out := map[string]web.WebhookReceiver{}
	secret, err := secretFrom(cfg.GitHubWebhookSecret, cfg.GitHubWebhookSecretFile, "github-webhook-secret")
	if err != nil {
		return nil, err
	}
	if secret != "" {
		g, err := webhooks.NewGitHub(secret)
		if err != nil {
			return nil, err
		}
		out["github"] = forgeReceiver{check: g.CheckHeader, receive: g.Receive, gw: gw}
	}
	token, err := secretFrom(cfg.GitLabWebhookToken, cfg.GitLabWebhookTokenFile, "gitlab-webhook-token")
	if err != nil {
		return nil, err
	}
	if token != "" {
		g, err := webhooks.NewGitLab(token)
		if err != nil {
			return nil, err
		}
		out["gitlab"] = forgeReceiver{check: g.CheckHeader, receive: g.Receive, gw: gw}
	}
	rtoken, err := secretFrom(cfg.RolloutWebhookToken, cfg.RolloutWebhookTokenFile, "rollout-webhook-token")
	if err != nil {
		return nil, err
	}
	if rtoken != "" {
		r, err := webhooks.NewRollouts(rtoken, nil)
		if err != nil {
			return nil, err
		}
		out["flagger"] = forgeReceiver{check: r.CheckHeader, receive: r.ReceiveFlagger, gw: gw}
		out["argo-rollouts"] = forgeReceiver{check: r.CheckHeader, receive: r.ReceiveArgo, gw: gw}
	}
	return out, nil
}

// secretFrom is a secret given by value or by file (for container
// secrets), never both. The error never contains the secret.
func secretFrom(value, file, flag string) (string, error) {
	if file == "" {
		return value, nil
	}
	if value != "" {
		return "", fmt.Errorf("--%s and --%s-file are both set; give one", flag, flag)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("--%s-file: %w", flag, err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("--%s-file %s is empty", flag, file)
	}
	return s, nil
}

// forgeReceiver joins a forge's webhook translation to the event gateway.
type forgeReceiver struct {
	check   func(http.Header) error
	receive func(http.Header, []byte) (webhooks.Delivery, error)
	gw      *gateway
}

// CheckHeader implements web.WebhookReceiver.
func (f forgeReceiver) CheckHeader(h http.Header) error { return f.check(h) }

// Receive implements web.WebhookReceiver.
func (f forgeReceiver) Receive(ctx context.Context, h http.Header, body []byte) (web.WebhookResult, error) {
	d, err := f.receive(h, body)
	if err != nil {
		return web.WebhookResult{}, err
	}
	res := web.WebhookResult{Event: d.Event, Ping: d.Ping, Ignored: d.Ignored}
	if len(d.Events) > 0 {
		res.Results, err = f.gw.PublishEvents(ctx, d.Events)
	}
	return res, err
}
