// Package configdb keeps the config objects made in the browser or through the API: people, services,
// escalation policies, schedules, teams, monitors, status pages and SLOs held in the database
// beside the YAML files (config.Object). The config in force is the files with these objects
// merged in, checked whole by the config's own checks; a change is checked the same way before
// it is written, is written with its history and its audit entry in one transaction, and is put
// in force at once, on this node and (told by NOTIFY, or found by polling) on every other.
package configdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/store"
)

// Schema holds the objects in force (config_objects), every version any of them had
// (config_history: what was made, changed, deleted, or retired by a file declaring it alike),
// and one serial that every change raises, which nodes compare to know they are behind.
var Schema = store.Schema{Component: "configdb", Migrations: []string{`
CREATE TABLE config_objects (
	kind TEXT NOT NULL,
	id TEXT NOT NULL,
	doc TEXT NOT NULL,
	version BIGINT NOT NULL,
	created_by TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_by TEXT NOT NULL,
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (kind, id)
);
CREATE TABLE config_history (
	seq {{id}},
	kind TEXT NOT NULL,
	id TEXT NOT NULL,
	version BIGINT NOT NULL,
	action TEXT NOT NULL,
	doc TEXT NOT NULL,
	actor TEXT NOT NULL,
	at BIGINT NOT NULL
);
CREATE INDEX config_history_object ON config_history (kind, id, seq);
CREATE TABLE config_serial (
	one INTEGER PRIMARY KEY,
	serial BIGINT NOT NULL
);
INSERT INTO config_serial (one, serial) VALUES (1, 0);
`}}

// notifyChannel carries the news of a change to the other nodes.
const notifyChannel = "nines_config"

// PollInterval is how often a node asks whether another changed the objects, besides being
// told: a NOTIFY missed while a connection was down is caught this late at most.
const PollInterval = 5 * time.Second

// Errors a caller can act on.
var (
	// ErrNotFound: no object of this kind and id is held in the database.
	ErrNotFound = errors.New("config object not found")
	// ErrDeclared: a file declares the object; it is changed there.
	ErrDeclared = errors.New("declared in a config file")
	// ErrExists: an object of this kind and id is already held.
	ErrExists = errors.New("already exists")
	// ErrNoKind: the kind named is not one the database holds.
	ErrNoKind = errors.New("no such kind of config object")
)

// Row is one object the database holds, with who made and last changed it.
type Row struct {
	config.Object
	Version   int64
	CreatedBy string
	CreatedAt time.Time
	UpdatedBy string
	UpdatedAt time.Time
}

// NewKey is an integration key made for a service, shown once: only its hash is kept.
type NewKey struct {
	Integration int    `json:"integration"` // its index in the service's integrations
	Type        string `json:"type"`
	Key         string `json:"key"`
}

// Who is who asks for a change, as the audit log names them.
type Who struct {
	Actor, Remote string
}

// Store is the database's half of the config.
type Store struct {
	db    *store.DB
	live  *config.Live
	clock clock.Clock
	log   *slog.Logger

	// mu orders this node's changes and reloads; serial is the serial of the objects in force.
	mu     sync.Mutex
	serial int64
	// guards refuse deletes, by kind (GuardDelete).
	guards map[string][]DeleteGuard
}

// New returns the store of config objects; Load puts them in force.
func New(db *store.DB, live *config.Live, clk clock.Clock, log *slog.Logger) *Store {
	s := &Store{db: db, live: live, clock: clk, log: log}
	// A file that now declares an object alike retires the database's copy (its history
	// stays): the file wins, and the copy must not stand against a later edit of the file.
	live.Subscribe(func(_, c *config.Config) {
		if r := c.Retired(); len(r) > 0 {
			go s.retire(context.Background(), r)
		}
	})
	return s
}

// Load reads the objects and puts them in force with the files. An object that does not fit
// the files (an id a file now declares otherwise) is the error, naming both places.
func (s *Store) Load(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loadLocked(ctx, true)
}

