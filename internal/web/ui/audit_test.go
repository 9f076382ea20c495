package ui_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/configdb"
	"github.com/nines-dev/nines/internal/web/ui"
	"github.com/nines-dev/nines/internal/web/webtest"
)

// The audit page tells a change by what it changed: a config object's lines taken out and put
// in, an account's fields before and after; never the raw JSON the entry keeps.
func TestTheAuditPageShowsWhatAChangeChanged(t *testing.T) {
	t.Parallel()
	n := webtest.Start(t, webtest.Options{Config: webtest.Parse(t, "users:\n  - {id: bob, contact_methods: [{type: webhook, address: \"https://example.com/b\"}]}\n")})
	ctx := context.Background()
	who := configdb.Who{Actor: "user:admin"}
	if _, _, err := n.ConfigDB.Create(ctx, who, "teams", []byte("id: web\nname: Web\nmembers: [bob]\n")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := n.ConfigDB.Update(ctx, who, "teams", "web", []byte("id: web\nname: Web shop\nmembers: [bob]\n")); err != nil {
		t.Fatal(err)
	}
	admin := webtest.SignIn(t, n.URL, n.Users, "admin", auth.Admin)
	webtest.SignIn(t, n.URL, n.Users, "dana", auth.Viewer)
	role := auth.Responder
	if _, err := n.Users.Apply(ctx, auth.Principal{Kind: "user", Name: "admin"}, "dana", auth.Change{Role: &role}); err != nil {
		t.Fatal(err)
	}
	_, body := admin.Do("GET", "/admin/audit", nil, nil)
	if strings.Contains(body, `&#34;before&#34;`) || strings.Contains(body, `{&#34;`) {
		t.Errorf("the page shows an entry's raw JSON:\n%s", body)
	}
	diff := regexp.MustCompile(`(?s)<pre class="diff">(.*?)</pre>`).FindAllStringSubmatch(body, -1)
	var updated string
	for _, d := range diff {
		if strings.Contains(d[1], "Web shop") {
			updated = d[1]
		}
	}
	for _, want := range []string{`<del>- name: Web</del>`, `<ins>+ name: Web shop</ins>`, `  members: [bob]`} {
		if !strings.Contains(updated, want) {
			t.Errorf("the update's change lacks %q:\n%s", want, updated)
		}
	}
	if !strings.Contains(body, "version 2") {
		t.Errorf("the update does not say the version it made")
	}
	// An account's change: its fields, before and after.
	var account string
	for _, d := range diff {
		if strings.Contains(d[1], "role") {
			account = d[1]
		}
	}
	for _, want := range []string{`<del>- role: viewer</del>`, `<ins>+ role: responder</ins>`} {
		if !strings.Contains(account, want) {
			t.Errorf("the account's change lacks %q:\n%s", want, account)
		}
	}
}

// On a phone the audit log is a list of cards that fits the screen, a change's lines wrapped.
func TestBrowserTheAuditLogFitsAPhone(t *testing.T) {
	e := startPhoneEnv(t)
	ctx := context.Background()
	who := configdb.Who{Actor: "user:admin"}
	long := strings.Repeat("a-very-long-team-name-without-spaces-", 4)
	if _, _, err := e.n.ConfigDB.Create(ctx, who, "teams", []byte("id: audited\nname: Audited\n")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.n.ConfigDB.Update(ctx, who, "teams", "audited", []byte("id: audited\nname: "+long+"\n")); err != nil {
		t.Fatal(err)
	}
	b := e.signInBrowser("admin", 390, 844)
	if err := do(b, chromedp.Navigate(e.n.URL+"/admin/audit"), chromedp.WaitVisible(chromedp.CSS(`pre.diff`))); err != nil {
		t.Fatal(err)
	}
	wide, err := read(b, chromedp.Evaluate[float64](`document.documentElement.scrollWidth`))
	if err != nil || wide > 390 {
		t.Errorf("the audit log is %v px wide on a 390 px phone (%v)", wide, err)
	}
	screenshot(t, b, "audit-phone")
}

// Any detail an entry holds is told without a panic, and what it says is escaped.
func FuzzTellAudit(f *testing.F) {
	f.Add(`{"version": 2, "before": "id: a\nname: A\n", "after": "id: a\nname: <b>\n"}`)
	f.Add(`{"before": {"role": "viewer", "teams": ["x"]}, "after": null}`)
	f.Add(`201`)
	f.Add(`{"before": 1, "after": [1, {"a": null}]}`)
	f.Fuzz(func(t *testing.T, detail string) {
		_, diff := ui.TellAudit(detail)
		if strings.Contains(strings.NewReplacer("<pre class=\"diff\">", "", "</pre>", "", "<del>", "", "</del>", "", "<ins>", "", "</ins>", "").Replace(diff), "<") {
			t.Errorf("an unescaped < in the diff of %q:\n%s", detail, diff)
		}
	})
}
