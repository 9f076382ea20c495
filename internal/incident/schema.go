package incident

import "github.com/nines-dev/nines/internal/store"

// Schema holds the incident tables. Times are UTC unix milliseconds. Migration 2 adds what
// incident response needs: the SEV level, impact start, roles and who declared it; migration 3
// when a whole round of the escalation policy reached nobody. Migration 4 drops timeline_type:
// every query that picks events by type does so within one incident, which timeline_incident
// leads with, and an alert storm paid an entry in it for every event.
var Schema = store.Schema{Component: "incident", Migrations: []string{`
CREATE TABLE incidents (
	id {{id}},
	service_id TEXT NOT NULL,
	state TEXT NOT NULL,
	severity TEXT NOT NULL,
	urgency TEXT NOT NULL,
	title TEXT NOT NULL,
	alert_count INTEGER NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	acknowledged_at BIGINT,
	resolved_at BIGINT
);
CREATE INDEX incidents_service ON incidents (service_id, id);
CREATE INDEX incidents_open ON incidents (state, service_id) ;
CREATE TABLE timeline (
	id {{id}},
	incident_id BIGINT NOT NULL REFERENCES incidents (id),
	at BIGINT NOT NULL,
	type TEXT NOT NULL,
	actor TEXT NOT NULL,
	source TEXT NOT NULL,
	data TEXT NOT NULL
);
CREATE INDEX timeline_incident ON timeline (incident_id, at, id);
`, `
ALTER TABLE incidents ADD COLUMN sev TEXT NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN sev_manual INTEGER NOT NULL DEFAULT 0;
ALTER TABLE incidents ADD COLUMN impact_started_at BIGINT;
ALTER TABLE incidents ADD COLUMN roles TEXT NOT NULL DEFAULT '{}';
ALTER TABLE incidents ADD COLUMN declared_by TEXT NOT NULL DEFAULT '';
UPDATE incidents SET sev = CASE severity WHEN 'critical' THEN 'SEV1' WHEN 'error' THEN 'SEV2' WHEN 'warning' THEN 'SEV3' WHEN 'info' THEN 'SEV4' ELSE 'SEV5' END;
CREATE INDEX incidents_created ON incidents (created_at);
CREATE INDEX timeline_type ON timeline (type, incident_id);
`, `
ALTER TABLE incidents ADD COLUMN reached_nobody_at BIGINT;
`, `
DROP INDEX timeline_type;
`}}