func (s *Store) loadLocked(ctx context.Context, always bool) error {
	var serial int64
	if err := s.db.QueryRow(ctx, `SELECT serial FROM config_serial WHERE one = 1`).Scan(&serial); err != nil {
		return err
	}
	if !always && serial == s.serial {
		return nil
	}
	rows, err := s.list(ctx, s.db.Query)
	if err != nil {
		return err
	}
	if err := s.live.SetObjects(objectsOf(rows)); err != nil {
		return fmt.Errorf("the config objects held in the database do not fit the config files:\n%w", err)
	}
	s.serial = serial
	return nil
}

// Run keeps this node's objects up to date with the database's until ctx ends: told by the
// other nodes' NOTIFY on PostgreSQL, and by asking every PollInterval.
func (s *Store) Run(ctx context.Context) {
	wake := make(chan struct{}, 1)
	go s.db.Listen(ctx, notifyChannel, func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	})
	t := time.NewTicker(PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-t.C:
		}
		s.mu.Lock()
		err := s.loadLocked(ctx, false)
		s.mu.Unlock()
		if err != nil && ctx.Err() == nil {
			s.log.Error("reading the config objects another node changed failed; the objects in force stay", "err", err)
		}
	}
}

type queryFunc func(ctx context.Context, q string, args ...any) (*sql.Rows, error)

