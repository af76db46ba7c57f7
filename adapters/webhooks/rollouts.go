package webhooks

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/throughline/throughline/domain"
)

// Progressive-delivery controllers: Flagger's event webhook and Argo
// Rollouts' notification webhook (through the template in
// docs/argo-rollouts-notifications.yaml) become Throughline rollout events
// (dev.throughline.rollout.<step>.v1, docs/api.md). Both are authenticated
// by one shared token: header X-Throughline-Token, or Authorization:
// Bearer, or — since Flagger's event webhook sets no headers — the URL's
// token parameter, which the web layer passes on as X-Throughline-Token.

// Headers the web layer fills from the webhook URL's query.
const (
	HeaderToken       = "X-Throughline-Token"
	HeaderEnvironment = "X-Throughline-Environment"
)

// Rollouts receives Flagger and Argo Rollouts webhooks.
type Rollouts struct {
	token [sha256.Size]byte
	now   func() time.Time
}

// NewRollouts returns a receiver that accepts deliveries carrying token.
func NewRollouts(token string, now func() time.Time) (*Rollouts, error) {
	if token == "" {
		return nil, domain.Errorf(domain.EINVALID, "the rollout webhook token is empty")
	}
	if now == nil {
		now = time.Now
	}
	return &Rollouts{token: sha256.Sum256([]byte(token)), now: now}, nil
}

// CheckHeader authenticates a delivery in constant time.
func (r *Rollouts) CheckHeader(h http.Header) error {
	tok := h.Get(HeaderToken)
	if tok == "" {
		tok, _ = strings.CutPrefix(h.Get("Authorization"), "Bearer ")
	}
	if tok == "" {
		return domain.Errorf(domain.EUNAUTHORIZED, "The delivery has no token: add ?token=… to the webhook URL or send the %s header.", HeaderToken)
	}
	sum := sha256.Sum256([]byte(tok))
	if subtle.ConstantTimeCompare(sum[:], r.token[:]) != 1 {
		return domain.Errorf(domain.EUNAUTHORIZED, "The token does not match Throughline's rollout webhook token.")
	}
	return nil
}

// ReceiveFlagger authenticates and translates a Flagger delivery.
func (r *Rollouts) ReceiveFlagger(h http.Header, body []byte) (Delivery, error) {
	if err := r.CheckHeader(h); err != nil {
		return Delivery{}, err
	}
	return TranslateFlagger(h, body)
}

// ReceiveArgo authenticates and translates an Argo Rollouts delivery.
func (r *Rollouts) ReceiveArgo(h http.Header, body []byte) (Delivery, error) {
	if err := r.CheckHeader(h); err != nil {
		return Delivery{}, err
	}
	return TranslateArgoRollouts(h, body, r.now())
}

// flaggerPayload is Flagger's event webhook payload (fluxcd/flagger
// docs/gitbook/usage/webhooks.md, "Event payload"): the canary's name,
// namespace and phase, and metadata with the event message, type and a
// Unix timestamp in milliseconds. Newer Flagger versions add the canary
// revision's checksum.
type flaggerPayload struct {
	Name      string            `json:"name"`
	Namespace string            `json:"namespace"`
	Phase     string            `json:"phase"`
	Checksum  string            `json:"checksum"`
	Metadata  map[string]string `json:"metadata"`
}

// flaggerWeight finds the weight in "Advance podinfo.test canary weight 10".
var flaggerWeight = regexp.MustCompile(`(?i)canary weight (\d+(?:\.\d+)?)`)

// TranslateFlagger maps a Flagger event to a rollout step: the analysis
// starting (message "Starting canary analysis…" or "New revision
// detected…") is started, a weight advance is progressed, phase Succeeded
// is promoted, phase Failed is aborted; other events (Waiting, Promoting,
// Finalising, confirmations, halts) are ignored. The service is the
// canary's name; the environment is the URL's environment parameter
// (default production); the artifact is the revision checksum when sent.
func TranslateFlagger(h http.Header, body []byte) (Delivery, error) {
	const forge = "Flagger"
	var p flaggerPayload
	if err := parseBody(forge, body, &p); err != nil {
		return Delivery{}, err
	}
	if p.Name == "" {
		return Delivery{}, missing(forge, "event", "name")
	}
	if p.Phase == "" {
		return Delivery{}, missing(forge, "event", "phase")
	}
	msg := p.Metadata["eventMessage"]
	d := Delivery{Event: "canary." + strings.ToLower(p.Phase)}
	ms, err := strconv.ParseInt(strings.TrimSpace(p.Metadata["timestamp"]), 10, 64)
	if err != nil {
		return d, domain.Errorf(domain.EINVALID, "The Flagger event's metadata.timestamp %q is not a Unix time in milliseconds.", domain.Shorten(p.Metadata["timestamp"], 40))
	}
	at := time.UnixMilli(ms).UTC()
	var kind domain.EventKind
	var weight *float64
	switch {
	case strings.EqualFold(p.Phase, "Succeeded"):
		kind = domain.KindRolloutPromoted
	case strings.EqualFold(p.Phase, "Failed"):
		kind = domain.KindRolloutAborted
	case flaggerWeight.MatchString(msg):
		w, _ := strconv.ParseFloat(flaggerWeight.FindStringSubmatch(msg)[1], 64)
		kind, weight = domain.KindRolloutProgressed, &w
	case strings.HasPrefix(msg, "Starting canary analysis") || strings.HasPrefix(msg, "New revision detected"):
		kind = domain.KindRolloutStarted
	default:
		d.Ignored = "Flagger event in phase " + p.Phase + " is not a rollout step Throughline records"
		return d, nil
	}
	ns := p.Namespace
	if ns == "" {
		ns = "default"
	}
	data := rolloutBody{Rollout: p.Name + "." + ns, Service: p.Name, Artifact: p.Checksum,
		Environment: envOr(h), Weight: weight, Message: msg, Timestamp: at.Format(time.RFC3339Nano)}
	return rolloutDelivery(d, "flagger/"+ns+"/"+p.Name, eventKey(keyTime(at), string(kind), hashOf(msg)), kind, data)
}

