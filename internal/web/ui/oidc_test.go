package ui_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/storetest"
)

// oidcProvider is a real OpenID Connect provider on loopback that signs in whoever it is told
// to: discovery, authorization with PKCE, the token endpoint and signed ID tokens.
type oidcProvider struct {
	srv    *httptest.Server
	key    *rsa.PrivateKey
	mu     sync.Mutex
	user   map[string]any // claims of the person signing in
	grants map[string]url.Values
}

func startOIDCProvider(t *testing.T) *oidcProvider {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &oidcProvider{key: key, grants: map[string]url.Values{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"issuer": p.srv.URL, "authorization_endpoint": p.srv.URL + "/authorize",
			"token_endpoint": p.srv.URL + "/token", "jwks_uri": p.srv.URL + "/jwks", "id_token_signing_alg_values_supported": []string{"RS256"},
			"response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"}})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	})
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		code := strconv.FormatInt(time.Now().UnixNano(), 36)
		p.mu.Lock()
		p.grants[code] = q
		p.mu.Unlock()
		http.Redirect(w, r, q.Get("redirect_uri")+"?code="+code+"&state="+url.QueryEscape(q.Get("state")), http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		p.mu.Lock()
		grant, ok := p.grants[r.PostForm.Get("code")]
		delete(p.grants, r.PostForm.Get("code"))
		claims := map[string]any{}
		for k, v := range p.user {
			claims[k] = v
		}
		p.mu.Unlock()
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		id, secret, _ := r.BasicAuth()
		if !ok || base64.RawURLEncoding.EncodeToString(sum[:]) != grant.Get("code_challenge") || id != "nines" || secret != "s3cret" {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant"})
			return
		}
		now := time.Now()
		claims["iss"], claims["aud"], claims["iat"], claims["exp"], claims["nonce"] = p.srv.URL, "nines", now.Unix(), now.Add(5*time.Minute).Unix(), grant.Get("nonce")
		payload, _ := json.Marshal(claims)
		signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}}, nil)
		jws, _ := signer.Sign(payload)
		idToken, _ := jws.CompactSerialize()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": 300, "id_token": idToken})
	})
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

func (p *oidcProvider) signInAs(claims map[string]any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.user = claims
}

// followTo follows redirects by hand (the browser client stops at each) until a page answers.
func (b *browser) followTo(path string) (*http.Response, string) {
	resp, body := b.get(path)
	for i := 0; i < 5 && resp.StatusCode/100 == 3; i++ {
		loc := resp.Header.Get("Location")
		if strings.HasPrefix(loc, b.e.srv.URL) {
			loc = strings.TrimPrefix(loc, b.e.srv.URL)
		}
		if strings.HasPrefix(loc, "http") {
			r, err := b.client.Get(loc)
			if err != nil {
				b.e.t.Fatal(err)
			}
			r.Body.Close()
			resp = r
			continue
		}
		resp, body = b.get(loc)
	}
	return resp, body
}

func TestSingleSignOnWithOIDC(t *testing.T) {
	e := newAccountsEnv(t, storetest.SQLite(t, app.Schemas()))
	idp := startOIDCProvider(t)
	t.Setenv("NINES_TEST_OIDC_SECRET", "s3cret")
	swap := func(claim, extra string) {
		cfg, err := config.Parse("nines.yaml", []byte(strings.Replace(accountsConfig, "base_url: http://status.test", "base_url: "+e.srv.URL, 1)+
			"auth:\n  oidc:\n    issuer: "+idp.srv.URL+"\n    client_id: nines\n    client_secret_env: NINES_TEST_OIDC_SECRET\n    username_claim: "+claim+"\n    name: Acme SSO\n"+extra))
		if err != nil {
			t.Fatal(err)
		}
		e.srv.Config.Swap(cfg)
	}
	swap("preferred_username", "")
	if _, body := e.browser().get("/login"); !strings.Contains(body, "Sign in with Acme SSO") {
		t.Fatal("the sign-in page has no single sign-on button")
	}

	t.Run("a known user signs in and lands where they were going", func(t *testing.T) {
		idp.signInAs(map[string]any{"sub": "u-123", "preferred_username": "Responder"})
		b := e.browser()
		resp, body := b.followTo("/login/oidc?next=/status-pages")
		if resp.StatusCode != 200 || !strings.Contains(body, "responder (responder)") || !strings.Contains(body, "<h1>Status pages</h1>") {
			t.Fatalf("after single sign-on: %d %s", resp.StatusCode, body)
		}
	})
	t.Run("the same identity cannot take over another account", func(t *testing.T) {
		idp.signInAs(map[string]any{"sub": "u-999", "preferred_username": "responder"})
		resp, _ := e.browser().followTo("/login/oidc")
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("another subject claiming the linked account: %d, want 401", resp.StatusCode)
		}
	})
	t.Run("someone without an account is refused", func(t *testing.T) {
		idp.signInAs(map[string]any{"sub": "u-456", "preferred_username": "stranger"})
		b := e.browser()
		resp, body := b.followTo("/login/oidc")
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "no account stranger") || b.cookie() != "" {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
	})
	t.Run("a forged state is refused", func(t *testing.T) {
		idp.signInAs(map[string]any{"sub": "u-123", "preferred_username": "responder"})
		b := e.browser()
		resp, _ := b.get("/login/oidc")
		loc, _ := url.Parse(resp.Header.Get("Location"))
		q := loc.Query()
		q.Set("state", "forged")
		loc.RawQuery = q.Encode()
		r, err := b.client.Get(loc.String())
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		back, _ := url.Parse(r.Header.Get("Location"))
		if resp, _ := b.get(back.RequestURI()); resp.StatusCode != http.StatusUnauthorized || b.cookie() != "" {
			t.Fatalf("forged state: %d", resp.StatusCode)
		}
	})
	t.Run("an unverified email opens nothing", func(t *testing.T) {
		swap("email", "")
		idp.signInAs(map[string]any{"sub": "u-555", "email": "admin", "email_verified": false})
		resp, _ := e.browser().followTo("/login/oidc")
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("an unverified email: %d, want 401", resp.StatusCode)
		}
	})
	t.Run("with create_users a newcomer gets a viewer account", func(t *testing.T) {
		swap("preferred_username", "    create_users: true\n")
		idp.signInAs(map[string]any{"sub": "u-789", "preferred_username": "newcomer"})
		resp, body := e.browser().followTo("/login/oidc")
		if resp.StatusCode != 200 || !strings.Contains(body, "newcomer (viewer)") {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
	})
	entries, _ := e.srv.Audit.List(context.Background(), 100, 0)
	var ok, failed int
	for _, en := range entries {
		switch en.Action {
		case "login.oidc":
			ok++
		case "login.oidc.failed":
			failed++
		}
	}
	if ok != 2 || failed != 4 {
		t.Fatalf("audit log: %d single sign-ons and %d failures, want 2 and 4", ok, failed)
	}
}