func (s *Store) list(ctx context.Context, query queryFunc) ([]Row, error) {
	rows, err := query(ctx, `SELECT kind, id, doc, version, created_by, created_at, updated_by, updated_at FROM config_objects ORDER BY kind, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Row
	for rows.Next() {
		var r Row
		var doc string
		var created, updated int64
		if err := rows.Scan(&r.Kind, &r.ID, &doc, &r.Version, &r.CreatedBy, &created, &r.UpdatedBy, &updated); err != nil {
			return nil, err
		}
		r.Doc, r.CreatedAt, r.UpdatedAt = []byte(doc), time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}

// List returns the objects the database holds, by kind and id.
func (s *Store) List(ctx context.Context) ([]Row, error) { return s.list(ctx, s.db.Query) }

// Get returns one object the database holds.
func (s *Store) Get(ctx context.Context, kind, id string) (Row, error) {
	rows, err := s.List(ctx)
	if err != nil {
		return Row{}, err
	}
	for _, r := range rows {
		if r.Kind == kind && r.ID == id {
			return r, nil
		}
	}
	return Row{}, fmt.Errorf("%s %q: %w", singular(kind), id, ErrNotFound)
}

func objectsOf(rows []Row) []config.Object {
	out := make([]config.Object, len(rows))
	for i, r := range rows {
		out[i] = r.Object
	}
	return out
}

// CheckKind refuses a kind the database does not hold.
func CheckKind(kind string) error {
	if !config.IsObjectKind(kind) {
		return fmt.Errorf("%q: %w (the kinds are %s)", kind, ErrNoKind, strings.Join(config.ObjectKinds, ", "))
	}
	return nil
}

// declaredAt is where a file declares kind/id, if one does.
func (s *Store) declaredAt(kind, id string) (config.Pos, bool) {
	for _, d := range s.live.Get().Declared() {
		if d.Kind == kind && d.ID == id {
			return d.Pos, true
		}
	}
	return config.Pos{}, false
}

// DeclaredError is a change refused because a file declares the object.
func declaredError(kind, id string, at config.Pos) error {
	return fmt.Errorf("%s %s is %w at %s; change it there and reload", singular(kind), id, ErrDeclared, at)
}

func singular(kind string) string {
	switch kind {
	case "escalation_policies":
		return "escalation policy"
	case "status_pages":
		return "status page"
	case "slos":
		return "SLO"
	case "users":
		return "person"
	}
	return strings.ReplaceAll(strings.TrimSuffix(kind, "s"), "_", " ")
}

// Create makes a new object of kind from doc (YAML or JSON of one item of the section). A
// service's integrations without a key get one made here, returned once; a key given is kept
// only as its hash.
func (s *Store) Create(ctx context.Context, who Who, kind string, doc []byte) (Row, []NewKey, error) {
	if err := CheckKind(kind); err != nil {
		return Row{}, nil, err
	}
	if err := config.CheckObjectDoc(doc); err != nil {
		return Row{}, nil, invalid.Field("body", "%s: %v", singular(kind), err)
	}
	id := config.ObjectID(doc)
	if id == "" {
		return Row{}, nil, invalid.Field("id", "%s: id is required", singular(kind))
	}
	return s.change(ctx, who, kind, id, doc, opCreate, -1)
}

// Update replaces the object kind/id with doc; doc's id, when it has one, must be id.
func (s *Store) Update(ctx context.Context, who Who, kind, id string, doc []byte) (Row, []NewKey, error) {
	if err := CheckKind(kind); err != nil {
		return Row{}, nil, err
	}
	if err := config.CheckObjectDoc(doc); err != nil {
		return Row{}, nil, invalid.Field("body", "%s: %v", singular(kind), err)
	}
	return s.change(ctx, who, kind, id, doc, opUpdate, -1)
}

// Check says what the config's checks would refuse if kind/id had doc, changing nothing: a
// form's problems are named together with those of the fields it could read.
func (s *Store) Check(ctx context.Context, kind, id string, doc []byte) error {
	if err := CheckKind(kind); err != nil {
		return err
	}
	doc, _, err := normalize(kind, id, doc)
	if err != nil {
		return err
	}
	rows, err := s.List(ctx)
	if err != nil {
		return err
	}
	objs := append(others(rows, kind, id), config.Object{Kind: kind, ID: id, Doc: doc})
	if _, err := s.live.Check(objs); err != nil {
		return Refused(err)
	}
	return nil
}

// others are the objects of rows but kind/id: a change's candidate, before the changed one.
func others(rows []Row, kind, id string) []config.Object {
	objs := make([]config.Object, 0, len(rows))
	for _, r := range rows {
		if r.Kind != kind || r.ID != id {
			objs = append(objs, r.Object)
		}
	}
	return objs
}

// CheckDelete says whether removing the object kind/id would leave the config valid, without
// removing it: the config's refusal (a schedule naming the person, say) when it would not.
func (s *Store) CheckDelete(ctx context.Context, kind, id string) error {
	if err := CheckKind(kind); err != nil {
		return err
	}
	if at, ok := s.declaredAt(kind, id); ok {
		return declaredError(kind, id, at)
	}
	rows, err := s.List(ctx)
	if err != nil {
		return err
	}
	objs := others(rows, kind, id)
	if len(objs) == len(rows) {
		return fmt.Errorf("%s %q: %w", singular(kind), id, ErrNotFound)
	}
	if _, err := s.live.Check(objs); err != nil {
		return Refused(err)
	}
	return nil
}

// Delete removes the object kind/id; its history stays.
func (s *Store) Delete(ctx context.Context, who Who, kind, id string) error {
	if err := CheckKind(kind); err != nil {
		return err
	}
	_, _, err := s.change(ctx, who, kind, id, nil, opDelete, -1)
	return err
}

// RotateKey gives the integration at index of service id a new key, returned once; the old
// key stops working at once.
func (s *Store) RotateKey(ctx context.Context, who Who, id string, index int) (Row, NewKey, error) {
	row, keys, err := s.change(ctx, who, "services", id, nil, opRotate, index)
	if err != nil {
		return Row{}, NewKey{}, err
	}
	return row, keys[0], nil
}

type op string

const (
	opCreate op = "created"
	opUpdate op = "updated"
	opDelete op = "deleted"
	opRotate op = "key_rotated"
)

// change is every change's one way: check the kind and the files, build the candidate objects
// from the database's (read in the transaction that writes, after raising the serial, so two
// nodes' changes are checked one after the other), check the whole config, write the object,
// its history and the audit entry, commit, and put the config in force.
func (s *Store) change(ctx context.Context, who Who, kind, id string, doc []byte, o op, index int) (Row, []NewKey, error) {
	if at, ok := s.declaredAt(kind, id); ok {
		if o == opCreate {
			return Row{}, nil, invalid.Field("id", "%s id %q is already declared at %s", singular(kind), id, at)
		}
		return Row{}, nil, declaredError(kind, id, at)
	}
	var keys []NewKey
	if doc != nil {
		if docID := config.ObjectID(doc); docID != "" && docID != id {
			return Row{}, nil, invalid.Field("id", "the object's id %q is not the id of its path, %q; an id is not changed (make a new object and delete this one)", docID, id)
		}
		var err error
		if doc, keys, err = normalize(kind, id, doc); err != nil {
			return Row{}, nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now().UTC().Truncate(time.Millisecond)
	var row Row
	var before *Row
	var objs []config.Object
	var serial int64
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE config_serial SET serial = serial + 1 WHERE one = 1`); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT serial FROM config_serial WHERE one = 1`).Scan(&serial); err != nil {
			return err
		}
		rows, err := s.list(ctx, tx.Query)
		if err != nil {
			return err
		}
		before = nil
		for i := range rows {
			if rows[i].Kind == kind && rows[i].ID == id {
				before = &rows[i]
			}
		}
		switch {
		case o == opCreate && before != nil:
			return fmt.Errorf("%s %q %w in the database; change that one, or give this one another id", singular(kind), id, ErrExists)
		case o != opCreate && before == nil:
			return fmt.Errorf("%s %q: %w", singular(kind), id, ErrNotFound)
		}
		if o == opRotate {
			doc, keys, err = rotate(before.Doc, index)
			if err != nil {
				return err
			}
		}
		// The candidate: the objects as the database holds them, with this change.
		objs = others(rows, kind, id)
		if o != opDelete {
			objs = append(objs, config.Object{Kind: kind, ID: id, Doc: doc})
		}
		cand, err := s.live.Check(objs)
		if err != nil {
			return Refused(err)
		}
		if o == opDelete {
			if err := stillNamed(cand, kind, id); err != nil {
				return err
			}
			for _, g := range s.guards[kind] {
				if err := g(ctx, tx, id, now); err != nil {
					return err
				}
			}
		}
		row = Row{Object: config.Object{Kind: kind, ID: id, Doc: doc}, Version: 1, CreatedBy: who.Actor, CreatedAt: now, UpdatedBy: who.Actor, UpdatedAt: now}
		switch o {
		case opCreate:
			_, err = tx.Exec(ctx, `INSERT INTO config_objects (kind, id, doc, version, created_by, created_at, updated_by, updated_at) VALUES (?, ?, ?, 1, ?, ?, ?, ?)`,
				kind, id, string(doc), who.Actor, now.UnixMilli(), who.Actor, now.UnixMilli())
		case opDelete:
			row = *before
			row.Version++
			_, err = tx.Exec(ctx, `DELETE FROM config_objects WHERE kind = ? AND id = ?`, kind, id)
		default:
			row.Version, row.CreatedBy, row.CreatedAt = before.Version+1, before.CreatedBy, before.CreatedAt
			_, err = tx.Exec(ctx, `UPDATE config_objects SET doc = ?, version = ?, updated_by = ?, updated_at = ? WHERE kind = ? AND id = ?`,
				string(doc), row.Version, who.Actor, now.UnixMilli(), kind, id)
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO config_history (kind, id, version, action, doc, actor, at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			kind, id, row.Version, string(o), string(doc), who.Actor, now.UnixMilli()); err != nil {
			return err
		}
		var beforeDoc []byte
		if before != nil {
			beforeDoc = before.Doc
		}
		if err := auth.RecordTx(ctx, tx, auth.Entry{Actor: who.Actor, Action: "config." + string(o), Target: kind + "/" + id,
			Remote: who.Remote, Detail: beforeAfter(row.Version, beforeDoc, doc)}, now); err != nil {
			return err
		}
		return tx.Notify(ctx, notifyChannel)
	})
	if err != nil {
		return Row{}, nil, err
	}
	// In force at once on this node. The config was checked whole in the transaction; what
	// can still fail is a subscriber applying it, and then the change is undone.
	if err := s.live.SetObjects(objs); err != nil {
		s.log.Error("a config change was checked but could not be applied; it is undone", "kind", kind, "id", id, "err", err)
		ctx := context.WithoutCancel(ctx)
		if rerr := s.revert(ctx, row, before, o, err); rerr != nil {
			s.log.Error("undoing a config change that could not be applied failed", "kind", kind, "id", id, "err", rerr)
		}
		if lerr := s.loadLocked(ctx, true); lerr != nil {
			s.log.Error("reading the config objects again failed", "err", lerr)
		}
		return Row{}, nil, err
	}
	s.serial = serial
	return row, keys, nil
}

// revert undoes a committed change the config could not apply: the object is put back as it
// was before (or removed, if it was new), in its history and the audit log as "reverted".
func (s *Store) revert(ctx context.Context, row Row, before *Row, o op, why error) error {
	now := s.clock.Now().UTC().Truncate(time.Millisecond)
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE config_serial SET serial = serial + 1 WHERE one = 1`); err != nil {
			return err
		}
		var err error
		doc := ""
		switch {
		case before == nil:
			_, err = tx.Exec(ctx, `DELETE FROM config_objects WHERE kind = ? AND id = ? AND version = ?`, row.Kind, row.ID, row.Version)
		case o == opDelete:
			doc = string(before.Doc)
			_, err = tx.Exec(ctx, `INSERT INTO config_objects (kind, id, doc, version, created_by, created_at, updated_by, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
				before.Kind, before.ID, doc, row.Version+1, before.CreatedBy, before.CreatedAt.UnixMilli(), before.UpdatedBy, before.UpdatedAt.UnixMilli())
		default:
			doc = string(before.Doc)
			_, err = tx.Exec(ctx, `UPDATE config_objects SET doc = ?, version = ?, updated_by = ?, updated_at = ? WHERE kind = ? AND id = ? AND version = ?`,
				doc, row.Version+1, before.UpdatedBy, before.UpdatedAt.UnixMilli(), row.Kind, row.ID, row.Version)
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO config_history (kind, id, version, action, doc, actor, at) VALUES (?, ?, ?, 'reverted', ?, 'nines', ?)`,
			row.Kind, row.ID, row.Version+1, doc, now.UnixMilli()); err != nil {
			return err
		}
		if err := auth.RecordTx(ctx, tx, auth.Entry{Actor: "nines", Action: "config.reverted", Target: row.Kind + "/" + row.ID,
			Detail: fmt.Sprintf("version %d could not be applied and is undone: %v", row.Version, why)}, now); err != nil {
			return err
		}
		return tx.Notify(ctx, notifyChannel)
	})
}

