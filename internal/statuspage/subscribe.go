package statuspage

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"net/mail"
	"net/smtp"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/timers"
)

// Mailer sends one plain-text email. Headers are extra header fields (List-Unsubscribe...).
type Mailer interface {
	Send(ctx context.Context, to, subject, body string, headers map[string]string) error
}

// SMTPMailer sends through an SMTP server (STARTTLS when the server offers it).
type SMTPMailer struct {
	Addr string // host:port
	From string
	Auth smtp.Auth // nil for none
}

var _ Mailer = (*SMTPMailer)(nil)

// Send implements Mailer.
func (m *SMTPMailer) Send(ctx context.Context, to, subject, body string, headers map[string]string) error {
	var b strings.Builder
	var id [12]byte
	rand.Read(id[:])
	host := m.From[strings.LastIndexByte(m.From, '@')+1:]
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%x@%s>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n",
		m.From, to, mimeHeader(subject), time.Now().UTC().Format(time.RFC1123Z), id, host)
	for k, v := range headers {
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	b.WriteString("\r\n")
	b.WriteString(strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n"))
	return smtp.SendMail(m.Addr, m.Auth, m.From, []string{to}, []byte(b.String()))
}

// mimeHeader keeps a header value on one line and encodes it when it is not ASCII.
func mimeHeader(s string) string {
	s = strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
	for _, r := range s {
		if r > 126 {
			return "=?utf-8?b?" + base64.StdEncoding.EncodeToString([]byte(s)) + "?="
		}
	}
	return s
}

// notifyTimer is the durable timer that mails one update to a page's subscribers.
const notifyTimer = "statuspage.notify"

// ConfirmTTL is how long a subscription confirmation link works.
const ConfirmTTL = 48 * time.Hour

// ErrNoMail is returned when a page cannot take subscriptions because no mailer is set up.
var ErrNoMail = errors.New("this status page does not send email; subscriptions are off")

// ErrBadLink is returned for a confirmation or unsubscribe link that is forged, for another
// page, or expired.
var ErrBadLink = errors.New("this link is not valid or has expired")

// Subscribe records an unconfirmed subscription and mails the confirmation link (double
// opt-in). Subscribing an address again re-sends the link and says nothing about whether it
// was already subscribed.
func (s *Service) Subscribe(ctx context.Context, pageID, email string) error {
	p := s.Page(pageID)
	if p == nil {
		return fmt.Errorf("status page %q: %w", pageID, ErrNotFound)
	}
	if s.mailer == nil {
		return ErrNoMail
	}
	addr, err := mail.ParseAddress(strings.TrimSpace(email))
	if err != nil || addr.Name != "" || len(addr.Address) > 254 || strings.ContainsAny(addr.Address, "\r\n<>") {
		return &InputError{fmt.Sprintf("email %q: want one address such as ops@example.com", email)}
	}
	email = strings.ToLower(addr.Address)
	now := s.clock.Now()
	_, err = s.db.Exec(ctx, `INSERT INTO sp_subscribers (page_id, email, created_at) VALUES (?, ?, ?) ON CONFLICT (page_id, email) DO NOTHING`,
		pageID, email, now.UnixMilli())
	if err != nil {
		return err
	}
	link := s.link(p.ID, "confirm", s.sign("c", p.ID, email, now.Add(ConfirmTTL)))
	body := fmt.Sprintf("Someone, hopefully you, asked to get email about %s.\n\nConfirm with this link (it works for 48 hours):\n%s\n\nIf it was not you, ignore this email and nothing will be sent.\n", p.Title, link)
	return s.mailer.Send(ctx, email, "Confirm your subscription to "+p.Title, body, nil)
}

// Confirm turns on the subscription a confirmation token names.
func (s *Service) Confirm(ctx context.Context, pageID, token string) (string, error) {
	email, err := s.verify("c", pageID, token)
	if err != nil {
		return "", err
	}
	res, err := s.db.Exec(ctx, `UPDATE sp_subscribers SET confirmed_at = COALESCE(confirmed_at, ?) WHERE page_id = ? AND email = ?`,
		s.clock.Now().UnixMilli(), pageID, email)
	if err != nil {
		return "", err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return "", ErrBadLink
	}
	return email, nil
}

// Unsubscribe removes the subscription an unsubscribe token names. Doing it twice is fine.
func (s *Service) Unsubscribe(ctx context.Context, pageID, token string) (string, error) {
	email, err := s.verify("u", pageID, token)
	if err != nil {
		return "", err
	}
	_, err = s.db.Exec(ctx, `DELETE FROM sp_subscribers WHERE page_id = ? AND email = ?`, pageID, email)
	return email, err
}

// Subscribers returns a page's confirmed subscribers.
func (s *Service) Subscribers(ctx context.Context, pageID string) ([]string, error) {
	subs, err := s.subscribers(ctx, pageID)
	out := make([]string, 0, len(subs))
	for _, sub := range subs {
		out = append(out, sub.email)
	}
	return out, err
}

type subscriber struct {
	id    int64
	email string
}

func (s *Service) subscribers(ctx context.Context, pageID string) ([]subscriber, error) {
	rows, err := s.db.Query(ctx, `SELECT id, email FROM sp_subscribers WHERE page_id = ? AND confirmed_at IS NOT NULL ORDER BY id`, pageID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []subscriber
	for rows.Next() {
		var sub subscriber
		if err := rows.Scan(&sub.id, &sub.email); err != nil {
			return nil, err
		}
		out = append(out, sub)
	}
	return out, rows.Err()
}

// deliver mails one update to every confirmed subscriber not yet sent it. A retry after a
// failure or a crash skips those already served, so nobody gets the same update twice.
func (s *Service) deliver(ctx context.Context, t timers.Timer) error {
	updID, err := strconv.ParseInt(t.Payload, 10, 64)
	if err != nil {
		return nil // not ours to retry: a payload we never write
	}
	var pubID int64
	var status, body string
	if err := s.db.QueryRow(ctx, `SELECT sp_incident_id, status, body FROM sp_updates WHERE id = ?`, updID).Scan(&pubID, &status, &body); errors.Is(err, sql.ErrNoRows) {
		return nil
	} else if err != nil {
		return err
	}
	pi, err := s.PublicIncident(ctx, pubID)
	if err != nil {
		return err
	}
	p := s.Page(pi.PageID)
	if p == nil {
		return nil // the page was removed from the config
	}
	subs, err := s.subscribers(ctx, p.ID)
	if err != nil {
		return err
	}
	for _, sub := range subs {
		var done int
		if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM sp_deliveries WHERE update_id = ? AND subscriber_id = ?`, updID, sub.id).Scan(&done); err != nil {
			return err
		}
		if done > 0 {
			continue
		}
		unsub := s.link(p.ID, "unsubscribe", s.sign("u", p.ID, sub.email, time.Time{}))
		text := fmt.Sprintf("%s\n\n%s: %s\n\nFollow along: %s\n\nUnsubscribe: %s\n", pi.Name, strings.ToUpper(status[:1])+status[1:], body, s.link(p.ID, "", ""), unsub)
		headers := map[string]string{"List-Unsubscribe": "<" + unsub + ">", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
		if err := s.mailer.Send(ctx, sub.email, fmt.Sprintf("[%s] %s: %s", p.Title, pi.Name, status), text, headers); err != nil {
			return fmt.Errorf("mail to subscriber %d: %w", sub.id, err)
		}
		err := s.db.Tx(ctx, func(tx *store.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO sp_deliveries (update_id, subscriber_id, sent_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
				updID, sub.id, s.clock.Now().UnixMilli())
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// link is an absolute link to a page's route, or a path when server.base_url is unset.
func (s *Service) link(pageID, action, token string) string {
	u := strings.TrimSuffix(s.cfg.Get().Server.BaseURL, "/") + "/status/" + url.PathEscape(pageID)
	if action != "" {
		u += "/" + action
	}
	if token != "" {
		u += "?t=" + url.QueryEscape(token)
	}
	return u
}

// sign makes a link token: purpose, page, email and expiry (0 for never), with an HMAC.
func (s *Service) sign(purpose, pageID, email string, expires time.Time) string {
	var exp int64
	if !expires.IsZero() {
		exp = expires.Unix()
	}
	msg := purpose + "\n" + pageID + "\n" + email + "\n" + strconv.FormatInt(exp, 10)
	return base64.RawURLEncoding.EncodeToString([]byte(msg)) + "." + base64.RawURLEncoding.EncodeToString(s.mac(msg))
}

func (s *Service) verify(purpose, pageID, token string) (string, error) {
	enc, sig, ok := strings.Cut(token, ".")
	if !ok {
		return "", ErrBadLink
	}
	raw, err1 := base64.RawURLEncoding.Strict().DecodeString(enc)
	got, err2 := base64.RawURLEncoding.Strict().DecodeString(sig)
	if err1 != nil || err2 != nil || !hmac.Equal(got, s.mac(string(raw))) {
		return "", ErrBadLink
	}
	parts := strings.Split(string(raw), "\n")
	if len(parts) != 4 || parts[0] != purpose || parts[1] != pageID {
		return "", ErrBadLink
	}
	exp, err := strconv.ParseInt(parts[3], 10, 64)
	if err != nil || (exp != 0 && s.clock.Now().Unix() >= exp) {
		return "", ErrBadLink
	}
	return parts[2], nil
}

func (s *Service) mac(msg string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("statuspage-link\n" + msg))
	return m.Sum(nil)[:20]
}
