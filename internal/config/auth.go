package config

import (
	"net/url"
	"strings"
)

// Auth says how people sign in besides local passwords.
type Auth struct {
	Node
	OIDC *OIDC `yaml:"oidc"`
}

// OIDC is single sign-on through an OpenID Connect provider (Okta, Google, Keycloak, Dex...).
type OIDC struct {
	Node
	// Issuer is the provider's issuer URL; its /.well-known/openid-configuration is read.
	Issuer   string `yaml:"issuer"`
	ClientID string `yaml:"client_id"`
	// ClientSecretEnv names the environment variable holding the client secret, so the secret
	// stays out of files under review (default NINES_OIDC_CLIENT_SECRET).
	ClientSecretEnv string `yaml:"client_secret_env"`
	// Name labels the button: "Sign in with <name>" (default "single sign-on").
	Name string `yaml:"name"`
	// UsernameClaim is the ID token claim that names the nines user: email (default),
	// preferred_username or sub.
	UsernameClaim string `yaml:"username_claim"`
	// CreateUsers makes an account with DefaultRole for someone the provider vouches for who has
	// none yet; otherwise an admin creates accounts first.
	CreateUsers bool   `yaml:"create_users"`
	DefaultRole string `yaml:"default_role"`
}

// OIDC defaults.
const (
	DefaultOIDCSecretEnv = "NINES_OIDC_CLIENT_SECRET"
)

func (c *Config) validateAuth(errs *Errors) {
	o := c.Auth.OIDC
	if o == nil {
		return
	}
	u, err := url.Parse(o.Issuer)
	local := err == nil && (u.Hostname() == "127.0.0.1" || u.Hostname() == "localhost" || u.Hostname() == "::1")
	switch {
	case o.Issuer == "":
		errs.add(o.Pos, "auth.oidc: issuer is required")
	case err != nil || u.Host == "" || !(u.Scheme == "https" || u.Scheme == "http" && local):
		errs.add(o.At("issuer"), "auth.oidc.issuer %q: want an https URL (http only on loopback)", o.Issuer)
	}
	if o.ClientID == "" {
		errs.add(o.Pos, "auth.oidc: client_id is required")
	}
	if o.ClientSecretEnv == "" {
		o.ClientSecretEnv = DefaultOIDCSecretEnv
	}
	if o.Name == "" {
		o.Name = "single sign-on"
	}
	switch o.UsernameClaim {
	case "":
		o.UsernameClaim = "email"
	case "email", "preferred_username", "sub":
	default:
		errs.add(o.At("username_claim"), "auth.oidc.username_claim %q: want email, preferred_username or sub", o.UsernameClaim)
	}
	switch strings.TrimSpace(o.DefaultRole) {
	case "":
		o.DefaultRole = "viewer"
	case "viewer", "responder", "manager", "admin":
	default:
		errs.add(o.At("default_role"), "auth.oidc.default_role %q: want viewer, responder, manager or admin", o.DefaultRole)
	}
	if c.Server.BaseURL == "" {
		errs.add(o.Pos, "auth.oidc needs server.base_url: the provider sends people back to <base_url>/login/oidc/callback")
	}
}
