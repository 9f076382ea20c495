package ui

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/web/httpx"
	"golang.org/x/oauth2"
)

// oidcCookie carries the state, nonce and PKCE verifier of one sign-in between the redirect to
// the provider and the way back, signed so it cannot be forged.
const oidcCookie = "nines_oidc"

// oidcClient is the provider of the config in force, discovered on first use.
type oidcClient struct {
	mu       sync.Mutex
	cfg      *config.OIDC
	provider *oidc.Provider
}

// oidcSetup returns the OAuth2 config and ID token verifier of the configured provider.
func (s *Handler) oidcSetup(ctx context.Context) (*config.OIDC, *oauth2.Config, *oidc.IDTokenVerifier, error) {
	cfg := s.Config.Get()
	o := cfg.Auth.OIDC
	if o == nil {
		return nil, nil, nil, httpx.Errorf(http.StatusNotFound, "single sign-on is not configured")
	}
	s.oidc.mu.Lock()
	defer s.oidc.mu.Unlock()
	if s.oidc.provider == nil || s.oidc.cfg.Issuer != o.Issuer {
		p, err := oidc.NewProvider(ctx, o.Issuer)
		if err != nil {
			s.Log.Error("OIDC discovery failed", "issuer", o.Issuer, "err", err)
			return nil, nil, nil, httpx.Errorf(http.StatusBadGateway, "the single sign-on provider does not answer; sign in with a password or try again")
		}
		s.oidc.provider = p
	}
	s.oidc.cfg = o
	oc := &oauth2.Config{ClientID: o.ClientID, ClientSecret: os.Getenv(o.ClientSecretEnv), Endpoint: s.oidc.provider.Endpoint(),
		RedirectURL: strings.TrimSuffix(cfg.Server.BaseURL, "/") + "/login/oidc/callback", Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}
	return o, oc, s.oidc.provider.Verifier(&oidc.Config{ClientID: o.ClientID}), nil
}

// OIDCStart answers GET /login/oidc.
func (s *Handler) OIDCStart(w http.ResponseWriter, r *http.Request) error {
	_, oc, _, err := s.oidcSetup(r.Context())
	if err != nil {
		return err
	}
	state, nonce, verifier := randomString(), randomString(), oauth2.GenerateVerifier()
	exp := strconv.FormatInt(s.Clock.Now().Add(10*time.Minute).Unix(), 10)
	payload := strings.Join([]string{state, nonce, verifier, safeNext(r.URL.Query().Get("next")), exp}, "\n")
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: signOIDC(s.guard.MAC, payload), Path: "/login/oidc", HttpOnly: true,
		Secure: r.TLS != nil || strings.HasPrefix(s.Config.Get().Server.BaseURL, "https:"), SameSite: http.SameSiteLaxMode, MaxAge: 600})
	http.Redirect(w, r, oc.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), http.StatusSeeOther)
	return nil
}

// OIDCCallback answers GET /login/oidc/callback.
func (s *Handler) OIDCCallback(w http.ResponseWriter, r *http.Request) error {
	o, oc, verifier, err := s.oidcSetup(r.Context())
	if err != nil {
		return err
	}
	fail := func(msg string) error {
		s.Audit.Record(r.Context(), auth.Entry{Actor: "anonymous", Action: "login.oidc.failed", Target: "/login/oidc/callback", Remote: httpx.RemoteAddr(r), Detail: msg})
		return s.pages.Render(w, r, http.StatusUnauthorized, "login.html", "Sign in", s.loginData(map[string]string{"Next": "/",
			"Error": "Single sign-on failed: " + msg + "."}))
	}
	if e := r.URL.Query().Get("error"); e != "" {
		return fail("the provider said " + e)
	}
	c, err := r.Cookie(oidcCookie)
	if err != nil {
		return fail("the sign-in took too long or cookies are off")
	}
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: "", Path: "/login/oidc", MaxAge: -1, HttpOnly: true})
	payload, ok := verifyOIDC(s.guard.MAC, c.Value)
	parts := strings.Split(payload, "\n")
	if !ok || len(parts) != 5 {
		return fail("the sign-in state is not ours")
	}
	state, nonce, pkce, next := parts[0], parts[1], parts[2], parts[3]
	if exp, _ := strconv.ParseInt(parts[4], 10, 64); s.Clock.Now().Unix() > exp {
		return fail("the sign-in took longer than 10 minutes")
	}
	if !hmac.Equal([]byte(r.URL.Query().Get("state")), []byte(state)) {
		return fail("the state does not match")
	}
	ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
	defer cancel()
	tok, err := oc.Exchange(ctx, r.URL.Query().Get("code"), oauth2.VerifierOption(pkce))
	if err != nil {
		return fail("the provider refused the code")
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := verifier.Verify(ctx, raw)
	if err != nil {
		return fail("the ID token is not valid")
	}
	if idt.Nonce != nonce {
		return fail("the nonce does not match")
	}
	var claims struct {
		Email             string `json:"email"`
		EmailVerified     *bool  `json:"email_verified"`
		PreferredUsername string `json:"preferred_username"`
	}
	if err := idt.Claims(&claims); err != nil {
		return fail("the ID token's claims are unreadable")
	}
	username := idt.Subject
	switch o.UsernameClaim {
	case "email":
		// An unverified address is anyone's to type: it must not open someone's account.
		if claims.EmailVerified == nil || !*claims.EmailVerified {
			return fail("the provider does not say that it verified that email address")
		}
		username = claims.Email
	case "preferred_username":
		username = claims.PreferredUsername
	}
	username = strings.ToLower(strings.TrimSpace(username))
	if username == "" {
		return fail("the ID token has no " + o.UsernameClaim)
	}
	role, _ := auth.ParseRole(o.DefaultRole)
	user, err := s.Users.SignInExternal(r.Context(), idt.Issuer+"|"+idt.Subject, username, o.CreateUsers, role)
	var refused *invalid.Error
	switch {
	case errors.Is(err, auth.ErrNoUser):
		return fail("nines has no account " + username + "; ask an admin to create one")
	case errors.Is(err, auth.ErrBadLogin):
		return fail("the account " + username + " is disabled or tied to another identity")
	case errors.As(err, &refused):
		return fail(err.Error())
	case err != nil:
		return err
	}
	if old, err := r.Cookie(httpx.SessionCookie); err == nil {
		s.Sessions.End(r.Context(), old.Value)
	}
	id, err := s.Sessions.Start(r.Context(), user.ID, httpx.RemoteAddr(r))
	if err != nil {
		return err
	}
	s.Audit.Record(r.Context(), auth.Entry{Actor: "user:" + user.Username, Action: "login.oidc", Target: "/login/oidc/callback", Remote: httpx.RemoteAddr(r)})
	s.setSessionCookie(w, r, id)
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// signOIDC signs the sign-in state the browser keeps until the provider sends it back; mac is
// the guard's.
func signOIDC(mac func(string) []byte, payload string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + base64.RawURLEncoding.EncodeToString(mac("oidc\n"+payload))
}

// verifyOIDC returns the state a cookie carries, and whether nines signed it.
func verifyOIDC(mac func(string) []byte, v string) (string, bool) {
	enc, sig, ok := strings.Cut(v, ".")
	raw, err1 := store.DecodeTokenPart(enc)
	got, err2 := store.DecodeTokenPart(sig)
	if !ok || err1 != nil || err2 != nil {
		return "", false
	}
	return string(raw), hmac.Equal(got, mac("oidc\n"+string(raw)))
}

func randomString() string {
	var b [24]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
