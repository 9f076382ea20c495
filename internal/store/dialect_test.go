package store

import "testing"

func TestStatementsMarkedForOneDialectRunOnlyThere(t *testing.T) {
	cases := []struct {
		name, stmt string
		d          Dialect
		want       string
		runs       bool
	}{
		{"an unmarked statement runs on SQLite", "CREATE TABLE a (x INT)", SQLite, "CREATE TABLE a (x INT)", true},
		{"an unmarked statement runs on PostgreSQL", "CREATE TABLE a (x INT)", Postgres, "CREATE TABLE a (x INT)", true},
		{"a SQLite statement runs on SQLite without its mark", "{{sqlite}}CREATE VIRTUAL TABLE f USING fts5(t)", SQLite, "CREATE VIRTUAL TABLE f USING fts5(t)", true},
		{"a SQLite statement is skipped on PostgreSQL", "{{sqlite}}CREATE VIRTUAL TABLE f USING fts5(t)", Postgres, "", false},
		{"a PostgreSQL statement is skipped on SQLite", "{{postgres}} CREATE INDEX i ON a USING GIN (x)", SQLite, "", false},
		{"a PostgreSQL statement runs on PostgreSQL", "{{postgres}} CREATE INDEX i ON a USING GIN (x)", Postgres, "CREATE INDEX i ON a USING GIN (x)", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, runs := forDialect(c.stmt, c.d)
			if runs != c.runs || (runs && got != c.want) {
				t.Errorf("forDialect(%q) = %q, %v; want %q, %v", c.stmt, got, runs, c.want, c.runs)
			}
		})
	}
}
