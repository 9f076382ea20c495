package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/change"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/maintenance"
	"github.com/nines-dev/nines/internal/postmortem"
)

// Team scope. A user or token scoped to teams reaches only what those teams own, and what no
// team owns. Every token route says in the route table how the team of what it acts on is
// found (Route.Scope); Guard.Authorize checks it before the handler runs, so a handler cannot
// forget. Routes that list things are marked Filtered and show a scoped principal only what it
// reaches (Guard.Reach).
//
// Who owns what, from the config in force:
//
//	service        its team (no team: nobody owns it, every principal reaches it)
//	incident       the team of its service
//	monitor, SLO   the team of their service
//	schedule       the teams of the services whose escalation policy pages it; any of them
//	component      the team of the service (or the monitor's service) it shows
//	action item    the team of its incident
//	change         the team of its service
//	maint. window  the teams of the services it covers and of the monitors' services: read by a
//	               principal reaching any of them, changed only by one reaching them all
//	person         the teams listing them as a member, and those owning a schedule they are on
//	account, token every team of its scope; an unscoped one reaches every team
//
// Something whose service is no longer in the config reaches every team: only unscoped
// principals see it.

// ScopeRule is how a route finds the team of what it acts on.
type ScopeRule int

const (
	// NoScopeRule is a route that declares none. Scoped principals are refused, and the
	// authorization matrix test fails until the route says.
	NoScopeRule ScopeRule = iota
	// TargetInPath: the target is named by a wildcard of the path.
	TargetInPath
	// TargetInBody: the targets are named by a field of the request body, JSON or form.
	TargetInBody
	// FilteredByScope: the route lists things, and shows a scoped principal only those it
	// reaches.
	FilteredByScope
	// NotTeamOwned: the route acts on nothing a team owns; the role alone decides.
	NotTeamOwned
	// UnscopedOnly: the route spans every team by nature; scoped principals are refused.
	UnscopedOnly
	// CallersOwn: the route acts on the caller's own things only (their profile, their
	// contact methods), which a path wildcard may name among them; the role alone decides.
	CallersOwn
	// EachTargetChecked: the route acts on many targets named in its body (or chosen by a
	// filter in it); the handler checks each against the principal's reach, acts on those it
	// reaches and answers, per target, that the others are forbidden.
	EachTargetChecked
)

// Object is a kind of thing a route acts on, for team scope.
type Object int

// The objects routes act on; see the package comment above for who owns each.
const (
	Incident Object = iota + 1
	Service
	Monitor
	SLO
	Schedule
	// Component is a component of the status page named by the {page} wildcard. A body that
	// names none acts on every component of the page.
	Component
	ActionItem
	// Team is a team named directly: the teams of an account or token being made.
	Team
	// Account is a web account, by username.
	Account
	// APIToken is an API token, by id.
	APIToken
	// Person is a user of the config, by id.
	Person
	// Change is a change or deploy, by id.
	Change
	// Window is a maintenance window, by id. A route that reads it needs any of what it covers;
	// one that changes it needs all of it.
	Window
	// ConfigObject is a config object of the kind the {kind} wildcard names, by id: owned as
	// what it is (a service by its team, a monitor or an SLO by its service's, a schedule by
	// the teams of the services it pages for, a team by itself; an escalation policy or a
	// status page by every team). A change is also owned by whoever the object it writes
	// would belong to (a service's team in the body).
	ConfigObject
)

var objectNames = map[Object]string{Incident: "incident", Service: "service", Monitor: "monitor", SLO: "SLO", Schedule: "schedule",
	Component: "component", ActionItem: "action item", Team: "team", Account: "account", APIToken: "token", Person: "user",
	Change: "change", Window: "maintenance window", ConfigObject: "config object"}

func (o Object) String() string { return objectNames[o] }

// Scope is a route's team scope.
type Scope struct {
	Rule   ScopeRule
	Object Object // what TargetInPath and TargetInBody name
	// Name is the path wildcard (TargetInPath) or the body field (TargetInBody) naming the
	// target; a dotted field walks into nested JSON objects and arrays ("results.monitor_id").
	Name string
	// Also are further targets the route names (TargetInPath or TargetInBody): a scoped
	// principal must reach every one of them too.
	Also []Scope
}

// And is the scope of a route that names more targets than sc's: a scoped principal must
// reach each target of each.
func (sc Scope) And(more ...Scope) Scope {
	sc.Also = append(append([]Scope{}, sc.Also...), more...)
	return sc
}

