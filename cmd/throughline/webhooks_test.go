package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/throughline/throughline/domain"
)

const (
	e2eGitHubSecret = "whsec-e2e-github-7f3a"
	e2eGitLabToken  = "whtok-e2e-gitlab-91c2"
	ghSHA           = "6dcb09b5b57875f334f61aebed695e2e4193db5e"
	glSHA           = "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"
)

// postHook posts one webhook delivery and returns the status and answer.
func postHook(t *testing.T, app *App, path string, header http.Header, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, app.URL()+path, strings.NewReader(body))
	req.Header = header.Clone()
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("POST %s: %d %s", path, resp.StatusCode, raw)
	}
	return resp.StatusCode, out
}

// github signs a delivery as GitHub does.
func github(event, delivery, body string) http.Header {
	mac := hmac.New(sha256.New, []byte(e2eGitHubSecret))
	mac.Write([]byte(body))
	return http.Header{"X-Github-Event": {event}, "X-Github-Delivery": {delivery}, "User-Agent": {"GitHub-Hookshot/044aadd"},
		"X-Hub-Signature-256": {"sha256=" + hex.EncodeToString(mac.Sum(nil))}}
}

func gitlab(event, uuid string) http.Header {
	return http.Header{"X-Gitlab-Event": {event}, "X-Gitlab-Event-Uuid": {uuid}, "X-Gitlab-Token": {e2eGitLabToken}, "User-Agent": {"GitLab/18.2.0"}}
}

const ghRepoJSON = `"repository": {"id": 1296269, "name": "shop", "full_name": "acme/shop", "private": false,
	"html_url": "https://github.com/acme/shop", "default_branch": "main"}, "sender": {"login": "octocat", "id": 1}`

func ghPR(action string, merged bool, mergedAt, sha string) string {
	return `{"action": "` + action + `", "number": 42, "pull_request": {"number": 42, "state": "` + map[bool]string{true: "closed", false: "open"}[action == "closed"] + `",
	"html_url": "https://github.com/acme/shop/pull/42", "title": "CHK-12: one-page checkout",
	"created_at": "2026-03-02T09:00:00Z", "updated_at": "2026-03-02T15:30:00Z", "closed_at": ` + nullable(mergedAt) + `,
	"merged_at": ` + nullable(mergedAt) + `, "merged": ` + map[bool]string{true: "true", false: "false"}[merged] + `, "merge_commit_sha": ` + nullable(sha) + `,
	"head": {"ref": "feature/one-page", "sha": "e5bd3914e2e596debea16f433f57875b5b90bcd6"}, "base": {"ref": "main"}}, ` + ghRepoJSON + `}`
}

func nullable(s string) string {
	if s == "" {
		return "null"
	}
	return `"` + s + `"`
}

const glProjectJSON = `"project": {"id": 14, "name": "Cart", "web_url": "https://gitlab.com/acme/web/cart",
	"path_with_namespace": "acme/web/cart", "default_branch": "main"}`

func glMR(action, updatedAt, sha string) string {
	return `{"object_kind": "merge_request", "event_type": "merge_request", "user": {"username": "jane"}, ` + glProjectJSON + `,
	"object_attributes": {"id": 99, "iid": 7, "title": "Saved cards (CHK-14)", "source_branch": "saved-cards", "target_branch": "main",
		"created_at": "2026-03-04 08:00:00 UTC", "updated_at": "` + updatedAt + `", "state": "opened", "action": "` + action + `",
		"merge_commit_sha": ` + nullable(sha) + `, "url": "https://gitlab.com/acme/web/cart/-/merge_requests/7"}}`
}

