package alert_test

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/nines-dev/nines/internal/alert"
)

func mail(t testing.TB, name string) []byte { return readTestdata(t, filepath.Join("email", name)) }

func emailDetails(t *testing.T, ev alert.Event) map[string]any {
	t.Helper()
	var d map[string]any
	if err := json.Unmarshal(ev.Details, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestEmailBecomesAnAlert(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, file                         string
		summary, source, key, bodyContains string
		bodyLacks                          string
		at                                 time.Time
	}{
		{name: "a plain text mail", file: "plain.eml", summary: "Nightly backup of orders failed", source: "cron@backup.example.com",
			key: "20260302013000.1234@backup.example.com", bodyContains: "pg_dump: error: connection to server failed\nexit code 3",
			at: time.Date(2026, 3, 2, 1, 30, 0, 0, time.UTC)},
		{name: "multipart/alternative with an encoded subject takes the text part", file: "multipart-alternative.eml",
			summary: "[FIRING:1] Checkout p99 latency — 2.4s", source: "alerts@grafana.example.com", key: "grafana-1@grafana.example.com",
			bodyContains: "p99 latency of checkout is 2.4s — threshold 1s.\nDashboard: https://grafana.example.com/d/checkout", bodyLacks: "<p>",
			at: time.Date(2026, 3, 2, 3, 0, 0, 0, time.UTC)},
		{name: "an HTML-only Latin-1 mail is read as text, its attachment left out", file: "html-only.eml",
			summary: "Café server down", source: "monitor@legacy.example.com",
			bodyContains: "Le serveur du café ne répond plus.\nDepuis 03:00 & toujours.", bodyLacks: "not the body"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev, err := alert.DecodeEmail(mail(t, c.file), alert.EmailOptions{Recipient: "checkout-mail@nines.example.com"})
			if err != nil {
				t.Fatal(err)
			}
			if p := eventProblem(ev); p != "" {
				t.Fatal(p)
			}
			if ev.Action != alert.Trigger || ev.Summary != c.summary || ev.Source != c.source || ev.Severity != "error" {
				t.Errorf("event = %+v", ev)
			}
			if c.key != "" && ev.DedupKey != c.key {
				t.Errorf("dedup key = %q, want the Message-ID %q", ev.DedupKey, c.key)
			}
			if !ev.Timestamp.Equal(c.at) {
				t.Errorf("timestamp = %v, want %v", ev.Timestamp, c.at)
			}
			d := emailDetails(t, ev)
			body, _ := d["body"].(string)
			if !strings.Contains(body, c.bodyContains) || (c.bodyLacks != "" && strings.Contains(body, c.bodyLacks)) {
				t.Errorf("body = %q, want it to hold %q (and not %q)", body, c.bodyContains, c.bodyLacks)
			}
			if d["from"] != c.source || d["to"] != "checkout-mail@nines.example.com" || d["subject"] != c.summary {
				t.Errorf("details = %v", d)
			}
			if ev.Labels["from"] != c.source {
				t.Errorf("labels = %v", ev.Labels)
			}
		})
	}
}

func TestEmailSubjectExpressionsPairAProblemWithItsRecovery(t *testing.T) {
	t.Parallel()
	o := alert.EmailOptions{
		DedupKey: regexp.MustCompile(`Service Alert: (\S+) is`),
		Resolve:  regexp.MustCompile(`^\*\* RECOVERY`),
		Severity: "critical",
	}
	problem, err := alert.DecodeEmail(mail(t, "nagios-problem.eml"), o)
	if err != nil {
		t.Fatal(err)
	}
	recovery, err := alert.DecodeEmail(mail(t, "nagios-recovery.eml"), o)
	if err != nil {
		t.Fatal(err)
	}
	if problem.Action != alert.Trigger || problem.DedupKey != "db-1/PostgreSQL" || problem.Severity != "critical" {
		t.Errorf("problem = %+v", problem)
	}
	if recovery.Action != alert.Resolve || recovery.DedupKey != problem.DedupKey {
		t.Errorf("recovery = %+v, want a resolve of %s", recovery, problem.DedupKey)
	}
	// A subject the expression does not match falls back to the Message-ID.
	other, _ := alert.DecodeEmail([]byte("Subject: hello\r\nMessage-ID: <m1@x>\r\n\r\nbody"), o)
	if other.DedupKey != "m1@x" || other.Action != alert.Trigger {
		t.Errorf("unmatched subject = %+v", other)
	}
	ack := o
	ack.Resolve, ack.Acknowledge = nil, regexp.MustCompile(`PROBLEM`)
	if ev, _ := alert.DecodeEmail(mail(t, "nagios-problem.eml"), ack); ev.Action != alert.Acknowledge {
		t.Errorf("acknowledge expression: %+v", ev)
	}
}

