package ui_test

import (
	"bytes"
	"encoding/csv"
	"net/url"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/web/ui"
)

// Periods worked by hand: now is 2026-03-30 09:00 UTC, which is 14:30 in Asia/Kolkata
// (UTC+05:30, no daylight saving), so midnight there is 18:30 UTC the day before.
func TestReportPeriodsAreReadInTheViewersZone(t *testing.T) {
	kolkata, _ := time.LoadLocation("Asia/Kolkata")
	now := time.Date(2026, 3, 30, 9, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name, query, from, to, month string
	}{
		{"no range is the last 30 days", "", "2026-02-28T09:00:00Z", "2026-03-30T09:00:00Z", "2026-03"},
		{"7d is the last seven times 24 hours", "range=7d", "2026-03-23T09:00:00Z", "2026-03-30T09:00:00Z", "2026-03"},
		{"this month starts at midnight on the 1st in Kolkata", "range=this-month", "2026-02-28T18:30:00Z", "2026-03-30T09:00:00Z", "2026-03"},
		{"last month is February in Kolkata", "range=last-month", "2026-01-31T18:30:00Z", "2026-02-28T18:30:00Z", "2026-02"},
		{"custom dates include both days", "range=custom&from=2026-03-01&to=2026-03-15", "2026-02-28T18:30:00Z", "2026-03-15T18:30:00Z", "2026-03"},
		{"dates alone are a custom range", "from=2026-03-01&to=2026-03-01", "2026-02-28T18:30:00Z", "2026-03-01T18:30:00Z", "2026-03"},
	} {
		t.Run(c.name, func(t *testing.T) {
			q, _ := url.ParseQuery(c.query)
			p, err := ui.ReadPeriod(q, now, kolkata)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.From.Format(time.RFC3339); got != c.from {
				t.Errorf("from %s, want %s", got, c.from)
			}
			if got := p.To.Format(time.RFC3339); got != c.to {
				t.Errorf("to %s, want %s", got, c.to)
			}
			if p.Month != c.month {
				t.Errorf("SLA month %s, want %s", p.Month, c.month)
			}
		})
	}
}

func TestReportPeriodsRefusedNameTheirField(t *testing.T) {
	now := time.Date(2026, 3, 30, 9, 0, 0, 0, time.UTC)
	for query, field := range map[string]string{
		"range=fortnight": "range",
		"range=custom&from=2026-03-31&to=2026-03-01": "to",
		"range=custom&from=yesterday&to=2026-03-01":  "from",
		"range=custom&from=2026-03-01":               "to",
	} {
		q, _ := url.ParseQuery(query)
		_, err := ui.ReadPeriod(q, now, time.UTC)
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte(field)) {
			t.Errorf("%s: %v, want a refusal naming %s", query, err, field)
		}
	}
}

func FuzzReadPeriod(f *testing.F) {
	f.Add("range=custom&from=2026-03-01&to=2026-03-15")
	f.Add("range=last-month")
	f.Fuzz(func(t *testing.T, query string) {
		q, _ := url.ParseQuery(query)
		p, err := ui.ReadPeriod(q, time.Date(2026, 3, 30, 9, 0, 0, 0, time.UTC), time.UTC)
		if err == nil && !p.From.Before(p.To) {
			t.Errorf("%q: an empty period %v..%v accepted", query, p.From, p.To)
		}
	})
}

// A cell a spreadsheet would run as a formula is defused; numbers, negative ones too, and
// text with commas, quotes and line breaks come back as they were (RFC 4180).
func TestCSVQuotesAndDefusesFormulas(t *testing.T) {
	var b bytes.Buffer
	rows := [][]string{{"=HYPERLINK(\"http://evil\")", "+1+1", "-0.5", "@SUM(A1)", "a, \"quoted\"\nline", "-cmd|' /C calc'!A0", "42"}}
	if err := ui.WriteCSV(&b, []string{"a", "b", "c", "d", "e", "f", "g"}, rows); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b.Bytes(), []byte("a,b,c,d,e,f,g\r\n")) {
		t.Errorf("the header line is not CRLF-ended: %q", b.String())
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil || len(recs) != 2 {
		t.Fatalf("%v %q", err, recs)
	}
	want := []string{"'=HYPERLINK(\"http://evil\")", "'+1+1", "-0.5", "'@SUM(A1)", "a, \"quoted\"\nline", "'-cmd|' /C calc'!A0", "42"}
	for i, w := range want {
		if recs[1][i] != w {
			t.Errorf("cell %d: %q, want %q", i, recs[1][i], w)
		}
	}
}
