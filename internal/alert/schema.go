package alert

import "github.com/nines-dev/nines/internal/store"

// Schema holds the alerts table. An alert is open while its state is not resolved; at most one
// alert per (service, dedup key) is open at a time, which the partial unique index enforces even
// across nodes. Migration 2 adds actionable: NULL until a responder says, 0 for an alert marked
// not actionable (noise), 1 for one marked actionable. Migration 3 adds what inhibit rules
// need: an alert's labels (a JSON object), inhibited_by (the open alert that keeps it from
// paging, NULL when none) and inhibited_incidents (incidents opened by an inhibited alert that
// have paged nobody yet). Migration 4 drops alerts_key, which only repeated the open-key index
// for open alerts and cost every new alert a second index entry keyed by its dedup key, and adds
// the alert's current burst of repeats: burst_entry, its alert.repeated timeline entry (NULL
// before the first repeat), and burst_count, the repeats it counts so far. A repeat within the
// burst changes only the alert's row; the entry is brought up to date when the next burst
// starts, and completed from the row when the timeline is read meanwhile.
var Schema = store.Schema{Component: "alert", Migrations: []string{`
CREATE TABLE alerts (
	id {{id}},
	incident_id BIGINT NOT NULL REFERENCES incidents (id),
	service_id TEXT NOT NULL,
	dedup_key TEXT NOT NULL,
	state TEXT NOT NULL,
	severity TEXT NOT NULL,
	summary TEXT NOT NULL,
	source TEXT NOT NULL,
	integration TEXT NOT NULL,
	count INTEGER NOT NULL,
	first_seen BIGINT NOT NULL,
	last_seen BIGINT NOT NULL,
	acknowledged_at BIGINT,
	resolved_at BIGINT,
	details TEXT NOT NULL
);
CREATE UNIQUE INDEX alerts_open_key ON alerts (service_id, dedup_key) WHERE state <> 'resolved';
CREATE INDEX alerts_incident ON alerts (incident_id);
CREATE INDEX alerts_key ON alerts (service_id, dedup_key, id);
`, `
ALTER TABLE alerts ADD COLUMN actionable INTEGER;
CREATE INDEX alerts_first_seen ON alerts (first_seen);
`, `
ALTER TABLE alerts ADD COLUMN labels TEXT NOT NULL DEFAULT '{}';
ALTER TABLE alerts ADD COLUMN inhibited_by BIGINT;
CREATE INDEX alerts_inhibited_by ON alerts (inhibited_by) WHERE inhibited_by IS NOT NULL;
CREATE TABLE inhibited_incidents (
	incident_id BIGINT PRIMARY KEY REFERENCES incidents (id),
	since BIGINT NOT NULL
);
`, `
DROP INDEX alerts_key;
ALTER TABLE alerts ADD COLUMN burst_entry BIGINT;
ALTER TABLE alerts ADD COLUMN burst_count INTEGER NOT NULL DEFAULT 0;
`}}
