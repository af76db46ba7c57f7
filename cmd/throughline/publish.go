package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/throughline/throughline/adapters/cdevents"
	"github.com/throughline/throughline/adapters/natsbus"
	"github.com/throughline/throughline/domain"
)

func newPublishCommand(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	cfg := DefaultConfig()
	cfg.NATS = "nats://127.0.0.1:4222"
	var raw bool
	cmd := &cobra.Command{
		Use:   "publish [flags] FILE…",
		Short: "Publish CloudEvents from files (JSON or NDJSON; - for stdin)",
		Long: `Publish CloudEvents to the events stream, the way a CI system would. Each file
holds one CloudEvent (JSON), a JSON array of them, or one per line (NDJSON).
Events are checked first: invalid ones are reported with the reason and not
sent (use --raw to send them anyway, e.g. to see dead letters). Each is sent
with Nats-Msg-Id = source + " " + id and waits for JetStream's ack.`,
		Example: `  throughline publish deploy.json
  kubectl get events -o json | my-converter | throughline publish -`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			log, err := prepare(cmd, &cfg, stderr)
			if err != nil {
				return err
			}
			dec, err := cdevents.NewDecoder(cfg.IdeaKeyPattern)
			if err != nil {
				return err
			}
			var msgs []natsbus.OutMsg
			invalid := 0
			for _, name := range args {
				items, err := readEvents(name, stdin)
				if err != nil {
					return err
				}
				for _, it := range items {
					m, err := outMessage(dec, cfg.SubjectPrefix, it.body, raw)
					if err != nil {
						invalid++
						fmt.Fprintf(stderr, "%s: %s: %s\n", it.where, domain.RejectReason(err), domain.ErrorMessage(err))
						continue
					}
					msgs = append(msgs, m)
				}
			}
			if len(msgs) > 0 {
				bus, err := natsbus.Connect(cmd.Context(), natsConfig(cfg, nil, log))
				if err != nil {
					return err
				}
				defer bus.Close()
				dups, err := bus.PublishMany(cmd.Context(), msgs)
				if err != nil {
					return err
				}
				fmt.Fprintf(stdout, "published %d events (%d duplicates absorbed by JetStream)\n", len(msgs), dups)
			}
			if invalid > 0 {
				return fmt.Errorf("%d invalid events were not published", invalid)
			}
			return nil
		},
	}
	fs := cmd.Flags()
	natsClientFlags(fs, &cfg)
	eventFlags(fs, &cfg)
	fs.BoolVar(&raw, "raw", false, "send events without checking them (invalid ones become dead letters)")
	logFlags(fs, &cfg)
	annotateEnv(cmd)
	return cmd
}

type rawEvent struct {
	where string
	body  []byte
}

// readEvents reads one file: a JSON object, a JSON array, or NDJSON.
func readEvents(name string, stdin io.Reader) ([]rawEvent, error) {
	var data []byte
	var err error
	if name == "-" {
		data, err = io.ReadAll(stdin)
		name = "stdin"
	} else {
		data, err = os.ReadFile(name)
	}
	if err != nil {
		return nil, err
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var items []json.RawMessage
		if err := json.Unmarshal(trimmed, &items); err != nil {
			return nil, fmt.Errorf("%s: not a JSON array of CloudEvents: %v", name, err)
		}
		out := make([]rawEvent, len(items))
		for i, it := range items {
			out[i] = rawEvent{where: fmt.Sprintf("%s[%d]", name, i), body: it}
		}
		return out, nil
	}
	if json.Valid(trimmed) {
		return []rawEvent{{where: name, body: trimmed}}, nil
	}
	var out []rawEvent
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), cdevents.MaxEventBytes+1)
	for line := 1; sc.Scan(); line++ {
		if b := bytes.TrimSpace(sc.Bytes()); len(b) > 0 {
			out = append(out, rawEvent{where: fmt.Sprintf("%s:%d", name, line), body: bytes.Clone(b)})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// outMessage checks one event and addresses it; with raw, an event that does
// not decode is still sent, to a catch-all subject.
func outMessage(dec *cdevents.Decoder, prefix string, body []byte, raw bool) (natsbus.OutMsg, error) {
	ce, ev, err := dec.DecodeMessage(nil, body)
	if err != nil {
		if !raw {
			return natsbus.OutMsg{}, err
		}
		m := natsbus.OutMsg{Subject: prefix + ".events.delivery.unknown", Data: body}
		if ce.ID != "" && ce.Source != "" {
			m.MsgID = ce.Source + " " + ce.ID
		}
		return m, nil
	}
	return natsbus.OutMsg{
		Subject: eventSubject(natsbus.Names{SubjectPrefix: prefix}, ev),
		Header:  map[string][]string{"Content-Type": {cdevents.ContentTypeStructured}},
		Data:    body,
		MsgID:   ev.Identity.String(),
	}, nil
}

func newRebuildCommand(stdout, stderr io.Writer) *cobra.Command {
	cfg := DefaultConfig()
	cmd := &cobra.Command{
		Use:   "rebuild",
		Short: "Recompute every projection from the stored events",
		Long: `Empty the projections and compute them again from the raw events in the
database. Safe while servers run: events stored meanwhile land in the new
projections exactly once. Run it after changing --production-envs or
--idea-key-pattern, or after an upgrade that changes how events are read.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := prepare(cmd, &cfg, stderr); err != nil {
				return err
			}
			store, err := openStore(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer store.Close()
			if _, err := store.Migrate(cmd.Context()); err != nil {
				return err
			}
			if _, err := store.SyncProductionEnvs(cmd.Context()); err != nil {
				return err
			}
			dec, err := cdevents.NewDecoder(cfg.IdeaKeyPattern)
			if err != nil {
				return err
			}
			res, err := rebuildReporting(cmd.Context(), store, dec, stderr)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "rebuilt projections from %d events in %s (generation %d)\n", res.events, res.took.Round(1e6), res.generation)
			if res.undecodable > 0 {
				fmt.Fprintf(stdout, "%d stored events no longer decode and were left out\n", res.undecodable)
			}
			return nil
		},
	}
	storageFlags(cmd.Flags(), &cfg)
	eventFlags(cmd.Flags(), &cfg)
	logFlags(cmd.Flags(), &cfg)
	annotateEnv(cmd)
	return cmd
}

// decodeStored reads a stored event (structured CloudEvent JSON) again.
func decodeStored(dec *cdevents.Decoder, data []byte) (domain.Event, error) {
	_, ev, err := dec.DecodeMessage(nil, data)
	return ev, err
}
