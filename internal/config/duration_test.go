package config_test

import (
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/config"
)

func TestADurationIsWrittenAsTheConfigWritesItAndReadsBack(t *testing.T) {
	for _, c := range []struct {
		name string
		d    time.Duration
		want string
	}{
		{"two weeks are written in days", 14 * 24 * time.Hour, "14d"},
		{"a day and a half in hours", 36 * time.Hour, "36h"},
		{"an hour and a half in minutes", 90 * time.Minute, "90m"},
		{"nothing is 0", 0, "0"},
		{"a minute and a half as Go writes it", 90 * time.Second, "1m30s"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := config.FormatDuration(c.d)
			if got != c.want {
				t.Fatalf("FormatDuration(%v) = %q, want %q", c.d, got, c.want)
			}
			if c.d == 0 {
				return
			}
			if back, err := config.ParseDuration(got); err != nil || back != c.d {
				t.Errorf("ParseDuration(%q) = %v, %v; want %v", got, back, err, c.d)
			}
		})
	}
}