// Refused is the config's refusal of a candidate as input refused: each problem named by its
// file:line:col, in the words `nines validate` uses.
func Refused(err error) error {
	var es config.Errors
	if !errors.As(err, &es) {
		return err
	}
	inv := &invalid.Error{What: "the config would be invalid"}
	for _, e := range es {
		inv.Add(e.Pos.String(), "%s", e.Msg)
	}
	return inv
}

func beforeAfter(version int64, before, after []byte) string {
	d := map[string]any{"version": version, "before": nil, "after": nil}
	if before != nil {
		d["before"] = string(before)
	}
	if after != nil {
		d["after"] = string(after)
	}
	b, _ := json.Marshal(d)
	return string(b)
}

// normalize writes doc in the config's own format with its id, and a service's integration
// keys as hashes: each integration without a key gets a new one, returned.
func normalize(kind, id string, doc []byte) ([]byte, []NewKey, error) {
	var n yaml.Node
	if err := yaml.Unmarshal(doc, &n); err != nil || len(n.Content) == 0 || n.Content[0].Kind != yaml.MappingNode {
		formatted, ferr := config.FormatObject(doc)
		if ferr != nil {
			return nil, nil, invalid.Field("", "%v", ferr)
		}
		doc = formatted
		_ = yaml.Unmarshal(doc, &n)
	}
	root := n.Content[0]
	// YAML written as the files write it is kept as written, so the positions of its errors
	// are those of what was typed; JSON, or a document nines adds to, is written anew.
	changed := root.Style&yaml.FlowStyle != 0
	if config.ObjectID(doc) == "" {
		root.Content = append([]*yaml.Node{scalar("id"), scalar(id)}, root.Content...)
		changed = true
	}
	var keys []NewKey
	if kind == "services" {
		for i, in := range mapSeq(root, "integrations") {
			if in.Kind != yaml.MappingNode {
				continue
			}
			if v := valueAt(in, "key"); v != nil {
				if valueAt(in, "key_hash") != nil {
					return nil, nil, invalid.Field(fmt.Sprintf("integrations[%d]", i), "give a key or a key_hash, not both")
				}
				if err := config.CheckKey(scalarValue(in, "type"), v.Value); err != nil {
					return nil, nil, invalid.Field(fmt.Sprintf("integrations[%d].key", i), "service %s: %v", id, err)
				}
				// A key given is kept as its hash only.
				removeKey(in, "key")
				setScalar(in, "key_hash", config.HashKey(v.Value))
				changed = true
				continue
			}
			if valueAt(in, "key_hash") != nil {
				continue
			}
			changed = true
			key := newKey()
			setScalar(in, "key_hash", config.HashKey(key))
			keys = append(keys, NewKey{Integration: i, Type: scalarValue(in, "type"), Key: key})
		}
	}
	if !changed {
		return doc, nil, nil
	}
	out, err := yaml.Marshal(root)
	if err != nil {
		return nil, nil, err
	}
	formatted, err := config.FormatObject(out)
	if err != nil {
		return nil, nil, invalid.Field("", "%v", err)
	}
	return formatted, keys, nil
}