func TestEmailWithoutSubjectOrIdStillMakesAnAlert(t *testing.T) {
	t.Parallel()
	ev, err := alert.DecodeEmail([]byte("From: a@b.example\r\n\r\n\r\n  disk full on db-2  \r\nmore\r\n"), alert.EmailOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ev.Summary != "disk full on db-2" || len(ev.DedupKey) != 32 || ev.Source != "a@b.example" {
		t.Errorf("event = %+v", ev)
	}
	ev, _ = alert.DecodeEmail([]byte("\r\n"), alert.EmailOptions{Sender: "bounce@x.example"})
	if ev.Summary != "Mail without a subject from bounce@x.example" || ev.Source != "bounce@x.example" {
		t.Errorf("an empty mail = %+v", ev)
	}
}

func TestEmailBoundsWhatItKeeps(t *testing.T) {
	t.Parallel()
	long := "Subject: " + strings.Repeat("é", 2000) + "\r\nMessage-ID: <" + strings.Repeat("k", 400) + ">\r\n\r\n" + strings.Repeat("x", 200<<10)
	ev, err := alert.DecodeEmail([]byte(long), alert.EmailOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p := eventProblem(ev); p != "" {
		t.Fatal(p)
	}
	d := emailDetails(t, ev)
	if body := d["body"].(string); len(body) != 64<<10 || d["body_truncated"] != true {
		t.Errorf("body of %d bytes, truncated %v", len(body), d["body_truncated"])
	}
	if utf8.RuneCountInString(ev.Summary) != 1024 || len(ev.DedupKey) != 64 {
		t.Errorf("summary of %d characters, dedup key %q", utf8.RuneCountInString(ev.Summary), ev.DedupKey)
	}
}

func TestEmailWithABrokenHeaderIsRefused(t *testing.T) {
	t.Parallel()
	_, err := alert.DecodeEmail([]byte("this is not a header line\r\n\r\nbody"), alert.EmailOptions{})
	if errs := invalidErrors(t, err); len(errs) != 1 || !strings.HasPrefix(errs[0], "the header cannot be read") {
		t.Errorf("errors = %q", errs)
	}
}

func FuzzDecodeEmail(f *testing.F) {
	for _, name := range []string{"plain.eml", "multipart-alternative.eml", "html-only.eml", "nagios-problem.eml", "nagios-recovery.eml"} {
		f.Add(mail(f, name))
	}
	f.Add([]byte("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n--c\r\n\r\nx\r\n--c--\r\n--b--\r\n"))
	f.Add([]byte("Subject: =?x-unknown?B?AAAA?=\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!!"))
	o := alert.EmailOptions{DedupKey: regexp.MustCompile(`(\S+) is`), Resolve: regexp.MustCompile(`RECOVERY`)}
	f.Fuzz(func(t *testing.T, raw []byte) {
		ev, err := alert.DecodeEmail(raw, o)
		if err != nil {
			checkDecoderError(t, err)
			return
		}
		if p := eventProblem(ev); p != "" {
			t.Fatalf("accepted %q as an event with %s", raw, p)
		}
		if !utf8.ValidString(ev.Summary) || !utf8.ValidString(ev.Source) || !utf8.Valid(ev.Details) {
			t.Fatalf("text that is not UTF-8 in %+v", ev)
		}
	})
}
