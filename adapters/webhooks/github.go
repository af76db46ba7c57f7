package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/throughline/throughline/domain"
)

// GitHub receives GitHub webhooks signed with a shared secret.
type GitHub struct {
	secret []byte
}

// NewGitHub returns a receiver that accepts deliveries signed with secret.
func NewGitHub(secret string) (*GitHub, error) {
	if secret == "" {
		return nil, domain.Errorf(domain.EINVALID, "the GitHub webhook secret is empty")
	}
	return &GitHub{secret: []byte(secret)}, nil
}

// Receive authenticates a delivery and translates it.
func (g *GitHub) Receive(h http.Header, body []byte) (Delivery, error) {
	if err := g.Verify(h, body); err != nil {
		return Delivery{}, err
	}
	return TranslateGitHub(h, body)
}

// Verify checks X-Hub-Signature-256, the HMAC-SHA256 of the raw body with
// the secret, in constant time. The SHA-1 X-Hub-Signature alone is refused.
func (g *GitHub) Verify(h http.Header, body []byte) error {
	got, err := signature(h)
	if err != nil {
		return err
	}
	mac := hmac.New(sha256.New, g.secret)
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return domain.Errorf(domain.EUNAUTHORIZED, "X-Hub-Signature-256 does not match the body: the webhook's secret differs from Throughline's, or the body was changed on the way.")
	}
	return nil
}

// CheckHeader refuses, before the body is read, a delivery that carries no
// well-formed X-Hub-Signature-256 at all.
func (g *GitHub) CheckHeader(h http.Header) error {
	_, err := signature(h)
	return err
}

// signature reads X-Hub-Signature-256.
func signature(h http.Header) ([]byte, error) {
	sig := h.Get("X-Hub-Signature-256")
	if sig == "" {
		if h.Get("X-Hub-Signature") != "" {
			return nil, domain.Errorf(domain.EUNAUTHORIZED, "The delivery is signed only with SHA-1 (X-Hub-Signature), which Throughline does not accept; GitHub sends X-Hub-Signature-256 when the webhook has a secret.")
		}
		return nil, domain.Errorf(domain.EUNAUTHORIZED, "The delivery has no X-Hub-Signature-256 header: give the webhook the secret Throughline was started with.")
	}
	hexSum, ok := strings.CutPrefix(sig, "sha256=")
	got, err := hex.DecodeString(hexSum)
	if !ok || err != nil || len(got) != sha256.Size {
		return nil, domain.Errorf(domain.EUNAUTHORIZED, "X-Hub-Signature-256 is not of the form sha256=<64 hex digits>.")
	}
	return got, nil
}

// The parts of GitHub's payloads that the mapping reads.
type ghRepository struct {
	Name     string `json:"name"`
	FullName string `json:"full_name"`
	HTMLURL  string `json:"html_url"`
}

type ghPullRequest struct {
	Number         int    `json:"number"`
	Title          string `json:"title"`
	CreatedAt      string `json:"created_at"`
	UpdatedAt      string `json:"updated_at"`
	ClosedAt       string `json:"closed_at"`
	MergedAt       string `json:"merged_at"`
	Merged         bool   `json:"merged"`
	MergeCommitSHA string `json:"merge_commit_sha"`
	Head           struct {
		Ref string `json:"ref"`
		SHA string `json:"sha"`
	} `json:"head"`
}

type ghPayload struct {
	Action      string         `json:"action"`
	Repository  *ghRepository  `json:"repository"`
	PullRequest *ghPullRequest `json:"pull_request"`
	Review      *struct {
		ID          int64  `json:"id"`
		SubmittedAt string `json:"submitted_at"`
	} `json:"review"`
	WorkflowRun *struct {
		ID           int64  `json:"id"`
		Name         string `json:"name"`
		HeadBranch   string `json:"head_branch"`
		DisplayTitle string `json:"display_title"`
		Conclusion   string `json:"conclusion"`
		HTMLURL      string `json:"html_url"`
		RunAttempt   int    `json:"run_attempt"`
		CreatedAt    string `json:"created_at"`
		UpdatedAt    string `json:"updated_at"`
		RunStartedAt string `json:"run_started_at"`
	} `json:"workflow_run"`
	DeploymentStatus *struct {
		ID          int64  `json:"id"`
		State       string `json:"state"`
		Environment string `json:"environment"`
		CreatedAt   string `json:"created_at"`
	} `json:"deployment_status"`
	Deployment *struct {
		SHA         string          `json:"sha"`
		Ref         string          `json:"ref"`
		Environment string          `json:"environment"`
		Payload     json.RawMessage `json:"payload"`
	} `json:"deployment"`
}