// rotate gives integration index of a service's document a new key.
func rotate(doc []byte, index int) ([]byte, []NewKey, error) {
	var n yaml.Node
	if err := yaml.Unmarshal(doc, &n); err != nil || len(n.Content) == 0 {
		return nil, nil, fmt.Errorf("reading the service: %v", err)
	}
	ins := mapSeq(n.Content[0], "integrations")
	if index < 0 || index >= len(ins) {
		return nil, nil, fmt.Errorf("integration %d: %w (the service has %d)", index, ErrNotFound, len(ins))
	}
	in := ins[index]
	key := newKey()
	removeKey(in, "key")
	setScalar(in, "key_hash", config.HashKey(key))
	out, err := yaml.Marshal(n.Content[0])
	if err != nil {
		return nil, nil, err
	}
	formatted, err := config.FormatObject(out)
	return formatted, []NewKey{{Integration: index, Type: scalarValue(in, "type"), Key: key}}, err
}

// newKey is 128 random bits in 32 hex digits: an Events v2 routing key's length, and a mail
// address's local part, so it serves every integration type.
func newKey() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on the systems nines runs on
	}
	return hex.EncodeToString(b)
}

func scalar(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v} }

func valueAt(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func scalarValue(m *yaml.Node, key string) string {
	if v := valueAt(m, key); v != nil && v.Kind == yaml.ScalarNode {
		return v.Value
	}
	return ""
}

func mapSeq(m *yaml.Node, key string) []*yaml.Node {
	if v := valueAt(m, key); v != nil && v.Kind == yaml.SequenceNode {
		return v.Content
	}
	return nil
}

func removeKey(m *yaml.Node, key string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content = append(m.Content[:i], m.Content[i+2:]...)
			return
		}
	}
}

