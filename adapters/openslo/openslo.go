// Package openslo reads and writes SLOs as OpenSLO v1 YAML
// (https://github.com/OpenSLO/OpenSLO), so that teams can keep their
// objectives in Git: kind SLO with a ratioMetric indicator, inline or as a
// separate kind SLI named by indicatorRef.
//
// Throughline evaluates its own telemetry, so a metric source names a
// Throughline metric and the attributes its series must carry:
//
//	metricSource:
//	  type: throughline
//	  spec:
//	    metric: http.requests
//	    attributes: {route: /checkout}
package openslo

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/throughline/throughline/domain"
)

// SourceType is the metric source type Throughline writes.
const SourceType = "throughline"

// document is one YAML document; its spec is decoded by kind.
type document struct {
	APIVersion string    `yaml:"apiVersion"`
	Kind       string    `yaml:"kind"`
	Metadata   metadata  `yaml:"metadata"`
	Spec       yaml.Node `yaml:"spec"`
}

type metadata struct {
	Name        string `yaml:"name"`
	DisplayName string `yaml:"displayName,omitempty"`
}

type sloSpec struct {
	Description     string       `yaml:"description,omitempty"`
	Service         string       `yaml:"service"`
	Indicator       *indicator   `yaml:"indicator,omitempty"`
	IndicatorRef    string       `yaml:"indicatorRef,omitempty"`
	TimeWindow      []timeWindow `yaml:"timeWindow"`
	BudgetingMethod string       `yaml:"budgetingMethod"`
	Objectives      []objective  `yaml:"objectives"`
}

type indicator struct {
	Metadata metadata `yaml:"metadata"`
	Spec     sliSpec  `yaml:"spec"`
}

type sliSpec struct {
	Description string       `yaml:"description,omitempty"`
	RatioMetric *ratioMetric `yaml:"ratioMetric,omitempty"`
}

type ratioMetric struct {
	Counter bool    `yaml:"counter"`
	Good    *source `yaml:"good,omitempty"`
	Bad     *source `yaml:"bad,omitempty"`
	Total   *source `yaml:"total"`
}

type source struct {
	MetricSource metricSource `yaml:"metricSource"`
}

type metricSource struct {
	Type string         `yaml:"type"`
	Spec map[string]any `yaml:"spec"`
}

type timeWindow struct {
	Duration  string `yaml:"duration"`
	IsRolling bool   `yaml:"isRolling"`
}

type objective struct {
	DisplayName   string   `yaml:"displayName,omitempty"`
	Target        *float64 `yaml:"target,omitempty"`
	TargetPercent *float64 `yaml:"targetPercent,omitempty"`
}