// argoPayload is the body our Argo Rollouts notification template writes
// (docs/argo-rollouts-notifications.yaml): the trigger's step and fields of
// the Rollout object. Every value is a string, since the template writes text.
type argoPayload struct {
	Step        string `json:"step"`
	Rollout     string `json:"rollout"`
	Namespace   string `json:"namespace"`
	Service     string `json:"service"`
	Revision    string `json:"revision"`
	Image       string `json:"image"`
	Weight      string `json:"weight"`
	Environment string `json:"environment"`
	Message     string `json:"message"`
	Ideas       string `json:"ideas"`
	Baseline    string `json:"baseline_metric"`
	Canary      string `json:"canary_metric"`
}

var argoSteps = map[string]domain.EventKind{
	"started": domain.KindRolloutStarted, "progressed": domain.KindRolloutProgressed,
	"promoted": domain.KindRolloutPromoted, "aborted": domain.KindRolloutAborted,
}

// TranslateArgoRollouts maps a delivery of our Argo Rollouts template to a
// rollout step. The notification engine gives templates no event time, so
// the step is dated when it arrives; its id names the rollout, revision,
// step and weight, so a retried notification is a duplicate.
func TranslateArgoRollouts(h http.Header, body []byte, now time.Time) (Delivery, error) {
	const forge = "Argo Rollouts"
	var p argoPayload
	if err := parseBody(forge, body, &p); err != nil {
		return Delivery{}, err
	}
	kind, ok := argoSteps[p.Step]
	if !ok {
		return Delivery{}, domain.Errorf(domain.EINVALID, "The Argo Rollouts notification's step %q is not one of started, progressed, promoted, aborted: use the template in docs/argo-rollouts-notifications.yaml.", domain.Shorten(p.Step, 40))
	}
	if p.Rollout == "" {
		return Delivery{}, missing(forge, p.Step, "rollout")
	}
	d := Delivery{Event: "rollout." + p.Step}
	ns := p.Namespace
	if ns == "" {
		ns = "default"
	}
	data := rolloutBody{Rollout: p.Rollout + "." + ns + "/" + p.Revision, Service: p.Service, Artifact: p.Image,
		Environment: p.Environment, Message: p.Message, Timestamp: now.UTC().Format(time.RFC3339Nano)}
	if data.Service == "" {
		data.Service = p.Rollout
	}
	if data.Environment == "" {
		data.Environment = envOr(h)
	}
	if w := strings.TrimSpace(p.Weight); w != "" {
		f, err := strconv.ParseFloat(w, 64)
		if err != nil {
			return d, domain.Errorf(domain.EINVALID, "The Argo Rollouts notification's weight %q is not a number.", domain.Shorten(w, 40))
		}
		data.Weight = &f
	}
	if p.Baseline != "" && p.Canary != "" {
		data.Baseline = &domain.SeriesRef{Metric: p.Baseline, Attributes: map[string]string{"service": data.Service, "track": "stable"}}
		data.Canary = &domain.SeriesRef{Metric: p.Canary, Attributes: map[string]string{"service": data.Service, "track": "canary"}}
	}
	if p.Ideas != "" {
		data.Ideas = strings.Split(p.Ideas, ",")
	}
	return rolloutDelivery(d, "argo-rollouts/"+ns+"/"+p.Rollout, eventKey(p.Revision, p.Step, p.Weight), kind, data)
}

// rolloutBody is the data of a dev.throughline.rollout.*.v1 event.
type rolloutBody struct {
	Rollout     string            `json:"rollout,omitempty"`
	Service     string            `json:"service"`
	Artifact    string            `json:"artifact,omitempty"`
	Environment string            `json:"environment"`
	Weight      *float64          `json:"weight,omitempty"`
	Baseline    *domain.SeriesRef `json:"baseline,omitempty"`
	Canary      *domain.SeriesRef `json:"canary,omitempty"`
	Message     string            `json:"message,omitempty"`
	Ideas       []string          `json:"ideas,omitempty"`
	Timestamp   string            `json:"timestamp"`
}

func rolloutDelivery(d Delivery, source, key string, kind domain.EventKind, data rolloutBody) (Delivery, error) {
	b, err := jsonv2.Marshal(data, jsonv2.Deterministic(true))
	if err != nil {
		return d, domain.Errorf(domain.EINTERNAL, "webhooks: encode rollout step: %v", err)
	}
	at, _ := time.Parse(time.RFC3339Nano, data.Timestamp)
	d.Events = append(d.Events, domain.CloudEvent{
		SpecVersion: "1.0", ID: key, Source: source, Type: "dev.throughline." + string(kind) + ".v1",
		Time: at, DataContentType: "application/json", Data: b,
	})
	return d, nil
}

// envOr is the environment the webhook URL names, production by default.
func envOr(h http.Header) string {
	if e := strings.TrimSpace(h.Get(HeaderEnvironment)); e != "" {
		return e
	}
	return "production"
}

func hashOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:6])
}
