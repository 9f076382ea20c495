package config

import (
	"strings"
	"testing"
)

func TestStatusPageValidation(t *testing.T) {
	const services = "services:\n  - {id: checkout}\n"
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"a component naming an unknown service", "status_pages:\n  - id: p\n    components:\n      - {name: A, service: nope}\n", `nines.yaml:6:28: status page p: component "A": unknown service "nope"`},
		{"a component naming nothing", "status_pages:\n  - id: p\n    components:\n      - {name: A}\n", `component "A": name a service or a monitor`},
		{"two components with one id", "status_pages:\n  - id: p\n    components:\n      - {name: Web App, service: checkout}\n      - {name: web app, service: checkout}\n", `component id "web-app" is used twice`},
		{"a page without components", "status_pages:\n  - id: p\n", "list at least one component"},
		{"a domain with a scheme", "status_pages:\n  - id: p\n    domain: https://status.example.com\n    components:\n      - {name: A, service: checkout}\n", "want a host name"},
		{"one domain on two pages", "status_pages:\n  - id: p\n    domain: status.example.com\n    components:\n      - {name: A, service: checkout}\n  - id: q\n    domain: Status.Example.com\n    components:\n      - {name: A, service: checkout}\n", "is already used at nines.yaml:5:13"},
		{"an unknown time zone", "status_pages:\n  - id: p\n    time_zone: Mars/Olympus\n    components:\n      - {name: A, service: checkout}\n", `time_zone "Mars/Olympus"`},
		{"a history too long", "status_pages:\n  - id: p\n    history_days: 400\n    components:\n      - {name: A, service: checkout}\n", "history_days 400"},
	} {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			_, err := Parse("nines.yaml", []byte(services+tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
	c, err := Parse("nines.yaml", []byte(services+"status_pages:\n  - id: p\n    components:\n      - {name: Checkout API, service: checkout}\n"))
	if err != nil {
		t.Fatal(err)
	}
	p := c.StatusPage("p")
	if p.Title != "p" || p.Components[0].ID != "checkout-api" || p.HistoryDays != DefaultHistoryDays || p.Cadence() != DefaultUpdateCadence {
		t.Fatalf("defaults not applied: %+v", p)
	}
}

func TestOIDCValidation(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"an http issuer off loopback", "server: {base_url: https://n.example.com}\nauth:\n  oidc: {issuer: http://idp.example.com, client_id: n}\n", "want an https URL"},
		{"a missing client id", "server: {base_url: https://n.example.com}\nauth:\n  oidc: {issuer: https://idp.example.com}\n", "client_id is required"},
		{"no base_url to come back to", "auth:\n  oidc: {issuer: https://idp.example.com, client_id: n}\n", "needs server.base_url"},
		{"an unknown role", "server: {base_url: https://n.example.com}\nauth:\n  oidc: {issuer: https://idp.example.com, client_id: n, default_role: root}\n", `default_role "root"`},
	} {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			if _, err := Parse("nines.yaml", []byte(tc.yaml)); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}