// Targets are the rules of every target the scope names: sc's own, then the further ones.
func (sc Scope) Targets() []Scope {
	own := sc
	own.Also = nil
	out := []Scope{own}
	for _, a := range sc.Also {
		out = append(out, a.Targets()...)
	}
	return out
}

// InPath scopes a route to the object a path wildcard names.
func InPath(o Object, wildcard string) Scope {
	return Scope{Rule: TargetInPath, Object: o, Name: wildcard}
}

// InBody scopes a route to the objects a field of its body names.
func InBody(o Object, field string) Scope { return Scope{Rule: TargetInBody, Object: o, Name: field} }

// EachInBody scopes a route acting on many objects, named by a field of its body or chosen by
// a filter, that checks each itself and reports those out of reach (a bulk acknowledge).
func EachInBody(o Object, field string) Scope {
	return Scope{Rule: EachTargetChecked, Object: o, Name: field}
}

// Incident reports whether the principal reaches the incident: the team of its service owns
// it (a route scoped EachInBody(Incident, ...) asks it of each incident it acts on).
func (rc Reach) Incident(inc incident.Incident) bool { return rc.Service(inc.ServiceID) }

// The scopes of routes that name no target.
var (
	Filtered = Scope{Rule: FilteredByScope}
	NoTeam   = Scope{Rule: NotTeamOwned}
	AllTeams = Scope{Rule: UnscopedOnly}
	Own      = Scope{Rule: CallersOwn}
)

// String says the scope as docs/api.md does.
func (sc Scope) String() string {
	if len(sc.Also) > 0 {
		var parts []string
		for _, t := range sc.Targets() {
			parts = append(parts, t.String())
		}
		return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
	}
	switch sc.Rule {
	case TargetInPath:
		return sc.Object.String() + " `{" + sc.Name + "}`"
	case TargetInBody:
		return sc.Object.String() + " in body `" + sc.Name + "`"
	case FilteredByScope:
		return "filtered list"
	case NotTeamOwned:
		return "not team-owned"
	case UnscopedOnly:
		return "unscoped principals only"
	case CallersOwn:
		return "the caller's own"
	case EachTargetChecked:
		return "each " + sc.Object.String() + " in body `" + sc.Name + "` checked, others' reported forbidden"
	}
	return "none"
}

// owner is who owns one target.
type owner struct {
	what  string   // names the target in a refusal: "incident 3"
	teams []string // any of them may act on it; none: no team owns it
	every bool     // it reaches every team: only unscoped principals may act on it
}

func (o owner) reachableBy(p auth.Principal) bool {
	if !p.Scoped() {
		return true
	}
	if o.every {
		return false
	}
	if len(o.teams) == 0 {
		return true
	}
	for _, t := range o.teams {
		if p.InTeam(t) {
			return true
		}
	}
	return false
}

func (o owner) refusal(p auth.Principal) error {
	whose := "every team"
	if !o.every {
		whose = "team " + strings.Join(o.teams, " and ")
	}
	return Errorf(http.StatusForbidden, "forbidden: %s belongs to %s; %s acts for %s only", o.what, whose, p.Actor(), strings.Join(p.Teams, ", "))
}

// checkScope refuses a scoped principal whatever the route acts on that its teams do not own.
// A target that does not exist is left to the handler, which answers 404 or 400 as it does
// for anyone.
func (g *Guard) checkScope(rt Route, w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if !p.Scoped() {
		return nil
	}
	switch rt.Scope.Rule {
	case FilteredByScope, NotTeamOwned, CallersOwn, EachTargetChecked:
		return nil
	case TargetInPath, TargetInBody:
		for _, sc := range rt.Scope.Targets() {
			var names []string
			switch sc.Rule {
			case TargetInPath:
				names = []string{r.PathValue(sc.Name)}
			case TargetInBody:
				var err error
				if names, err = bodyValues(w, r, sc.Name); err != nil {
					return err
				}
			default:
				return fmt.Errorf("web: %s %s: a further target must be in the path or the body, not %s", rt.Method, rt.Pattern, sc)
			}
			owners, err := g.owners(w, r, sc, names)
			if err != nil {
				return err
			}
			for _, o := range owners {
				if !o.reachableBy(p) {
					return o.refusal(p)
				}
			}
		}
		return nil
	case UnscopedOnly:
		return Errorf(http.StatusForbidden, "forbidden: this spans every team; %s acts for %s only", p.Actor(), strings.Join(p.Teams, ", "))
	}
	return Errorf(http.StatusForbidden, "forbidden: %s %s says no team scope; only unscoped principals may call it", rt.Method, rt.Pattern)
}

