package webhooks

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/throughline/throughline/domain"
)

// GitLab receives GitLab webhooks authenticated by their secret token.
type GitLab struct {
	token [sha256.Size]byte
}

// NewGitLab returns a receiver that accepts deliveries carrying token.
func NewGitLab(token string) (*GitLab, error) {
	if token == "" {
		return nil, domain.Errorf(domain.EINVALID, "the GitLab webhook token is empty")
	}
	return &GitLab{token: sha256.Sum256([]byte(token))}, nil
}

// Receive authenticates a delivery and translates it.
func (g *GitLab) Receive(h http.Header, body []byte) (Delivery, error) {
	if err := g.Verify(h); err != nil {
		return Delivery{}, err
	}
	return TranslateGitLab(h, body)
}

// CheckHeader authenticates a delivery before its body is read: GitLab's
// token is a header.
func (g *GitLab) CheckHeader(h http.Header) error { return g.Verify(h) }

// Verify checks X-Gitlab-Token against the token in constant time; hashing
// both first keeps the token's length out of the timing too.
func (g *GitLab) Verify(h http.Header) error {
	tok := h.Get("X-Gitlab-Token")
	if tok == "" {
		return domain.Errorf(domain.EUNAUTHORIZED, "The delivery has no X-Gitlab-Token header: give the webhook the secret token Throughline was started with.")
	}
	sum := sha256.Sum256([]byte(tok))
	if subtle.ConstantTimeCompare(sum[:], g.token[:]) != 1 {
		return domain.Errorf(domain.EUNAUTHORIZED, "X-Gitlab-Token does not match Throughline's GitLab webhook token.")
	}
	return nil
}

// The parts of GitLab's payloads that the mapping reads.
type glProject struct {
	WebURL            string `json:"web_url"`
	PathWithNamespace string `json:"path_with_namespace"`
}

type glCommit struct {
	ID      string `json:"id"`
	Title   string `json:"title"`
	Message string `json:"message"`
}

type glPayload struct {
	ObjectKind string     `json:"object_kind"`
	Project    *glProject `json:"project"`
	// Merge Request Hook and Pipeline Hook.
	ObjectAttributes *struct {
		// Merge requests.
		IID            int       `json:"iid"`
		Title          string    `json:"title"`
		SourceBranch   string    `json:"source_branch"`
		Action         string    `json:"action"`
		UpdatedAt      string    `json:"updated_at"`
		MergeCommitSHA string    `json:"merge_commit_sha"`
		LastCommit     *glCommit `json:"last_commit"`
		// Pipelines.
		ID             int64    `json:"id"`
		Name           string   `json:"name"`
		Ref            string   `json:"ref"`
		Status         string   `json:"status"`
		FinishedAt     string   `json:"finished_at"`
		Duration       *float64 `json:"duration"`
		QueuedDuration *float64 `json:"queued_duration"`
		URL            string   `json:"url"`
		// Both.
		CreatedAt string `json:"created_at"`
	} `json:"object_attributes"`
	MergeRequest *struct {
		Title string `json:"title"`
	} `json:"merge_request"`
	Commit *glCommit `json:"commit"`
	// Deployment Hook.
	DeploymentID    int64  `json:"deployment_id"`
	Status          string `json:"status"`
	StatusChangedAt string `json:"status_changed_at"`
	Environment     string `json:"environment"`
	Ref             string `json:"ref"`
	CommitURL       string `json:"commit_url"`
	CommitTitle     string `json:"commit_title"`
}

