package statuspage

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/notify"
	"github.com/nines-dev/nines/internal/notify/email"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/timers"
)

// Mailer sends one plain-text email. Headers are extra header fields (List-Unsubscribe...).
type Mailer interface {
	Send(ctx context.Context, to, subject, body string, headers map[string]string) error
}

// MailerFor is the mailer of subscribers' mail: through the SMTP server pages go out through
// (notifications.email.smtp), as the config in force says at each send, with every TLS and
// authentication mode the email channel knows. Without that server it is nil, and
// subscriptions are off.
func MailerFor(live *config.Live) Mailer {
	if n := live.Get().Notifications.Email; n != nil && n.SMTP.Host != "" {
		return configMailer{live}
	}
	return nil
}

type configMailer struct{ live *config.Live }

var _ Mailer = configMailer{}

func (m configMailer) Send(ctx context.Context, to, subject, body string, headers map[string]string) error {
	n := m.live.Get().Notifications.Email
	if n == nil || n.SMTP.Host == "" {
		return errors.New("status page mail: notifications.email.smtp is not configured any more")
	}
	return email.New(n.SMTP).Notify(ctx, config.ContactMethod{Type: config.ContactEmail, Address: to},
		notify.Message{Headline: subject, Body: body, Headers: headers, At: time.Now()})
}

// notifyTimer is the durable timer that mails one update to a page's subscribers.
const notifyTimer = "statuspage.notify"

// ConfirmTTL is how long a subscription confirmation link works.
const ConfirmTTL = 48 * time.Hour

// ErrNoMail is returned when a page cannot take subscriptions because no mailer is set up.
var ErrNoMail = errors.New("this status page does not send email; subscriptions are off")

// ErrNoAddress is returned when a page cannot take subscriptions because nines knows no
// address to link its mail back to: a link in mail must be absolute, and the address a request
// came to (its Host header) is the requester's to choose, so nines never takes it for one.
var ErrNoAddress = errors.New("this status page cannot take subscriptions: nines does not know the address people reach it at " +
	"(set server.base_url, or the page's domain)")

// ErrBadLink is returned for a confirmation or unsubscribe link that is forged, for another
// page, or expired.
var ErrBadLink = errors.New("this link is not valid or has expired; subscribe again from the status page")

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
	base := linkBase(s.cfg.Get(), p)
	if base == "" {
		return ErrNoAddress
	}
	email, err := SubscriberAddress(email)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	_, err = s.db.Exec(ctx, `INSERT INTO sp_subscribers (page_id, email, created_at) VALUES (?, ?, ?) ON CONFLICT (page_id, email) DO NOTHING`,
		pageID, email, now.UnixMilli())
	if err != nil {
		return err
	}
	link := pageLink(base, p.ID, "confirm", s.sign("c", p.ID, email, now.Add(ConfirmTTL)))
	body := fmt.Sprintf("Someone, hopefully you, asked to get email about %s.\n\nConfirm with this link (it works for 48 hours):\n%s\n\nIf it was not you, ignore this email and nothing will be sent.\n", p.Title, link)
	return s.mailer.Send(ctx, email, "Confirm your subscription to "+p.Title, body, nil)
}

// SubscriberAddress reads the address a visitor typed: one bare address (no display name),
// at most 254 characters. It returns it as nines stores and mails it: the domain in lower
// case; a plain local part in lower case too (one subscription per mailbox, however it is
// typed); a quoted local part ("john doe"@example.com) exactly as typed, quotes and case
// included, since that is the one place where they are deliberate and a mail server must get
// them back.
func SubscriberAddress(typed string) (string, error) {
	bad := invalid.Field("", "email %q: want one address such as ops@example.com", typed)
	typed = strings.TrimSpace(typed)
	addr, err := mail.ParseAddress(typed)
	if err != nil || addr.Name != "" || strings.ContainsAny(typed, "\r\n<>\x00") {
		return "", bad
	}
	at := strings.LastIndexByte(addr.Address, '@')
	if at <= 0 {
		return "", bad
	}
	local, domain := addr.Address[:at], strings.ToLower(addr.Address[at+1:])
	if strings.HasPrefix(typed, `"`) {
		// net/mail hands back the local part unquoted; what was typed keeps its quoting.
		local = typed[:strings.LastIndexByte(typed, '@')]
	} else {
		local = strings.ToLower(local)
	}
	out := local + "@" + domain
	if len(out) > 254 {
		return "", bad
	}
	return out, nil
}