// githubEvents are the X-GitHub-Event values read, for the ignored note.
const githubEvents = "pull_request, pull_request_review, workflow_run and deployment_status"

// TranslateGitHub turns a GitHub delivery into CloudEvents (see
// docs/integrations.md for the mapping). It does not authenticate.
func TranslateGitHub(h http.Header, body []byte) (Delivery, error) {
	const forge = "GitHub"
	event := h.Get("X-GitHub-Event")
	if event == "" {
		return Delivery{}, domain.Errorf(domain.EINVALID, "The delivery has no X-GitHub-Event header; is this a GitHub webhook?")
	}
	// A webhook set to application/x-www-form-urlencoded sends the JSON as
	// the form field "payload".
	if mt, _, _ := mime.ParseMediaType(h.Get("Content-Type")); mt == "application/x-www-form-urlencoded" {
		form, err := url.ParseQuery(string(body))
		if err != nil || form.Get("payload") == "" {
			return Delivery{}, domain.Errorf(domain.EINVALID, "The GitHub webhook form has no payload field. Set the webhook's content type to application/json.")
		}
		body = []byte(form.Get("payload"))
	}
	var p ghPayload
	if err := parseBody(forge, body, &p); err != nil {
		return Delivery{}, err
	}
	d := Delivery{Event: event}
	if p.Action != "" {
		d.Event += "." + p.Action
	}
	switch event {
	case "ping":
		d.Ping = true
		return d, nil
	case "pull_request", "pull_request_review", "workflow_run", "deployment_status":
	default:
		d.Ignored = "GitHub event " + strconv.Quote(event) + " is not read by Throughline; it reads " + githubEvents + "."
		return d, nil
	}
	repo := p.Repository
	if repo == nil || repo.FullName == "" || repo.Name == "" {
		return d, missing(forge, event, "repository.full_name")
	}
	if u, err := url.Parse(repo.HTMLURL); err != nil || u.Host == "" {
		return d, missing(forge, event, "repository.html_url")
	}
	// X-GitHub-Delivery is not signed: event ids come from the body alone.
	e := &emitter{source: repo.HTMLURL}
	var err error
	switch event {
	case "pull_request", "pull_request_review":
		d.Ignored, err = githubChange(e, event, p)
	case "workflow_run":
		d.Ignored, err = githubWorkflowRun(e, p)
	case "deployment_status":
		d.Ignored, err = githubDeployment(e, p)
	}
	d.Events = e.events
	return d, err
}

