package postmortem

import "github.com/nines-dev/nines/internal/store"

// Schema holds postmortems, their action items and the search index over incidents, notes and
// postmortems. Times are UTC unix milliseconds; due dates are civil dates (YYYY-MM-DD) in the
// configured time zone, since "due Friday" means Friday where the team works. action_reminders
// is the idempotency record of reminders sent through contact methods. Migration 3 drops
// search_docs_incident, which no query used and every new incident paid an entry in.
var Schema = store.Schema{Component: "postmortem", Migrations: []string{`
CREATE TABLE postmortems (
	incident_id BIGINT PRIMARY KEY REFERENCES incidents (id),
	doc TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	created_by TEXT NOT NULL,
	updated_by TEXT NOT NULL
);
CREATE TABLE action_items (
	id {{id}},
	incident_id BIGINT NOT NULL REFERENCES incidents (id),
	service_id TEXT NOT NULL,
	team TEXT NOT NULL,
	title TEXT NOT NULL,
	owner TEXT NOT NULL,
	kind TEXT NOT NULL,
	state TEXT NOT NULL,
	due TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	created_by TEXT NOT NULL,
	done_at BIGINT
);
CREATE INDEX action_items_incident ON action_items (incident_id, id);
CREATE INDEX action_items_open ON action_items (state, team, due);
CREATE TABLE search_docs (
	id {{id}},
	kind TEXT NOT NULL,
	ref_id BIGINT NOT NULL,
	incident_id BIGINT NOT NULL,
	service_id TEXT NOT NULL,
	title TEXT NOT NULL,
	body TEXT NOT NULL,
	at BIGINT NOT NULL
);
CREATE INDEX search_docs_ref ON search_docs (kind, ref_id);
CREATE INDEX search_docs_incident ON search_docs (incident_id);
{{sqlite}}CREATE VIRTUAL TABLE search_fts USING fts5(title, body, tokenize = 'porter unicode61');
{{postgres}}CREATE INDEX search_docs_fts ON search_docs USING GIN (to_tsvector('english', title || ' ' || body));
`, `
CREATE TABLE action_reminders (
	key TEXT PRIMARY KEY,
	action_id BIGINT NOT NULL,
	method TEXT NOT NULL,
	state TEXT NOT NULL,
	at BIGINT NOT NULL
);
CREATE INDEX action_reminders_action ON action_reminders (action_id);
`, `
DROP INDEX search_docs_incident;
`}}
