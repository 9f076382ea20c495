// Package people keeps what a person sets up for themselves from their profile: contact methods
// (verified with a code sent through the method before they are ever paged) and notification
// rules. The config declares people and may declare their contact methods and rules too; those
// are read-only here. Escalation reads a person through With, which adds what they set up here
// to what the config declares.
package people

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/store"
)

// Schema holds the contact methods and notification rules people add from their profile.
var Schema = store.Schema{Component: "people", Migrations: []string{`
CREATE TABLE person_contact_methods (
	id {{id}},
	user_id TEXT NOT NULL,
	type TEXT NOT NULL,
	address TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	verified_at BIGINT,
	code_hash TEXT NOT NULL DEFAULT '',
	code_expires_at BIGINT NOT NULL DEFAULT 0,
	code_sent_at BIGINT NOT NULL DEFAULT 0,
	code_attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX person_contact_methods_user ON person_contact_methods (user_id);
CREATE TABLE person_notification_rules (
	id {{id}},
	user_id TEXT NOT NULL,
	method_id BIGINT NOT NULL,
	after_ms BIGINT NOT NULL,
	urgency TEXT NOT NULL,
	created_at BIGINT NOT NULL
);
CREATE INDEX person_notification_rules_user ON person_notification_rules (user_id);
`}}

// Verification codes: six digits, valid CodeTTL, MaxAttempts wrong guesses, and a new one at
// most every ResendEvery.
const (
	CodeTTL     = 10 * time.Minute
	MaxAttempts = 5
	ResendEvery = 30 * time.Second
	// MaxMethods bounds how many contact methods one person adds from the profile.
	MaxMethods = 20
)

// MethodPrefix starts the id of every contact method added from a profile ("profile-3"), so it
// never takes the id of one the config declares.
const MethodPrefix = "profile-"

// Errors the web answers with their own status.
var (
	ErrNotFound    = errors.New("no such contact method or notification rule of yours")
	ErrFromConfig  = errors.New("declared in the config")
	ErrBadCode     = errors.New("code: wrong or expired verification code")
	ErrTooMany     = errors.New("too many wrong codes; send a new code")
	ErrTooSoon     = errors.New("a code was sent less than 30 seconds ago; wait for it")
	ErrUnverified  = errors.New("this contact method is not verified yet; verify it with the code sent to it first")
	ErrNotAPerson  = errors.New("your account is not a person of the config: an admin declares you under users: (with the id of your username) before you can be paged")
	ErrNotVerified = ErrUnverified
)

// ConfigError says where in the config a read-only contact method or rule is declared.
type ConfigError struct {
	What string // "contact method email"
	At   string // "nines.yaml:12"
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("%s is declared in %s; change it there (this page cannot change the config)", e.What, e.At)
}

func (e *ConfigError) Unwrap() error { return ErrFromConfig }

// Method is a contact method as a profile shows it.
type Method struct {
	ID       string     `json:"id"`
	Type     string     `json:"type"`
	Address  string     `json:"address"`
	Verified bool       `json:"verified"`
	Source   string     `json:"source"`    // "profile", or where the config declares it ("nines.yaml:12")
	ReadOnly bool       `json:"read_only"` // declared in the config
	Created  *time.Time `json:"created_at,omitempty"`
}

// Rule is a notification rule as a profile shows it.
type Rule struct {
	ID            string `json:"id"`
	ContactMethod string `json:"contact_method"`
	After         string `json:"after"` // "0s", "1m0s"
	AfterSeconds  int64  `json:"after_seconds"`
	Urgency       string `json:"urgency,omitempty"`
	Source        string `json:"source"`
	ReadOnly      bool   `json:"read_only"`
}

// Service keeps people's own contact methods and rules.
type Service struct {
	db    *store.DB
	clock clock.Clock
}

// New returns the service.
func New(db *store.DB, c clock.Clock) *Service { return &Service{db: db, clock: c} }

// where names a position of the config without its column: "nines.yaml:12".
func where(p config.Pos) string {
	s := p.String()
	if i := strings.LastIndex(s, ":"); i > 0 && strings.Count(s, ":") >= 2 {
		return s[:i]
	}
	return s
}

type stored struct {
	id       int64
	typ      string
	address  string
	created  int64
	verified bool
}

