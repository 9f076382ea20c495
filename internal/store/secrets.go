package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
)

// OwnSchema is the schema of the store itself: named secrets shared by every node (link-signing and CSRF keys).
var OwnSchema = Schema{Component: "store", Migrations: []string{`
CREATE TABLE secrets (
	name TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
`}}

// Secret returns the named 32-byte secret, creating it on first use. Every node of a cluster
// reads the same value, so a link signed by one node is accepted by all.
func (db *DB) Secret(ctx context.Context, name string) ([]byte, error) {
	var v string
	err := db.QueryRow(ctx, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		var b [32]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		if _, err := db.Exec(ctx, `INSERT INTO secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, name, hex.EncodeToString(b[:])); err != nil {
			return nil, err
		}
		err = db.write.QueryRowContext(ctx, db.Q(`SELECT value FROM secrets WHERE name = ?`), name).Scan(&v)
	}
	if err != nil {
		return nil, err
	}
	return hex.DecodeString(v)
}
