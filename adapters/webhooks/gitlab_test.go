package webhooks_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/throughline/throughline/adapters/webhooks"
	"github.com/throughline/throughline/domain"
)

// Payloads as GitLab sends them (docs.gitlab.com, "Webhook events"),
// trimmed to a realistic subset of their fields.

const glProject = `"project": {"id": 14, "name": "Shop", "description": "The web shop",
	"web_url": "https://gitlab.example.com/acme/web/shop", "avatar_url": null,
	"git_ssh_url": "git@gitlab.example.com:acme/web/shop.git", "git_http_url": "https://gitlab.example.com/acme/web/shop.git",
	"namespace": "web", "visibility_level": 20, "path_with_namespace": "acme/web/shop", "default_branch": "main",
	"homepage": "https://gitlab.example.com/acme/web/shop", "url": "git@gitlab.example.com:acme/web/shop.git"}`

const glSHA = "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"

func glMergeRequest(action, state, mergeSHA string) string {
	return `{"object_kind": "merge_request", "event_type": "merge_request",
	"user": {"id": 1, "name": "Administrator", "username": "root", "email": "[REDACTED]"},
	` + glProject + `,
	"object_attributes": {"id": 99, "iid": 7, "target_branch": "main", "source_branch": "CHK-14-saved-cards",
		"source_project_id": 14, "author_id": 51, "assignee_ids": [6], "assignee_id": 6, "reviewer_ids": [6],
		"title": "Saved cards at checkout", "created_at": "2026-03-04 08:00:00 UTC", "updated_at": "2026-03-04 17:45:00 UTC",
		"last_edited_at": null, "milestone_id": null, "state_id": 1, "state": "` + state + `", "blocking_discussions_resolved": true,
		"merge_status": "can_be_merged", "detailed_merge_status": "mergeable", "target_project_id": 14, "description": "",
		"url": "https://gitlab.example.com/acme/web/shop/-/merge_requests/7",
		"merge_commit_sha": ` + jsonOrNull(mergeSHA) + `,
		"last_commit": {"id": "b83d6e391c22777fca1ed3012fce84f633d7fed0", "message": "Store the card token\n", "title": "Store the card token",
			"timestamp": "2026-03-04T17:00:00+01:00", "url": "https://gitlab.example.com/acme/web/shop/-/commit/b83d6e391c22777fca1ed3012fce84f633d7fed0",
			"author": {"name": "Jane", "email": "[REDACTED]"}},
		"work_in_progress": false, "draft": false, "labels": [], "action": "` + action + `"},
	"labels": [], "changes": {}, "repository": {"name": "Shop", "url": "git@gitlab.example.com:acme/web/shop.git",
		"homepage": "https://gitlab.example.com/acme/web/shop"}}`
}

func glPipeline(status, finishedAt string) string {
	return `{"object_kind": "pipeline",
	"object_attributes": {"id": 31, "iid": 3, "name": null, "ref": "main", "tag": false, "sha": "` + glSHA + `",
		"before_sha": "bcbb5ec396a2c0f828686f14fac9b80b780504f2", "source": "push", "status": "` + status + `",
		"detailed_status": "` + status + `", "stages": ["build", "test", "deploy"],
		"created_at": "2026-03-04 17:46:00 UTC", "finished_at": ` + jsonOrNull(finishedAt) + `, "duration": 63, "queued_duration": 12,
		"variables": [], "url": "https://gitlab.example.com/acme/web/shop/-/pipelines/31"},
	"merge_request": null,
	"user": {"id": 1, "name": "Administrator", "username": "root"},
	` + glProject + `,
	"commit": {"id": "` + glSHA + `", "message": "Merge branch 'CHK-14-saved-cards' into 'main'\n\nSaved cards at checkout",
		"title": "Merge branch 'CHK-14-saved-cards' into 'main'", "timestamp": "2026-03-04T18:45:00+01:00",
		"url": "https://gitlab.example.com/acme/web/shop/-/commit/` + glSHA + `", "author": {"name": "Jane", "email": "[REDACTED]"}},
	"builds": [{"id": 380, "stage": "deploy", "name": "production", "status": "skipped"}]}`
}

