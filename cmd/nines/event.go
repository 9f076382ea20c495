package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// runEvent sends an Events API v2 event, as a monitoring tool would.
func runEvent(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: nines event trigger|ack|resolve --routing-key K [--dedup-key D] [--summary S]")
	}
	action := map[string]string{"trigger": "trigger", "ack": "acknowledge", "acknowledge": "acknowledge", "resolve": "resolve"}[args[0]]
	if action == "" {
		return fmt.Errorf("unknown event action %q (want trigger, ack or resolve)", args[0])
	}
	fs := newFlags("event "+args[0], stderr)
	var c client
	c.register(fs)
	var routingKey secretFlag
	routingKey.register(fs, "routing-key", "integration key of an events_v2 integration", "NINES_ROUTING_KEY")
	dedup := fs.String("dedup-key", "", "dedup key (required for ack and resolve)")
	summary := fs.String("summary", "", "summary (required for trigger)")
	source := fs.String("source", hostname(), "where the problem is")
	severity := fs.String("severity", "error", "critical, error, warning or info")
	details := fs.String("details", "", "custom details as a JSON object")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	key, err := routingKey.get()
	if err != nil {
		return err
	}
	ev := map[string]any{"routing_key": key, "event_action": action}
	if *dedup != "" {
		ev["dedup_key"] = *dedup
	}
	if action == "trigger" {
		p := map[string]any{"summary": *summary, "source": *source, "severity": *severity}
		if *details != "" {
			var d any
			if err := json.Unmarshal([]byte(*details), &d); err != nil {
				return fmt.Errorf("--details is not JSON: %v", err)
			}
			p["custom_details"] = d
		}
		ev["payload"] = p
	}
	var out struct {
		Status   string `json:"status"`
		Message  string `json:"message"`
		DedupKey string `json:"dedup_key"`
	}
	if err := c.do(ctx, "POST", "/v2/enqueue", ev, &out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: dedup_key %s\n", out.Message, out.DedupKey)
	return nil
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return "nines-cli"
	}
	return h
}
