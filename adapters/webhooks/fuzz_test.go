package webhooks_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/throughline/throughline/adapters/webhooks"
	"github.com/throughline/throughline/domain"
)

// checkFuzzResult holds for any input: an error is EINVALID with a message,
// and every event made carries JSON data, an id and a source.
func checkFuzzResult(t *testing.T, d webhooks.Delivery, err error) {
	if err != nil {
		if domain.ErrorCode(err) != domain.EINVALID || domain.ErrorMessage(err) == "" {
			t.Fatalf("error %v is not EINVALID with a message", err)
		}
		return
	}
	for _, ce := range d.Events {
		if ce.ID == "" || ce.Source == "" || ce.Type == "" || !json.Valid(ce.Data) {
			t.Fatalf("malformed event %+v", ce)
		}
	}
}

// checkReplay holds for any input: the same body under another delivery id
// makes the same events, so a replayed delivery is a duplicate.
func checkReplay(t *testing.T, a, b webhooks.Delivery, errA, errB error) {
	if (errA == nil) != (errB == nil) || len(a.Events) != len(b.Events) {
		t.Fatalf("another delivery id changed the answer: %v %d events, then %v %d events", errA, len(a.Events), errB, len(b.Events))
	}
	for i := range a.Events {
		if a.Events[i].ID != b.Events[i].ID || string(a.Events[i].Data) != string(b.Events[i].Data) {
			t.Fatalf("another delivery id changed event %d: %s, then %s", i, a.Events[i].ID, b.Events[i].ID)
		}
	}
}

func FuzzTranslateGitHub(f *testing.F) {
	f.Add("pull_request", ghPullRequest("closed", "closed", true, "2026-03-02T15:30:00Z", "2026-03-02T15:30:00Z", ghMergeSHA))
	f.Add("pull_request_review", ghReview)
	f.Add("workflow_run", ghWorkflowRun("completed", "completed", "failure"))
	f.Add("deployment_status", ghDeploymentStatus("success", "production", `"{\"service\": 3}"`))
	f.Add("deployment_status", ghDeploymentStatus("success", strings.Repeat("e", 300), `{"service": "`+strings.Repeat("s", 5000)+`", "team": "`+strings.Repeat("t", 300)+`"}`))
	f.Add("ping", ghPing)
	f.Fuzz(func(t *testing.T, event, body string) {
		d, err := webhooks.TranslateGitHub(ghHeader(event, "fuzz"), []byte(body))
		if event == "" && err == nil {
			t.Fatal("no event header accepted")
		}
		checkFuzzResult(t, d, err)
		replayed, errR := webhooks.TranslateGitHub(ghHeader(event, "replayed"), []byte(body))
		checkReplay(t, d, replayed, err, errR)
	})
}

func FuzzTranslateGitLab(f *testing.F) {
	f.Add("Merge Request Hook", glMergeRequest("merge", "merged", glSHA))
	f.Add("Pipeline Hook", glPipeline("success", "2026-03-04 17:47:15 UTC"))
	f.Add("Deployment Hook", glDeployment("success", "production"))
	f.Fuzz(func(t *testing.T, event, body string) {
		d, err := webhooks.TranslateGitLab(glHeader(event, "fuzz"), []byte(body))
		checkFuzzResult(t, d, err)
		replayed, errR := webhooks.TranslateGitLab(glHeader(event, ""), []byte(body))
		checkReplay(t, d, replayed, err, errR)
	})
}

func FuzzTranslateFlagger(f *testing.F) {
	f.Add(string(flaggerEvent("Progressing", "Advance podinfo.test canary weight 10", "1772445600000")))
	f.Add(string(flaggerEvent("Failed", "Canary failed! Scaling down podinfo.test", "1772445600000")))
	f.Add(string(flaggerEvent("Succeeded", "Promotion completed!", "-99999999999999999")))
	f.Add(`{"name":"` + strings.Repeat("n", 300) + `","phase":"Failed","metadata":{"timestamp":"1"}}`)
	f.Fuzz(func(t *testing.T, body string) {
		d, err := webhooks.TranslateFlagger(http.Header{}, []byte(body))
		checkFuzzResult(t, d, err)
		again, errR := webhooks.TranslateFlagger(http.Header{}, []byte(body))
		checkReplay(t, d, again, err, errR)
	})
}

func FuzzTranslateArgoRollouts(f *testing.F) {
	f.Add(`{"step":"aborted","rollout":"checkout","namespace":"shop","revision":"7","image":"i","weight":"20"}`)
	f.Add(`{"step":"progressed","rollout":"checkout","weight":"1e400"}`)
	f.Add(`{"step":"promoted","rollout":"c","baseline_metric":"m","canary_metric":"m","ideas":"A-1,,B-2"}`)
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body string) {
		d, err := webhooks.TranslateArgoRollouts(http.Header{}, []byte(body), now)
		checkFuzzResult(t, d, err)
		again, errR := webhooks.TranslateArgoRollouts(http.Header{}, []byte(body), now)
		checkReplay(t, d, again, err, errR)
	})
}
