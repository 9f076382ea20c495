package e2e

import (
	"bufio"
	"net"
	"net/smtp"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeTakesMailAndStopsCleanly runs `nines serve` with server.smtp_listen set: a mail to an
// email integration's key opens an incident; a connection left open does not keep SIGTERM
// from stopping nines within its grace; and after a restart the incident is still there.
func TestServeTakesMailAndStopsCleanly(t *testing.T) {
	s := newServer(t, "")
	smtpAddr := freeAddr(t)
	cfg := "server:\n  smtp_listen: " + smtpAddr + "\n" + baseConfig + "      - {type: email, key: payments-mail}\n"
	if err := os.WriteFile(filepath.Join(s.dir, "nines.yaml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	s.start()
	msg := "From: billing-cron@example.com\r\nSubject: Invoice run failed\r\nMessage-ID: <inv-1@example.com>\r\n\r\nexit 2\r\n"
	var err error
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if err = smtp.SendMail(smtpAddr, nil, "billing-cron@example.com", []string{"payments-mail@nines.example.com"}, []byte(msg)); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("sending mail to nines serve: %v\n%s", err, s.log.String())
	}
	if !strings.Contains(s.log.String(), "nines taking mail on smtp://"+smtpAddr) {
		t.Errorf("serve did not say where it takes mail:\n%s", s.log.String())
	}
	viewer := s.token("viewer")
	incs := s.incidents(viewer, "service=payments")
	if len(incs) != 1 || incs[0].Title != "Invoice run failed" {
		t.Fatalf("incidents after the mail: %+v", incs)
	}

	// An idle SMTP client must not hold up shutdown.
	idle, err := net.Dial("tcp", smtpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	bufio.NewReader(idle).ReadString('\n')
	if err := s.stop(20 * time.Second); err != nil {
		t.Fatalf("nines serve exited with %v\n%s", err, s.log.String())
	}
	if _, err := net.DialTimeout("tcp", smtpAddr, time.Second); err == nil {
		t.Error("the SMTP port still takes connections after nines stopped")
	}

	s.start()
	if incs := s.incidents(viewer, "service=payments"); len(incs) != 1 || incs[0].Title != "Invoice run failed" {
		t.Fatalf("incidents after a restart: %+v", incs)
	}
}
