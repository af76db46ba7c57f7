package webhooks_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/throughline/throughline/adapters/webhooks"
	"github.com/throughline/throughline/domain"
)

// flaggerEvent is Flagger's event webhook payload as its documentation
// gives it (fluxcd/flagger docs/gitbook/usage/webhooks.md, "Event payload"),
// filled with the messages Flagger emits during an analysis.
func flaggerEvent(phase, msg, ts string) []byte {
	return []byte(`{"name":"podinfo","namespace":"test","phase":"` + phase + `","checksum":"6d9c4b8f7c",
	  "metadata":{"eventMessage":"` + msg + `","eventType":"Normal","timestamp":"` + ts + `"}}`)
}

func TestFlaggerEventsBecomeRolloutSteps(t *testing.T) {
	h := http.Header{}
	cases := []struct {
		phase, msg string
		kind       domain.EventKind
		weight     float64
	}{
		{"Progressing", "Starting canary analysis for podinfo.test", domain.KindRolloutStarted, -1},
		{"Progressing", "Advance podinfo.test canary weight 10", domain.KindRolloutProgressed, 10},
		{"Succeeded", "Promotion completed! Scaling down podinfo.test", domain.KindRolloutPromoted, -1},
		{"Failed", "Canary failed! Scaling down podinfo.test", domain.KindRolloutAborted, -1},
	}
	for _, c := range cases {
		d, err := webhooks.TranslateFlagger(h, flaggerEvent(c.phase, c.msg, "1772445600000"))
		if err != nil || len(d.Events) != 1 {
			t.Fatalf("%s: %v %+v", c.msg, err, d)
		}
		ce := d.Events[0]
		if ce.Type != "dev.throughline."+string(c.kind)+".v1" || ce.Source != "flagger/test/podinfo" ||
			!ce.Time.Equal(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)) {
			t.Fatalf("%s: %+v", c.msg, ce)
		}
		var data map[string]any
		_ = json.Unmarshal(ce.Data, &data)
		if data["service"] != "podinfo" || data["environment"] != "production" || data["artifact"] != "6d9c4b8f7c" {
			t.Fatalf("%s: data %v", c.msg, data)
		}
		if w, ok := data["weight"].(float64); (c.weight >= 0) != ok || (ok && w != c.weight) {
			t.Fatalf("%s: weight %v", c.msg, data["weight"])
		}
	}
	d, err := webhooks.TranslateFlagger(h, flaggerEvent("Waiting", "Halt advancement podinfo.test waiting for approval", "1772445600000"))
	if err != nil || len(d.Events) != 0 || d.Ignored == "" {
		t.Fatalf("waiting: %v %+v", err, d)
	}
	for _, bad := range [][]byte{[]byte(`nope`), []byte(`{"phase":"Failed"}`), flaggerEvent("Failed", "x", "yesterday")} {
		if _, err := webhooks.TranslateFlagger(h, bad); domain.ErrorCode(err) != domain.EINVALID {
			t.Errorf("%s: %v, want invalid", bad, err)
		}
	}
	h.Set(webhooks.HeaderEnvironment, "staging")
	d, _ = webhooks.TranslateFlagger(h, flaggerEvent("Failed", "Canary failed!", "1772445600000"))
	var data map[string]any
	_ = json.Unmarshal(d.Events[0].Data, &data)
	if data["environment"] != "staging" {
		t.Fatalf("environment from the URL: %v", data)
	}
}

// The body docs/argo-rollouts-notifications.yaml renders for an abort.
func TestArgoRolloutsTemplateBodyBecomesARolloutStep(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	body := []byte(`{"step":"aborted","rollout":"checkout","namespace":"shop","service":"checkout","revision":"7",
	  "image":"ghcr.io/acme/checkout:1.4.2","weight":"20","environment":"production","message":"RolloutAborted: metric error-rate failed",
	  "ideas":"CHK-12","baseline_metric":"http.latency","canary_metric":"http.latency"}`)
	d, err := webhooks.TranslateArgoRollouts(http.Header{}, body, now)
	if err != nil || len(d.Events) != 1 {
		t.Fatalf("%v %+v", err, d)
	}
	ce := d.Events[0]
	if ce.Type != "dev.throughline.rollout.aborted.v1" || ce.Source != "argo-rollouts/shop/checkout" || ce.ID != "7/aborted/20" || !ce.Time.Equal(now) {
		t.Fatalf("%+v", ce)
	}
	var data map[string]any
	_ = json.Unmarshal(ce.Data, &data)
	if data["artifact"] != "ghcr.io/acme/checkout:1.4.2" || data["weight"] != 20.0 || data["rollout"] != "checkout.shop/7" || data["canary"] == nil {
		t.Fatalf("data %v", data)
	}
	for _, bad := range []string{`{"step":"paused","rollout":"x"}`, `{"step":"aborted"}`, `{"step":"progressed","rollout":"x","weight":"lots"}`} {
		if _, err := webhooks.TranslateArgoRollouts(http.Header{}, []byte(bad), now); domain.ErrorCode(err) != domain.EINVALID {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

func TestRolloutWebhooksNeedTheToken(t *testing.T) {
	r, _ := webhooks.NewRollouts("s3cret", nil)
	for _, h := range []http.Header{{}, {"X-Throughline-Token": {"wrong"}}, {"Authorization": {"Bearer wrong"}}} {
		if err := r.CheckHeader(h); domain.ErrorCode(err) != domain.EUNAUTHORIZED {
			t.Errorf("%v: %v", h, err)
		}
	}
	for _, h := range []http.Header{{"X-Throughline-Token": {"s3cret"}}, {"Authorization": {"Bearer s3cret"}}} {
		if err := r.CheckHeader(h); err != nil {
			t.Errorf("%v: %v", h, err)
		}
	}
}
