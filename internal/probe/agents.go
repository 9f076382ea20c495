package probe

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/timers"
)

// A remote agent is watched as a heartbeat: every request it makes (asking for its monitors,
// posting results, and an empty post when it has nothing to say) counts as a ping. The deadline
// is a durable timer pushed forward by each contact; when it passes, the agent is down and its
// own alert (dedup key agent:<location>) pages the agent's service, while the monitors it
// probed go unknown rather than up or down. Like a heartbeat, an agent is watched from its
// first contact.

// timerAgentLate fires when an agent has been silent for its grace. Its key is the location.
const timerAgentLate = "agent.late"

// AgentDedupKey is the alert key of a remote agent that stopped reporting.
func AgentDedupKey(location string) string { return "agent:" + location }

// AgentView is a remote agent as the API shows it.
type AgentView struct {
	Location   string     `json:"location"`
	Status     string     `json:"status"` // up, down, or pending before its first contact
	Since      *time.Time `json:"since,omitempty"`
	LastSeenAt *time.Time `json:"last_seen_at"`
	AgeSeconds *float64   `json:"age_s"`
	ServiceID  string     `json:"service_id"`
	GraceS     float64    `json:"grace_s"`
	Monitors   []string   `json:"monitors"`
}

// AgentSeen records a contact of the agent of a location. The deadline is pushed at most four
// times per grace by each node, so a chatty agent does not write on every request: an agent is
// down after between its grace and a quarter more of silence. An agent that was down comes back
// up at once and its alert resolves.
func (m *Monitors) AgentSeen(ctx context.Context, location string) error {
	cfg := m.live.Get()
	ag, ok := cfg.Agent(location)
	if !ok {
		return nil
	}
	now := m.clock.Now().Truncate(time.Millisecond)
	grace := ag.Grace.D()
	m.agentsMu.Lock()
	last, seen := m.agents[location]
	m.agentsMu.Unlock()
	if seen && now.Sub(last) < grace/4 {
		return nil
	}
	var alerted bool
	err := m.db.Tx(ctx, func(tx *store.Tx) error {
		var status string
		var wasAlerted int
		q := `SELECT status, alerted FROM probe_agents WHERE location = ?`
		if tx.Dialect() == store.Postgres {
			q += ` FOR UPDATE` // agentLate marks the page sent only once this contact is in or out
		}
		err := tx.QueryRow(ctx, q, location).Scan(&status, &wasAlerted)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		alerted = wasAlerted == 1
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err = tx.Exec(ctx, `INSERT INTO probe_agents (location, last_seen, status, since, alerted) VALUES (?, ?, 'up', ?, 0)`,
				location, now.UnixMilli(), now.UnixMilli())
		case status != StatusUp:
			_, err = tx.Exec(ctx, `UPDATE probe_agents SET last_seen = ?, status = 'up', since = ? WHERE location = ?`, now.UnixMilli(), now.UnixMilli(), location)
		default:
			_, err = tx.Exec(ctx, `UPDATE probe_agents SET last_seen = ? WHERE location = ?`, now.UnixMilli(), location)
		}
		if err != nil {
			return err
		}
		// Contacts between two pushes are not written, so the deadline allows for them.
		return m.timers.Set(ctx, tx, timerAgentLate, location, now.Add(grace+grace/4), "")
	})
	if err != nil {
		return err
	}
	m.agentsMu.Lock()
	m.agents[location] = now
	m.agentsMu.Unlock()
	if alerted {
		if err := m.submitAgent(ctx, cfg, ag, alert.Resolve, now, now); err != nil {
			return err
		}
		_, err = m.db.Exec(ctx, `UPDATE probe_agents SET alerted = 0 WHERE location = ?`, location)
	}
	return err
}

