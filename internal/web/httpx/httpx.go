// Package httpx is what every nines HTTP handler shares: the route table's entry (its access,
// least role and team scope), the Guard that finds who a request acts as and lets it through
// (tokens, sessions, CSRF, calendar feed keys), errors that carry a status and a message a
// user can act on, JSON in and out, the client's address and the server's own metrics.
package httpx

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"reflect"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/change"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/configdb"
	"github.com/nines-dev/nines/internal/drill"
	"github.com/nines-dev/nines/internal/escalate"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/maintenance"
	"github.com/nines-dev/nines/internal/oncall"
	"github.com/nines-dev/nines/internal/people"
	"github.com/nines-dev/nines/internal/postmortem"
	"github.com/nines-dev/nines/internal/probe"
	"github.com/nines-dev/nines/internal/readiness"
	"github.com/nines-dev/nines/internal/report"
	"github.com/nines-dev/nines/internal/slo"
	"github.com/nines-dev/nines/internal/statuspage"
	"github.com/nines-dev/nines/internal/store"
)

// Services are the services of nines the handlers call, on one database, clock and config.
// Every one is required: a server missing one is refused when it is built, not found out by
// the first request that needs it.
type Services struct {
	Config    *config.Live
	DB        *store.DB
	Clock     clock.Clock
	Log       *slog.Logger
	Incidents *incident.Service
	Alerts    *alert.Pipeline
	Tokens    *auth.Tokens

	// on-call (schedules, escalation, notifications)
	OnCall     *oncall.Service
	Escalation *escalate.Engine

	// monitors (probes, heartbeats)
	Monitors *probe.Monitors

	// SLOs
	SLOs *slo.Engine

	// web accounts, status pages
	Users       *auth.Users
	People      *people.Service
	Sessions    *auth.Sessions
	Audit       *auth.Audit
	StatusPages *statuspage.Service
	Maintenance *maintenance.Service
	// ConfigDB holds the config objects made in the web app or the API.
	ConfigDB *configdb.Store

	// changes, postmortems, action items, reports
	Changes     *change.Store
	Postmortems *postmortem.Service
	Reports     *report.Service

	// readiness scorecards, chaos drills
	Readiness *readiness.Service
	Drills    *drill.Service
}

// Check names the first service that is not set.
func (s Services) Check() error {
	v := reflect.ValueOf(s)
	for i := 0; i < v.NumField(); i++ {
		if f := v.Field(i); (f.Kind() == reflect.Pointer || f.Kind() == reflect.Interface) && f.IsNil() {
			return fmt.Errorf("web: the %s service is not set", v.Type().Field(i).Name)
		}
	}
	return nil
}

// Guard finds who a request acts as and whether it may do what it asks: the role and team
// scope its route declares, the CSRF token of a change a browser makes with its cookie, a
// calendar feed's key.
type Guard struct {
	Services
	csrfKey []byte
}

// NewGuard returns the guard of svc, keyed with the database's CSRF secret (shared by every
// node, so a form from one is accepted by another).
func NewGuard(ctx context.Context, svc Services) (*Guard, error) {
	if err := svc.Check(); err != nil {
		return nil, err
	}
	key, err := svc.DB.Secret(ctx, "csrf")
	if err != nil {
		return nil, fmt.Errorf("web: reading the CSRF key: %w", err)
	}
	return &Guard{Services: svc, csrfKey: key}, nil
}

// MAC signs msg with the guard's key, for what a browser keeps and must hand back unchanged
// (a device cookie, the state of a single sign-on). Each use prefixes msg with its own purpose.
func (g *Guard) MAC(msg string) []byte {
	m := hmac.New(sha256.New, g.csrfKey)
	m.Write([]byte(msg))
	return m.Sum(nil)
}
