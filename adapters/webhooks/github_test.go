package webhooks_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/throughline/throughline/adapters/webhooks"
	"github.com/throughline/throughline/domain"
)

// Payloads as GitHub sends them (docs.github.com, "Webhook events and
// payloads"), trimmed to a realistic subset of their fields.

const ghRepo = `"repository": {"id": 1296269, "node_id": "MDEwOlJlcG9zaXRvcnkxMjk2MjY5", "name": "shop", "full_name": "acme/shop",
	"private": false, "owner": {"login": "acme", "id": 1, "type": "Organization"},
	"html_url": "https://github.com/acme/shop", "url": "https://api.github.com/repos/acme/shop",
	"created_at": "2011-01-26T19:01:12Z", "updated_at": "2026-03-01T10:00:00Z", "pushed_at": "2026-03-02T09:00:00Z",
	"default_branch": "main", "visibility": "public"},
	"organization": {"login": "acme", "id": 1},
	"sender": {"login": "octocat", "id": 583231, "type": "User"}`

func ghPullRequest(action, state string, merged bool, mergedAt, closedAt, mergeSHA string) string {
	return `{"action": "` + action + `", "number": 42,
	"pull_request": {"url": "https://api.github.com/repos/acme/shop/pulls/42", "id": 1, "node_id": "PR_kwDOA",
		"html_url": "https://github.com/acme/shop/pull/42", "number": 42, "state": "` + state + `", "locked": false,
		"title": "CHK-12: one-page checkout", "user": {"login": "octocat", "id": 583231},
		"body": "Moves the address form onto the cart page.",
		"created_at": "2026-03-02T09:00:00Z", "updated_at": "2026-03-02T15:30:00Z",
		"closed_at": ` + jsonOrNull(closedAt) + `, "merged_at": ` + jsonOrNull(mergedAt) + `,
		"merge_commit_sha": ` + jsonOrNull(mergeSHA) + `, "draft": false,
		"head": {"label": "acme:feature/one-page", "ref": "feature/one-page", "sha": "e5bd3914e2e596debea16f433f57875b5b90bcd6"},
		"base": {"label": "acme:main", "ref": "main", "sha": "9049f1265b7d61be4a8904a9a27120d2064dab3b"},
		"merged": ` + map[bool]string{true: "true", false: "false"}[merged] + `, "mergeable": null, "comments": 2, "commits": 3,
		"additions": 120, "deletions": 14, "changed_files": 5},
	` + ghRepo + `}`
}

func jsonOrNull(s string) string {
	if s == "" {
		return "null"
	}
	return `"` + s + `"`
}

const ghMergeSHA = "6dcb09b5b57875f334f61aebed695e2e4193db5e"

var ghReview = `{"action": "submitted",
	"review": {"id": 80, "node_id": "MDE3OlB1bGxSZXF1ZXN0UmV2aWV3ODA=", "user": {"login": "hubot", "id": 2},
		"body": "Looks good", "commit_id": "e5bd3914e2e596debea16f433f57875b5b90bcd6",
		"submitted_at": "2026-03-02T13:10:00Z", "state": "approved",
		"html_url": "https://github.com/acme/shop/pull/42#pullrequestreview-80", "author_association": "MEMBER"},
	"pull_request": {"url": "https://api.github.com/repos/acme/shop/pulls/42", "html_url": "https://github.com/acme/shop/pull/42",
		"number": 42, "state": "open", "title": "CHK-12: one-page checkout",
		"created_at": "2026-03-02T09:00:00Z", "updated_at": "2026-03-02T13:10:00Z", "closed_at": null, "merged_at": null,
		"head": {"ref": "feature/one-page", "sha": "e5bd3914e2e596debea16f433f57875b5b90bcd6"}, "base": {"ref": "main"}},
	` + ghRepo + `}`