// agentLate runs when an agent's deadline passes. It is idempotent: a contact since moved the
// timer, and a second run finds the alert sent.
func (m *Monitors) agentLate(ctx context.Context, t timers.Timer) error {
	cfg := m.live.Get()
	ag, ok := cfg.Agent(t.Key)
	if !ok {
		return nil // no longer named by the config
	}
	var lastSeen int64
	var alerted int
	err := m.db.QueryRow(ctx, `SELECT last_seen, alerted FROM probe_agents WHERE location = ?`, t.Key).Scan(&lastSeen, &alerted)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	now := m.clock.Now().Truncate(time.Millisecond)
	last := time.UnixMilli(lastSeen).UTC()
	grace := ag.Grace.D()
	if now.Sub(last) < grace {
		return nil // heard from since; its new deadline is set
	}
	if from := m.started; from.After(last) && now.Sub(from) < grace {
		// This node started less than a grace ago: the agent was silent while nines was not
		// running, and agents retry all along, so its silence counts from the start. Should it
		// not call by then, the deadline passes a grace (and a quarter) after the start.
		return m.db.Tx(ctx, func(tx *store.Tx) error {
			return m.timers.Set(ctx, tx, timerAgentLate, t.Key, from.Add(grace+grace/4), "")
		})
	}
	// The status moves first, so whoever the page reaches sees it; a failed submission is
	// retried with the timer, as alerted is still 0.
	if _, err := m.db.Exec(ctx, `UPDATE probe_agents SET status = 'down', since = CASE WHEN status = 'down' THEN since ELSE ? END WHERE location = ?`,
		now.UnixMilli(), t.Key); err != nil {
		return err
	}
	if alerted == 0 {
		if err := m.submitAgent(ctx, cfg, ag, alert.Trigger, last, now); err != nil {
			return err
		}
		if _, err = m.db.Exec(ctx, `UPDATE probe_agents SET alerted = 1 WHERE location = ?`, t.Key); err != nil {
			return err
		}
		// A contact that arrived while the page went out found nothing to resolve yet: the
		// agent is up again, so its alert resolves now.
		var status string
		if err = m.db.QueryRow(ctx, `SELECT status FROM probe_agents WHERE location = ?`, t.Key).Scan(&status); err != nil {
			return err
		}
		if status == StatusUp {
			if err := m.submitAgent(ctx, cfg, ag, alert.Resolve, now, m.clock.Now()); err != nil {
				return err
			}
			_, err = m.db.Exec(ctx, `UPDATE probe_agents SET alerted = 0 WHERE location = ? AND status = 'up'`, t.Key)
		}
	}
	if err == nil {
		for _, id := range agentMonitors(cfg, t.Key) {
			m.changed(id)
		}
	}
	return err
}

func (m *Monitors) submitAgent(ctx context.Context, cfg *config.Config, ag config.ProbeAgent, action alert.Action, last, now time.Time) error {
	svc := cfg.Service(ag.Service)
	if svc == nil {
		return nil
	}
	mons := agentMonitors(cfg, ag.Location)
	t := alert.Target{ServiceID: svc.ID, Integration: Integration, Grouping: svc.IncidentGrouping, Urgency: svc.Urgency}
	details, _ := json.Marshal(map[string]any{"location": ag.Location, "last_seen_at": last, "grace": ag.Grace.D().String(), "monitors": mons})
	ev := alert.Event{Action: action, DedupKey: AgentDedupKey(ag.Location), Source: "nines agent " + ag.Location, Severity: "critical",
		Component: "agent " + ag.Location, Class: "agent", Details: details, Timestamp: now}
	if action == alert.Trigger {
		ev.Summary = fmt.Sprintf("Probe agent %s stopped reporting: last heard %s, more than %s ago; its monitors (%s) are unknown from there",
			ag.Location, last.Format(time.RFC3339), ag.Grace.D(), strings.Join(mons, ", "))
	} else {
		ev.Summary = "Probe agent " + ag.Location + " is reporting again"
	}
	_, err := m.alerts.Submit(ctx, t, []alert.Event{ev})
	return err
}

// agentMonitors lists the probe monitors that run from a location.
func agentMonitors(cfg *config.Config, location string) []string {
	out := []string{}
	for _, mon := range cfg.Monitors {
		if mon.Type != config.MonitorHeartbeat && contains(mon.Locations, location) {
			out = append(out, mon.ID)
		}
	}
	return out
}

// Agents lists every remote location the config names or that has reported, with its status
// and how long ago it was last heard from.
func (m *Monitors) Agents(ctx context.Context) ([]AgentView, error) {
	cfg := m.live.Get()
	rows, err := m.db.Query(ctx, `SELECT location, last_seen, status, since FROM probe_agents`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	stored := map[string]AgentView{}
	for rows.Next() {
		var a AgentView
		var last, since int64
		if err := rows.Scan(&a.Location, &last, &a.Status, &since); err != nil {
			return nil, err
		}
		l, s := time.UnixMilli(last).UTC(), time.UnixMilli(since).UTC()
		a.LastSeenAt, a.Since = &l, &s
		stored[a.Location] = a
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	now := m.clock.Now()
	out := []AgentView{}
	for _, loc := range cfg.AgentLocations() {
		a, ok := stored[loc]
		if !ok {
			a = AgentView{Location: loc, Status: StatusPending}
		}
		if a.LastSeenAt != nil {
			age := now.Sub(*a.LastSeenAt).Seconds()
			a.AgeSeconds = &age
		}
		if ag, ok := cfg.Agent(loc); ok {
			a.ServiceID, a.GraceS = ag.Service, ag.Grace.D().Seconds()
		}
		a.Monitors = agentMonitors(cfg, loc)
		out = append(out, a)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Location < out[j].Location })
	return out, nil
}
