package probe

import "github.com/nines-dev/nines/internal/store"

// Schema holds probe results, their rollups, each monitor's state, heartbeat pings (with the
// run id that pairs a start with its finish), each remote agent's last contact, and the pauses
// of monitors made at run time (monitor_pauses: open while resumed_at is 0).
//
// probe_results keeps each check for a short window only. probe_rollups keeps one row per
// monitor per hour (res 60: sixty one-minute slots) and, after the minute retention, one row per
// monitor per day (res 3600: twenty-four one-hour slots); each row also carries its totals and a
// merged latency sketch, so long ranges read one row per hour or day. Its size is monitors x
// retention, never the install's age. The (res, start) index serves reads across every monitor
// (the list's last 24 hours) and compaction.
var Schema = store.Schema{Component: "probe", Migrations: []string{`
CREATE TABLE probe_results (
	id {{id}},
	monitor_id TEXT NOT NULL,
	location TEXT NOT NULL,
	at BIGINT NOT NULL,
	ok INTEGER NOT NULL,
	latency_us BIGINT NOT NULL,
	cause TEXT NOT NULL,
	message TEXT NOT NULL
);
CREATE INDEX probe_results_monitor ON probe_results (monitor_id, at);
CREATE INDEX probe_results_at ON probe_results (at);
CREATE TABLE probe_rollups (
	monitor_id TEXT NOT NULL,
	res INTEGER NOT NULL,
	start BIGINT NOT NULL,
	total INTEGER NOT NULL,
	failed INTEGER NOT NULL,
	sketch {{blob}} NOT NULL,
	slots {{blob}} NOT NULL,
	PRIMARY KEY (monitor_id, res, start)
);
CREATE INDEX probe_rollups_time ON probe_rollups (res, start);
CREATE TABLE monitor_states (
	monitor_id TEXT PRIMARY KEY,
	status TEXT NOT NULL,
	since BIGINT NOT NULL,
	alerted INTEGER NOT NULL,
	cause TEXT NOT NULL,
	message TEXT NOT NULL,
	last_checked_at BIGINT NOT NULL,
	locations TEXT NOT NULL
);
CREATE TABLE heartbeat_pings (
	id {{id}},
	monitor_id TEXT NOT NULL,
	at BIGINT NOT NULL,
	kind TEXT NOT NULL,
	exit_code INTEGER NOT NULL,
	duration_ms BIGINT NOT NULL,
	body TEXT NOT NULL,
	remote TEXT NOT NULL
);
CREATE INDEX heartbeat_pings_monitor ON heartbeat_pings (monitor_id, id);
CREATE TABLE probe_lease (
	name TEXT PRIMARY KEY,
	holder TEXT NOT NULL,
	until_at BIGINT NOT NULL
);
CREATE TABLE probe_inbox (
	id {{id}},
	result TEXT NOT NULL
);
`, `
ALTER TABLE heartbeat_pings ADD COLUMN rid TEXT NOT NULL DEFAULT '';
CREATE TABLE probe_agents (
	location TEXT PRIMARY KEY,
	last_seen BIGINT NOT NULL,
	status TEXT NOT NULL,
	since BIGINT NOT NULL,
	alerted INTEGER NOT NULL
);
`, `
CREATE TABLE monitor_pauses (
	id {{id}},
	monitor_id TEXT NOT NULL,
	paused_at BIGINT NOT NULL,
	paused_by TEXT NOT NULL,
	until_at BIGINT NOT NULL,
	resumed_at BIGINT NOT NULL,
	resumed_by TEXT NOT NULL
);
CREATE INDEX monitor_pauses_monitor ON monitor_pauses (monitor_id, resumed_at);
`}}