// Marshal writes SLOs as a multi-document OpenSLO v1 stream, each with its
// indicator inline.
func Marshal(slos []domain.SLO) ([]byte, error) {
	if len(slos) == 0 {
		return nil, nil // the encoder cannot close a stream it never started
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	for _, s := range slos {
		spec := sloSpec{
			Description: s.Description,
			Service:     s.Service,
			Indicator: &indicator{Metadata: metadata{Name: s.Name + "-sli"}, Spec: sliSpec{RatioMetric: &ratioMetric{
				Counter: true, Good: toSource(s.Good), Total: toSource(s.Total)}}},
			TimeWindow:      []timeWindow{{Duration: strconv.Itoa(s.WindowDays) + "d", IsRolling: true}},
			BudgetingMethod: "Occurrences",
			Objectives:      []objective{{DisplayName: s.Title(), Target: &s.Target}},
		}
		var node yaml.Node
		if err := node.Encode(spec); err != nil {
			return nil, err
		}
		doc := document{APIVersion: "openslo/v1", Kind: "SLO", Metadata: metadata{Name: s.Name, DisplayName: s.DisplayName}, Spec: node}
		if err := enc.Encode(doc); err != nil {
			return nil, err
		}
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func toSource(q domain.MetricQuery) *source {
	spec := map[string]any{"metric": q.Metric}
	if len(q.Attributes) > 0 {
		spec["attributes"] = q.Attributes
	}
	return &source{MetricSource: metricSource{Type: SourceType, Spec: spec}}
}

// maxDocuments bounds one import.
const maxDocuments = 500

// Unmarshal reads the SLOs of an OpenSLO v1 stream. Documents of other
// kinds are skipped, except SLIs, which SLOs may name by indicatorRef.
// Anything Throughline cannot evaluate is an error naming the document.
func Unmarshal(data []byte) ([]domain.SLO, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var slos []struct {
		n    int
		meta metadata
		spec sloSpec
	}
	slis := map[string]sliSpec{}
	for n := 1; ; n++ {
		if n > maxDocuments {
			return nil, fmt.Errorf("more than %d documents", maxDocuments)
		}
		var raw document
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %v", n, err)
		}
		if raw.Kind == "" && raw.APIVersion == "" {
			continue // an empty document
		}
		if raw.APIVersion != "openslo/v1" {
			return nil, fmt.Errorf("document %d: apiVersion %q: only openslo/v1 is read", n, raw.APIVersion)
		}
		switch raw.Kind {
		case "SLO":
			var spec sloSpec
			if err := raw.Spec.Decode(&spec); err != nil {
				return nil, fmt.Errorf("document %d (SLO %q): %v", n, raw.Metadata.Name, err)
			}
			slos = append(slos, struct {
				n    int
				meta metadata
				spec sloSpec
			}{n, raw.Metadata, spec})
		case "SLI":
			var spec sliSpec
			if err := raw.Spec.Decode(&spec); err != nil {
				return nil, fmt.Errorf("document %d (SLI %q): %v", n, raw.Metadata.Name, err)
			}
			slis[raw.Metadata.Name] = spec
		}
	}
	if len(slos) == 0 {
		return nil, errors.New("no document of kind SLO")
	}
	out := make([]domain.SLO, 0, len(slos))
	for _, d := range slos {
		s, err := toSLO(d.meta, d.spec, slis)
		if err != nil {
			return nil, fmt.Errorf("document %d (SLO %q): %v", d.n, d.meta.Name, err)
		}
		out = append(out, s)
	}
	return out, nil
}

func toSLO(meta metadata, spec sloSpec, slis map[string]sliSpec) (domain.SLO, error) {
	s := domain.SLO{Name: meta.Name, DisplayName: meta.DisplayName, Description: spec.Description, Service: spec.Service}
	var sli sliSpec
	switch {
	case spec.Indicator != nil:
		sli = spec.Indicator.Spec
	case spec.IndicatorRef != "":
		var ok bool
		if sli, ok = slis[spec.IndicatorRef]; !ok {
			return s, fmt.Errorf("indicatorRef %q names no SLI in this file", spec.IndicatorRef)
		}
	default:
		return s, errors.New("no indicator: give spec.indicator or spec.indicatorRef")
	}
	r := sli.RatioMetric
	if r == nil {
		return s, errors.New("the indicator is not a ratioMetric: Throughline evaluates ratio SLIs (good / total)")
	}
	if r.Bad != nil || r.Good == nil || r.Total == nil {
		return s, errors.New("the ratioMetric needs good and total (bad is not supported)")
	}
	var err error
	if s.Good, err = fromSource(r.Good, "good"); err != nil {
		return s, err
	}
	if s.Total, err = fromSource(r.Total, "total"); err != nil {
		return s, err
	}
	if len(spec.TimeWindow) != 1 {
		return s, errors.New("give exactly one timeWindow")
	}
	tw := spec.TimeWindow[0]
	if !tw.IsRolling {
		return s, errors.New("only rolling time windows (isRolling: true) are supported")
	}
	if s.WindowDays, err = days(tw.Duration); err != nil {
		return s, err
	}
	if m := spec.BudgetingMethod; m != "" && !strings.EqualFold(m, "Occurrences") {
		return s, fmt.Errorf("budgetingMethod %q: only Occurrences is supported", m)
	}
	if len(spec.Objectives) != 1 {
		return s, errors.New("give exactly one objective")
	}
	o := spec.Objectives[0]
	switch {
	case o.Target != nil:
		s.Target = *o.Target
	case o.TargetPercent != nil:
		s.Target = *o.TargetPercent / 100
	default:
		return s, errors.New("the objective has no target")
	}
	s.Target = math.Round(s.Target*1e9) / 1e9
	if field := nulField(s); field != "" {
		return s, fmt.Errorf("%s contains a NUL character (\\0), which cannot be stored", field)
	}
	if errs := s.Validate(); len(errs) > 0 {
		keys := make([]string, 0, len(errs))
		for k := range errs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return s, fmt.Errorf("%s: %s", keys[0], errs[keys[0]])
	}
	return s, nil
}

// nulField names the first text of s holding a NUL character, which a
// YAML double-quoted string can carry ("\0") and no database stores in text.
func nulField(s domain.SLO) string {
	for _, f := range []struct{ name, v string }{
		{"metadata.name", s.Name}, {"metadata.displayName", s.DisplayName}, {"spec.description", s.Description},
		{"spec.service", s.Service}, {"good metric", s.Good.Metric}, {"total metric", s.Total.Metric},
	} {
		if strings.IndexByte(f.v, 0) >= 0 {
			return f.name
		}
	}
	for _, q := range []struct {
		name  string
		attrs map[string]string
	}{{"good attributes", s.Good.Attributes}, {"total attributes", s.Total.Attributes}} {
		for k, v := range q.attrs {
			if strings.IndexByte(k+v, 0) >= 0 {
				return q.name
			}
		}
	}
	return ""
}

func fromSource(src *source, which string) (domain.MetricQuery, error) {
	ms := src.MetricSource
	metric, _ := ms.Spec["metric"].(string)
	if metric == "" {
		return domain.MetricQuery{}, fmt.Errorf("%s: metricSource (type %q) has no spec.metric naming a Throughline telemetry metric", which, ms.Type)
	}
	q := domain.MetricQuery{Metric: metric}
	if a, ok := ms.Spec["attributes"]; ok {
		m, ok := a.(map[string]any)
		if !ok {
			return q, fmt.Errorf("%s: spec.attributes must be a map of names to values", which)
		}
		q.Attributes = map[string]string{}
		for k, v := range m {
			q.Attributes[k] = fmt.Sprint(v)
		}
	}
	return q, nil
}

// days reads an OpenSLO duration such as 28d or 4w.
func days(d string) (int, error) {
	d = strings.TrimSpace(d)
	if len(d) < 2 {
		return 0, fmt.Errorf("timeWindow duration %q: write it as 28d or 4w", d)
	}
	n, err := strconv.Atoi(d[:len(d)-1])
	if err != nil {
		return 0, fmt.Errorf("timeWindow duration %q: write it as 28d or 4w", d)
	}
	switch d[len(d)-1] {
	case 'd':
		return n, nil
	case 'w':
		return 7 * n, nil
	}
	return 0, fmt.Errorf("timeWindow duration %q: Throughline supports 28 or 30 days", d)
}
