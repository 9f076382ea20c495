package alert

import "github.com/nines-dev/nines/internal/store"

// Schema holds the alerts table. An alert is open while its state is not resolved; at most one
// alert per (service, dedup key) is open at a time, which the partial unique index enforces even
// across nodes. Migration 2 adds actionable: NULL until a responder says, 0 for an alert marked
// not actionable (noise), 1 for one marked actionable.
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
`}}
