package statuspage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/store"
)

// Timeline events of corrections to public updates.
const (
	EventUpdateEdited    = "status.update_edited"
	EventUpdateRetracted = "status.update_retracted"
)

// update finds a public update posted about an incident, and its public incident, inside tx.
func (s *Service) update(ctx context.Context, tx *store.Tx, incidentID, updateID int64) (pubID int64, body string, err error) {
	err = tx.QueryRow(ctx, `SELECT u.sp_incident_id, u.body FROM sp_updates u JOIN sp_incidents i ON i.id = u.sp_incident_id
		WHERE u.id = ? AND i.incident_id = ? AND u.retracted_at IS NULL`, updateID, incidentID).Scan(&pubID, &body)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", fmt.Errorf("public update %d of incident %d: %w", updateID, incidentID, ErrNotFound)
	}
	return pubID, body, err
}

// EditUpdate corrects a public update's text, and with a name, its public incident's title.
// The page marks the update edited; subscribers already mailed it are not mailed again. The
// old and the new text go on the incident's timeline.
func (s *Service) EditUpdate(ctx context.Context, incidentID, updateID int64, body, name string, a incident.Actor) (PublicIncident, error) {
	body, name = strings.TrimSpace(body), strings.TrimSpace(name)
	switch {
	case body == "" && name == "":
		return PublicIncident{}, invalid.Field("body", "write the corrected text (or name: the corrected title)")
	case len(body) > 16<<10 || len(name) > 256:
		return PublicIncident{}, invalid.Field("", "body is at most 16 KiB and name at most 256 characters")
	}
	now := s.clock.Now().Truncate(time.Millisecond)
	var pubID int64
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		var old string
		var err error
		if pubID, old, err = s.update(ctx, tx, incidentID, updateID); err != nil {
			return err
		}
		data := map[string]any{"update": updateID, "public_incident": pubID}
		if body != "" && body != old {
			if _, err := tx.Exec(ctx, `UPDATE sp_updates SET body = ?, edited_at = ? WHERE id = ?`, body, now.UnixMilli(), updateID); err != nil {
				return err
			}
			data["from"], data["to"] = old, body
		}
		if name != "" {
			if _, err := tx.Exec(ctx, `UPDATE sp_incidents SET name = ? WHERE id = ?`, name, pubID); err != nil {
				return err
			}
			data["name"] = name
		}
		if _, err := tx.Exec(ctx, `UPDATE sp_incidents SET updated_at = ? WHERE id = ?`, now.UnixMilli(), pubID); err != nil {
			return err
		}
		tx.AfterCommit(s.Invalidate)
		return s.incidents.Append(ctx, tx, incidentID, EventUpdateEdited, now, a, data)
	})
	if err != nil {
		return PublicIncident{}, err
	}
	return s.PublicIncident(ctx, pubID)
}

// RetractUpdate takes a public update back: it leaves the page, the JSON and the feed, and is
// not mailed if it has not been yet. The public incident's state goes back to that of its
// last remaining update; one left with none is not shown at all. The retraction goes on the
// incident's timeline.
func (s *Service) RetractUpdate(ctx context.Context, incidentID, updateID int64, a incident.Actor) (PublicIncident, error) {
	now := s.clock.Now().Truncate(time.Millisecond)
	var pubID int64
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		var body string
		var err error
		if pubID, body, err = s.update(ctx, tx, incidentID, updateID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE sp_updates SET retracted_at = ? WHERE id = ?`, now.UnixMilli(), updateID); err != nil {
			return err
		}
		var status string
		var at int64
		err = tx.QueryRow(ctx, `SELECT status, created_at FROM sp_updates WHERE sp_incident_id = ? AND retracted_at IS NULL ORDER BY id DESC LIMIT 1`,
			pubID).Scan(&status, &at)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			// Nothing public is left; keep the row for the timeline's sake, shown nowhere.
		case err != nil:
			return err
		default:
			var resolved any
			if status == Resolved || status == StatusPostmortem {
				resolved = at
				if status == StatusPostmortem {
					if err := tx.QueryRow(ctx, `SELECT resolved_at FROM sp_incidents WHERE id = ?`, pubID).Scan(&resolved); err != nil {
						return err
					}
				}
			}
			if _, err := tx.Exec(ctx, `UPDATE sp_incidents SET status = ?, resolved_at = ?, updated_at = ? WHERE id = ?`,
				status, resolved, now.UnixMilli(), pubID); err != nil {
				return err
			}
		}
		tx.AfterCommit(s.Invalidate)
		return s.incidents.Append(ctx, tx, incidentID, EventUpdateRetracted, now, a,
			map[string]any{"update": updateID, "public_incident": pubID, "body": body})
	})
	if err != nil {
		return PublicIncident{}, err
	}
	return s.PublicIncident(ctx, pubID)
}