// Confirm turns on the subscription a confirmation token names.
func (s *Service) Confirm(ctx context.Context, pageID, token string) (string, error) {
	email, err := s.verify("c", pageID, token)
	if err != nil {
		return "", err
	}
	// A subscriber gets the updates posted after confirming: first_update is the next update
	// id then, so an update whose mail is still on its way is not sent to them.
	var found bool
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		var next int64
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(id), 0) + 1 FROM sp_updates`).Scan(&next); err != nil {
			return err
		}
		res, err := tx.Exec(ctx, `UPDATE sp_subscribers SET first_update = CASE WHEN confirmed_at IS NULL THEN ? ELSE first_update END,
			confirmed_at = COALESCE(confirmed_at, ?) WHERE page_id = ? AND email = ?`, next, s.clock.Now().UnixMilli(), pageID, email)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		found = n > 0
		return nil
	})
	if err != nil {
		return "", err
	}
	if !found {
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
	id          int64
	email       string
	firstUpdate int64 // the first update they get
}

func (s *Service) subscribers(ctx context.Context, pageID string) ([]subscriber, error) {
	rows, err := s.db.Query(ctx, `SELECT id, email, first_update FROM sp_subscribers WHERE page_id = ? AND confirmed_at IS NOT NULL ORDER BY id`, pageID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []subscriber
	for rows.Next() {
		var sub subscriber
		if err := rows.Scan(&sub.id, &sub.email, &sub.firstUpdate); err != nil {
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
	if err := s.db.QueryRow(ctx, `SELECT sp_incident_id, status, body FROM sp_updates WHERE id = ? AND retracted_at IS NULL`, updID).Scan(&pubID, &status, &body); errors.Is(err, sql.ErrNoRows) {
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
	base := linkBase(s.cfg.Get(), p)
	if base == "" && len(subs) > 0 {
		// The mail waits (the timer retries) until the config says where the page is.
		return fmt.Errorf("mail to the subscribers of status page %s: %w", p.ID, ErrNoAddress)
	}
	for _, sub := range subs {
		if updID < sub.firstUpdate {
			continue // posted before they confirmed
		}
		var done int
		if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM sp_deliveries WHERE update_id = ? AND subscriber_id = ?`, updID, sub.id).Scan(&done); err != nil {
			return err
		}
		if done > 0 {
			continue
		}
		unsub := pageLink(base, p.ID, "unsubscribe", s.sign("u", p.ID, sub.email, time.Time{}))
		text := fmt.Sprintf("%s\n\n%s: %s\n\nFollow along: %s\n\nUnsubscribe: %s\n", pi.Name, strings.ToUpper(status[:1])+status[1:], body, pageLink(base, p.ID, "", ""), unsub)
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

// linkBase is where the links in a page's mail start: server.base_url, else the page's own
// domain over https, else "" (nines knows no address of the page, and sends no link).
func linkBase(cfg *config.Config, p *config.StatusPage) string {
	if base := strings.TrimSuffix(cfg.Server.BaseURL, "/"); base != "" {
		return base
	}
	if p.Domain != "" {
		return "https://" + p.Domain // the domain serves the page's own paths as they are
	}
	return ""
}

// pageLink is an absolute link to a page's route under base (from linkBase).
func pageLink(base, pageID, action, token string) string {
	u := base + "/status/" + url.PathEscape(pageID)
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
	raw, err1 := store.DecodeTokenPart(enc)
	got, err2 := store.DecodeTokenPart(sig)
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