// owners finds who owns each target named; names of nothing are skipped. Each name is read as
// the route's handler reads it, so both mean the same object.
func (g *Guard) owners(w http.ResponseWriter, r *http.Request, sc Scope, names []string) ([]owner, error) {
	ctx := r.Context()
	cfg := g.Config.Get()
	var out []owner
	if sc.Object == Component {
		page := cfg.StatusPage(r.PathValue("page"))
		if page == nil {
			return nil, nil
		}
		if len(names) == 0 && sc.Rule == TargetInBody {
			for _, c := range page.Components {
				names = append(names, c.ID)
			}
		}
		for _, n := range names {
			for _, c := range page.Components {
				if c.ID == n {
					out = append(out, componentOwner(cfg, page.ID, &c))
				}
			}
		}
		return out, nil
	}
	for _, n := range names {
		switch sc.Object {
		case Incident:
			id, err := strconv.ParseInt(n, 10, 64)
			if err != nil {
				continue
			}
			inc, err := g.Incidents.Get(ctx, id)
			if errors.Is(err, incident.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			out = append(out, serviceOwner(cfg, inc.ServiceID, fmt.Sprintf("incident %d", id)))
		case Service:
			if cfg.Service(n) != nil {
				out = append(out, serviceOwner(cfg, n, "service "+n))
			}
		case Monitor:
			if m := cfg.Monitor(n); m != nil {
				out = append(out, serviceOwner(cfg, m.Service, "monitor "+n))
			}
		case SLO:
			if svc, ok := g.sloService(n); ok {
				out = append(out, serviceOwner(cfg, svc, "SLO "+n))
			}
		case Schedule:
			if cfg.Schedule(n) != nil {
				out = append(out, owner{what: "schedule " + n, teams: scheduleTeams(cfg)[n]})
			}
		case Person:
			if cfg.User(n) != nil {
				out = append(out, owner{what: "user " + n, teams: personTeams(cfg, scheduleTeams(cfg), n)})
			}
		case ActionItem:
			id, err := strconv.ParseInt(n, 10, 64)
			if err != nil {
				continue
			}
			item, err := g.Postmortems.Action(ctx, id)
			if errors.Is(err, postmortem.ErrNoAction) {
				continue
			}
			if err != nil {
				return nil, err
			}
			out = append(out, serviceOwner(cfg, item.ServiceID, fmt.Sprintf("action item %d", id)))
		case Change:
			id, err := strconv.ParseInt(n, 10, 64)
			if err != nil {
				continue
			}
			c, err := g.Changes.Get(ctx, id)
			if errors.Is(err, change.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			out = append(out, serviceOwner(cfg, c.ServiceID, fmt.Sprintf("change %d", id)))
		case Window:
			w, err := g.Maintenance.Get(ctx, n)
			if errors.Is(err, maintenance.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			out = append(out, windowOwners(cfg, w, r.Method != http.MethodGet && r.Method != http.MethodHead)...)
		case Team:
			out = append(out, owner{what: "team " + n, teams: []string{n}})
		case ConfigObject:
			more, err := g.configOwners(w, r, cfg, ConfigKind(r), n)
			if err != nil {
				return nil, err
			}
			out = append(out, more...)
		case Account:
			users, err := g.Users.List(ctx)
			if err != nil {
				return nil, err
			}
			for _, u := range users {
				if u.Username == n {
					out = append(out, accountOwner("account "+n, u.Teams)...)
				}
			}
		case APIToken:
			id, err := strconv.ParseInt(n, 10, 64) // as the handler reads it: "007" is token 7
			if err != nil {
				continue
			}
			toks, err := g.Tokens.List(ctx)
			if err != nil {
				return nil, err
			}
			for _, t := range toks {
				if t.ID == id {
					out = append(out, accountOwner(fmt.Sprintf("token %d", id), t.Teams)...)
				}
			}
		default:
			return nil, fmt.Errorf("web: the team scope of a %s is not known", sc.Object)
		}
	}
	return out, nil
}

// serviceOwner is the owner of something that belongs to the service id.
func serviceOwner(cfg *config.Config, id, what string) owner {
	if id == "" {
		return owner{what: what}
	}
	svc := cfg.Service(id)
	if svc == nil {
		return owner{what: what, every: true}
	}
	if svc.Team == "" {
		return owner{what: what}
	}
	return owner{what: what, teams: []string{svc.Team}}
}

// windowOwners are the owners of a maintenance window: one for each service and monitor it
// covers, all of which must be reached to change it, or (to read it) one that any of their
// teams reaches. A window over something no longer in the config is changed by unscoped
// principals only.
func windowOwners(cfg *config.Config, w maintenance.Window, changing bool) []owner {
	what := "maintenance window " + w.ID
	var each []owner
	for _, id := range w.Services {
		each = append(each, serviceOwner(cfg, id, what))
	}
	for _, id := range w.Monitors {
		if m := cfg.Monitor(id); m != nil {
			each = append(each, serviceOwner(cfg, m.Service, what))
		} else {
			each = append(each, owner{what: what, every: true})
		}
	}
	if changing {
		return each
	}
	read := owner{what: what, every: len(each) > 0}
	for _, o := range each {
		if o.every {
			continue
		}
		if len(o.teams) == 0 { // something no team owns: everyone reads the window
			return []owner{{what: what}}
		}
		read.every = false
		for _, t := range o.teams {
			if !slices.Contains(read.teams, t) {
				read.teams = append(read.teams, t)
			}
		}
	}
	return []owner{read}
}

func componentOwner(cfg *config.Config, page string, c *config.StatusPageComponent) owner {
	what := "component " + c.ID + " of status page " + page
	switch {
	case c.Service != "":
		return serviceOwner(cfg, c.Service, what)
	case c.Monitor != "":
		if m := cfg.Monitor(c.Monitor); m != nil {
			return serviceOwner(cfg, m.Service, what)
		}
	}
	return owner{what: what}
}

// accountOwner: an account acts for each of its teams, so a principal must reach them all; an
// unscoped account reaches every team.
func accountOwner(what string, teams []string) []owner {
	if len(teams) == 0 {
		return []owner{{what: what, every: true}}
	}
	out := make([]owner, len(teams))
	for i, t := range teams {
		out[i] = owner{what: what, teams: []string{t}}
	}
	return out
}

// scheduleTeams maps each schedule to the teams of the services whose escalation policy pages it.
func scheduleTeams(cfg *config.Config) map[string][]string {
	out := map[string][]string{}
	for _, svc := range cfg.Services {
		if svc.Team == "" || svc.EscalationPolicy == "" {
			continue
		}
		pol := cfg.EscalationPolicy(svc.EscalationPolicy)
		if pol == nil {
			continue
		}
		for _, step := range pol.Steps {
			for _, t := range step.Targets {
				if t.Schedule != "" && !slices.Contains(out[t.Schedule], svc.Team) {
					out[t.Schedule] = append(out[t.Schedule], svc.Team)
				}
			}
		}
	}
	return out
}

// personTeams are the teams listing user as a member and those owning a schedule they are on
// (owners is scheduleTeams).
func personTeams(cfg *config.Config, owners map[string][]string, user string) []string {
	var out []string
	add := func(t string) {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	for _, t := range cfg.Teams {
		if slices.Contains(t.Members, user) {
			add(t.ID)
		}
	}
	for _, sc := range cfg.Schedules {
		for _, l := range sc.Layers {
			if slices.Contains(l.Users, user) {
				for _, t := range owners[sc.ID] {
					add(t)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// sloService is the service of an SLO, from the engine (which knows OpenSLO documents too).
func (g *Guard) sloService(id string) (string, bool) {
	d, ok := g.SLOs.Definition(id)
	return d.ServiceID, ok
}

// bodyValues reads the values of field from the request body, as JSON and as a form, as the
// handler will read them: from the same bytes, the form parsed by the same parser (ReadForm).
// It finds every value the handler could read: every repeat of a form field, the URL's query
// besides, and JSON field names whatever their case, as encoding/json matches them.
func bodyValues(w http.ResponseWriter, r *http.Request, field string) ([]string, error) {
	raw, err := ReadBodyUpTo(w, r, MaxAnyBody)
	if err != nil {
		return nil, err
	}
	var out []string
	var v any
	// The first JSON value, as readJSON decodes it, whatever follows it. Numbers are kept as
	// written: ids may be numbers.
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if dec.Decode(&v) == nil {
		out = jsonValues(v, strings.Split(field, "."), out)
	}
	if err := ReadForm(w, r, MaxAnyBody); err != nil {
		return nil, err
	}
	return append(out, r.Form[field]...), nil
}

// jsonValues collects the strings and numbers at path in v; arrays on the way are walked element
// by element.
func jsonValues(v any, path []string, out []string) []string {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			out = jsonValues(e, path, out)
		}
	case map[string]any:
		if len(path) == 0 {
			return out
		}
		for k, e := range x {
			if strings.EqualFold(k, path[0]) {
				out = jsonValues(e, path[1:], out)
			}
		}
	case string:
		if len(path) == 0 {
			out = append(out, x)
		}
	case json.Number:
		if len(path) == 0 {
			out = append(out, x.String())
		}
	}
	return out
}

// Reach is what the principal of a request may see: the filter of the routes that list.
type Reach struct {
	p         auth.Principal
	cfg       *config.Config
	schedules map[string][]string // scheduleTeams, for a scoped principal
	g         *Guard
}

// Reach is what the principal of r reaches, for routes that filter what they list.
func (g *Guard) Reach(r *http.Request) Reach {
	rc := Reach{p: Principal(r), cfg: g.Config.Get(), g: g}
	if rc.p.Scoped() {
		rc.schedules = scheduleTeams(rc.cfg)
	}
	return rc
}

// Allow refuses o when the principal does not reach it.
func (rc Reach) Allow(o owner) error {
	if o.reachableBy(rc.p) {
		return nil
	}
	return o.refusal(rc.p)
}

// All reports whether the principal reaches everything (it is not scoped).
func (rc Reach) All() bool { return !rc.p.Scoped() }

// Service reports whether the principal reaches the service id.
func (rc Reach) Service(id string) bool {
	return serviceOwner(rc.cfg, id, "").reachableBy(rc.p)
}

// Monitor reports whether the principal reaches the monitor (its service).
func (rc Reach) Monitor(m *config.Monitor) bool { return rc.Service(m.Service) }

// Schedule reports whether the principal reaches the schedule id.
func (rc Reach) Schedule(id string) bool {
	return owner{teams: rc.schedules[id]}.reachableBy(rc.p)
}

// AllowSchedule refuses the schedule id when the principal does not reach it.
func (rc Reach) AllowSchedule(id string) error {
	return rc.Allow(owner{what: "schedule " + id, teams: rc.schedules[id]})
}

// Team reports whether the principal acts for the team id.
func (rc Reach) Team(id string) bool { return owner{teams: []string{id}}.reachableBy(rc.p) }

// Component reports whether the principal reaches the component c of the status page page.
func (rc Reach) Component(page string, c *config.StatusPageComponent) bool {
	return componentOwner(rc.cfg, page, c).reachableBy(rc.p)
}

// ComponentID is component for a component of page known by id; an unknown one is reached
// only by unscoped principals.
func (rc Reach) ComponentID(page *config.StatusPage, id string) bool {
	for i := range page.Components {
		if page.Components[i].ID == id {
			return rc.Component(page.ID, &page.Components[i])
		}
	}
	return rc.All()
}

// Person reports whether the principal reaches the user id of the config.
func (rc Reach) Person(id string) bool {
	return rc.All() || owner{teams: personTeams(rc.cfg, rc.schedules, id)}.reachableBy(rc.p)
}

// noService names no service: a filter of services that is empty must match nothing, while an
// empty list means every service to the packages that take one. It is not a valid service id.
const noService = "(none)"

// Services narrows a filter of service ids to those the principal reaches: the ones asked
// for, refused if any is out of reach, or, when none is asked for, every service reached
// (nil: every service, for an unscoped principal).
func (rc Reach) Services(asked []string) ([]string, error) {
	if rc.All() {
		return asked, nil
	}
	for _, id := range asked {
		if err := rc.Allow(serviceOwner(rc.cfg, id, "service "+id)); err != nil {
			return nil, err
		}
	}
	if len(asked) > 0 {
		return asked, nil
	}
	out := []string{}
	for _, svc := range rc.cfg.Services {
		if rc.Service(svc.ID) {
			out = append(out, svc.ID)
		}
	}
	if len(out) == 0 {
		out = append(out, noService)
	}
	return out, nil
}

// Window is w as the principal of rc sees it: only the services and monitors it reaches;
// false when it reaches none of them (then it does not see the window).
func (rc Reach) Window(w maintenance.Window) (maintenance.Window, bool) {
	if rc.All() {
		return w, true
	}
	if windowOwners(rc.cfg, w, false)[0].reachableBy(rc.p) {
		svcs, mons := []string{}, []string{}
		for _, id := range w.Services {
			if rc.Service(id) {
				svcs = append(svcs, id)
			}
		}
		for _, id := range w.Monitors {
			if m := rc.cfg.Monitor(id); m != nil && rc.Monitor(m) {
				mons = append(mons, id)
			}
		}
		w.Services, w.Monitors = svcs, mons
		return w, true
	}
	return w, false
}
