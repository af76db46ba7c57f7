package web_test

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/throughline/throughline/adapters/webhooks"
	"github.com/throughline/throughline/domain"
	"github.com/throughline/throughline/web"
)

// The webhook receivers' secrets in these tests.
const (
	testGitHubSecret = "gh-webhook-secret-for-tests"
	testGitLabToken  = "gl-webhook-token-for-tests"
)

// webhookFunc is a web.WebhookReceiver from a function.
type webhookFunc func(context.Context, http.Header, []byte) (web.WebhookResult, error)

func (f webhookFunc) Receive(ctx context.Context, h http.Header, body []byte) (web.WebhookResult, error) {
	return f(ctx, h, body)
}

func (f webhookFunc) CheckHeader(http.Header) error { return nil }

// checkedWebhook is a receiver whose headers are checked first.
type checkedWebhook struct {
	webhookFunc
	check func(http.Header) error
}

func (c checkedWebhook) CheckHeader(h http.Header) error { return c.check(h) }

// signedWebhooks are the real webhook adapters with the test secrets; every
// event they make counts as accepted (publishing to JetStream is tested end
// to end in cmd/throughline).
func signedWebhooks(t testing.TB) map[string]web.WebhookReceiver {
	gh, err := webhooks.NewGitHub(testGitHubSecret)
	if err != nil {
		t.Fatal(err)
	}
	gl, err := webhooks.NewGitLab(testGitLabToken)
	if err != nil {
		t.Fatal(err)
	}
	accept := func(check func(http.Header) error, receive func(http.Header, []byte) (webhooks.Delivery, error)) web.WebhookReceiver {
		return checkedWebhook{check: check, webhookFunc: webhookFunc(func(_ context.Context, h http.Header, body []byte) (web.WebhookResult, error) {
			d, err := receive(h, body)
			res := web.WebhookResult{Event: d.Event, Ping: d.Ping, Ignored: d.Ignored}
			for i, ce := range d.Events {
				res.Results = append(res.Results, web.EventResult{Index: i, ID: ce.ID, Source: ce.Source, Type: ce.Type, Accepted: true})
			}
			return res, err
		})}
	}
	ro, err := webhooks.NewRollouts(testRolloutToken, nil)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]web.WebhookReceiver{"github": accept(gh.CheckHeader, gh.Receive), "gitlab": accept(gl.CheckHeader, gl.Receive),
		"flagger": accept(ro.CheckHeader, ro.ReceiveFlagger), "argo-rollouts": accept(ro.CheckHeader, ro.ReceiveArgo)}
}

const testRolloutToken = "rollout-test-token"

// Flagger's event webhook sends no headers: its token rides in the URL. A
// wrong or missing token, or an API token, is refused; the right one in the
// URL or the header is taken, and the environment parameter names the
// environment.
func TestRolloutWebhooksAreAuthenticatedByToken(t *testing.T) {
	e := newEnv(t, false)
	body := `{"name":"podinfo","namespace":"test","phase":"Failed","metadata":{"eventMessage":"Canary failed!","eventType":"Warning","timestamp":"1772445600000"}}`
	for name, path := range map[string]string{
		"no token": "/webhooks/flagger", "wrong token": "/webhooks/flagger?token=guess", "argo wrong": "/webhooks/argo-rollouts?token=guess",
	} {
		code, out := postWebhook(t, e, nil, path, nil, body)
		if code != http.StatusUnauthorized || apiErrorCode(mustJSON(t, out)) != domain.EUNAUTHORIZED {
			t.Errorf("%s: %d %v", name, code, out)
		}
	}
	code, out := postWebhook(t, e, nil, "/webhooks/flagger?token="+testRolloutToken+"&environment=production", nil, body)
	if code != http.StatusAccepted || out["accepted"] != 1.0 {
		t.Fatalf("token in the URL: %d %v", code, out)
	}
	argo := `{"step":"promoted","rollout":"checkout","namespace":"shop","revision":"3","image":"img:1"}`
	code, out = postWebhook(t, e, nil, "/webhooks/argo-rollouts", http.Header{"X-Throughline-Token": {testRolloutToken}}, argo)
	if code != http.StatusAccepted || out["accepted"] != 1.0 {
		t.Fatalf("token in the header: %d %v", code, out)
	}
	code, out = postWebhook(t, e, nil, "/webhooks/argo-rollouts", http.Header{"X-Throughline-Token": {testRolloutToken}}, `{"step":"paused","rollout":"x"}`)
	if code != http.StatusBadRequest {
		t.Fatalf("unknown step: %d %v", code, out)
	}
}