func setScalar(m *yaml.Node, key, value string) {
	if v := valueAt(m, key); v != nil {
		*v = *scalar(value)
		return
	}
	m.Content = append(m.Content, scalar(key), scalar(value))
}

// retire removes database objects a file now declares alike, keeping their history.
func (s *Store) retire(ctx context.Context, retired []config.Retired) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now().UTC()
	gone := 0
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		gone = 0
		if _, err := tx.Exec(ctx, `UPDATE config_serial SET serial = serial + 1 WHERE one = 1`); err != nil {
			return err
		}
		for _, r := range retired {
			var version int64
			var doc string
			err := tx.QueryRow(ctx, `SELECT version, doc FROM config_objects WHERE kind = ? AND id = ?`, r.Kind, r.ID).Scan(&version, &doc)
			if errors.Is(err, sql.ErrNoRows) || doc != string(r.Doc) {
				continue // already retired, or changed since: left as it is
			}
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `DELETE FROM config_objects WHERE kind = ? AND id = ?`, r.Kind, r.ID); err != nil {
				return err
			}
			gone++
			if _, err := tx.Exec(ctx, `INSERT INTO config_history (kind, id, version, action, doc, actor, at) VALUES (?, ?, ?, 'retired', ?, ?, ?)`,
				r.Kind, r.ID, version+1, doc, "config:"+r.DeclaredAt.String(), now.UnixMilli()); err != nil {
				return err
			}
			if err := auth.RecordTx(ctx, tx, auth.Entry{Actor: "config", Action: "config.retired", Target: r.Kind + "/" + r.ID,
				Detail: fmt.Sprintf("declared alike at %s; the database's copy (version %d) gives way to it", r.DeclaredAt, version)}, now); err != nil {
				return err
			}
		}
		return tx.Notify(ctx, notifyChannel)
	})
	if err != nil {
		s.log.Error("retiring the database's copies of objects the files now declare failed; they are retired at the next reload", "err", err)
		return
	}
	if gone == 0 {
		return // changed meanwhile: the change's own reload decides
	}
	if err := s.loadLocked(ctx, true); err != nil {
		s.log.Error("reading the config objects after retiring some failed", "err", err)
	}
}