func githubChange(e *emitter, event string, p ghPayload) (ignored string, err error) {
	const forge = "GitHub"
	pr := p.PullRequest
	if pr == nil || pr.Number <= 0 {
		return "", missing(forge, event, "pull_request.number")
	}
	repo := p.Repository
	change := repo.FullName + "#" + strconv.Itoa(pr.Number)
	pull := "pull/" + strconv.Itoa(pr.Number)
	content := func() map[string]any {
		return map[string]any{"repository": map[string]string{"id": repo.FullName, "source": repo.HTMLURL}}
	}
	custom := func() map[string]any { return map[string]any{"title": pr.Title, "branch": pr.Head.Ref} }
	if event == "pull_request_review" {
		if p.Action != "submitted" {
			return "pull_request_review action " + strconv.Quote(p.Action) + " is not read; only submitted reviews are.", nil
		}
		if p.Review == nil {
			return "", missing(forge, event, "review")
		}
		at, err := firstTime(forge, event, "review.submitted_at", p.Review.SubmittedAt)
		if err != nil {
			return "", err
		}
		review := keyTime(at)
		if p.Review.ID > 0 {
			review = strconv.FormatInt(p.Review.ID, 10)
		}
		return "", e.emit(domain.KindChangeReviewed, eventKey(pull, "review", review), at, change, content(), custom())
	}
	switch p.Action {
	case "opened", "reopened":
		// Opening starts the change; reopening is news at the update time.
		at, err := firstTime(forge, event, pick(p.Action == "opened", "pull_request.created_at", "pull_request.updated_at"),
			pick(p.Action == "opened", pr.CreatedAt, pr.UpdatedAt))
		if err != nil {
			return "", err
		}
		return "", e.emit(domain.KindChangeCreated, eventKey(pull, p.Action, keyTime(at)), at, change, content(), custom())
	case "synchronize", "edited", "ready_for_review":
		at, err := firstTime(forge, event, "pull_request.updated_at", pr.UpdatedAt)
		if err != nil {
			return "", err
		}
		key := eventKey(pull, p.Action, keyTime(at))
		if p.Action == "synchronize" && isSHA(pr.Head.SHA) {
			key = eventKey(key, strings.ToLower(pr.Head.SHA)) // each push is news
		}
		return "", e.emit(domain.KindChangeUpdated, key, at, change, content(), custom())
	case "closed":
		if !pr.Merged && pr.MergedAt == "" {
			at, err := firstTime(forge, event, "pull_request.closed_at", pr.ClosedAt, pr.UpdatedAt)
			if err != nil {
				return "", err
			}
			return "", e.emit(domain.KindChangeAbandoned, eventKey(pull, "closed", keyTime(at)), at, change, content(), custom())
		}
		at, err := firstTime(forge, event, "pull_request.merged_at", pr.MergedAt, pr.ClosedAt)
		if err != nil {
			return "", err
		}
		if !isSHA(pr.MergeCommitSHA) {
			return "", missing(forge, event, "pull_request.merge_commit_sha")
		}
		key := eventKey(pull, "merged", strings.ToLower(pr.MergeCommitSHA))
		if err := e.emit(domain.KindChangeMerged, key, at, change, content(), custom()); err != nil {
			return "", err
		}
		packaged := map[string]any{"change": map[string]string{"id": change, "source": repo.HTMLURL}}
		return "", e.emit(domain.KindArtifactPackaged, key, at, ArtifactID(repo.HTMLURL, pr.MergeCommitSHA), packaged, custom())
	}
	return "pull_request action " + strconv.Quote(p.Action) + " is not read; opened, reopened, synchronize, edited, ready_for_review and closed are.", nil
}

func githubWorkflowRun(e *emitter, p ghPayload) (ignored string, err error) {
	const forge, event = "GitHub", "workflow_run"
	run := p.WorkflowRun
	if run == nil || run.HTMLURL == "" {
		return "", missing(forge, event, "workflow_run.html_url")
	}
	if run.ID <= 0 {
		return "", missing(forge, event, "workflow_run.id")
	}
	// Each attempt of a run is its own pipeline run, at GitHub's address
	// for that attempt.
	attempt := strconv.Itoa(max(run.RunAttempt, 1))
	subject := strings.TrimSuffix(run.HTMLURL, "/") + "/attempts/" + attempt
	key := eventKey("run", strconv.FormatInt(run.ID, 10), "attempt", attempt, p.Action)
	content := map[string]any{"pipelineName": run.Name, "url": run.HTMLURL}
	custom := map[string]any{"title": run.DisplayTitle, "branch": run.HeadBranch}
	switch p.Action {
	case "requested", "in_progress":
		at, err := firstTime(forge, event, "workflow_run.run_started_at", run.RunStartedAt, run.CreatedAt)
		if err != nil {
			return "", err
		}
		return "", e.emit(domain.KindPipelineStarted, key, at, subject, content, custom)
	case "completed":
		at, err := firstTime(forge, event, "workflow_run.updated_at", run.UpdatedAt)
		if err != nil {
			return "", err
		}
		content["outcome"] = string(githubOutcome(run.Conclusion))
		return "", e.emit(domain.KindPipelineFinished, key, at, subject, content, custom)
	}
	return "workflow_run action " + strconv.Quote(p.Action) + " is not read; requested, in_progress and completed are.", nil
}

