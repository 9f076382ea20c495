package alert_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/storetest"
)

// BenchmarkOpeningAnAlertWithInhibitRules measures what inhibit rules add to opening an alert
// (one request, one new alert, committed to SQLite) with 1,000 alerts open: nothing when no
// rule's target matchers match the new alert, a look at every open alert's labels when one does
// and none of them is a source.
func BenchmarkOpeningAnAlertWithInhibitRules(b *testing.B) {
	const rules = `
inhibit_rules:
  - source_matchers: [alertname=DatacenterDown]
    target_matchers: [severity=warning]
    equal: [dc]
`
	for _, c := range []struct {
		name     string
		config   string
		severity string
	}{
		{"no rules", "", "warning"},
		{"a rule whose targets do not match", rules, "critical"},
		{"a rule whose targets match, no source open", rules, "warning"},
	} {
		b.Run(c.name, func(b *testing.B) {
			db := storetest.SQLite(b, schemas)
			clk := clock.NewFake(epoch)
			p := alert.NewPipeline(db, incident.New(db, clk, nil), clk, alert.Options{})
			cfg, err := config.Parse("nines.yaml", []byte(c.config))
			if err != nil {
				b.Fatal(err)
			}
			p.Config = config.NewLive(cfg)
			go p.Run()
			defer p.Close()
			ctx := context.Background()
			ev := func(i int, severity string) alert.Event {
				e := trigger(fmt.Sprint("k", i), severity, "disk full")
				e.Labels = map[string]string{"alertname": "DiskFull", "severity": severity, "dc": "eu-west", "instance": fmt.Sprint("node-", i)}
				return e
			}
			for i := range 1000 {
				if _, err := p.Submit(ctx, byAlert, []alert.Event{ev(i, "critical")}); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if _, err := p.Submit(ctx, byAlert, []alert.Event{ev(1000+i, c.severity)}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