// Export writes the objects the database holds as one YAML document of the config's own
// format, sections in the config's order: what a file declaring them would hold.
func (s *Store) Export(ctx context.Context) ([]byte, error) { return Export(ctx, s.db) }

// Export is Store.Export read straight from db: what `nines export` prints, with no server.
func Export(ctx context.Context, db *store.DB) ([]byte, error) {
	rows, err := (&Store{db: db}).List(ctx)
	if err != nil {
		return nil, err
	}
	return ExportYAML(objectsOf(rows))
}

// ExportYAML writes objs as one YAML document of the config's own format.
func ExportYAML(objs []config.Object) ([]byte, error) {
	root := &yaml.Node{Kind: yaml.MappingNode}
	for _, kind := range config.ObjectKinds {
		list := &yaml.Node{Kind: yaml.SequenceNode}
		for _, o := range objs {
			if o.Kind != kind {
				continue
			}
			var n yaml.Node
			if err := yaml.Unmarshal(o.Doc, &n); err != nil || len(n.Content) == 0 {
				return nil, fmt.Errorf("%s: %v", o.File(), err)
			}
			list.Content = append(list.Content, n.Content[0])
		}
		if len(list.Content) > 0 {
			root.Content = append(root.Content, scalar(kind), list)
		}
	}
	var b strings.Builder
	b.WriteString("# Config objects made in nines' web app or API, as `nines export` wrote them.\n")
	if len(root.Content) == 0 {
		return []byte(b.String()), nil
	}
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return []byte(b.String()), nil
}

// A DeleteGuard refuses the delete of an object of its kind that something the database holds
// outside the config still names, and would take again if an object of that id came back (an
// override not yet ended its schedule, a maintenance window not yet over its service): the
// error names what names it. It runs in the delete's transaction.
type DeleteGuard func(ctx context.Context, tx *store.Tx, id string, now time.Time) error

// GuardDelete adds g to the checks a delete of an object of kind passes. Call it before
// serving.
func (s *Store) GuardDelete(kind string, g DeleteGuard) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.guards == nil {
		s.guards = map[string][]DeleteGuard{}
	}
	s.guards[kind] = append(s.guards[kind], g)
}

// stillNamed refuses the delete of what the config would still name though its checks let it
// go: a config without teams takes a service's team as a plain label, so deleting the last team
// a service names would leave the service naming one that is gone.
func stillNamed(c *config.Config, kind, id string) error {
	if kind != "teams" {
		return nil
	}
	for _, svc := range c.Services {
		if svc.Team == id {
			return invalid.Field("id", "team %s is named by service %s (%s); give the service another team first", id, svc.ID, svc.At("team"))
		}
	}
	return nil
}