// TranslateGitLab turns a GitLab delivery into CloudEvents (see
// docs/integrations.md for the mapping). It does not authenticate.
func TranslateGitLab(h http.Header, body []byte) (Delivery, error) {
	const forge = "GitLab"
	var p glPayload
	if err := parseBody(forge, body, &p); err != nil {
		return Delivery{}, err
	}
	event := h.Get("X-Gitlab-Event")
	if event == "" {
		event = p.ObjectKind
	}
	d := Delivery{Event: event}
	if event == "" {
		return d, domain.Errorf(domain.EINVALID, "The delivery has no X-Gitlab-Event header and no object_kind; is this a GitLab webhook?")
	}
	var kind string
	switch {
	case event == "Merge Request Hook" && p.ObjectKind == "merge_request":
		kind = "merge request"
	case event == "Pipeline Hook" && p.ObjectKind == "pipeline":
		kind = "pipeline"
	case event == "Deployment Hook" && p.ObjectKind == "deployment":
		kind = "deployment"
	default:
		d.Ignored = "GitLab event " + strconv.Quote(event) + " is not read by Throughline; it reads Merge Request Hook, Pipeline Hook and Deployment Hook."
		return d, nil
	}
	if p.Project == nil || p.Project.PathWithNamespace == "" {
		return d, missing(forge, kind, "project.path_with_namespace")
	}
	if u, err := url.Parse(p.Project.WebURL); err != nil || u.Host == "" {
		return d, missing(forge, kind, "project.web_url")
	}
	if kind != "deployment" && p.ObjectAttributes == nil {
		return d, missing(forge, kind, "object_attributes")
	}
	// X-Gitlab-Event-UUID is a header anyone holding the token can change:
	// event ids come from the body's object ids alone.
	e := &emitter{source: p.Project.WebURL}
	var err error
	switch kind {
	case "merge request":
		d.Event += "." + p.ObjectAttributes.Action
		d.Ignored, err = gitlabMergeRequest(e, p)
	case "pipeline":
		d.Event += "." + p.ObjectAttributes.Status
		d.Ignored, err = gitlabPipeline(e, p)
	case "deployment":
		d.Event += "." + p.Status
		d.Ignored, err = gitlabDeployment(e, p)
	}
	d.Events = e.events
	return d, err
}

func gitlabMergeRequest(e *emitter, p glPayload) (ignored string, err error) {
	const forge, event = "GitLab", "merge request"
	mr, proj := p.ObjectAttributes, p.Project
	if mr.IID <= 0 {
		return "", missing(forge, event, "object_attributes.iid")
	}
	change := proj.PathWithNamespace + "!" + strconv.Itoa(mr.IID)
	content := func() map[string]any {
		return map[string]any{"repository": map[string]string{"id": proj.PathWithNamespace, "source": proj.WebURL}}
	}
	custom := func() map[string]any { return map[string]any{"title": mr.Title, "branch": mr.SourceBranch} }
	var kind domain.EventKind
	switch mr.Action {
	case "open", "reopen":
		kind = domain.KindChangeCreated
	case "update":
		kind = domain.KindChangeUpdated
	case "approved", "approval":
		kind = domain.KindChangeReviewed
	case "merge":
		kind = domain.KindChangeMerged
	case "close":
		kind = domain.KindChangeAbandoned
	default:
		return "merge request action " + strconv.Quote(mr.Action) + " is not read; open, reopen, update, approval, approved, merge and close are.", nil
	}
	// GitLab's merge request hook has no merged_at or closed_at: the update
	// time of the merge or close is when it happened.
	at, err := firstTime(forge, event, pick(mr.Action == "open", "object_attributes.created_at", "object_attributes.updated_at"),
		pick(mr.Action == "open", mr.CreatedAt, mr.UpdatedAt))
	if err != nil {
		return "", err
	}
	mrKey := "mr/" + strconv.Itoa(mr.IID)
	if kind != domain.KindChangeMerged {
		key := eventKey(mrKey, mr.Action, keyTime(at))
		if mr.Action == "update" && mr.LastCommit != nil && isSHA(mr.LastCommit.ID) {
			key = eventKey(key, strings.ToLower(mr.LastCommit.ID)) // each push is news
		}
		return "", e.emit(kind, key, at, change, content(), custom())
	}
	// A fast-forward merge has no merge commit: the last commit of the
	// merge request is then what the target branch points at.
	sha := mr.MergeCommitSHA
	if sha == "" && mr.LastCommit != nil {
		sha = mr.LastCommit.ID
	}
	if !isSHA(sha) {
		return "", missing(forge, event, "object_attributes.merge_commit_sha")
	}
	key := eventKey(mrKey, "merge", strings.ToLower(sha))
	if err := e.emit(kind, key, at, change, content(), custom()); err != nil {
		return "", err
	}
	packaged := map[string]any{"change": map[string]string{"id": change, "source": proj.WebURL}}
	return "", e.emit(domain.KindArtifactPackaged, key, at, ArtifactID(proj.WebURL, sha), packaged, custom())
}