func glDeployment(status, env string) string {
	return `{"object_kind": "deployment", "status": "` + status + `", "status_changed_at": "2026-03-05 10:30:00 +0100",
	"deployment_id": 15, "deployable_id": 796, "deployable_url": "https://gitlab.example.com/acme/web/shop/-/jobs/796",
	"environment": "` + env + `", "environment_tier": "production", "environment_slug": "` + env + `",
	"environment_external_url": "https://shop.example.com",
	` + glProject + `,
	"short_sha": "da156088", "user": {"id": 1, "name": "Administrator", "username": "root"},
	"user_url": "https://gitlab.example.com/root",
	"commit_url": "https://gitlab.example.com/acme/web/shop/-/commit/` + glSHA + `",
	"commit_title": "Merge branch 'CHK-14-saved-cards' into 'main'", "ref": "main"}`
}

func glHeader(event, uuid string) http.Header {
	h := http.Header{"X-Gitlab-Event": {event}, "Content-Type": {"application/json"}, "User-Agent": {"GitLab/18.2.0"},
		"X-Gitlab-Instance": {"https://gitlab.example.com"}, "X-Gitlab-Webhook-Uuid": {"c6c8e8d2-7d52-4d4e-9d45-0c0cbd1c2a1f"}}
	if uuid != "" {
		h.Set("X-Gitlab-Event-UUID", uuid)
	}
	return h
}

func TestGitLabMapping(t *testing.T) {
	const src = "https://gitlab.example.com/acme/web/shop"
	mr := func(kv ...string) want {
		w := want{"subject.id": "acme/web/shop!7", "subject.source": src, "context.source": src, "subject.content.repository.id": "acme/web/shop",
			"customData.title": "Saved cards at checkout", "customData.branch": "CHK-14-saved-cards"}
		for i := 0; i < len(kv); i += 2 {
			w[kv[i]] = kv[i+1]
		}
		return w
	}
	pl := func(kv ...string) want {
		w := want{"subject.id": src + "/-/pipelines/31", "subject.content.pipelineName": "acme/web/shop pipeline", "customData.branch": "main",
			"customData.title": "Merge branch 'CHK-14-saved-cards' into 'main'"}
		for i := 0; i < len(kv); i += 2 {
			w[kv[i]] = kv[i+1]
		}
		return w
	}
	artifact := "gitlab.example.com/acme/web/shop@" + glSHA
	for _, tc := range []struct {
		name, event, body string
		want              []want
		ignored           bool
	}{
		{"open", "Merge Request Hook", glMergeRequest("open", "opened", ""), []want{mr("context.type", "dev.cdevents.change.created.0.4.0",
			"context.id", "mr/7/open/2026-03-04T08:00:00Z/change.created", "context.timestamp", "2026-03-04T08:00:00Z")}, false},
		{"reopen", "Merge Request Hook", glMergeRequest("reopen", "opened", ""), []want{mr("context.type", "dev.cdevents.change.created.0.4.0",
			"context.timestamp", "2026-03-04T17:45:00Z")}, false},
		{"update", "Merge Request Hook", glMergeRequest("update", "opened", ""), []want{mr("context.type", "dev.cdevents.change.updated.0.3.0")}, false},
		{"approved", "Merge Request Hook", glMergeRequest("approved", "opened", ""), []want{mr("context.type", "dev.cdevents.change.reviewed.0.3.0")}, false},
		{"approval", "Merge Request Hook", glMergeRequest("approval", "opened", ""), []want{mr("context.type", "dev.cdevents.change.reviewed.0.3.0")}, false},
		{"merge", "Merge Request Hook", glMergeRequest("merge", "merged", glSHA), []want{
			mr("context.type", "dev.cdevents.change.merged.0.3.0", "context.timestamp", "2026-03-04T17:45:00Z"),
			{"context.type": "dev.cdevents.artifact.packaged.0.3.0", "subject.id": artifact, "subject.content.change.id": "acme/web/shop!7",
				"subject.content.change.source": src, "context.id": "mr/7/merge/" + glSHA + "/artifact.packaged"},
		}, false},
		{"fast-forward merge", "Merge Request Hook", glMergeRequest("merge", "merged", ""), []want{
			mr("context.type", "dev.cdevents.change.merged.0.3.0"),
			{"subject.id": "gitlab.example.com/acme/web/shop@b83d6e391c22777fca1ed3012fce84f633d7fed0"},
		}, false},
		{"close", "Merge Request Hook", glMergeRequest("close", "closed", ""), []want{mr("context.type", "dev.cdevents.change.abandoned.0.3.0")}, false},
		{"unapproved", "Merge Request Hook", glMergeRequest("unapproved", "opened", ""), nil, true},
		{"pending", "Pipeline Hook", glPipeline("pending", ""), []want{pl("context.type", "dev.cdevents.pipelinerun.started.0.3.0",
			"context.timestamp", "2026-03-04T17:46:00Z")}, false},
		{"running", "Pipeline Hook", glPipeline("running", ""), []want{pl("context.type", "dev.cdevents.pipelinerun.started.0.3.0",
			"context.timestamp", "2026-03-04T17:46:12Z")}, false},
		{"success", "Pipeline Hook", glPipeline("success", "2026-03-04 17:47:15 UTC"), []want{pl("context.type", "dev.cdevents.pipelinerun.finished.0.3.0",
			"subject.content.outcome", "success", "context.timestamp", "2026-03-04T17:47:15Z")}, false},
		{"failed", "Pipeline Hook", glPipeline("failed", "2026-03-04 17:47:15 UTC"), []want{pl("subject.content.outcome", "failure")}, false},
		{"canceled", "Pipeline Hook", glPipeline("canceled", ""), []want{pl("subject.content.outcome", "cancel",
			"context.timestamp", "2026-03-04T17:47:03Z")}, false},
		{"manual", "Pipeline Hook", glPipeline("manual", ""), nil, true},
		{"deployed", "Deployment Hook", glDeployment("success", "production"), []want{{"context.type": "dev.cdevents.service.deployed.0.3.0",
			"context.id": "deployment/15/success/service.deployed",
			"subject.id": "shop", "subject.content.environment.id": "production", "subject.content.artifactId": artifact,
			"context.timestamp": "2026-03-05T09:30:00Z", "customData.branch": "main"}}, false},
		{"deploy running", "Deployment Hook", glDeployment("running", "production"), nil, true},
		{"deploy failed", "Deployment Hook", glDeployment("failed", "production"), nil, true},
		{"push", "Push Hook", `{"object_kind": "push", "ref": "refs/heads/main", ` + glProject + `}`, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := webhooks.TranslateGitLab(glHeader(tc.event, "u-1"), []byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.ignored != (d.Ignored != "") {
				t.Fatalf("ignored = %q; want ignored %v", d.Ignored, tc.ignored)
			}
			check(t, tc.name, d.Events, tc.want)
		})
	}
}

