package auth

import (
	"context"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/invalid"
)

// The rules of what people ask for: an account's role and teams, a token. The API, the admin
// pages and the CLI all read requests with them, so they refuse the same things in the same
// words. Whether the one asking may grant what they ask is the web's to decide.

// PersonRole reads the role of a person's account: any role but agent, which is for probe
// agents' tokens.
func PersonRole(name string) (Role, error) {
	r, err := ParseRole(name)
	if err != nil {
		return r, invalid.Field("role", "role %q: want viewer, responder, manager or admin", name)
	}
	if r == Agent {
		return r, invalid.Field("role", "agent is the role of probe agents' tokens, not of people")
	}
	return r, nil
}

// CheckTeams reads the teams an account or token is to act for: each one a team id (an empty
// name is refused: a list of no team would act for every team), trimmed, and one the config
// declares, when it declares any (cfg nil: there is none to check against).
func CheckTeams(cfg *config.Config, teams []string) ([]string, error) {
	if err := checkTeamNames(teams); err != nil {
		return nil, err
	}
	var out []string
	for _, t := range cleanTeams(teams) {
		if cfg != nil && len(cfg.Teams) > 0 && cfg.Team(t) == nil {
			return nil, invalid.Field("teams", "unknown team %q", t)
		}
		out = append(out, t)
	}
	return out, nil
}

// TokenRequest is a token someone asks for, every field as typed.
type TokenRequest struct {
	Name string
	Role string
	// TTL is how long it lives: "" for DefaultTTL, "never", or a duration such as 12h or 30d.
	TTL   string
	Teams []string
	// Location is where an agent's token probes from; no other token has one.
	Location string
	// User is the person of the config the token belongs to, if any: what it does is theirs.
	User string
}

// TokenSpec is a token request read: what Tokens.Make makes.
type TokenSpec struct {
	Name     string
	Role     Role
	TTL      time.Duration // 0: it never expires
	Teams    []string
	Location string
	User     string
}

// Check reads r against the config cfg (nil when there is none at hand: then r may name no
// person, and its teams are not checked).
func (r TokenRequest) Check(cfg *config.Config) (TokenSpec, error) {
	spec := TokenSpec{Name: strings.TrimSpace(r.Name), Location: strings.TrimSpace(r.Location), User: r.User, TTL: DefaultTTL}
	if r.User != "" && (cfg == nil || cfg.User(r.User) == nil) {
		return spec, invalid.Field("user", "%q is not a user of the config", r.User)
	}
	var err error
	if spec.Role, err = ParseRole(r.Role); err != nil {
		return spec, invalid.Field("role", "%v", err)
	}
	if spec.Name == "" {
		return spec, invalid.Field("name", "say who or what uses the token")
	}
	switch r.TTL {
	case "":
	case "never":
		spec.TTL = 0
	default:
		if spec.TTL, err = config.ParseDuration(r.TTL); err != nil || spec.TTL <= 0 {
			return spec, invalid.Field("", "ttl %q: want a duration such as 12h or 30d, or \"never\"", r.TTL)
		}
	}
	if spec.Teams, err = CheckTeams(cfg, r.Teams); err != nil {
		return spec, err
	}
	switch {
	case spec.Role != Agent && spec.Location != "":
		return spec, invalid.Field("location", "only agent tokens have a location; it is for agent tokens only (role agent)")
	case spec.Role == Agent && spec.User != "":
		return spec, invalid.Field("user", "an agent token belongs to no person")
	}
	return spec, nil
}

// Make makes the token spec says: an agent's, or one of a person or of a tool.
func (t *Tokens) Make(ctx context.Context, spec TokenSpec) (string, Token, error) {
	if spec.Role == Agent {
		return t.CreateAgent(ctx, spec.Name, spec.Location, spec.TTL, spec.Teams)
	}
	return t.CreateFor(ctx, spec.User, spec.Name, spec.Role, spec.TTL, spec.Teams)
}