func (s *Service) stored(ctx context.Context, userID string) ([]stored, error) {
	rows, err := s.db.Query(ctx, `SELECT id, type, address, created_at, verified_at FROM person_contact_methods WHERE user_id = ? ORDER BY id`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []stored
	for rows.Next() {
		var m stored
		var v sql.NullInt64
		if err := rows.Scan(&m.id, &m.typ, &m.address, &m.created, &v); err != nil {
			return nil, err
		}
		m.verified = v.Valid
		out = append(out, m)
	}
	return out, rows.Err()
}

type storedRule struct {
	id, method, after int64
	urgency           string
}

func (s *Service) storedRules(ctx context.Context, userID string) ([]storedRule, error) {
	rows, err := s.db.Query(ctx, `SELECT id, method_id, after_ms, urgency FROM person_notification_rules WHERE user_id = ? ORDER BY after_ms, id`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []storedRule
	for rows.Next() {
		var r storedRule
		if err := rows.Scan(&r.id, &r.method, &r.after, &r.urgency); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func methodID(id int64) string { return MethodPrefix + strconv.FormatInt(id, 10) }

// With returns the person u as escalation pages them: the config's contact methods and rules,
// then the verified ones they added from their profile (an unverified method is never paged,
// nor a rule naming one). u itself is not changed; nil gives nil.
func (s *Service) With(ctx context.Context, u *config.User) (*config.User, error) {
	if u == nil {
		return nil, nil
	}
	ms, err := s.stored(ctx, u.ID)
	if err != nil || len(ms) == 0 {
		return u, err
	}
	rs, err := s.storedRules(ctx, u.ID)
	if err != nil {
		return u, err
	}
	c := *u
	c.ContactMethods = append([]config.ContactMethod(nil), u.ContactMethods...)
	c.NotificationRules = append([]config.NotificationRule(nil), u.NotificationRules...)
	verified := map[int64]bool{}
	for _, m := range ms {
		if m.verified {
			verified[m.id] = true
			c.ContactMethods = append(c.ContactMethods, config.ContactMethod{ID: methodID(m.id), Type: m.typ, Address: m.address})
		}
	}
	for _, r := range rs {
		if verified[r.method] {
			c.NotificationRules = append(c.NotificationRules, config.NotificationRule{ContactMethod: methodID(r.method), After: config.Duration(time.Duration(r.after) * time.Millisecond), Urgency: r.urgency})
		}
	}
	return &c, nil
}

// Methods lists a person's contact methods: the config's (read-only) first, then their own.
func (s *Service) Methods(ctx context.Context, u *config.User, userID string) ([]Method, error) {
	out := []Method{}
	if u != nil {
		for _, m := range u.ContactMethods {
			out = append(out, Method{ID: m.ID, Type: m.Type, Address: m.Address, Verified: true, Source: where(m.Pos), ReadOnly: true})
		}
	}
	ms, err := s.stored(ctx, userID)
	for _, m := range ms {
		t := time.UnixMilli(m.created).UTC()
		out = append(out, Method{ID: methodID(m.id), Type: m.typ, Address: m.address, Verified: m.verified, Source: "profile", Created: &t})
	}
	return out, err
}

// Rules lists a person's notification rules: the config's (read-only) first, then their own.
func (s *Service) Rules(ctx context.Context, u *config.User, userID string) ([]Rule, error) {
	out := []Rule{}
	if u != nil {
		for i, r := range u.NotificationRules {
			out = append(out, Rule{ID: "config-" + strconv.Itoa(i+1), ContactMethod: r.ContactMethod, After: r.After.D().String(),
				AfterSeconds: int64(r.After.D() / time.Second), Urgency: r.Urgency, Source: where(r.Pos), ReadOnly: true})
		}
	}
	rs, err := s.storedRules(ctx, userID)
	for _, r := range rs {
		d := time.Duration(r.after) * time.Millisecond
		out = append(out, Rule{ID: strconv.FormatInt(r.id, 10), ContactMethod: methodID(r.method), After: d.String(), AfterSeconds: int64(d / time.Second), Urgency: r.urgency, Source: "profile"})
	}
	return out, err
}

// CheckAddress reports what is wrong with a contact method a person adds, if anything.
func CheckAddress(typ, address string) error {
	switch typ {
	case config.ContactEmail:
		if a, err := mail.ParseAddress(address); err != nil || a.Name != "" || a.Address != address {
			return invalid.Field("address", "%q is not an email address", address)
		}
	case config.ContactSMS, config.ContactVoice:
		ok := len(address) >= 8 && len(address) <= 16 && address[0] == '+'
		for _, r := range address[min(1, len(address)):] {
			ok = ok && r >= '0' && r <= '9'
		}
		if !ok {
			return invalid.Field("address", "%q is not a phone number in E.164 form (+33612345678)", address)
		}
	case config.ContactPush, config.ContactSlack, config.ContactTeams, config.ContactWebhook:
		if u, err := url.Parse(address); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(address) > 2048 {
			return invalid.Field("address", "%q is not an http(s) URL", address)
		}
	case "":
		return invalid.Field("type", "required: email, sms, voice, push, slack, teams or webhook")
	default:
		return invalid.Field("type", "unknown type %q: want email, sms, voice, push, slack, teams or webhook", typ)
	}
	return nil
}

// readOnly returns the error for a contact method id the config declares for u, if it does.
func readOnly(u *config.User, id string) error {
	if u == nil {
		return nil
	}
	for _, m := range u.ContactMethods {
		if m.ID == id {
			return &ConfigError{What: "contact method " + id, At: where(m.Pos)}
		}
	}
	return nil
}

// AddMethod adds an unverified contact method for person u (who must be in the config).
func (s *Service) AddMethod(ctx context.Context, u *config.User, typ, address string) (Method, error) {
	if u == nil {
		return Method{}, ErrNotAPerson
	}
	typ, address = strings.TrimSpace(typ), strings.TrimSpace(address)
	if err := CheckAddress(typ, address); err != nil {
		return Method{}, err
	}
	now := s.clock.Now()
	var id int64
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM person_contact_methods WHERE user_id = ?`, u.ID).Scan(&n); err != nil {
			return err
		}
		if n >= MaxMethods {
			return invalid.Field("", "at most %d contact methods can be added from a profile; remove one first", MaxMethods)
		}
		var err error
		id, err = tx.InsertID(ctx, `INSERT INTO person_contact_methods (user_id, type, address, created_at) VALUES (?, ?, ?, ?)`, u.ID, typ, address, now.UnixMilli())
		return err
	})
	t := now.UTC().Truncate(time.Millisecond)
	return Method{ID: methodID(id), Type: typ, Address: address, Source: "profile", Created: &t}, err
}

// parseID reads the id of a contact method added from a profile ("profile-3"); the config's
// ids are refused with where they are declared.
func parseID(u *config.User, id string) (int64, error) {
	if err := readOnly(u, id); err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(strings.TrimPrefix(id, MethodPrefix), 10, 64)
	if err != nil || !strings.HasPrefix(id, MethodPrefix) || n <= 0 {
		return 0, ErrNotFound
	}
	return n, nil
}

// Get returns one of the person's own contact methods.
func (s *Service) Get(ctx context.Context, u *config.User, userID, id string) (config.ContactMethod, bool, error) {
	n, err := parseID(u, id)
	if err != nil {
		return config.ContactMethod{}, false, err
	}
	var typ, address string
	var v sql.NullInt64
	err = s.db.QueryRow(ctx, `SELECT type, address, verified_at FROM person_contact_methods WHERE id = ? AND user_id = ?`, n, userID).Scan(&typ, &address, &v)
	if errors.Is(err, sql.ErrNoRows) {
		return config.ContactMethod{}, false, ErrNotFound
	}
	return config.ContactMethod{ID: id, Type: typ, Address: address}, v.Valid, err
}

func (s *Service) codeMAC(ctx context.Context, id int64, code string) (string, error) {
	key, err := s.db.Secret(ctx, "contact-codes")
	if err != nil {
		return "", err
	}
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "%d|%s", id, code)
	return hex.EncodeToString(m.Sum(nil)), nil
}

// NewCode makes a new verification code for a contact method of the person's that is not
// verified yet, replacing any earlier one; the caller sends it through the method. Only its
// HMAC is kept.
func (s *Service) NewCode(ctx context.Context, u *config.User, userID, id string) (string, error) {
	n, err := parseID(u, id)
	if err != nil {
		return "", err
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	code := fmt.Sprintf("%06d", binary.BigEndian.Uint64(b[:])%1000000)
	mac, err := s.codeMAC(ctx, n, code)
	if err != nil {
		return "", err
	}
	now := s.clock.Now()
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		var sent int64
		var v sql.NullInt64
		if err := tx.QueryRow(ctx, `SELECT code_sent_at, verified_at FROM person_contact_methods WHERE id = ? AND user_id = ?`, n, userID).Scan(&sent, &v); errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		if v.Valid {
			return errors.New("this contact method is verified already")
		}
		if now.Sub(time.UnixMilli(sent)) < ResendEvery {
			return ErrTooSoon
		}
		_, err := tx.Exec(ctx, `UPDATE person_contact_methods SET code_hash = ?, code_expires_at = ?, code_sent_at = ?, code_attempts = 0 WHERE id = ?`,
			mac, now.Add(CodeTTL).UnixMilli(), now.UnixMilli(), n)
		return err
	})
	return code, err
}

// Verify checks a code sent to a contact method; the right one verifies it, from when on
// escalation pages it. A code works once, within CodeTTL, and after MaxAttempts wrong guesses
// none does until a new one is sent.
func (s *Service) Verify(ctx context.Context, u *config.User, userID, id, code string) error {
	n, err := parseID(u, id)
	if err != nil {
		return err
	}
	code = strings.TrimSpace(code)
	mac, err := s.codeMAC(ctx, n, code)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	var wrong error
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		var hash string
		var expires int64
		var attempts int
		var v sql.NullInt64
		if err := tx.QueryRow(ctx, `SELECT code_hash, code_expires_at, code_attempts, verified_at FROM person_contact_methods WHERE id = ? AND user_id = ?`, n, userID).
			Scan(&hash, &expires, &attempts, &v); errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		if v.Valid {
			return nil
		}
		if attempts >= MaxAttempts {
			return ErrTooMany
		}
		if hash == "" || now.UnixMilli() >= expires || len(code) != 6 || subtle.ConstantTimeCompare([]byte(hash), []byte(mac)) != 1 {
			// The wrong guess is counted (and kept: the transaction commits).
			wrong = ErrBadCode
			_, err := tx.Exec(ctx, `UPDATE person_contact_methods SET code_attempts = code_attempts + 1 WHERE id = ?`, n)
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE person_contact_methods SET verified_at = ?, code_hash = '', code_attempts = 0 WHERE id = ?`, now.UnixMilli(), n)
		return err
	})
	if err != nil {
		return err
	}
	return wrong
}

// RemoveMethod removes one of the person's own contact methods and the rules naming it.
func (s *Service) RemoveMethod(ctx context.Context, u *config.User, userID, id string) error {
	n, err := parseID(u, id)
	if err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		res, err := tx.Exec(ctx, `DELETE FROM person_contact_methods WHERE id = ? AND user_id = ?`, n, userID)
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return ErrNotFound
		}
		_, err = tx.Exec(ctx, `DELETE FROM person_notification_rules WHERE method_id = ? AND user_id = ?`, n, userID)
		return err
	})
}