// Event ids come from the body's object ids, never from X-Gitlab-Event-UUID:
// the same body under another UUID, or none, makes the same events, and
// bodies of different occurrences make different ids.
func TestGitLabEventIdentity(t *testing.T) {
	const token = "glpat-webhook-token-0123"
	g, err := webhooks.NewGitLab(token)
	if err != nil {
		t.Fatal(err)
	}
	update := glMergeRequest("update", "opened", "")
	merge := glMergeRequest("merge", "merged", glSHA)
	pipeline := glPipeline("success", "2026-03-04 17:47:15 UTC")
	deploy := glDeployment("success", "production")
	occurrences := []struct{ name, event, body string }{
		{"open", "Merge Request Hook", glMergeRequest("open", "opened", "")},
		{"update", "Merge Request Hook", update},
		{"approved", "Merge Request Hook", glMergeRequest("approved", "opened", "")},
		{"merge", "Merge Request Hook", merge},
		{"pipeline running", "Pipeline Hook", glPipeline("running", "")},
		{"pipeline finished", "Pipeline Hook", pipeline},
		{"deployment", "Deployment Hook", deploy},
		{"another push", "Merge Request Hook", strings.Replace(update, "b83d6e391c22777fca1ed3012fce84f633d7fed0", "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c", 1)},
		{"merged again", "Merge Request Hook", strings.Replace(merge, `"merge_commit_sha": "`+glSHA, `"merge_commit_sha": "a5c3a0a1f6bd1b4c7f1ae2a4cbb1b3c9d7a6e0f2`, 1)},
		{"another pipeline", "Pipeline Hook", strings.Replace(pipeline, `"id": 31,`, `"id": 32,`, 1)},
		{"redeployed", "Deployment Hook", strings.Replace(deploy, `"deployment_id": 15,`, `"deployment_id": 16,`, 1)},
	}
	seen := map[string]string{}
	for _, o := range occurrences {
		var first webhooks.Delivery
		for i, uuid := range []string{"u-1", "u-2", "", strings.Repeat("u", 5000)} {
			h := glHeader(o.event, uuid)
			h.Set("X-Gitlab-Token", token)
			d, err := g.Receive(h, []byte(o.body))
			if err != nil || len(d.Events) == 0 {
				t.Fatalf("%s under %.20q: %v, %d events", o.name, uuid, err, len(d.Events))
			}
			if i == 0 {
				first = d
				continue
			}
			for j := range first.Events {
				if j >= len(d.Events) || d.Events[j].ID != first.Events[j].ID || string(d.Events[j].Data) != string(first.Events[j].Data) {
					t.Errorf("%s under UUID %.20q: events changed", o.name, uuid)
				}
			}
		}
		for _, ev := range first.Events {
			if other, ok := seen[ev.Source+" "+ev.ID]; ok {
				t.Errorf("%s and %s share the identity %s", o.name, other, ev.ID)
			}
			seen[ev.Source+" "+ev.ID] = o.name
		}
	}
}

