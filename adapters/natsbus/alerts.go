package natsbus

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/throughline/throughline/domain"
)

// SLOAlertType is the CloudEvents type of an SLO alert state.
const SLOAlertType = "dev.throughline.slo.alert.v1"

// SLOAlert is the data of an SLO alert CloudEvent: the state after a
// change, so that a subscriber needs no history to act on it.
type SLOAlert struct {
	SLO             string         `json:"slo"`
	SLOID           int64          `json:"slo_id"`
	Service         string         `json:"service"`
	State           string         `json:"state"` // firing, resolved (alerts stopped), posture (only the posture changed)
	Posture         domain.Posture `json:"posture"`
	PreviousPosture domain.Posture `json:"previous_posture"`
	Target          float64        `json:"target"`
	WindowDays      int            `json:"window_days"`
	SLI             *float64       `json:"sli"`
	BudgetRemaining *float64       `json:"budget_remaining"`
	Firing          []FiringAlert  `json:"firing"`
}

// FiringAlert is one burn-rate alert that fires.
type FiringAlert struct {
	Name          string   `json:"name"`
	Severity      string   `json:"severity"`
	Factor        float64  `json:"factor"`
	LongBurnRate  *float64 `json:"long_burn_rate"`
	ShortBurnRate *float64 `json:"short_burn_rate"`
}

type cloudEvent struct {
	SpecVersion     string    `json:"specversion"`
	ID              string    `json:"id"`
	Source          string    `json:"source"`
	Type            string    `json:"type"`
	Subject         string    `json:"subject"`
	Time            time.Time `json:"time"`
	DataContentType string    `json:"datacontenttype"`
	Data            SLOAlert  `json:"data"`
}

// PublishSLOAlert publishes an SLO's new alert state as a structured
// CloudEvent to <prefix>.alerts.slo.<service>; JetStream keeps it in the
// alerts stream and every core subscriber sees it. The id names the change
// (from which state to which, in which minute), so a retry, or two
// instances seeing the same change in the same minute, make one message.
func (b *Bus) PublishSLOAlert(ctx context.Context, st domain.SLOStatus, previousAlerts string, previous domain.Posture, at time.Time) error {
	a := SLOAlert{SLO: st.SLO.Name, SLOID: st.SLO.ID, Service: st.SLO.Service, Posture: st.Posture, PreviousPosture: previous,
		Target: st.SLO.Target, WindowDays: st.SLO.WindowDays, SLI: st.SLI, BudgetRemaining: st.Remaining, Firing: []FiringAlert{}}
	for _, f := range st.Firing() {
		a.Firing = append(a.Firing, FiringAlert{Name: f.Alert.Name, Severity: f.Alert.Severity, Factor: f.Alert.Factor, LongBurnRate: f.LongRate, ShortBurnRate: f.ShortRate})
	}
	switch {
	case len(a.Firing) > 0:
		a.State = "firing"
	case previousAlerts != "":
		a.State = "resolved"
	default:
		a.State = "posture"
	}
	id := st.SLO.Name + "/" + strconv.FormatInt(at.Unix()/60, 10) + "/" + previousAlerts + "|" + string(previous) + ">" + st.AlertKey() + "|" + string(st.Posture)
	ce := cloudEvent{SpecVersion: "1.0", ID: id, Source: "/throughline/slos/" + st.SLO.Name, Type: SLOAlertType,
		Subject: st.SLO.Service, Time: at.UTC(), DataContentType: "application/json", Data: a}
	body, err := json.Marshal(ce)
	if err != nil {
		return err
	}
	msg := nats.NewMsg(b.names.SLOAlertSubject(st.SLO.Service))
	msg.Header.Set("Content-Type", "application/cloudevents+json")
	msg.Header.Set(jetstream.MsgIDHeader, id)
	msg.Data = body
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err = b.JetStream().PublishMsg(ctx, msg)
	return err
}
