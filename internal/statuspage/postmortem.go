package statuspage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/store"
)

// StatusPostmortem is the update status of a published post-incident report, and the status of
// a public incident once it has one, as Statuspage names them.
const StatusPostmortem = "postmortem"

// Report is a post-incident report written for the public.
type Report struct {
	IncidentID   int64
	ServiceID    string
	Title        string
	Summary      string
	Affected     string
	WhatHappened string
	Prevention   string
	StartedAt    time.Time
	EndedAt      time.Time
	Actor        incident.Actor
}

// ErrNoPage is returned when no status page shows the service a report is about.
var ErrNoPage = errors.New("no status page shows this service")

// text is the report as a page in zone loc prints it: four sections, plain text.
func (r Report) text(v *View) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Summary\n%s\n\n", strings.TrimSpace(r.Summary))
	fmt.Fprintf(&b, "Who was affected\n")
	if a := strings.TrimSpace(r.Affected); a != "" {
		fmt.Fprintf(&b, "%s\n", a)
	}
	fmt.Fprintf(&b, "From %s to %s (%s).\n\n", v.Time(r.StartedAt), v.Time(r.EndedAt), spokenDuration(r.EndedAt.Sub(r.StartedAt)))
	fmt.Fprintf(&b, "What happened\n%s\n\n", strings.TrimSpace(r.WhatHappened))
	fmt.Fprintf(&b, "What we are doing so it does not happen again\n%s", strings.TrimSpace(r.Prevention))
	return b.String()
}

// PublishPostmortem puts a post-incident report on every page that shows the report's
// service, as the "postmortem" update of the incident's public incident there (opened, and
// resolved at the impact's end, where the public never heard of it). Subscribers are mailed
// it once; publishing again corrects the report in place. It returns the pages.
func (s *Service) PublishPostmortem(ctx context.Context, r Report) ([]string, error) {
	pages := s.PagesFor(r.ServiceID)
	if len(pages) == 0 {
		return nil, fmt.Errorf("service %s: %w", r.ServiceID, ErrNoPage)
	}
	inc, err := s.incidents.Get(ctx, r.IncidentID)
	if err != nil {
		return nil, err
	}
	titles, err := s.publicTitles(ctx, pages, inc.ID, strings.TrimSpace(r.Title))
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, p := range pages {
		r.Title = titles[p.ID]
		if err := s.publishOn(ctx, p, inc, r); err != nil {
			return ids, fmt.Errorf("status page %s: %w", p.ID, err)
		}
		ids = append(ids, p.ID)
	}
	return ids, nil
}

// publicTitles names the report on each page by the public's words, never the incident's
// internal title: the name its public updates used on that page; where the public never heard
// of it, the title written for customers, else the name the public knows it by on another page,
// so one incident has one name. With none of those it asks for a title, before anything is
// published.
func (s *Service) publicTitles(ctx context.Context, pages []*config.StatusPage, incidentID int64, given string) (map[string]string, error) {
	known := map[string]string{}
	rows, err := s.db.Query(ctx, `SELECT page_id, name FROM sp_incidents WHERE incident_id = ? AND kind = ? ORDER BY id`, incidentID, KindIncident)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	elsewhere := ""
	for rows.Next() {
		var page, name string
		if err := rows.Scan(&page, &name); err != nil {
			return nil, err
		}
		known[page] = name
		if elsewhere == "" {
			elsewhere = name
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	fallback := given
	if fallback == "" {
		fallback = elsewhere
	}
	out := map[string]string{}
	var unnamed []string
	for _, p := range pages {
		switch {
		case known[p.ID] != "":
			out[p.ID] = known[p.ID]
		case fallback != "":
			out[p.ID] = fallback
		default:
			unnamed = append(unnamed, p.ID)
		}
	}
	if len(unnamed) > 0 {
		return nil, invalid.Field("customer_title", "the public never heard of incident %d on status page %s; write the title customers will see (the internal title is never published)",
			incidentID, strings.Join(unnamed, ", "))
	}
	return out, nil
}

func (s *Service) publishOn(ctx context.Context, p *config.StatusPage, inc incident.Incident, r Report) error {
	var comps []string
	for _, c := range p.Components {
		if c.Service == inc.ServiceID {
			comps = append(comps, c.ID)
		}
	}
	before, err := s.view(ctx, p)
	if err != nil {
		return err
	}
	body := r.text(before)
	now := s.clock.Now().Truncate(time.Millisecond)
	var updID int64
	created := false
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		var pubID int64
		err := tx.QueryRow(ctx, `SELECT id FROM sp_incidents WHERE page_id = ? AND incident_id = ? AND kind = ? ORDER BY id DESC LIMIT 1`,
			p.ID, inc.ID, KindIncident).Scan(&pubID)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			pubID, err = tx.InsertID(ctx, `INSERT INTO sp_incidents (page_id, kind, incident_id, name, status, impact, components, created_at, updated_at, resolved_at, started_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, p.ID, KindIncident, inc.ID, r.Title, StatusPostmortem, impactOf(inc.Severity), strings.Join(comps, ","),
				now.UnixMilli(), now.UnixMilli(), r.EndedAt.UnixMilli(), r.StartedAt.UnixMilli())
			if err != nil {
				return err
			}
		case err != nil:
			return err
		default:
			// The public incident stays resolved when it was, and is resolved at the impact's
			// end if its last update left it open.
			if _, err := tx.Exec(ctx, `UPDATE sp_incidents SET status = ?, updated_at = ?, resolved_at = COALESCE(resolved_at, ?) WHERE id = ?`,
				StatusPostmortem, now.UnixMilli(), r.EndedAt.UnixMilli(), pubID); err != nil {
				return err
			}
		}
		err = tx.QueryRow(ctx, `SELECT id FROM sp_updates WHERE sp_incident_id = ? AND status = ? AND retracted_at IS NULL ORDER BY id DESC LIMIT 1`,
			pubID, StatusPostmortem).Scan(&updID)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			created = true
			updID, err = tx.InsertID(ctx, `INSERT INTO sp_updates (sp_incident_id, status, body, actor, created_at) VALUES (?, ?, ?, ?, ?)`,
				pubID, StatusPostmortem, body, r.Actor.Name, now.UnixMilli())
			if err != nil {
				return err
			}
			if s.runner != nil && s.mailer != nil {
				if err := s.runner.Set(ctx, tx, notifyTimer, fmt.Sprint(updID), now, fmt.Sprint(updID)); err != nil {
					return err
				}
			}
		case err != nil:
			return err
		default:
			if _, err := tx.Exec(ctx, `UPDATE sp_updates SET body = ?, edited_at = ? WHERE id = ?`, body, now.UnixMilli(), updID); err != nil {
				return err
			}
		}
		if err := s.incidents.Append(ctx, tx, inc.ID, EventStatusUpdate, now, r.Actor, map[string]any{
			"page": p.ID, "status": StatusPostmortem, "body": body, "public_incident": pubID, "corrected": !created}); err != nil {
			return err
		}
		tx.AfterCommit(s.Invalidate)
		return nil
	})
	if err != nil || !created {
		return err
	}
	return s.recordAffected(ctx, p, before, comps, updID)
}
