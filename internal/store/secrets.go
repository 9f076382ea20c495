package store

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// OwnSchema is the schema of the store itself: named secrets shared by every node (link-signing
// and CSRF keys) and the installation id, and the row each node writes to check that the
// database takes writes.
var OwnSchema = Schema{Component: "store", Migrations: []string{`
CREATE TABLE secrets (
	name TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
`, healthMigration}}

// The keys nines signs with (links in pages, calendar feeds, subscriber links, CSRF tokens)
// are derived from two halves: a random value per name kept in the database, and a key kept
// outside it (a key file, or NINES_KEY). A copy of the database alone (a backup, a dump
// handed to someone) forges nothing; the key alone opens nothing either, and one key may serve
// several databases without their secrets being the same.

// KeyFileName is the key file nines keeps beside an SQLite database.
const KeyFileName = "nines.key"

// minKeyLen is the least key material accepted: 32 bytes, as `openssl rand -hex 32` gives 64.
const minKeyLen = 32

// ErrNoKey is returned by Secret when the database was opened without a key.
var ErrNoKey = errors.New("nines needs a key kept outside the database to sign links and forms: " +
	"set NINES_KEY or --key-file (with PostgreSQL, give every node the same one; create it with `openssl rand -hex 32`)")

// ReadKey reads a key file: at least 32 bytes of text (64 hex characters as nines writes
// them); whitespace around it is ignored.
func ReadKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	return ParseKey(path, b)
}

// ParseKey checks key material read from where names (a file, or the NINES_KEY variable).
func ParseKey(where string, b []byte) ([]byte, error) {
	k := bytes.TrimSpace(b)
	if len(k) < minKeyLen {
		return nil, fmt.Errorf("key %s: %d bytes; want at least %d (create one with `openssl rand -hex 32`)", where, len(k), minKeyLen)
	}
	return k, nil
}

// loadOrCreateKey reads the key file at path, creating it (mode 0600) with a new random key
// when it does not exist. created says whether it did.
func loadOrCreateKey(path string) (key []byte, created bool, err error) {
	key, err = ReadKey(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, false, err
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, false, err
	}
	text := []byte(hex.EncodeToString(b[:]) + "\n")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		// Another process made it first: use theirs.
		key, err = ReadKey(path)
		return key, false, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("key file: %w", err)
	}
	_, err = f.Write(text)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		os.Remove(path)
		return nil, false, fmt.Errorf("key file: %w", err)
	}
	return bytes.TrimSpace(text), true, nil
}

// KeyCreated reports whether Open made a new key file for this database (the first start on
// SQLite, or a key file lost).
func (db *DB) KeyCreated() bool { return db.keyCreated }

// KeyPath is the key file in use, "" when the key came from elsewhere (NINES_KEY).
func (db *DB) KeyPath() string { return db.keyPath }

// CheckKey returns ErrNoKey when the database was opened without a key, so a server can
// refuse to start rather than fail at its first signed link.
func (db *DB) CheckKey() error {
	if db.key == nil {
		return ErrNoKey
	}
	return nil
}

// Secret returns the named 32-byte secret: an HMAC, under the key held outside the database, of
// a random value kept in it (created on first use). Every node of a cluster with the same key
// reads the same value, so a link signed by one node is accepted by all.
func (db *DB) Secret(ctx context.Context, name string) ([]byte, error) {
	if db.key == nil {
		return nil, ErrNoKey
	}
	v, err := db.random(ctx, name)
	if err != nil {
		return nil, err
	}
	stored, err := hex.DecodeString(v)
	if err != nil {
		return nil, fmt.Errorf("secret %q: %w", name, err)
	}
	m := hmac.New(sha256.New, db.key)
	m.Write([]byte("nines secret\x00" + name + "\x00"))
	m.Write(stored)
	return m.Sum(nil), nil
}

// ErrForged is returned by Verify for a token Sign did not make under that secret.
var ErrForged = errors.New("not signed by this nines")

// Sign makes an opaque token of value that nines can later trust it made (a pagination
// cursor): value and an HMAC of it under the named secret, both base64url, joined by '.'.
func (db *DB) Sign(ctx context.Context, name string, value []byte) (string, error) {
	key, err := db.Secret(ctx, name)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(value) + "." + base64.RawURLEncoding.EncodeToString(tokenMAC(key, value)), nil
}

// DecodeTokenPart reads one part of a signed token: base64url without padding, spelt the one
// way nines writes it. Go's decoder skips line breaks, and without Strict takes other
// spellings of the same bytes; a token must be exactly what was signed, so anything else is
// refused.
func DecodeTokenPart(s string) ([]byte, error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, err
	}
	if base64.RawURLEncoding.EncodeToString(b) != s {
		return nil, ErrForged
	}
	return b, nil
}

// Verify returns the value of a token Sign made under the named secret; a token changed in
// any byte, or made under another secret, is ErrForged.
func (db *DB) Verify(ctx context.Context, name, token string) ([]byte, error) {
	enc, sig, ok := strings.Cut(token, ".")
	value, err1 := DecodeTokenPart(enc)
	mac, err2 := DecodeTokenPart(sig)
	if !ok || err1 != nil || err2 != nil || len(mac) != tokenMACLen {
		return nil, ErrForged
	}
	key, err := db.Secret(ctx, name)
	if err != nil {
		return nil, err
	}
	if !hmac.Equal(mac, tokenMAC(key, value)) {
		return nil, ErrForged
	}
	return value, nil
}

// tokenMACLen is the length of a token's MAC: 128 bits, out of reach of guessing.
const tokenMACLen = 16

func tokenMAC(key, value []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(value)
	return m.Sum(nil)[:tokenMACLen]
}

// random returns the random value (64 hex digits) stored under name, made on first use;
// every node reads the same one.
func (db *DB) random(ctx context.Context, name string) (string, error) {
	var v string
	err := db.QueryRow(ctx, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		var b [32]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", err
		}
		if _, err := db.Exec(ctx, `INSERT INTO secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, name, hex.EncodeToString(b[:])); err != nil {
			return "", err
		}
		err = db.write.QueryRowContext(ctx, db.Q(`SELECT value FROM secrets WHERE name = ?`), name).Scan(&v)
	}
	return v, err
}

// installName is the stored value the installation id is read from: not a secret (it is in
// every message nines sends), and never rotated.
const installName = "installation id"

// InstallID names this installation of nines: 16 hex digits, random, made once in the
// database and the same on every node that shares it. Ids nines sends out (Message-IDs,
// idempotency keys) carry it, so that two installations paging one mailbox never send the
// same id. A backup restored keeps it (and the ids of what it had sent).
func (db *DB) InstallID(ctx context.Context) (string, error) {
	db.installMu.Lock()
	defer db.installMu.Unlock()
	if db.installID == "" {
		v, err := db.random(ctx, installName)
		if err != nil {
			return "", fmt.Errorf("installation id: %w", err)
		}
		if len(v) < 16 {
			return "", fmt.Errorf("installation id: stored value %q is too short", v)
		}
		db.installID = v[:16]
	}
	return db.installID, nil
}

// RotateSecret replaces the named secret's stored half with a new random value, so everything
// signed with the secret before stops verifying.
func (db *DB) RotateSecret(ctx context.Context, name string) error {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return err
	}
	_, err := db.Exec(ctx, `INSERT INTO secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value`,
		name, hex.EncodeToString(b[:]))
	return err
}
