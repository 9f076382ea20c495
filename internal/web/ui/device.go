package ui

import (
	"crypto/hmac"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/store"
)

// A device cookie marks a browser that has signed in to an account before. Its sign-in
// attempts at that account are counted on their own (see auth.LoginLimiter), so somebody
// guessing the account's password elsewhere, or other accounts' passwords from the same
// address, does not lock its owner out.
const (
	deviceCookie = "nines_device"
	deviceMaxAge = 365 * 24 * time.Hour
)

// deviceMAC signs a device cookie's username and id with a key derived from the CSRF key.
func (s *Handler) deviceMAC(username, id string) string {
	return hex.EncodeToString(s.guard.MAC("login-device\x00" + username + "\x00" + id))[:32]
}

// device returns the id of the browser's device cookie when it was issued for username, else "".
func (s *Handler) device(r *http.Request, username string) string {
	c, err := r.Cookie(deviceCookie)
	if err != nil || len(c.Value) > 512 {
		return ""
	}
	parts := strings.Split(c.Value, ".")
	if len(parts) != 3 {
		return ""
	}
	user, err := store.DecodeTokenPart(parts[0])
	if err != nil || string(user) != username || !hmac.Equal([]byte(parts[2]), []byte(s.deviceMAC(username, parts[1]))) {
		return ""
	}
	return parts[1]
}

// setDeviceCookie marks this browser as one username signs in from, keeping the id it has.
func (s *Handler) setDeviceCookie(w http.ResponseWriter, r *http.Request, username string) {
	id := s.device(r, username)
	if id == "" {
		var b [16]byte
		rand.Read(b[:])
		id = base64.RawURLEncoding.EncodeToString(b[:])
	}
	value := base64.RawURLEncoding.EncodeToString([]byte(username)) + "." + id + "." + s.deviceMAC(username, id)
	http.SetCookie(w, &http.Cookie{Name: deviceCookie, Value: value, Path: "/login", HttpOnly: true,
		Secure: r.TLS != nil || strings.HasPrefix(s.Config.Get().Server.BaseURL, "https:"), SameSite: http.SameSiteStrictMode,
		MaxAge: int(deviceMaxAge.Seconds())})
}
