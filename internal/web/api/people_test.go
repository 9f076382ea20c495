package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/notify/notifytest"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
	"github.com/nines-dev/nines/internal/web/webtest"
)

type peopleEnv struct {
	*oncallEnv
	root, machine string // root's personal admin token; a machine's admin token
}

func startPeople(t *testing.T, db *store.DB) *peopleEnv {
	t.Helper()
	env := startOnCallWith(t, db, clock.NewFake(webtest.Epoch), webtest.Parse(t, webtest.PeopleConfig))
	ctx := context.Background()
	if _, err := env.srv.Users.Create(ctx, auth.NewUser{Username: "root", Role: auth.Admin, Password: webtest.SignInPassword}); err != nil {
		t.Fatal(err)
	}
	root, _, err := env.srv.Tokens.CreateFor(ctx, "root", "root's", auth.Admin, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	machine, _, _ := env.srv.Tokens.Create(ctx, "ci", auth.Admin, time.Hour)
	return &peopleEnv{oncallEnv: env, root: root, machine: machine}
}

var inviteLink = regexp.MustCompile(`https?://[^\s]+/invite/(ni_[A-Za-z0-9_-]+)`)

// mailTo waits for the next mail and checks who it is for.
func (e *peopleEnv) mailTo(t *testing.T, to string) notifytest.Mail {
	t.Helper()
	m := e.smtp.Next(t)
	if len(m.To) != 1 || m.To[0] != to {
		t.Fatalf("a mail for %v, want %s: %s", m.To, to, m.Data)
	}
	return m
}

func (e *peopleEnv) form(t *testing.T, path string, v url.Values) (int, string) {
	t.Helper()
	resp, err := e.client.PostForm(e.url+path, v)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, b.String()
}

func (e *peopleEnv) signIn(t *testing.T, username, password string) int {
	t.Helper()
	code, _ := e.form(t, "/login", url.Values{"username": {username}, "password": {password}, "next": {"/"}})
	return code
}

func TestAnAdminInvitesAPersonWhoSetsAPasswordOnce(t *testing.T) {
	storetest.Each(t, app.Schemas(), func(t *testing.T, db *store.DB) {
		e := startPeople(t, db)
		code, body := e.do(t, "POST", "/api/v1/invites", e.root, map[string]any{"username": "alice"})
		if code != 201 || !strings.Contains(string(body), `"mailed_to":"alice@example.com"`) || strings.Contains(string(body), "invite_url") {
			t.Fatalf("invite: %d %s", code, body)
		}
		if !strings.Contains(string(body), `"name":"Alice Martin"`) {
			t.Errorf("the account does not take the person's name from the config: %s", body)
		}
		m := e.mailTo(t, "alice@example.com")
		link := inviteLink.FindStringSubmatch(m.Body(t))
		if link == nil {
			t.Fatalf("no invitation link in the mail: %s", m.Body(t))
		}
		if c := e.signIn(t, "alice", "a long new password 7"); c == http.StatusSeeOther {
			t.Fatal("an invited account signs in before any password is set")
		}
		if c, _ := e.do(t, "GET", "/invite/"+link[1], "", nil); c != 200 {
			t.Fatalf("GET the invitation: %d", c)
		}
		if c, b := e.form(t, "/invite/"+link[1], url.Values{"password": {"a long new password 7"}, "confirm": {"another one"}}); c != 400 || !strings.Contains(b, "differ") {
			t.Errorf("two different passwords: %d", c)
		}
		if c, b := e.form(t, "/invite/"+link[1], url.Values{"password": {"a long new password 7"}, "confirm": {"a long new password 7"}}); c != 200 || !strings.Contains(b, "Your password is set") {
			t.Fatalf("setting the password: %d %s", c, b)
		}
		if c, _ := e.form(t, "/invite/"+link[1], url.Values{"password": {"someone elses pass 9"}, "confirm": {"someone elses pass 9"}}); c != http.StatusGone {
			t.Errorf("the link used a second time: %d, want 410", c)
		}
		if c := e.signIn(t, "alice", "a long new password 7"); c != http.StatusSeeOther {
			t.Errorf("alice signs in with her new password: %d", c)
		}
		// A reset mails a new link, and the old one is dead.
		code, body = e.do(t, "POST", "/api/v1/users/alice/reset-password", e.root, nil)
		if code != 200 || !strings.Contains(string(body), `"mailed_to":"alice@example.com"`) {
			t.Fatalf("reset: %d %s", code, body)
		}
		second := inviteLink.FindStringSubmatch(e.mailTo(t, "alice@example.com").Body(t))
		if second == nil || second[1] == link[1] {
			t.Fatalf("the reset link %v is not a new one", second)
		}
		// An invitation for someone the config has no address for names the field.
		if c, b := e.do(t, "POST", "/api/v1/invites", e.root, map[string]any{"username": "zoe"}); c != 400 || !strings.Contains(string(b), "email") {
			t.Errorf("invite without an address: %d %s", c, b)
		}
		// Without a server to mail through, the admin gets the link to hand over.
		e.smtp.Stop()
		code, body = e.do(t, "POST", "/api/v1/invites", e.root, map[string]any{"username": "zoe", "email": "zoe@example.com"})
		if code != 201 || !strings.Contains(string(body), `"invite_url":"`) || !strings.Contains(string(body), `"mail_error"`) {
			t.Errorf("invite with the mail server down: %d %s", code, body)
		}
		// A reset for someone nines has no address for hands the link over and says why.
		code, body = e.do(t, "POST", "/api/v1/users/zoe/reset-password", e.root, nil)
		if code != 200 || !strings.Contains(string(body), `"invite_url":"`) || !strings.Contains(string(body), `"mail_error":"no address to mail`) {
			t.Errorf("a reset without an address: %d %s", code, body)
		}
	})
}

func TestAdminsManageAccountsButNeverThemselvesOrTheLastAdmin(t *testing.T) {
	storetest.Each(t, app.Schemas(), func(t *testing.T, db *store.DB) {
		e := startPeople(t, db)
		ctx := context.Background()
		if _, err := e.srv.Users.Create(ctx, auth.NewUser{Username: "alice", Role: auth.Responder, Password: webtest.SignInPassword}); err != nil {
			t.Fatal(err)
		}
		steps := []struct {
			name, method, path, token string
			body                      any
			status                    int
			want                      string
		}{
			{"an admin disables alice", "POST", "/api/v1/users/alice/disable", e.root, nil, 200, `"disabled":true`},
			{"disabling her again changes nothing", "POST", "/api/v1/users/alice/disable", e.root, nil, 200, `"disabled":true`},
			{"an admin enables alice again", "POST", "/api/v1/users/alice/enable", e.root, nil, 200, `"disabled":false`},
			{"an admin makes alice a manager of the checkout people", "PATCH", "/api/v1/users/alice", e.root, map[string]any{"role": "manager"}, 200, `"role":"manager"`},
			{"a role that is none is refused naming the field", "PATCH", "/api/v1/users/alice", e.root, map[string]any{"role": "boss"}, 400, `role`},
			{"nobody disables themselves", "POST", "/api/v1/users/root/disable", e.root, nil, 409, "own account"},
			{"nobody demotes themselves", "PATCH", "/api/v1/users/root", e.root, map[string]any{"role": "viewer"}, 409, "own account"},
			{"nobody deletes themselves", "DELETE", "/api/v1/users/root", e.root, nil, 409, "own account"},
			{"the last admin is not disabled by a machine", "POST", "/api/v1/users/root/disable", e.machine, nil, 409, "last enabled admin"},
			{"the last admin is not demoted", "PATCH", "/api/v1/users/root", e.machine, map[string]any{"role": "manager"}, 409, "last enabled admin"},
			{"the last admin is not scoped to one team", "PATCH", "/api/v1/users/root", e.machine, map[string]any{"teams": []string{"payments"}}, 409, "last enabled admin"},
			{"the last admin is not deleted", "DELETE", "/api/v1/users/root", e.machine, nil, 409, "last enabled admin"},
			{"alice becomes an admin too", "PATCH", "/api/v1/users/alice", e.root, map[string]any{"role": "admin"}, 200, `"role":"admin"`},
			{"now root may be disabled by someone else", "POST", "/api/v1/users/root/disable", e.machine, nil, 200, `"disabled":true`},
			{"and alice, the last one again, may not be", "POST", "/api/v1/users/alice/disable", e.machine, nil, 409, "last enabled admin"},
			{"root comes back", "POST", "/api/v1/users/root/enable", e.machine, nil, 200, `"disabled":false`},
			{"an unknown user is a 404", "POST", "/api/v1/users/nobody/enable", e.root, nil, 404, "nobody"},
			{"alice is deleted", "DELETE", "/api/v1/users/alice", e.root, nil, 204, ""},
			{"and gone", "GET", "/api/v1/users", e.root, nil, 200, `"username":"root"`},
		}
		for _, s := range steps {
			code, body := e.do(t, s.method, s.path, s.token, s.body)
			if code != s.status || !strings.Contains(string(body), s.want) {
				t.Errorf("%s: %s %s answered %d %s, want %d with %q", s.name, s.method, s.path, code, body, s.status, s.want)
			}
		}
		_, body := e.do(t, "GET", "/api/v1/users", e.root, nil)
		if strings.Contains(string(body), "alice") {
			t.Errorf("alice is still listed after her deletion: %s", body)
		}
		// The changes are in the audit log, with who made them.
		_, body = e.do(t, "GET", "/api/v1/audit", e.root, nil)
		for _, want := range []string{`"action":"POST /api/v1/users/{username}/disable","target":"/api/v1/users/alice/disable"`, `"action":"DELETE /api/v1/users/{username}"`, `"actor":"token:root's"`} {
			if !strings.Contains(string(body), want) {
				t.Errorf("the audit log lacks %s", want)
			}
		}
		// A disabled account cannot sign in; enabled, it can.
		e.do(t, "POST", "/api/v1/users/root/disable", e.machine, nil)
	})
}

var codeInSubject = regexp.MustCompile(`nines verification code: (\d{6})`)

func TestAPersonSetsUpTheirOwnContactMethodsAndEscalationPagesThem(t *testing.T) {
	storetest.Each(t, app.Schemas(), func(t *testing.T, db *store.DB) {
		e := startPeople(t, db)
		ctx := context.Background()
		if _, err := e.srv.Users.Create(ctx, auth.NewUser{Username: "alice", Name: "Alice Martin", Role: auth.Responder, Password: webtest.SignInPassword}); err != nil {
			t.Fatal(err)
		}
		alice, _, _ := e.srv.Tokens.CreateFor(ctx, "alice", "alice's", auth.Responder, time.Hour, nil)

		code, body := e.do(t, "GET", "/api/v1/me", alice, nil)
		if code != 200 {
			t.Fatalf("GET /api/v1/me: %d %s", code, body)
		}
		for _, want := range []string{`"id":"alice"`, `"name":"Alice Martin"`, `"time_zone":"Europe/Paris"`, `"working_hours":"`,
			`{"id":"email","type":"email","address":"alice@example.com","verified":true,"source":"nines.yaml:2","read_only":true}`,
			`"shifts":[{"user_id":"alice","schedule_id":"ops","layer":"primary","start":"2026-03-30T07:30:00Z","end":"2026-04-06T00:00:00Z"}`,
			`"calendar_feed_url":"http://127.0.0.1:`, `/api/v1/users/alice/shifts.ics?key=`} {
			if !strings.Contains(string(body), want) {
				t.Errorf("GET /api/v1/me lacks %s: %s", want, body)
			}
		}
		var me struct {
			Shifts []struct{ End time.Time } `json:"shifts"`
			Feed   string                    `json:"calendar_feed_url"`
		}
		json.Unmarshal(body, &me)
		if n := len(me.Shifts); n != 4 && n != 5 {
			t.Errorf("%d shifts in the next 4 weeks of a weekly rotation of one, want 4 or 5", n)
		}
		if resp, err := http.Get(me.Feed); err != nil || resp.StatusCode != 200 {
			t.Errorf("the calendar feed URL of the profile: %v %v", resp, err)
		}
		if c, _ := e.do(t, "GET", "/api/v1/me", e.machine, nil); c != 404 {
			t.Errorf("a machine's token has no profile: %d, want 404", c)
		}

		// The config's contact method is read-only here.
		code, body = e.do(t, "DELETE", "/api/v1/me/contact-methods/email", alice, nil)
		if code != 409 || !strings.Contains(string(body), "declared in nines.yaml:2; change it there") {
			t.Errorf("removing the config's method: %d %s", code, body)
		}
		// Bad input names its field and adds nothing.
		for _, bad := range []map[string]string{{"type": "email", "address": "not an address"}, {"type": "pager", "address": "x"}, {"type": "sms", "address": "0612"}} {
			if c, b := e.do(t, "POST", "/api/v1/me/contact-methods", alice, bad); c != 400 {
				t.Errorf("adding %v: %d %s, want 400", bad, c, b)
			}
		}
		// A new email address gets a code through the real SMTP path.
		code, body = e.do(t, "POST", "/api/v1/me/contact-methods", alice, map[string]string{"type": "email", "address": "alice.home@example.com"})
		if code != 201 || !strings.Contains(string(body), `"id":"profile-1"`) || !strings.Contains(string(body), `"verified":false`) {
			t.Fatalf("adding a method: %d %s", code, body)
		}
		got := codeInSubject.FindStringSubmatch(e.mailTo(t, "alice.home@example.com").Subject(t))
		if got == nil {
			t.Fatal("no code in the verification mail's subject")
		}
		if c, _ := e.do(t, "POST", "/api/v1/me/contact-methods/profile-1/test", alice, nil); c != 409 {
			t.Errorf("a test page to an unverified method: %d, want 409", c)
		}
		wrong := "000000"
		if got[1] == wrong {
			wrong = "000001"
		}
		if c, b := e.do(t, "POST", "/api/v1/me/contact-methods/profile-1/verify", alice, map[string]string{"code": wrong}); c != 400 || !strings.Contains(string(b), "code") {
			t.Errorf("a wrong code: %d %s", c, b)
		}
		if c, b := e.do(t, "POST", "/api/v1/me/contact-methods/profile-1/verify", alice, map[string]string{"code": got[1]}); c != 204 {
			t.Fatalf("the right code: %d %s", c, b)
		}
		if c, _ := e.do(t, "POST", "/api/v1/me/contact-methods/profile-1/test", alice, nil); c != 204 {
			t.Errorf("a test page: %d", c)
		}
		if s := e.mailTo(t, "alice.home@example.com").Subject(t); !strings.Contains(s, "Test page") {
			t.Errorf("the test page's subject: %q", s)
		}
		// A second method, never verified: wrong guesses run out.
		e.do(t, "POST", "/api/v1/me/contact-methods", alice, map[string]string{"type": "email", "address": "alice.old@example.com"})
		e.mailTo(t, "alice.old@example.com")
		for i := 0; i < 5; i++ {
			e.do(t, "POST", "/api/v1/me/contact-methods/profile-2/verify", alice, map[string]string{"code": "99999" + string(rune('0'+i))})
		}
		if c, b := e.do(t, "POST", "/api/v1/me/contact-methods/profile-2/verify", alice, map[string]string{"code": "123456"}); c != 429 {
			t.Errorf("a sixth guess: %d %s, want 429", c, b)
		}
		if c, _ := e.do(t, "POST", "/api/v1/me/contact-methods/profile-2/send-code", alice, nil); c != 429 {
			t.Errorf("a new code at once: %d, want 429 (one every 30 seconds)", c)
		}
		// Rules: the config's method is not hers to rule from here; her own is.
		if c, b := e.do(t, "POST", "/api/v1/me/notification-rules", alice, map[string]string{"contact_method": "email", "after": "0"}); c != 409 {
			t.Errorf("a rule for the config's method: %d %s", c, b)
		}
		if c, b := e.do(t, "POST", "/api/v1/me/notification-rules", alice, map[string]string{"contact_method": "profile-1", "after": "1m", "urgency": "urgent"}); c != 400 || !strings.Contains(string(b), "urgency") {
			t.Errorf("a bad urgency: %d %s", c, b)
		}
		if c, b := e.do(t, "POST", "/api/v1/me/notification-rules", alice, map[string]string{"contact_method": "profile-1", "after": "0"}); c != 201 || !strings.Contains(string(b), `"contact_method":"profile-1"`) {
			t.Errorf("a rule: %d %s", c, b)
		}
		// Another person's method is not found for alice.
		if c, _ := e.do(t, "DELETE", "/api/v1/me/contact-methods/profile-1", e.root, nil); c != 404 {
			t.Errorf("root removing alice's method: %d, want 404", c)
		}

		// An incident pages her on the verified method she added, never on the unverified one.
		if c, b := e.do(t, "POST", "/v2/enqueue", "", map[string]any{"routing_key": "0123456789abcdef0123456789abcdef", "event_action": "trigger",
			"dedup_key": "db", "payload": map[string]any{"summary": "Database down", "source": "db1", "severity": "critical"}}); c != 202 {
			t.Fatalf("trigger: %d %s", c, b)
		}
		page := e.mailTo(t, "alice.home@example.com")
		if !strings.Contains(page.Subject(t), "Database down") {
			t.Errorf("the page's subject: %q", page.Subject(t))
		}
		e.smtp.None(t, "with a rule on her own method, nothing else is paged (her unverified method least of all)")
		code, body = e.do(t, "GET", "/api/v1/me", alice, nil)
		if !strings.Contains(string(body), `"title":"Database down"`) {
			t.Errorf("her open incidents lack the one that paged her: %s", body)
		}
		if c, _ := e.do(t, "DELETE", "/api/v1/me/contact-methods/profile-1", alice, nil); c != 204 {
			t.Errorf("removing her method: %d", c)
		}
		_, body = e.do(t, "GET", "/api/v1/me", alice, nil)
		if strings.Contains(string(body), "alice.home@") || strings.Contains(string(body), `"contact_method":"profile-1"`) {
			t.Errorf("the removed method or its rule is still shown: %s", body)
		}
	})
}

func TestAPersonChangesTheirPasswordAndSignsOutEverywhere(t *testing.T) {
	storetest.Each(t, app.Schemas(), func(t *testing.T, db *store.DB) {
		e := startPeople(t, db)
		first := webtest.SignIn(t, e.url, e.srv.Users, "alice", auth.Responder)
		second := webtest.SignIn(t, e.url, e.srv.Users, "alice", auth.Responder)
		json := map[string]string{"Content-Type": "application/json", "X-CSRF-Token": first.CSRF}
		if resp, b := first.Do("POST", "/api/v1/me/password", strings.NewReader(`{"current_password":"wrong password here","new_password":"a brand new passphrase"}`), json); resp.StatusCode != 403 {
			t.Errorf("a wrong current password: %d %s", resp.StatusCode, b)
		}
		if resp, b := first.Do("POST", "/api/v1/me/password", strings.NewReader(`{"current_password":"`+webtest.SignInPassword+`","new_password":"short"}`), json); resp.StatusCode != 400 {
			t.Errorf("a short new password: %d %s", resp.StatusCode, b)
		}
		if resp, b := first.Do("POST", "/api/v1/me/password", strings.NewReader(`{"current_password":"`+webtest.SignInPassword+`","new_password":"a brand new passphrase"}`), json); resp.StatusCode != 204 {
			t.Fatalf("changing the password: %d %s", resp.StatusCode, b)
		}
		if resp, _ := first.Do("GET", "/api/v1/me", nil, nil); resp.StatusCode != 200 {
			t.Errorf("the session that changed the password: %d, want 200", resp.StatusCode)
		}
		if resp, _ := second.Do("GET", "/api/v1/me", nil, nil); resp.StatusCode != 401 {
			t.Errorf("another session after the change: %d, want 401", resp.StatusCode)
		}
		if c := e.signIn(t, "alice", "a brand new passphrase"); c != http.StatusSeeOther {
			t.Errorf("signing in with the new password: %d", c)
		}
		if resp, b := first.Do("POST", "/api/v1/me/sign-out-everywhere", nil, json); resp.StatusCode != 200 || !strings.Contains(b, `"sessions_ended":2`) {
			t.Errorf("signing out everywhere: %d %s", resp.StatusCode, b)
		}
		if resp, _ := first.Do("GET", "/api/v1/me", nil, nil); resp.StatusCode != 401 {
			t.Errorf("this session after signing out everywhere: %d, want 401", resp.StatusCode)
		}
	})
}
