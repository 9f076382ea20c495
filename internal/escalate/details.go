package escalate

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/notify"
)

// details are what the incident's lead alert said of itself, as a page shows them (nil when
// the incident has no alert, or escalation was built without Options.Lead).
func (e *Engine) details(ctx context.Context, cfg *config.Config, inc incident.Incident) (*notify.Details, error) {
	if e.lead == nil {
		return nil, nil
	}
	a, found, err := e.lead(ctx, inc.ID)
	if err != nil || !found {
		return nil, err
	}
	d := e.AlertDetails(cfg, a)
	d.Alerts = inc.AlertCount
	return d, nil
}

// AlertDetails are what an alert said of itself as every page shows it, bounded and with the
// secrets of cfg (and every secret-looking field) redacted: the incident page shows an alert
// by the same rule, so a viewer reads no more than a page carries.
func (e *Engine) AlertDetails(cfg *config.Config, a alert.Alert) *notify.Details {
	return notify.ParseDetails(a.Details, a.Source, notify.DetailsOptions{Secrets: e.secrets.of(cfg)})
}

// Redact applies the same rule to a table of values an alert carries outside its details (its
// labels): secret keys and values are redacted, and the table bounded.
func (e *Engine) Redact(cfg *config.Config, labels map[string]string) notify.Table {
	raw, _ := json.Marshal(map[string]any{"labels": labels})
	return notify.ParseDetails(raw, "", notify.DetailsOptions{Secrets: e.secrets.of(cfg)}).Labels
}

// configSecrets remembers the secrets of the config in force, gathered once per config.
type configSecrets struct {
	mu   sync.Mutex
	cfg  *config.Config
	list []string
}

func (s *configSecrets) of(cfg *config.Config) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg != cfg {
		s.cfg, s.list = cfg, secretsOf(cfg)
	}
	return s.list
}

// secretsOf lists what no page may carry, whatever an alert's sender put in its details:
// integration keys, ping keys, contact methods' secrets and the URLs of Slack, Teams and
// webhook contact methods (which are their credentials), the Twilio token, the SMTP
// password, drill webhooks' secrets.
func secretsOf(cfg *config.Config) []string {
	var out []string
	add := func(s string) {
		if s != "" {
			out = append(out, s)
		}
	}
	for _, svc := range cfg.Services {
		for _, in := range svc.Integrations {
			add(in.Key)
		}
	}
	add(cfg.Probes.PingKey)
	for _, t := range cfg.Teams {
		add(t.PingKey)
	}
	for _, u := range cfg.Users {
		for _, m := range u.ContactMethods {
			add(m.Secret)
			switch m.Type {
			case config.ContactSlack, config.ContactTeams, config.ContactWebhook:
				add(m.Address)
			}
		}
	}
	if t := cfg.Notifications.Twilio; t != nil {
		add(t.AuthToken)
	}
	if m := cfg.Notifications.Email; m != nil {
		add(m.SMTP.Password)
	}
	for _, d := range cfg.Drills {
		if d.Webhook != nil {
			add(d.Webhook.Secret)
		}
	}
	return out
}