func gitlabPipeline(e *emitter, p glPayload) (ignored string, err error) {
	const forge, event = "GitLab", "pipeline"
	pl, proj := p.ObjectAttributes, p.Project
	if pl.ID <= 0 {
		return "", missing(forge, event, "object_attributes.id")
	}
	subject := pl.URL
	if subject == "" {
		subject = strings.TrimSuffix(proj.WebURL, "/") + "/-/pipelines/" + strconv.FormatInt(pl.ID, 10)
	}
	name := pl.Name
	if name == "" {
		name = proj.PathWithNamespace + " pipeline"
	}
	content := map[string]any{"pipelineName": name, "url": subject}
	title := ""
	if p.MergeRequest != nil {
		title = p.MergeRequest.Title
	} else if p.Commit != nil {
		title = firstLine(p.Commit.Title + "\n" + p.Commit.Message)
	}
	custom := map[string]any{"title": title, "branch": pl.Ref}
	key := eventKey("pipeline", strconv.FormatInt(pl.ID, 10), pl.Status)
	created, err := firstTime(forge, event, "object_attributes.created_at", pl.CreatedAt)
	if err != nil {
		return "", err
	}
	switch pl.Status {
	case "pending":
		return "", e.emit(domain.KindPipelineStarted, key, created, subject, content, custom)
	case "running":
		at := created
		if pl.QueuedDuration != nil && *pl.QueuedDuration > 0 {
			at = at.Add(seconds(*pl.QueuedDuration))
		}
		return "", e.emit(domain.KindPipelineStarted, key, at, subject, content, custom)
	case "success", "failed", "canceled":
		at, ok := parseTime(pl.FinishedAt)
		if !ok && pl.Duration != nil {
			at, ok = created.Add(seconds(*pl.Duration)), true
		}
		if !ok {
			return "", missing(forge, event, "object_attributes.finished_at timestamp")
		}
		content["outcome"] = string(domain.ParseOutcome(pl.Status))
		return "", e.emit(domain.KindPipelineFinished, key, at, subject, content, custom)
	}
	return "pipeline status " + strconv.Quote(pl.Status) + " is not read; pending, running, success, failed and canceled are.", nil
}

// seconds converts a GitLab duration, bounded so that hostile numbers
// cannot overflow.
func seconds(s float64) time.Duration {
	return time.Duration(min(max(s, 0), 366*24*3600) * float64(time.Second))
}

func gitlabDeployment(e *emitter, p glPayload) (ignored string, err error) {
	const forge, event = "GitLab", "deployment"
	proj := p.Project
	switch p.Status {
	case "success":
	case "failed", "canceled":
		return "A deployment whose status is " + strconv.Quote(p.Status) + " changed nothing in " + p.Environment +
			"; a failure in production is an incident, reported on its own.", nil
	default:
		return "deployment status " + strconv.Quote(p.Status) + " is not read; a success is the deployment.", nil
	}
	env := strings.TrimSpace(p.Environment)
	if env == "" {
		return "", missing(forge, event, "environment")
	}
	if p.DeploymentID <= 0 {
		return "", missing(forge, event, "deployment_id")
	}
	// The hook has only a short SHA on its own; the full one ends
	// commit_url (…/-/commit/<sha>).
	sha := path.Base(p.CommitURL)
	if !isSHA(sha) {
		return "", missing(forge, event, "commit_url ending in the full commit SHA")
	}
	at, err := firstTime(forge, event, "status_changed_at", p.StatusChangedAt)
	if err != nil {
		return "", err
	}
	service := path.Base(proj.PathWithNamespace)
	content := map[string]any{"environment": map[string]string{"id": env}, "artifactId": ArtifactID(proj.WebURL, sha)}
	custom := map[string]any{"title": p.CommitTitle, "branch": p.Ref}
	key := eventKey("deployment", strconv.FormatInt(p.DeploymentID, 10), p.Status)
	return "", e.emit(domain.KindServiceDeployed, key, at, service, content, custom)
}