// githubOutcome maps a workflow run's conclusion to a CDEvents outcome.
func githubOutcome(conclusion string) domain.Outcome {
	switch conclusion {
	case "success", "neutral":
		return domain.OutcomeSuccess
	case "failure", "timed_out", "startup_failure":
		return domain.OutcomeFailure
	case "cancelled", "skipped", "stale":
		return domain.OutcomeCancel
	}
	return domain.OutcomeError // action_required, or a conclusion GitHub adds later
}

// deploymentPayload is what Throughline reads from a GitHub deployment's
// free-form payload, which the deploying workflow sets.
type deploymentPayload struct {
	Service  string `json:"service"`
	Team     string `json:"team"`
	Hotfix   bool   `json:"hotfix"`
	Rollback bool   `json:"rollback"`
}

func githubDeployment(e *emitter, p ghPayload) (ignored string, err error) {
	const forge, event = "GitHub", "deployment_status"
	st, dep := p.DeploymentStatus, p.Deployment
	if st == nil || dep == nil {
		return "", missing(forge, event, "deployment_status and deployment")
	}
	switch st.State {
	case "success":
	case "failure", "error":
		return "A deployment whose status is " + strconv.Quote(st.State) + " changed nothing in " + envName(st.Environment, dep.Environment) +
			"; a failure in production is an incident, reported on its own.", nil
	case "inactive":
		return "GitHub marks a deployment inactive when a newer one replaces it; the newer one's success is the deployment.", nil
	default:
		return "deployment_status " + strconv.Quote(st.State) + " is not read; a success is the deployment.", nil
	}
	env := envName(st.Environment, dep.Environment)
	if env == "" {
		return "", missing(forge, event, "deployment.environment")
	}
	if !isSHA(dep.SHA) {
		return "", missing(forge, event, "deployment.sha (a full commit SHA)")
	}
	if st.ID <= 0 {
		return "", missing(forge, event, "deployment_status.id")
	}
	at, err := firstTime(forge, event, "deployment_status.created_at", st.CreatedAt)
	if err != nil {
		return "", err
	}
	var pl deploymentPayload
	readDeploymentPayload(dep.Payload, &pl)
	service := strings.TrimSpace(pl.Service)
	if service == "" {
		service = p.Repository.Name
	}
	kind := domain.KindServiceDeployed
	if pl.Rollback {
		kind = domain.KindServiceRollback
	}
	content := map[string]any{"environment": map[string]string{"id": env}, "artifactId": ArtifactID(p.Repository.HTMLURL, dep.SHA)}
	custom := map[string]any{"branch": dep.Ref, "team": strings.TrimSpace(pl.Team)}
	if pl.Hotfix {
		custom["hotfix"] = true
	}
	return "", e.emit(kind, eventKey("deployment-status", strconv.FormatInt(st.ID, 10)), at, service, content, custom)
}

// readDeploymentPayload reads the deployment's payload, a JSON object or a
// string holding one; anything else leaves pl empty.
func readDeploymentPayload(raw json.RawMessage, pl *deploymentPayload) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		raw = json.RawMessage(s)
	}
	var probe map[string]json.RawMessage
	if json.Unmarshal(raw, &probe) != nil {
		return
	}
	for _, f := range []struct {
		key string
		dst any
	}{{"service", &pl.Service}, {"team", &pl.Team}, {"hotfix", &pl.Hotfix}, {"rollback", &pl.Rollback}} {
		if v, ok := probe[f.key]; ok {
			_ = json.Unmarshal(v, f.dst) // a field of another type is left out
		}
	}
}

func envName(names ...string) string {
	for _, n := range names {
		if n = strings.TrimSpace(n); n != "" {
			return n
		}
	}
	return ""
}

func pick(cond bool, a, b string) string {
	if cond {
		return a
	}
	return b
}

// isSHA reports whether s is a full Git commit id (SHA-1 or SHA-256).
func isSHA(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}