func ghWorkflowRun(action, status, conclusion string) string {
	return `{"action": "` + action + `",
	"workflow_run": {"id": 30433642, "name": "Build", "node_id": "MDEyOldvcmtmbG93IFJ1bjI2OTI4OQ==",
		"head_branch": "main", "head_sha": "` + ghMergeSHA + `", "path": ".github/workflows/build.yml",
		"display_title": "CHK-12: one-page checkout (#42)", "run_number": 562, "event": "push",
		"status": "` + status + `", "conclusion": ` + jsonOrNull(conclusion) + `, "workflow_id": 159038,
		"url": "https://api.github.com/repos/acme/shop/actions/runs/30433642",
		"html_url": "https://github.com/acme/shop/actions/runs/30433642", "pull_requests": [],
		"created_at": "2026-03-02T15:31:00Z", "updated_at": "2026-03-02T15:42:00Z",
		"run_attempt": 1, "run_started_at": "2026-03-02T15:31:05Z"},
	"workflow": {"id": 159038, "name": "Build", "path": ".github/workflows/build.yml", "state": "active"},
	` + ghRepo + `}`
}

func ghDeploymentStatus(state, env, payload string) string {
	return `{"action": "created",
	"deployment_status": {"url": "https://api.github.com/repos/acme/shop/deployments/42/statuses/1", "id": 1,
		"state": "` + state + `", "creator": {"login": "github-actions[bot]"}, "description": "Deployed by the release workflow",
		"environment": "` + env + `", "target_url": "https://github.com/acme/shop/actions/runs/30433700",
		"created_at": "2026-03-03T10:00:00Z", "updated_at": "2026-03-03T10:00:00Z",
		"environment_url": "https://shop.example.com", "log_url": "https://github.com/acme/shop/actions/runs/30433700"},
	"deployment": {"url": "https://api.github.com/repos/acme/shop/deployments/42", "id": 42, "node_id": "MDEwOkRlcGxveW1lbnQx",
		"sha": "` + ghMergeSHA + `", "ref": "main", "task": "deploy", "payload": ` + payload + `,
		"original_environment": "` + env + `", "environment": "` + env + `", "description": null,
		"creator": {"login": "github-actions[bot]"}, "created_at": "2026-03-03T09:55:00Z", "updated_at": "2026-03-03T10:00:00Z",
		"transient_environment": false, "production_environment": true},
	` + ghRepo + `}`
}

const ghPing = `{"zen": "Design for failure.", "hook_id": 123456,
	"hook": {"type": "Repository", "id": 123456, "name": "web", "active": true, "events": ["pull_request", "workflow_run"],
		"config": {"content_type": "json", "insecure_ssl": "0", "url": "https://throughline.example.com/webhooks/github"}},
	` + ghRepo + `}`

func ghHeader(event, delivery string) http.Header {
	return http.Header{
		"X-Github-Event": {event}, "X-Github-Delivery": {delivery}, "Content-Type": {"application/json"},
		"User-Agent": {"GitHub-Hookshot/044aadd"}, "X-Github-Hook-Id": {"123456"},
	}
}

// cd is the CDEvent inside a CloudEvent, read generically.
type cd struct {
	ce   domain.CloudEvent
	data map[string]any
}

func cdOf(t *testing.T, ce domain.CloudEvent) cd {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(ce.Data, &m); err != nil {
		t.Fatalf("event %s: data is not JSON: %v", ce.ID, err)
	}
	return cd{ce: ce, data: m}
}

