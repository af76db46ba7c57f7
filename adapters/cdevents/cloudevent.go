// Package cdevents reads and writes CloudEvents 1.0 (structured, batch and
// binary mode, over NATS or HTTP) and interprets their data as CDEvents
// v0.4.x/v0.5.x or Throughline telemetry samples. Every refusal is a
// domain.Reject error whose reason names the dead-letter subject.
package cdevents

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/throughline/throughline/domain"
)

// MaxEventBytes is the largest event accepted, in any encoding.
const MaxEventBytes = 1 << 20

// Content types of the CloudEvents JSON formats.
const (
	ContentTypeStructured = "application/cloudevents+json"
	ContentTypeBatch      = "application/cloudevents-batch+json"
	ContentTypeJSON       = "application/json"
)

// contextAttributes are the CloudEvents attributes with a fixed meaning;
// anything else at the top level of a structured event is an extension.
var contextAttributes = map[string]bool{
	"specversion": true, "id": true, "source": true, "type": true, "subject": true,
	"time": true, "datacontenttype": true, "dataschema": true, "data": true, "data_base64": true,
}

// envelope is the JSON event format of a CloudEvent, read in one pass.
type envelope struct {
	SpecVersion     *string                   `json:"specversion"`
	ID              string                    `json:"id"`
	Source          string                    `json:"source"`
	Type            string                    `json:"type"`
	Subject         string                    `json:"subject"`
	Time            string                    `json:"time"`
	DataContentType string                    `json:"datacontenttype"`
	DataSchema      string                    `json:"dataschema"`
	Data            jsontext.Value            `json:"data"`
	DataBase64      *string                   `json:"data_base64"`
	Extensions      map[string]jsontext.Value `json:",unknown"`
}

// ParseStructured reads one CloudEvent in the JSON event format.
func ParseStructured(body []byte) (domain.CloudEvent, error) {
	var ce domain.CloudEvent
	if len(body) > MaxEventBytes {
		return ce, domain.Reject(domain.ReasonTooLarge, "event is %d bytes; the limit is %d", len(body), MaxEventBytes)
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return ce, domain.Reject(domain.ReasonNotJSON, "body is empty")
	}
	var env envelope
	if err := jsonv2.Unmarshal(body, &env); err != nil {
		return ce, envelopeError(err)
	}
	if env.SpecVersion == nil || *env.SpecVersion == "" {
		return ce, domain.Reject(domain.ReasonNotCloudEvent, "not a CloudEvent: no specversion attribute")
	}
	ce = domain.CloudEvent{
		SpecVersion: *env.SpecVersion, ID: env.ID, Source: env.Source, Type: env.Type, Subject: env.Subject,
		DataContentType: env.DataContentType, DataSchema: env.DataSchema,
	}
	var err error
	if ce.Time, err = parseTime("CloudEvent time", env.Time); err != nil {
		return ce, err
	}
	if len(env.Data) > 0 && string(env.Data) != "null" {
		ce.Data = []byte(env.Data)
	}
	if env.DataBase64 != nil && *env.DataBase64 != "" {
		if ce.Data != nil {
			return ce, domain.Reject(domain.ReasonNotCloudEvent, "CloudEvent has both data and data_base64")
		}
		if ce.Data, err = base64.StdEncoding.DecodeString(*env.DataBase64); err != nil {
			return ce, domain.Reject(domain.ReasonNotCloudEvent, "CloudEvent data_base64 is not valid base64")
		}
	}
	for k, v := range env.Extensions {
		if ce.Extensions == nil {
			ce.Extensions = make(map[string]string, len(env.Extensions))
		}
		var s string
		if jsonv2.Unmarshal(v, &s) == nil {
			ce.Extensions[k] = s
		} else {
			ce.Extensions[k] = string(v)
		}
	}
	return ce, validateEnvelope(ce)
}

// envelopeError explains why a body is not a CloudEvent: broken JSON, or
// JSON of the wrong shape.
func envelopeError(err error) error {
	var syn *jsontext.SyntacticError
	if errors.As(err, &syn) {
		return domain.Reject(domain.ReasonNotJSON, "body is not valid JSON: %v", syn.Err)
	}
	var sem *jsonv2.SemanticError
	if errors.As(err, &sem) {
		if sem.JSONPointer == "" {
			return domain.Reject(domain.ReasonNotCloudEvent, "not a CloudEvent: the JSON is %s, not an object", kindName(sem.JSONKind))
		}
		return domain.Reject(domain.ReasonNotCloudEvent, "CloudEvent attribute %q must be a string, not %s",
			strings.TrimPrefix(string(sem.JSONPointer), "/"), kindName(sem.JSONKind))
	}
	return domain.Reject(domain.ReasonNotJSON, "body is not valid JSON")
}

