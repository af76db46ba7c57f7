// Package webhooks turns GitHub and GitLab webhook deliveries into CDEvents
// carried by CloudEvents, the events Throughline reads from NATS (DESIGN.md
// section 3). It is pure: headers and body in, events or an error out. The
// caller publishes the events; nothing here does I/O.
//
// Identity: every event's source is the repository's web address and its id
// is built from fields of the signed body that name what happened (the
// deployment status id, the workflow run id and attempt, the pull request
// number and merge commit…) plus the CDEvent kind. Never from a header: a
// forge's redelivery, or anyone replaying a signed body under a new
// delivery id, makes the same events again, which JetStream and the store
// count as duplicates.
// Links: a merged pull or merge request also makes an artifact.packaged
// event naming the change, whose artifact id (ArtifactID) is the one a
// deployment of the merge commit carries.
package webhooks

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/throughline/throughline/domain"
)

// MaxBody is the largest delivery read: GitHub caps payloads at 25 MB, and
// GitLab's are smaller.
const MaxBody = 25 << 20

// Delivery is what one webhook delivery means to Throughline.
type Delivery struct {
	// Event names what the forge sent, e.g. "pull_request.closed".
	Event string
	// Events are the CloudEvents to publish; none when the delivery is
	// ignored or a ping.
	Events []domain.CloudEvent
	// Ping is a forge's test delivery: nothing to publish, answered 200.
	Ping bool
	// Ignored says why the delivery produced no events, for the forge's
	// delivery log; "" when it produced some.
	Ignored string
}

// ArtifactID is the artifact id Throughline gives a commit of a repository:
// the repository's web address without its scheme, "@", and the full commit
// SHA, e.g. "github.com/acme/shop@6dcb09b5…". Deployments of that commit
// carry the same id, which links them to the changes merged in it.
func ArtifactID(repoURL, sha string) string {
	return repoKey(repoURL) + "@" + strings.ToLower(sha)
}

// repoKey is a repository address without scheme, credentials or trailing
// slash: "github.com/acme/shop".
func repoKey(repoURL string) string {
	u, err := url.Parse(repoURL)
	if err != nil || u.Host == "" {
		return strings.TrimSuffix(repoURL, "/")
	}
	return strings.ToLower(u.Host) + strings.TrimSuffix(u.Path, "/")
}

// cdTypeVersions are the CDEvents v0.5.1 type versions this package writes.
var cdTypeVersions = map[domain.EventKind]string{
	domain.KindChangeCreated: "0.4.0", domain.KindChangeUpdated: "0.3.0", domain.KindChangeReviewed: "0.3.0",
	domain.KindChangeMerged: "0.3.0", domain.KindChangeAbandoned: "0.3.0",
	domain.KindPipelineStarted: "0.3.0", domain.KindPipelineFinished: "0.3.0",
	domain.KindArtifactPackaged: "0.3.0",
	domain.KindServiceDeployed:  "0.3.0", domain.KindServiceRollback: "0.3.0",
}

// emitter builds the CDEvents of one delivery, all of one source (the
// repository).
type emitter struct {
	source string // repository web address
	events []domain.CloudEvent
}

// cdEvent is a CDEvent in the v0.5.1 shape.
type cdEvent struct {
	Context struct {
		SpecVersion string `json:"specversion"`
		ID          string `json:"id"`
		Source      string `json:"source"`
		Type        string `json:"type"`
		Timestamp   string `json:"timestamp"`
	} `json:"context"`
	Subject struct {
		ID      string         `json:"id"`
		Source  string         `json:"source"`
		Content map[string]any `json:"content"`
	} `json:"subject"`
	CustomData            map[string]any `json:"customData,omitempty"`
	CustomDataContentType string         `json:"customDataContentType,omitempty"`
}

// emit adds one CDEvent. Its id is key, which names the occurrence from
// signed body fields (see eventKey), and the kind, so that a delivery's
// events differ from each other and repeat whenever the body does.
func (e *emitter) emit(kind domain.EventKind, key string, at time.Time, subjectID string, content, custom map[string]any) error {
	var cd cdEvent
	at = at.UTC()
	cd.Context.SpecVersion = "0.5.1"
	cd.Context.ID = key + "/" + string(kind)
	cd.Context.Source = e.source
	cd.Context.Type = "dev.cdevents." + string(kind) + "." + cdTypeVersions[kind]
	cd.Context.Timestamp = at.Format(time.RFC3339Nano)
	cd.Subject.ID = subjectID
	cd.Subject.Source = e.source
	cd.Subject.Content = content
	if cd.Subject.Content == nil {
		cd.Subject.Content = map[string]any{}
	}
	for k, v := range custom {
		if v == "" || v == nil {
			delete(custom, k)
		}
	}
	if len(custom) > 0 {
		cd.CustomData = custom
		cd.CustomDataContentType = "application/json"
	}
	data, err := json.Marshal(cd)
	if err != nil {
		return domain.Errorf(domain.EINTERNAL, "webhooks: encode %s: %v", kind, err)
	}
	e.events = append(e.events, domain.CloudEvent{
		SpecVersion: "1.0", ID: cd.Context.ID, Source: e.source, Type: cd.Context.Type,
		Time: at, DataContentType: "application/json", Data: data,
	})
	return nil
}

// eventKey joins the parts that name one occurrence into an event id key:
// "deployment-status/1", "pull/42/merged/6dcb09b5…". Parts are numbers,
// validated SHAs, actions from a fixed list and timestamps written by
// keyTime, so a key is short and the same for the same body, whatever
// headers came with it.
func eventKey(parts ...string) string { return strings.Join(parts, "/") }

// keyTime writes a parsed timestamp for an event key: one spelling of an
// instant, whatever spelling the forge used.
func keyTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// parseBody reads a delivery body as JSON into v, with a clear error.
func parseBody(forge string, body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn), len(body) == 0:
			return domain.Errorf(domain.EINVALID, "The %s webhook body is not valid JSON: %s. Set the webhook's content type to application/json.", forge, shortErr(err))
		case errors.As(err, &typ):
			return domain.Errorf(domain.EINVALID, "The %s webhook body has %s where %s was expected at %q.", forge, typ.Value, typ.Type, typ.Field)
		}
		return domain.Errorf(domain.EINVALID, "The %s webhook body could not be read: %s.", forge, shortErr(err))
	}
	return nil
}

func shortErr(err error) string { return domain.Shorten(err.Error(), 200) }

// missing is the error for a payload without a field the mapping needs.
func missing(forge, event, field string) error {
	return domain.Errorf(domain.EINVALID, "The %s %s payload has no %s.", forge, event, field)
}

// parseTime reads the timestamps forges write: RFC 3339 (GitHub, newer
// GitLab) and GitLab's "2016-08-12 15:23:28 UTC" / "… +0200".
func parseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05 MST", "2006-01-02 15:04:05 -0700", "2006-01-02 15:04:05.999999999 -0700"} {
		if t, err := time.Parse(layout, s); err == nil && t.Year() >= 1970 && t.Year() <= 9999 {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// firstTime is the first of the given timestamps that parses.
func firstTime(forge, event, field string, values ...string) (time.Time, error) {
	for _, v := range values {
		if t, ok := parseTime(v); ok {
			return t, nil
		}
	}
	return time.Time{}, missing(forge, event, field+" timestamp")
}

// firstLine is a commit message's subject line.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(line)
}