// Signed GitHub and GitLab deliveries of one change each, from opening to
// production, reach the API as a deployment carrying its change with the
// lead time computed by hand; a redelivery, or a replay of a signed body
// under a new delivery id, is a duplicate; a forged
// delivery publishes nothing; neither secret reaches the log.
func TestWebhooksFromPullRequestToProduction(t *testing.T) {
	cfg := testConfig(t)
	cfg.GitHubWebhookSecret = e2eGitHubSecret
	tokenFile := filepath.Join(t.TempDir(), "gitlab-token")
	if err := os.WriteFile(tokenFile, []byte(e2eGitLabToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.GitLabWebhookTokenFile = tokenFile
	var logs syncBuffer
	app := NewApp(cfg, slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})), io.Discard)
	if err := app.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	read := token(t, app, domain.ScopeRead)

	deploy := `{"action": "created", "deployment_status": {"id": 1, "state": "success", "environment": "production",
		"created_at": "2026-03-03T10:00:00Z", "updated_at": "2026-03-03T10:00:00Z"},
		"deployment": {"id": 42, "sha": "` + ghSHA + `", "ref": "main", "task": "deploy", "payload": {}, "environment": "production",
		"created_at": "2026-03-03T09:55:00Z"}, ` + ghRepoJSON + `}`
	steps := []struct {
		name, event, delivery, body string
		accepted                    float64
	}{
		{"opened", "pull_request", "g-1", ghPR("opened", false, "", ""), 1},
		{"reviewed", "pull_request_review", "g-2", `{"action": "submitted", "review": {"id": 80, "state": "approved",
			"submitted_at": "2026-03-02T13:10:00Z"}, "pull_request": {"number": 42, "title": "CHK-12: one-page checkout",
			"head": {"ref": "feature/one-page"}}, ` + ghRepoJSON + `}`, 1},
		{"merged", "pull_request", "g-3", ghPR("closed", true, "2026-03-02T15:30:00Z", ghSHA), 2},
		{"built", "workflow_run", "g-4", `{"action": "completed", "workflow_run": {"id": 30433642, "name": "Build", "head_branch": "main",
			"head_sha": "` + ghSHA + `", "display_title": "CHK-12: one-page checkout (#42)", "status": "completed", "conclusion": "success",
			"html_url": "https://github.com/acme/shop/actions/runs/30433642", "run_attempt": 1,
			"run_started_at": "2026-03-02T15:31:00Z", "updated_at": "2026-03-02T15:42:00Z"}, ` + ghRepoJSON + `}`, 1},
		{"deployed", "deployment_status", "g-5", deploy, 1},
	}
	for _, s := range steps {
		code, out := postHook(t, app, "/webhooks/github", github(s.event, s.delivery, s.body), s.body)
		if code != http.StatusAccepted || out["accepted"] != s.accepted || out["duplicates"] != 0.0 {
			t.Fatalf("GitHub %s: %d %v", s.name, code, out)
		}
	}
	glSteps := []struct {
		name, event, uuid, body string
		accepted                float64
	}{
		{"open", "Merge Request Hook", "u-1", glMR("open", "2026-03-04 08:00:00 UTC", ""), 1},
		{"approved", "Merge Request Hook", "u-2", glMR("approved", "2026-03-04 12:00:00 UTC", ""), 1},
		{"merge", "Merge Request Hook", "u-3", glMR("merge", "2026-03-04 17:45:00 UTC", glSHA), 2},
		{"pipeline", "Pipeline Hook", "u-4", `{"object_kind": "pipeline", "object_attributes": {"id": 31, "ref": "main", "sha": "` + glSHA + `",
			"status": "success", "created_at": "2026-03-04 17:46:00 UTC", "finished_at": "2026-03-04 17:50:00 UTC", "duration": 228,
			"url": "https://gitlab.com/acme/web/cart/-/pipelines/31"}, ` + glProjectJSON + `,
			"commit": {"id": "` + glSHA + `", "title": "Merge branch 'saved-cards' into 'main'"}}`, 1},
		{"deployment", "Deployment Hook", "u-5", `{"object_kind": "deployment", "status": "success", "status_changed_at": "2026-03-05 10:30:00 +0100",
			"deployment_id": 15, "environment": "production", ` + glProjectJSON + `, "short_sha": "da156088", "ref": "main",
			"commit_url": "https://gitlab.com/acme/web/cart/-/commit/` + glSHA + `", "commit_title": "Merge branch 'saved-cards' into 'main'"}`, 1},
	}
	for _, s := range glSteps {
		code, out := postHook(t, app, "/webhooks/gitlab", gitlab(s.event, s.uuid), s.body)
		if code != http.StatusAccepted || out["accepted"] != s.accepted {
			t.Fatalf("GitLab %s: %d %v", s.name, code, out)
		}
	}
	const stored = 12
	if st := waitStored(t, app, read, stored, 30*time.Second); st.Stored != stored || st.Duplicates != 0 || st.DeadLetters != 0 {
		t.Fatalf("after both sequences: %+v", st)
	}

	// Redeliveries, as each forge's "Redeliver" button sends them.
	code, out := postHook(t, app, "/webhooks/github", github("deployment_status", "g-5", deploy), deploy)
	if code != http.StatusAccepted || out["accepted"] != 1.0 || out["duplicates"] != 1.0 {
		t.Errorf("GitHub redelivery: %d %v", code, out)
	}
	code, out = postHook(t, app, "/webhooks/gitlab", gitlab("Merge Request Hook", "u-3"), glSteps[2].body)
	if code != http.StatusAccepted || out["duplicates"] != 2.0 {
		t.Errorf("GitLab redelivery: %d %v", code, out)
	}
	// Replays: a signed body sent again under a new delivery id is the same
	// deployment, not another (issue 18: one body made 3 deployments).
	for _, delivery := range []string{"g-replay-1", "g-replay-2"} {
		code, out = postHook(t, app, "/webhooks/github", github("deployment_status", delivery, deploy), deploy)
		if code != http.StatusAccepted || out["accepted"] != 1.0 || out["duplicates"] != 1.0 {
			t.Errorf("GitHub replay as %s: %d %v", delivery, code, out)
		}
	}
	code, out = postHook(t, app, "/webhooks/gitlab", gitlab("Merge Request Hook", "u-replay"), glSteps[2].body)
	if code != http.StatusAccepted || out["duplicates"] != 2.0 {
		t.Errorf("GitLab replay under a new UUID: %d %v", code, out)
	}
	// A forged delivery: another secret, and a GitLab token guessed.
	forged := strings.Replace(deploy, `"id": 1,`, `"id": 2,`, 1)
	h := github("deployment_status", "g-6", forged)
	h.Set("X-Hub-Signature-256", github("deployment_status", "g-6", deploy).Get("X-Hub-Signature-256"))
	if code, out := postHook(t, app, "/webhooks/github", h, forged); code != http.StatusUnauthorized {
		t.Errorf("forged GitHub delivery: %d %v", code, out)
	}
	h = gitlab("Deployment Hook", "u-6")
	h.Set("X-Gitlab-Token", "whtok-guess")
	if code, out := postHook(t, app, "/webhooks/gitlab", h, glSteps[4].body); code != http.StatusUnauthorized {
		t.Errorf("GitLab delivery with a wrong token: %d %v", code, out)
	}
	waitStatus(t, app, read, ingestStatus{Stored: stored, Duplicates: 7})

	// The deployments carry their changes, linked by the merge commit.
	for _, tc := range []struct {
		service, artifact, change string
		lead, toMerge, toDeploy   float64
	}{
		// Opened 03-02 09:00, merged 15:30, deployed 03-03 10:00.
		{"shop", "github.com/acme/shop@" + ghSHA, "acme/shop#42", 25 * 3600, 6.5 * 3600, 18.5 * 3600},
		// Opened 03-04 08:00, merged 17:45, deployed 03-05 09:30 UTC (10:30 +0100).
		{"cart", "gitlab.com/acme/web/cart@" + glSHA, "acme/web/cart!7", 25.5 * 3600, 9.75 * 3600, 15.75 * 3600},
	} {
		var deps struct {
			Deployments []struct {
				Service, Artifact string
				Time              time.Time
				Changes           []string
			} `json:"deployments"`
		}
		getJSON(t, app.URL()+"/api/v1/deployments?from=2026-03-01&to=2026-03-06&service="+tc.service, read, &deps)
		if len(deps.Deployments) != 1 || deps.Deployments[0].Artifact != tc.artifact ||
			len(deps.Deployments[0].Changes) != 1 || deps.Deployments[0].Changes[0] != tc.change {
			t.Errorf("%s deployments: %+v", tc.service, deps)
		}
		var dora struct {
			DeploymentFrequency struct{ Deployments float64 } `json:"deployment_frequency"`
			LeadTime            map[string]any                `json:"lead_time"`
		}
		getJSON(t, app.URL()+"/api/v1/dora?from=2026-03-01&to=2026-03-06&service="+tc.service, read, &dora)
		lt := dora.LeadTime
		if dora.DeploymentFrequency.Deployments != 1 || lt["changes"] != 1.0 || lt["median_seconds"] != tc.lead ||
			lt["start_to_merged_median_seconds"] != tc.toMerge || lt["merged_to_deployed_median_seconds"] != tc.toDeploy {
			t.Errorf("%s DORA: %+v; want lead time %v (%v + %v)", tc.service, dora, tc.lead, tc.toMerge, tc.toDeploy)
		}
	}

	app.Close()
	text := logs.String()
	if !strings.Contains(text, "/webhooks/github") {
		t.Fatalf("the log has no webhook request line; did logging work?")
	}
	for _, s := range []string{e2eGitHubSecret, e2eGitLabToken, "whtok-guess", github("ping", "x", deploy).Get("X-Hub-Signature-256")[7:]} {
		if bytes.Contains([]byte(text), []byte(s)) {
			t.Errorf("the log contains a secret or signature (%.8s…)", s)
		}
	}
}