// AddRule adds a notification rule: page the contact method (one of the person's own) after
// that long, for incidents of urgency ("" for both).
func (s *Service) AddRule(ctx context.Context, u *config.User, method string, after time.Duration, urgency string) (Rule, error) {
	if u == nil {
		return Rule{}, ErrNotAPerson
	}
	errs := &invalid.Error{}
	if after < 0 || after > 24*time.Hour {
		errs.Add("after", "between 0s and 24h")
	}
	if urgency != "" && urgency != "high" && urgency != "low" {
		errs.Add("urgency", "%q: want high, low or nothing for both", urgency)
	}
	if err := errs.Err(); err != nil {
		return Rule{}, err
	}
	if err := readOnly(u, method); err != nil {
		return Rule{}, &ConfigError{What: "contact method " + method, At: err.(*ConfigError).At + " (a rule for it belongs there too)"}
	}
	n, err := parseID(u, method)
	if err != nil {
		return Rule{}, invalid.Field("contact_method", "%q is not one of your contact methods", method)
	}
	var id int64
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		var k int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM person_contact_methods WHERE id = ? AND user_id = ?`, n, u.ID).Scan(&k); err != nil {
			return err
		}
		if k == 0 {
			return invalid.Field("contact_method", "%q is not one of your contact methods", method)
		}
		var err error
		id, err = tx.InsertID(ctx, `INSERT INTO person_notification_rules (user_id, method_id, after_ms, urgency, created_at) VALUES (?, ?, ?, ?, ?)`,
			u.ID, n, after.Milliseconds(), urgency, s.clock.Now().UnixMilli())
		return err
	})
	return Rule{ID: strconv.FormatInt(id, 10), ContactMethod: method, After: after.String(), AfterSeconds: int64(after / time.Second), Urgency: urgency, Source: "profile"}, err
}

// RemoveRule removes one of the person's own rules; the config's are refused with where they
// are declared.
func (s *Service) RemoveRule(ctx context.Context, u *config.User, userID, id string) error {
	if strings.HasPrefix(id, "config-") && u != nil {
		if i, err := strconv.Atoi(strings.TrimPrefix(id, "config-")); err == nil && i >= 1 && i <= len(u.NotificationRules) {
			return &ConfigError{What: "notification rule " + id, At: where(u.NotificationRules[i-1].Pos)}
		}
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return ErrNotFound
	}
	res, err := s.db.Exec(ctx, `DELETE FROM person_notification_rules WHERE id = ? AND user_id = ?`, n, userID)
	if err != nil {
		return err
	}
	if k, _ := res.RowsAffected(); k == 0 {
		return ErrNotFound
	}
	return nil
}
