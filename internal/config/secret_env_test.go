package config_test

import (
	"strings"
	"testing"

	"github.com/nines-dev/nines/internal/config"
)

const secretsBase = `users:
  - {id: ann, contact_methods: [{type: email, address: ann@example.com}, {type: sms, address: "+33612345678"}]}
notifications:
  email:
    smtp: {host: 127.0.0.1, port: 2525, from: nines@example.com, tls: none, username: nines, %s}
  twilio: {account_sid: AC1, from: "+15550001111", %s}
`

func TestSecretsComeFromTheEnvironmentWhenNamed(t *testing.T) {
	t.Setenv("NINES_TEST_SMTP_PASSWORD", "s3cret")
	t.Setenv("NINES_TEST_TWILIO_TOKEN", "tok")
	t.Setenv("NINES_TEST_EMPTY", "")
	cases := []struct {
		name, smtp, twilio string
		wantErr            string
	}{
		{"secrets named by environment variables are read from them", "password_env: NINES_TEST_SMTP_PASSWORD", "auth_token_env: NINES_TEST_TWILIO_TOKEN", ""},
		{"a secret written in the file still works", "password: inline", "auth_token: inline", ""},
		{"an empty environment variable is an error at its field", "password_env: NINES_TEST_EMPTY", "auth_token: x",
			"nines.yaml:5:108: notifications.email.smtp.password_env: the environment variable NINES_TEST_EMPTY is empty or not set"},
		{"a secret set both ways is an error", "password: a, password_env: NINES_TEST_SMTP_PASSWORD", "auth_token: x",
			"notifications.email.smtp: set password or password_env, not both"},
		{"a missing token variable is an error", "password: a", "auth_token_env: NINES_TEST_NOPE",
			"notifications.twilio.auth_token_env: the environment variable NINES_TEST_NOPE is empty or not set"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := config.Parse("nines.yaml", []byte(strings.Replace(strings.Replace(secretsBase, "%s", c.smtp, 1), "%s", c.twilio, 1)))
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			smtp, tw := cfg.Notifications.Email.SMTP, cfg.Notifications.Twilio
			if c.name == "a secret written in the file still works" {
				if smtp.Password != "inline" || tw.AuthToken != "inline" {
					t.Fatalf("password %q, token %q", smtp.Password, tw.AuthToken)
				}
				return
			}
			if smtp.Password != "s3cret" || tw.AuthToken != "tok" {
				t.Fatalf("password %q, token %q: want the environment's values", smtp.Password, tw.AuthToken)
			}
		})
	}
}