// kindName names a JSON kind in words.
func kindName(k jsontext.Kind) string {
	switch k {
	case '"':
		return "a string"
	case '0':
		return "a number"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	case '{':
		return "an object"
	case '[':
		return "an array"
	}
	return "something else"
}

// SplitBatch reads the JSON batch format: an array of structured events. Each
// element is returned raw so that every event can be judged on its own.
func SplitBatch(body []byte) ([]json.RawMessage, error) {
	var items []json.RawMessage
	if !json.Valid(body) {
		return nil, domain.Reject(domain.ReasonNotJSON, "batch body is not valid JSON")
	}
	if err := json.Unmarshal(body, &items); err != nil {
		return nil, domain.Reject(domain.ReasonNotCloudEvent, "a CloudEvents batch must be a JSON array")
	}
	return items, nil
}

// Header is a case-insensitive view of message headers (NATS headers are
// case-sensitive on the wire; HTTP ones are canonicalised).
type Header map[string][]string

// Get returns the first value of name, matching case-insensitively.
func (h Header) Get(name string) string {
	if v, ok := h[name]; ok && len(v) > 0 {
		return v[0]
	}
	for k, v := range h {
		if len(v) > 0 && strings.EqualFold(k, name) {
			return v[0]
		}
	}
	return ""
}

// IsBinary reports whether headers carry a binary-mode CloudEvent.
func IsBinary(h Header) bool { return h.Get("ce-specversion") != "" }

// FromBinary builds a CloudEvent from binary-mode headers (ce-*, values
// percent-encoded) and the body, which is the event data.
func FromBinary(h Header, body []byte) (domain.CloudEvent, error) {
	var ce domain.CloudEvent
	if len(body) > MaxEventBytes {
		return ce, domain.Reject(domain.ReasonTooLarge, "event data is %d bytes; the limit is %d", len(body), MaxEventBytes)
	}
	get := func(name string) (string, error) {
		v := h.Get("ce-" + name)
		d, err := url.PathUnescape(v)
		if err != nil {
			return "", domain.Reject(domain.ReasonNotCloudEvent, "header ce-%s is not correctly percent-encoded", name)
		}
		return d, nil
	}
	var err error
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{"specversion", &ce.SpecVersion}, {"id", &ce.ID}, {"source", &ce.Source}, {"type", &ce.Type},
		{"subject", &ce.Subject}, {"dataschema", &ce.DataSchema},
	} {
		if *f.dst, err = get(f.name); err != nil {
			return ce, err
		}
	}
	t, err := get("time")
	if err != nil {
		return ce, err
	}
	if ce.Time, err = parseTime("header ce-time", t); err != nil {
		return ce, err
	}
	ce.DataContentType = h.Get("Content-Type")
	if ce.DataContentType == "" {
		ce.DataContentType = h.Get("ce-datacontenttype")
	}
	for k, vs := range h {
		lk := strings.ToLower(k)
		name, ok := strings.CutPrefix(lk, "ce-")
		if !ok || contextAttributes[name] || len(vs) == 0 {
			continue
		}
		if ce.Extensions == nil {
			ce.Extensions = map[string]string{}
		}
		ce.Extensions[name], _ = url.PathUnescape(vs[0])
	}
	if len(bytes.TrimSpace(body)) > 0 {
		ce.Data = body
	}
	return ce, validateEnvelope(ce)
}

// FromMessage reads a CloudEvent from a message in either mode: binary when
// ce-specversion is a header, structured otherwise.
func FromMessage(h Header, body []byte) (domain.CloudEvent, error) {
	if IsBinary(h) {
		return FromBinary(h, body)
	}
	if ct := h.Get("Content-Type"); ct != "" {
		mt, _, _ := mime.ParseMediaType(ct)
		if mt != ContentTypeStructured && mt != ContentTypeJSON {
			return domain.CloudEvent{}, domain.Reject(domain.ReasonNotCloudEvent,
				"content type %q is neither a structured CloudEvent nor binary mode (no ce-specversion header)", ct)
		}
	}
	return ParseStructured(body)
}

