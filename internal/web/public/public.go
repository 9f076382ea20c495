// Package public is what nines serves to anyone: status pages with their feeds, badges and
// subscriptions, heartbeat pings, the signed links sent in pages (and the voice calls that
// press 1), and on-call calendar feeds. Each authenticates, if at all, by a secret it carries.
package public

import (
	"embed"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/web/httpx"
	"github.com/nines-dev/nines/internal/web/ui"
)

// Templates are the public pages' templates, rendered by package ui's layout.
//
//go:embed *.html
var Templates embed.FS

// Handler answers the public routes.
type Handler struct {
	httpx.Services
	guard      *httpx.Guard
	pages      *ui.Pages
	subscribes *auth.LoginLimiter // bounds confirmation mail per address and per client
}

// New returns the public routes' handler on svc; pages renders its pages.
func New(svc httpx.Services, guard *httpx.Guard, pages *ui.Pages) *Handler {
	return &Handler{Services: svc, guard: guard, pages: pages, subscribes: auth.NewLoginLimiter(svc.Clock)}
}