func webhooksOr(t testing.TB, hooks map[string]web.WebhookReceiver) map[string]web.WebhookReceiver {
	if hooks != nil {
		return hooks
	}
	return signedWebhooks(t)
}

func hubSignature(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// postWebhook posts a delivery and returns the status and the JSON answer.
func postWebhook(t *testing.T, e *env, c *http.Client, path string, header http.Header, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("POST %s: %d %s is not JSON: %v", path, resp.StatusCode, resp.Header.Get("Content-Type"), err)
	}
	return resp.StatusCode, out
}

func errorMessage(out map[string]any) string {
	e, _ := out["error"].(map[string]any)
	m, _ := e["message"].(string)
	return m
}

const webhookPR = `{"action": "opened", "number": 3, "pull_request": {"number": 3, "title": "CHK-1 faster cart",
	"created_at": "2026-03-02T09:00:00Z", "updated_at": "2026-03-02T09:00:00Z", "head": {"ref": "chk-1"}},
	"repository": {"name": "shop", "full_name": "acme/shop", "html_url": "https://github.com/acme/shop"}}`

// Webhook routes are authenticated by the delivery's signature or token, and
// by nothing else: a signed-in admin's session, CSRF token or an admin API
// token do not stand in for it.
func TestWebhooksAreAuthenticatedBySignature(t *testing.T) {
	e := newEnv(t, false)
	e.user("admin@example.com", domain.RoleAdmin)
	admin := e.signIn("admin@example.com")
	csrf := e.csrfOf(admin)
	_, apiToken, err := e.store.CreateToken(context.Background(), "ops", []domain.Scope{domain.ScopeAdmin, domain.ScopeIngest})
	if err != nil {
		t.Fatal(err)
	}
	gh := http.Header{"X-Github-Event": {"pull_request"}, "X-Github-Delivery": {"d-1"}}
	for name, c := range map[string]struct {
		client *http.Client
		header http.Header
	}{
		"nothing":              {nil, gh},
		"admin session+CSRF":   {admin, http.Header{"X-Github-Event": {"pull_request"}, "X-Csrf-Token": {csrf}, "Sec-Fetch-Site": {"same-origin"}}},
		"API token":            {nil, http.Header{"X-Github-Event": {"pull_request"}, "Authorization": {"Bearer " + apiToken}}},
		"another secret":       {nil, http.Header{"X-Github-Event": {"pull_request"}, "X-Hub-Signature-256": {hubSignature("guess", []byte(webhookPR))}}},
		"SHA-1 signature only": {nil, http.Header{"X-Github-Event": {"pull_request"}, "X-Hub-Signature": {"sha1=0123456789abcdef0123456789abcdef01234567"}}},
	} {
		code, out := postWebhook(t, e, c.client, "/webhooks/github", c.header, webhookPR)
		if code != http.StatusUnauthorized || apiErrorCode(mustJSON(t, out)) != domain.EUNAUTHORIZED {
			t.Errorf("GitHub webhook with %s: %d %v", name, code, out)
		}
	}
	for name, h := range map[string]http.Header{
		"no token":    {"X-Gitlab-Event": {"Merge Request Hook"}},
		"wrong token": {"X-Gitlab-Event": {"Merge Request Hook"}, "X-Gitlab-Token": {testGitLabToken + "x"}},
		"API token":   {"X-Gitlab-Event": {"Merge Request Hook"}, "Authorization": {"Bearer " + apiToken}},
	} {
		code, out := postWebhook(t, e, nil, "/webhooks/gitlab", h, `{"object_kind": "merge_request"}`)
		if code != http.StatusUnauthorized || apiErrorCode(mustJSON(t, out)) != domain.EUNAUTHORIZED {
			t.Errorf("GitLab webhook with %s: %d %v", name, code, out)
		}
	}

	// Headers that already show a forgery are refused before the body is
	// read: the answer comes while the sender has not sent a byte of it.
	for path, h := range map[string]string{
		"/webhooks/gitlab": "X-Gitlab-Token: guess\r\n",
		"/webhooks/github": "X-Github-Event: pull_request\r\n",
	} {
		conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n", path, 1<<20, h)
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		switch {
		case err != nil:
			t.Errorf("%s: no answer before the body was sent (%v): the body is read before the headers are checked", path, err)
		case resp.StatusCode != http.StatusUnauthorized:
			t.Errorf("%s forged, body not sent: %d, want 401", path, resp.StatusCode)
		}
		conn.Close()
	}

	signed := func(event, body string) http.Header {
		return http.Header{"X-Github-Event": {event}, "X-Github-Delivery": {"d-2"}, "X-Hub-Signature-256": {hubSignature(testGitHubSecret, []byte(body))}}
	}
	code, out := postWebhook(t, e, nil, "/webhooks/github", signed("pull_request", webhookPR), webhookPR)
	if code != http.StatusAccepted || out["accepted"] != 1.0 || out["event"] != "pull_request.opened" {
		t.Errorf("signed pull request: %d %v", code, out)
	}
	ping := `{"zen": "Keep it logically awesome.", "hook_id": 1}`
	code, out = postWebhook(t, e, nil, "/webhooks/github", signed("ping", ping), ping)
	if code != http.StatusOK || out["accepted"] != 0.0 || !strings.Contains(out["note"].(string), "Pong") {
		t.Errorf("ping: %d %v", code, out)
	}
	push := `{"ref": "refs/heads/main"}`
	code, out = postWebhook(t, e, nil, "/webhooks/github", signed("push", push), push)
	if note, _ := out["note"].(string); code != http.StatusAccepted || out["accepted"] != 0.0 || !strings.Contains(note, "not read") {
		t.Errorf("unsupported event: %d %v", code, out)
	}
	bad := `{"action": "opened",`
	code, out = postWebhook(t, e, nil, "/webhooks/github", signed("pull_request", bad), bad)
	if code != http.StatusBadRequest || !strings.Contains(errorMessage(out), "not valid JSON") {
		t.Errorf("malformed JSON: %d %v", code, out)
	}
	mr := `{"object_kind": "merge_request", "project": {"web_url": "https://gitlab.com/acme/shop", "path_with_namespace": "acme/shop"},
		"object_attributes": {"iid": 4, "action": "open", "title": "x", "created_at": "2026-03-02 09:00:00 UTC"}}`
	code, out = postWebhook(t, e, nil, "/webhooks/gitlab", http.Header{"X-Gitlab-Event": {"Merge Request Hook"}, "X-Gitlab-Token": {testGitLabToken}}, mr)
	if code != http.StatusAccepted || out["accepted"] != 1.0 {
		t.Errorf("GitLab with its token: %d %v", code, out)
	}
}

func mustJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A forge without a secret is not configured: 404 naming the flag, with
// nothing read. Oversized bodies are refused with 413, and events the
// gateway rejects are reported with 400.
func TestWebhookLimitsAndFailures(t *testing.T) {
	called := 0
	e := newEnvWith(t, envOptions{webhooks: map[string]web.WebhookReceiver{
		"gitlab": webhookFunc(func(context.Context, http.Header, []byte) (web.WebhookResult, error) {
			called++
			return web.WebhookResult{Event: "Merge Request Hook.open", Results: []web.EventResult{{ID: "x/change.created",
				Reason: domain.ReasonInvalidContent, Message: "customData.title contains a NUL character, which cannot be stored"}}}, nil
		}),
	}})
	code, out := postWebhook(t, e, nil, "/webhooks/github", http.Header{"X-Github-Event": {"ping"}}, `{}`)
	if code != http.StatusNotFound || !strings.Contains(errorMessage(out), "--github-webhook-secret") {
		t.Errorf("unconfigured GitHub webhook: %d %v", code, out)
	}
	code, out = postWebhook(t, e, nil, "/webhooks/gitlab", nil, `{}`)
	if code != http.StatusBadRequest || !strings.Contains(errorMessage(out), "NUL") || called != 1 {
		t.Errorf("rejected events: %d %v", code, out)
	}
	huge := `{"pad": "` + strings.Repeat("x", 5<<20) + `"}`
	code, out = postWebhook(t, e, nil, "/webhooks/gitlab", nil, huge)
	if code != http.StatusRequestEntityTooLarge || called != 1 {
		t.Errorf("body over 5 MiB: %d %v (receiver called %d times)", code, out, called)
	}
	code, _ = postWebhook(t, e, nil, "/webhooks/bitbucket", nil, `{}`)
	if code != http.StatusNotFound && code != http.StatusForbidden {
		t.Errorf("unknown forge: %d", code)
	}
}