func validateEnvelope(ce domain.CloudEvent) error {
	// Attributes are Unicode strings (CloudEvents 1.0, type String); binary
	// mode headers can carry any bytes, and a replaced byte would change an
	// event's identity.
	for _, f := range []struct{ name, v string }{
		{"specversion", ce.SpecVersion}, {"id", ce.ID}, {"source", ce.Source}, {"type", ce.Type},
		{"subject", ce.Subject}, {"dataschema", ce.DataSchema}, {"datacontenttype", ce.DataContentType},
	} {
		if !utf8.ValidString(f.v) {
			return domain.Reject(domain.ReasonNotCloudEvent, "CloudEvent attribute %q is not valid UTF-8", f.name)
		}
		if strings.IndexByte(f.v, 0) >= 0 {
			return domain.Reject(domain.ReasonInvalidContent, "CloudEvent attribute %q contains a NUL character, which cannot be stored", f.name)
		}
	}
	for k, v := range ce.Extensions {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return domain.Reject(domain.ReasonNotCloudEvent, "CloudEvent extension %q is not valid UTF-8", strings.ToValidUTF8(k, "?"))
		}
	}
	if ce.SpecVersion != "1.0" {
		return domain.Reject(domain.ReasonNotCloudEvent, "unsupported CloudEvents specversion %q; want 1.0", ce.SpecVersion)
	}
	for _, f := range []struct{ name, v string }{{"id", ce.ID}, {"source", ce.Source}, {"type", ce.Type}} {
		if strings.TrimSpace(f.v) == "" {
			return domain.Reject(domain.ReasonMissingField, "CloudEvent is missing the required attribute %q", f.name)
		}
	}
	if ct := ce.DataContentType; ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != ContentTypeJSON && !strings.HasSuffix(mt, "+json")) {
			return domain.Reject(domain.ReasonInvalidContent, "datacontenttype %q is not JSON; Throughline reads JSON data only", ct)
		}
	}
	return nil
}

func parseTime(what, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, domain.Reject(domain.ReasonBadTimestamp, "%s %q is not an RFC 3339 timestamp", what, s)
	}
	return t.UTC(), nil
}

// EncodeStructured writes a CloudEvent in the JSON event format. Data that is
// JSON is embedded as "data"; anything else as "data_base64".
func EncodeStructured(ce domain.CloudEvent) ([]byte, error) {
	m := map[string]any{
		"specversion": ce.SpecVersion,
		"id":          ce.ID,
		"source":      ce.Source,
		"type":        ce.Type,
	}
	if ce.SpecVersion == "" {
		m["specversion"] = "1.0"
	}
	if ce.Subject != "" {
		m["subject"] = ce.Subject
	}
	if !ce.Time.IsZero() {
		m["time"] = ce.Time.UTC().Format(time.RFC3339Nano)
	}
	if ce.DataContentType != "" {
		m["datacontenttype"] = ce.DataContentType
	}
	if ce.DataSchema != "" {
		m["dataschema"] = ce.DataSchema
	}
	keys := make([]string, 0, len(ce.Extensions))
	for k := range ce.Extensions {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !contextAttributes[k] {
			m[k] = ce.Extensions[k]
		}
	}
	if len(ce.Data) > 0 {
		if json.Valid(ce.Data) {
			m["data"] = json.RawMessage(ce.Data)
		} else {
			m["data_base64"] = base64.StdEncoding.EncodeToString(ce.Data)
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode CloudEvent: %w", err)
	}
	return b, nil
}

// EncodeBinary writes a CloudEvent in binary mode: ce-* headers with
// percent-encoded values, and the data as the body.
func EncodeBinary(ce domain.CloudEvent) (Header, []byte) {
	h := Header{}
	set := func(name, v string) {
		if v != "" {
			h["ce-"+name] = []string{percentEncode(v)}
		}
	}
	spec := ce.SpecVersion
	if spec == "" {
		spec = "1.0"
	}
	set("specversion", spec)
	set("id", ce.ID)
	set("source", ce.Source)
	set("type", ce.Type)
	set("subject", ce.Subject)
	set("dataschema", ce.DataSchema)
	if !ce.Time.IsZero() {
		set("time", ce.Time.UTC().Format(time.RFC3339Nano))
	}
	for k, v := range ce.Extensions {
		set(k, v)
	}
	ct := ce.DataContentType
	if ct == "" {
		ct = ContentTypeJSON
	}
	h["Content-Type"] = []string{ct}
	return h, ce.Data
}

// percentEncode escapes what the CloudEvents HTTP binding requires: space,
// double quote, percent and anything outside printable ASCII.
func percentEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= 0x20 || c >= 0x7f || c == '"' || c == '%' {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