func TestGitLabToken(t *testing.T) {
	const token = "glpat-webhook-token-0123"
	g, err := webhooks.NewGitLab(token)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(glDeployment("success", "production"))
	for _, tc := range []struct{ name, token, wantMsg string }{
		{"right", token, ""},
		{"wrong", "glpat-webhook-token-0124", "does not match"},
		{"prefix", token[:10], "does not match"},
		{"longer", token + "x", "does not match"},
		{"missing", "", "no X-Gitlab-Token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := glHeader("Deployment Hook", "u-2")
			if tc.token != "" {
				h.Set("X-Gitlab-Token", tc.token)
			}
			d, err := g.Receive(h, body)
			if tc.wantMsg == "" {
				if err != nil || len(d.Events) != 1 {
					t.Fatalf("right token: %v, %d events", err, len(d.Events))
				}
				return
			}
			if domain.ErrorCode(err) != domain.EUNAUTHORIZED || !strings.Contains(domain.ErrorMessage(err), tc.wantMsg) || len(d.Events) != 0 {
				t.Fatalf("err = %v, %d events; want EUNAUTHORIZED saying %q", err, len(d.Events), tc.wantMsg)
			}
			if strings.Contains(domain.ErrorMessage(err), token) {
				t.Fatal("the error names the token")
			}
		})
	}
	if _, err := webhooks.NewGitLab(""); err == nil {
		t.Error("an empty token was accepted")
	}
}

func TestGitLabBadInput(t *testing.T) {
	for _, tc := range []struct{ name, event, body, wantMsg string }{
		{"not JSON", "Merge Request Hook", `{"object_kind": `, "not valid JSON"},
		{"no project", "Merge Request Hook", `{"object_kind": "merge_request", "object_attributes": {"iid": 7, "action": "open"}}`, "path_with_namespace"},
		{"no attributes", "Merge Request Hook", `{"object_kind": "merge_request", ` + glProject + `}`, "object_attributes"},
		{"no iid", "Merge Request Hook", `{"object_kind": "merge_request", "object_attributes": {"action": "open"}, ` + glProject + `}`, "iid"},
		{"bad time", "Merge Request Hook", strings.Replace(glMergeRequest("open", "opened", ""), "2026-03-04 08:00:00 UTC", "soon", 1), "created_at"},
		{"merge without sha", "Merge Request Hook", strings.Replace(glMergeRequest("merge", "merged", ""), `"last_commit": {"id": "b83d6e391c22777fca1ed3012fce84f633d7fed0"`, `"last_commit": {"id": ""`, 1), "merge_commit_sha"},
		{"deploy short sha only", "Deployment Hook", strings.Replace(glDeployment("success", "production"), "/-/commit/"+glSHA, "/-/commit/da156088", 1), "commit_url"},
		{"deploy no environment", "Deployment Hook", glDeployment("success", ""), "environment"},
		{"deploy no id", "Deployment Hook", strings.Replace(glDeployment("success", "production"), `"deployment_id": 15,`, ``, 1), "deployment_id"},
		{"pipeline finished without time", "Pipeline Hook", strings.Replace(glPipeline("success", ""), `"duration": 63`, `"duration": null`, 1), "finished_at"},
		{"no event at all", "", `{"ref": "main"}`, "X-Gitlab-Event"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := webhooks.TranslateGitLab(glHeader(tc.event, "u-3"), []byte(tc.body))
			if domain.ErrorCode(err) != domain.EINVALID || !strings.Contains(domain.ErrorMessage(err), tc.wantMsg) || len(d.Events) != 0 {
				t.Fatalf("err = %v, %d events; want EINVALID saying %q", err, len(d.Events), tc.wantMsg)
			}
		})
	}
}
