package httpx

import (
	"net/http"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/nines-dev/nines/internal/config"
)

// configOwners are the owners of the config object kind/id: the object in force, and, for a
// change, the object the request would write (read from the body: the object itself, in JSON
// or YAML, or a form's doc field).
func (g *Guard) configOwners(w http.ResponseWriter, r *http.Request, cfg *config.Config, kind, id string) ([]owner, error) {
	var out []owner
	if o, ok := g.configOwner(cfg, kind, id, nil); ok {
		out = append(out, o)
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodDelete {
		return out, nil
	}
	raw, err := ReadBodyUpTo(w, r, MaxAnyBody)
	if err != nil {
		return nil, err
	}
	if err := ReadForm(w, r, MaxAnyBody); err != nil {
		return nil, err
	}
	docs := [][]byte{raw}
	for _, d := range r.PostForm["doc"] {
		docs = append(docs, []byte(d))
	}
	// The pages' forms name a service's team, or a monitor's service, in fields of their own.
	for _, field := range []string{"team", "service"} {
		for _, v := range r.PostForm[field] {
			b, _ := yaml.Marshal(map[string]string{field: v})
			docs = append(docs, b)
		}
	}
	for _, d := range docs {
		var fields map[string]any
		if yaml.Unmarshal(d, &fields) != nil || fields == nil {
			continue
		}
		if o, ok := g.configOwner(cfg, kind, id, fields); ok {
			out = append(out, o)
		}
	}
	return out, nil
}

// configOwner is the owner of kind/id as cfg holds it, or, given fields, as they would make it.
func (g *Guard) configOwner(cfg *config.Config, kind, id string, fields map[string]any) (owner, bool) {
	what := "config object " + kind + "/" + id
	field := func(name string) (string, bool) {
		v, ok := fields[name]
		s, _ := v.(string)
		return s, ok
	}
	if fields == nil {
		switch kind {
		case "services":
			if cfg.Service(id) != nil {
				return serviceOwner(cfg, id, what), true
			}
		case "monitors":
			if m := cfg.Monitor(id); m != nil {
				return serviceOwner(cfg, m.Service, what), true
			}
		case "slos":
			if svc, ok := g.sloService(id); ok {
				return serviceOwner(cfg, svc, what), true
			}
		case "schedules":
			if cfg.Schedule(id) != nil {
				return owner{what: what, teams: scheduleTeams(cfg)[id]}, true
			}
		case "teams":
			if cfg.Team(id) != nil {
				return owner{what: what, teams: []string{id}}, true
			}
		case "escalation_policies":
			if cfg.EscalationPolicy(id) != nil {
				return owner{what: what, every: true}, true
			}
		case "status_pages":
			if cfg.StatusPage(id) != nil {
				return owner{what: what, every: true}, true
			}
		}
		return owner{}, false
	}
	// What a change would write must stay the principal's team's: written without a team, it
	// would be no team's, which only unscoped principals make.
	switch kind {
	case "services":
		if team, _ := field("team"); team != "" {
			return owner{what: what, teams: []string{team}}, true
		}
		return owner{what: what, every: true}, true
	case "monitors", "slos":
		svc, _ := field("service")
		o := serviceOwner(cfg, svc, what)
		if len(o.teams) == 0 {
			o.every = true
		}
		return o, true
	case "teams":
		return owner{what: what, teams: []string{id}}, true
	case "schedules":
		if cfg.Schedule(id) != nil {
			return owner{what: what, teams: scheduleTeams(cfg)[id]}, true
		}
		// A new schedule pages for no service yet: any manager may make one.
		return owner{}, false
	}
	return owner{what: what, every: true}, true
}

// ConfigObject says whether the principal reaches the config object kind/id in force.
func (rc Reach) ConfigObject(kind, id string) bool {
	if rc.All() {
		return true
	}
	o, ok := rc.g.configOwner(rc.cfg, kind, id, nil)
	return !ok || o.reachableBy(rc.p)
}

// ConfigKind is the kind of config object a request of /config/{kind}... or
// /api/v1/config/{kind}... names: its {kind} wildcard, or the segment a route of one kind
// (/config/users) spells out.
func ConfigKind(r *http.Request) string {
	if k := r.PathValue("kind"); k != "" {
		return k
	}
	p := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/api/v1"), "/config/")
	k, _, _ := strings.Cut(p, "/")
	return k
}