// get reads a dotted path ("subject.content.environment.id") as text.
func (c cd) get(p string) string {
	var v any = c.data
	for _, k := range strings.Split(p, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[k]
	}
	switch v := v.(type) {
	case string:
		return v
	case bool:
		if v {
			return "true"
		}
		return "false"
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// want is an expected CDEvent, by dotted path.
type want map[string]string

func check(t *testing.T, name string, evs []domain.CloudEvent, wants []want) {
	t.Helper()
	if len(evs) != len(wants) {
		t.Fatalf("%s: %d events; want %d", name, len(evs), len(wants))
	}
	for i, w := range wants {
		c := cdOf(t, evs[i])
		if c.ce.SpecVersion != "1.0" || c.ce.Type != c.get("context.type") || c.ce.ID != c.get("context.id") ||
			c.ce.Source != c.get("context.source") || c.get("context.specversion") != "0.5.1" {
			t.Errorf("%s event %d: CloudEvent and CDEvent context disagree: %+v\n%s", name, i, c.ce, c.ce.Data)
		}
		for p, v := range w {
			if got := c.get(p); got != v {
				t.Errorf("%s event %d: %s = %q; want %q\n%s", name, i, p, got, v, c.ce.Data)
			}
		}
	}
}

func TestGitHubMapping(t *testing.T) {
	const src = "https://github.com/acme/shop"
	change := want{"subject.id": "acme/shop#42", "subject.source": src, "context.source": src,
		"subject.content.repository.id": "acme/shop", "customData.title": "CHK-12: one-page checkout", "customData.branch": "feature/one-page"}
	with := func(base want, kv ...string) want {
		w := want{}
		for k, v := range base {
			w[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			w[kv[i]] = kv[i+1]
		}
		return w
	}
	run := want{"subject.id": src + "/actions/runs/30433642/attempts/1", "subject.content.pipelineName": "Build",
		"customData.branch": "main", "customData.title": "CHK-12: one-page checkout (#42)"}
	artifact := "github.com/acme/shop@" + ghMergeSHA
	for _, tc := range []struct {
		name, event, body string
		want              []want
		ignored           bool
	}{
		{"opened", "pull_request", ghPullRequest("opened", "open", false, "", "", ""), []want{with(change,
			"context.type", "dev.cdevents.change.created.0.4.0", "context.id", "pull/42/opened/2026-03-02T09:00:00Z/change.created", "context.timestamp", "2026-03-02T09:00:00Z")}, false},
		{"reopened", "pull_request", ghPullRequest("reopened", "open", false, "", "", ""), []want{with(change,
			"context.type", "dev.cdevents.change.created.0.4.0", "context.timestamp", "2026-03-02T15:30:00Z")}, false},
		{"synchronize", "pull_request", ghPullRequest("synchronize", "open", false, "", "", ""), []want{with(change,
			"context.type", "dev.cdevents.change.updated.0.3.0", "context.timestamp", "2026-03-02T15:30:00Z")}, false},
		{"edited", "pull_request", ghPullRequest("edited", "open", false, "", "", ""), []want{with(change,
			"context.type", "dev.cdevents.change.updated.0.3.0")}, false},
		{"merged", "pull_request", ghPullRequest("closed", "closed", true, "2026-03-02T15:30:00Z", "2026-03-02T15:30:00Z", ghMergeSHA), []want{
			with(change, "context.type", "dev.cdevents.change.merged.0.3.0", "context.id", "pull/42/merged/"+ghMergeSHA+"/change.merged", "context.timestamp", "2026-03-02T15:30:00Z"),
			{"context.type": "dev.cdevents.artifact.packaged.0.3.0", "context.id": "pull/42/merged/" + ghMergeSHA + "/artifact.packaged", "subject.id": artifact,
				"subject.content.change.id": "acme/shop#42", "subject.content.change.source": src, "context.timestamp": "2026-03-02T15:30:00Z"},
		}, false},
		{"closed unmerged", "pull_request", ghPullRequest("closed", "closed", false, "", "2026-03-02T16:00:00Z", ""), []want{with(change,
			"context.type", "dev.cdevents.change.abandoned.0.3.0", "context.timestamp", "2026-03-02T16:00:00Z")}, false},
		{"labeled", "pull_request", ghPullRequest("labeled", "open", false, "", "", ""), nil, true},
		{"review", "pull_request_review", ghReview, []want{with(change,
			"context.type", "dev.cdevents.change.reviewed.0.3.0", "context.timestamp", "2026-03-02T13:10:00Z")}, false},
		{"review dismissed", "pull_request_review", strings.Replace(ghReview, `"submitted"`, `"dismissed"`, 1), nil, true},
		{"run requested", "workflow_run", ghWorkflowRun("requested", "queued", ""), []want{with(run,
			"context.type", "dev.cdevents.pipelinerun.started.0.3.0", "context.timestamp", "2026-03-02T15:31:05Z")}, false},
		{"run in progress", "workflow_run", ghWorkflowRun("in_progress", "in_progress", ""), []want{with(run,
			"context.type", "dev.cdevents.pipelinerun.started.0.3.0")}, false},
		{"run succeeded", "workflow_run", ghWorkflowRun("completed", "completed", "success"), []want{with(run,
			"context.type", "dev.cdevents.pipelinerun.finished.0.3.0", "subject.content.outcome", "success", "context.timestamp", "2026-03-02T15:42:00Z")}, false},
		{"run failed", "workflow_run", ghWorkflowRun("completed", "completed", "failure"), []want{with(run, "subject.content.outcome", "failure")}, false},
		{"run timed out", "workflow_run", ghWorkflowRun("completed", "completed", "timed_out"), []want{with(run, "subject.content.outcome", "failure")}, false},
		{"run cancelled", "workflow_run", ghWorkflowRun("completed", "completed", "cancelled"), []want{with(run, "subject.content.outcome", "cancel")}, false},
		{"deployed", "deployment_status", ghDeploymentStatus("success", "production", `{}`), []want{{
			"context.type": "dev.cdevents.service.deployed.0.3.0", "subject.id": "shop", "subject.content.environment.id": "production",
			"subject.content.artifactId": artifact, "context.timestamp": "2026-03-03T10:00:00Z", "customData.branch": "main", "customData.hotfix": ""}}, false},
		{"deployed service from payload", "deployment_status", ghDeploymentStatus("success", "prod", `{"service": "checkout", "team": "payments", "hotfix": true}`), []want{{
			"subject.id": "checkout", "subject.content.environment.id": "prod", "customData.team": "payments", "customData.hotfix": "true"}}, false},
		{"payload as a string", "deployment_status", ghDeploymentStatus("success", "staging", `"{\"service\": \"checkout\"}"`), []want{{
			"subject.id": "checkout", "subject.content.environment.id": "staging"}}, false},
		{"rollback", "deployment_status", ghDeploymentStatus("success", "production", `{"rollback": true}`), []want{{
			"context.type": "dev.cdevents.service.rolledback.0.3.0", "subject.id": "shop", "subject.content.artifactId": artifact}}, false},
		{"deploy failed", "deployment_status", ghDeploymentStatus("failure", "production", `{}`), nil, true},
		{"deploy error", "deployment_status", ghDeploymentStatus("error", "production", `{}`), nil, true},
		{"deploy inactive", "deployment_status", ghDeploymentStatus("inactive", "production", `{}`), nil, true},
		{"deploy pending", "deployment_status", ghDeploymentStatus("in_progress", "production", `{}`), nil, true},
		{"push", "push", `{"ref": "refs/heads/main", "before": "0", "after": "` + ghMergeSHA + `", ` + ghRepo + `}`, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := webhooks.TranslateGitHub(ghHeader(tc.event, "d-1"), []byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.ignored != (d.Ignored != "") || d.Ping {
				t.Fatalf("ignored = %q, ping = %v; want ignored %v", d.Ignored, d.Ping, tc.ignored)
			}
			check(t, tc.name, d.Events, tc.want)
		})
	}
}

// Event ids come from the signed body, never from X-GitHub-Delivery: the
// same body under another delivery id, or none, makes byte-identical events
// (a replayed delivery is a duplicate, not another deployment), and bodies
// of different occurrences make different ids.
func TestGitHubEventIdentity(t *testing.T) {
	const secret = "It's a Secret to Everybody"
	g, err := webhooks.NewGitHub(secret)
	if err != nil {
		t.Fatal(err)
	}
	receive := func(event, delivery string, body []byte) webhooks.Delivery {
		t.Helper()
		h := ghHeader(event, delivery)
		h.Set("X-Hub-Signature-256", sign(secret, body))
		d, err := g.Receive(h, body)
		if err != nil || len(d.Events) == 0 {
			t.Fatalf("%s from %s: %v, %d events", event, delivery, err, len(d.Events))
		}
		return d
	}
	merged := ghPullRequest("closed", "closed", true, "2026-03-02T15:30:00Z", "2026-03-02T15:30:00Z", ghMergeSHA)
	deploy := ghDeploymentStatus("success", "production", `{}`)
	run := ghWorkflowRun("completed", "completed", "success")
	sync := ghPullRequest("synchronize", "open", false, "", "", "")
	occurrences := []struct{ name, event, body string }{
		{"opened", "pull_request", ghPullRequest("opened", "open", false, "", "", "")},
		{"synchronize", "pull_request", sync},
		{"merged", "pull_request", merged},
		{"closed", "pull_request", ghPullRequest("closed", "closed", false, "", "2026-03-02T16:00:00Z", "")},
		{"review", "pull_request_review", ghReview},
		{"run requested", "workflow_run", ghWorkflowRun("requested", "queued", "")},
		{"run completed", "workflow_run", run},
		{"deployment", "deployment_status", deploy},
		// Another occurrence of each kind: a later push, a merge after a
		// revert and reopening, a re-run, a redeploy, another review.
		{"synchronize again", "pull_request", strings.Replace(sync, "e5bd3914e2e596debea16f433f57875b5b90bcd6", "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c", 1)},
		{"merged again", "pull_request", strings.ReplaceAll(merged, ghMergeSHA, "a5c3a0a1f6bd1b4c7f1ae2a4cbb1b3c9d7a6e0f2")},
		{"run attempt 2", "workflow_run", strings.Replace(run, `"run_attempt": 1`, `"run_attempt": 2`, 1)},
		{"redeployed", "deployment_status", strings.Replace(deploy, `"id": 1,`, `"id": 2,`, 1)},
		{"another review", "pull_request_review", strings.Replace(ghReview, `"id": 80,`, `"id": 81,`, 1)},
	}
	seen := map[string]string{}
	for _, o := range occurrences {
		body := []byte(o.body)
		first := receive(o.event, "72d3162e-cc78-11e3-81ab-4c9367dc0958", body)
		for _, delivery := range []string{"72d3162e-cc78-11e3-81ab-4c9367dc0958", "8f0e7c4a-cc78-11e3-81ab-4c9367dc0958", "", strings.Repeat("x", 5000)} {
			again := receive(o.event, delivery, body)
			if len(again.Events) != len(first.Events) {
				t.Fatalf("%s under delivery %.20q: %d events, then %d", o.name, delivery, len(first.Events), len(again.Events))
			}
			for i := range first.Events {
				if again.Events[i].ID != first.Events[i].ID || string(again.Events[i].Data) != string(first.Events[i].Data) {
					t.Errorf("%s under delivery %.20q: event %d is %s, was %s", o.name, delivery, i, again.Events[i].ID, first.Events[i].ID)
				}
			}
		}
		for _, ev := range first.Events {
			if len(ev.ID) > 200 || strings.Contains(ev.ID, "72d3162e") {
				t.Errorf("%s: id %q is long or names the delivery", o.name, ev.ID)
			}
			if other, ok := seen[ev.Source+" "+ev.ID]; ok {
				t.Errorf("%s and %s share the identity %s", o.name, other, ev.ID)
			}
			seen[ev.Source+" "+ev.ID] = o.name
		}
	}
}

func sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func TestGitHubSignature(t *testing.T) {
	const secret = "It's a Secret to Everybody"
	g, err := webhooks.NewGitHub(secret)
	if err != nil {
		t.Fatal(err)
	}
	// GitHub's documented test vector.
	if got := sign(secret, []byte("Hello, World!")); got != "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17" {
		t.Fatalf("the test's own signing is wrong: %s", got)
	}
	body := []byte(ghReview)
	sha1Sig := "sha1=" + strings.Repeat("ab", 20)
	for _, tc := range []struct {
		name, sig256, sig1, wantMsg string
	}{
		{"good", sign(secret, body), "", ""},
		{"good with sha1 too", sign(secret, body), sha1Sig, ""},
		{"wrong secret", sign("another secret", body), "", "does not match"},
		{"body changed", sign(secret, append([]byte(" "), body...)), "", "does not match"},
		{"missing", "", "", "no X-Hub-Signature-256"},
		{"sha1 only", "", sha1Sig, "SHA-1"},
		{"no prefix", strings.TrimPrefix(sign(secret, body), "sha256="), "", "not of the form"},
		{"short", "sha256=abcd", "", "not of the form"},
		{"not hex", "sha256=" + strings.Repeat("zz", 32), "", "not of the form"},
		{"upper-case prefix", "SHA256=" + strings.TrimPrefix(sign(secret, body), "sha256="), "", "not of the form"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := ghHeader("pull_request_review", "d-2")
			if tc.sig256 != "" {
				h.Set("X-Hub-Signature-256", tc.sig256)
			}
			if tc.sig1 != "" {
				h.Set("X-Hub-Signature", tc.sig1)
			}
			d, err := g.Receive(h, body)
			if tc.wantMsg == "" {
				if err != nil || len(d.Events) != 1 {
					t.Fatalf("good signature: %v, %d events", err, len(d.Events))
				}
				return
			}
			if domain.ErrorCode(err) != domain.EUNAUTHORIZED || !strings.Contains(domain.ErrorMessage(err), tc.wantMsg) {
				t.Fatalf("err = %v; want EUNAUTHORIZED saying %q", err, tc.wantMsg)
			}
			if len(d.Events) != 0 {
				t.Fatal("events made from an unauthenticated delivery")
			}
			if strings.Contains(domain.ErrorMessage(err), secret) {
				t.Fatal("the error names the secret")
			}
		})
	}
	if _, err := webhooks.NewGitHub(""); err == nil {
		t.Error("an empty secret was accepted")
	}
}

func TestGitHubPingAndForm(t *testing.T) {
	d, err := webhooks.TranslateGitHub(ghHeader("ping", "d-3"), []byte(ghPing))
	if err != nil || !d.Ping || len(d.Events) != 0 {
		t.Fatalf("ping: %+v %v", d, err)
	}
	// A webhook left on application/x-www-form-urlencoded.
	h := ghHeader("pull_request", "d-4")
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	form := url.Values{"payload": {ghPullRequest("opened", "open", false, "", "", "")}}.Encode()
	d, err = webhooks.TranslateGitHub(h, []byte(form))
	if err != nil || len(d.Events) != 1 {
		t.Fatalf("form-encoded: %+v %v", d, err)
	}
}

func TestGitHubBadInput(t *testing.T) {
	for _, tc := range []struct {
		name, event, body, wantMsg string
	}{
		{"not JSON", "pull_request", `{"action": "opened",`, "not valid JSON"},
		{"empty", "pull_request", ``, "not valid JSON"},
		{"a list", "pull_request", `[]`, "where"},
		{"number as text", "pull_request", `{"action": "opened", "pull_request": {"number": "42"}}`, "where"},
		{"no repository", "pull_request", `{"action": "opened", "pull_request": {"number": 42}}`, "repository.full_name"},
		{"no pull request", "pull_request", `{"action": "opened", ` + ghRepo + `}`, "pull_request.number"},
		{"no timestamp", "pull_request", `{"action": "opened", "pull_request": {"number": 42}, ` + ghRepo + `}`, "created_at"},
		{"bad timestamp", "pull_request", strings.ReplaceAll(ghPullRequest("opened", "open", false, "", "", ""), "2026-03-02T09:00:00Z", "yesterday"), "created_at"},
		{"merge without sha", "pull_request", ghPullRequest("closed", "closed", true, "2026-03-02T15:30:00Z", "2026-03-02T15:30:00Z", ""), "merge_commit_sha"},
		{"deployment without sha", "deployment_status", strings.Replace(ghDeploymentStatus("success", "production", `{}`), ghMergeSHA, "main", 1), "deployment.sha"},
		{"deployment without environment", "deployment_status", ghDeploymentStatus("success", "", `{}`), "environment"},
		{"run without url", "workflow_run", `{"action": "completed", "workflow_run": {"id": 1}, ` + ghRepo + `}`, "html_url"},
		{"run without id", "workflow_run", strings.Replace(ghWorkflowRun("completed", "completed", "success"), `"id": 30433642,`, ``, 1), "workflow_run.id"},
		{"deployment status without id", "deployment_status", strings.Replace(ghDeploymentStatus("success", "production", `{}`), `"id": 1,`, `"id": 0,`, 1), "deployment_status.id"},
		{"no event header", "", ghReview, "X-GitHub-Event"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := ghHeader(tc.event, "d-5")
			if tc.event == "" {
				h.Del("X-Github-Event")
			}
			d, err := webhooks.TranslateGitHub(h, []byte(tc.body))
			if domain.ErrorCode(err) != domain.EINVALID || !strings.Contains(domain.ErrorMessage(err), tc.wantMsg) {
				t.Fatalf("err = %v; want EINVALID saying %q", err, tc.wantMsg)
			}
			if len(d.Events) != 0 {
				t.Fatalf("%d events from bad input", len(d.Events))
			}
		})
	}
}