// Bad secret configuration stops the start with a clear error.
func TestWebhookSecretFlags(t *testing.T) {
	cfg := testConfig(t)
	cfg.GitHubWebhookSecret = "a"
	cfg.GitHubWebhookSecretFile = filepath.Join(t.TempDir(), "missing")
	if _, err := webhookReceivers(cfg, nil); err == nil || !strings.Contains(err.Error(), "both set") {
		t.Errorf("value and file: %v", err)
	}
	cfg.GitHubWebhookSecret = ""
	if _, err := webhookReceivers(cfg, nil); err == nil || !strings.Contains(err.Error(), "github-webhook-secret-file") {
		t.Errorf("missing file: %v", err)
	}
	empty := filepath.Join(t.TempDir(), "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	cfg.GitHubWebhookSecretFile = ""
	cfg.GitLabWebhookTokenFile = empty
	if _, err := webhookReceivers(cfg, nil); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty file: %v", err)
	}
	cfg.GitLabWebhookTokenFile = ""
	hooks, err := webhookReceivers(cfg, nil)
	if err != nil || len(hooks) != 0 {
		t.Errorf("no secrets: %v %v", hooks, err)
	}
	// Environment variables follow the flags.
	t.Setenv("THROUGHLINE_GITHUB_WEBHOOK_SECRET", "from-env")
	cmd := newServeCommand(io.Discard, io.Discard)
	if err := bindEnv(cmd); err != nil {
		t.Fatal(err)
	}
	if f := cmd.Flags().Lookup("github-webhook-secret"); f == nil || f.Value.String() != "from-env" {
		t.Errorf("THROUGHLINE_GITHUB_WEBHOOK_SECRET did not reach the flag")
	}
}
