package statuspage

import (
	"context"

	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/store"
)

// syncComponents records when each component of the config first appeared on its page. A
// component's history starts there: the days before it show "no data", and its uptime counts
// only the time since, so a component added a minute ago is not shown with months of green.
func (s *Service) syncComponents(ctx context.Context, c *config.Config) error {
	now := s.clock.Now().UnixMilli()
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		for _, p := range c.StatusPages {
			for _, cc := range p.Components {
				if _, err := tx.Exec(ctx, `INSERT INTO sp_components (page_id, component_id, created_at) VALUES (?, ?, ?)
					ON CONFLICT (page_id, component_id) DO NOTHING`, p.ID, cc.ID, now); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// componentsSince returns when each component of a page first appeared on it.
func (s *Service) componentsSince(ctx context.Context, pageID string) (map[string]int64, error) {
	rows, err := s.db.Query(ctx, `SELECT component_id, created_at FROM sp_components WHERE page_id = ?`, pageID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var id string
		var at int64
		if err := rows.Scan(&id, &at); err != nil {
			return nil, err
		}
		out[id] = at
	}
	return out, rows.Err()
}
