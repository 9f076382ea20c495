// Package smtptest runs a real SMTP server on loopback for tests: it speaks enough of RFC 5321
// for net/smtp and keeps every message it accepts, so a test can read what nines sent.
package smtptest

import (
	"bufio"
	"io"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"
)

// Message is one accepted email.
type Message struct {
	From, To string
	Header   textproto.MIMEHeader
	Body     string
}

// Server is a running SMTP server.
type Server struct {
	// Addr is host:port to send to.
	Addr string
	msgs chan Message
}

// Start runs a server until the test ends.
func Start(t testing.TB) *Server {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Addr: ln.Addr().String(), msgs: make(chan Message, 100)}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); s.serve(c) }()
		}
	}()
	return s
}

func (s *Server) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	tp := textproto.NewConn(c)
	tp.PrintfLine("220 smtptest ESMTP")
	var m Message
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		cmd := strings.ToUpper(line)
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			tp.PrintfLine("250 smtptest")
		case strings.HasPrefix(cmd, "MAIL FROM:"):
			m = Message{From: strings.Trim(line[10:], "<> ")}
			tp.PrintfLine("250 ok")
		case strings.HasPrefix(cmd, "RCPT TO:"):
			m.To = strings.Trim(line[8:], "<> ")
			tp.PrintfLine("250 ok")
		case cmd == "DATA":
			tp.PrintfLine("354 go ahead")
			r := textproto.NewReader(bufio.NewReader(tp.DotReader()))
			m.Header, _ = r.ReadMIMEHeader()
			body, _ := io.ReadAll(r.R)
			m.Body = string(body)
			s.msgs <- m
			tp.PrintfLine("250 queued")
		case cmd == "QUIT":
			tp.PrintfLine("221 bye")
			return
		default:
			tp.PrintfLine("250 ok")
		}
	}
}

// Next waits for the next message.
func (s *Server) Next(t testing.TB) Message {
	t.Helper()
	select {
	case m := <-s.msgs:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no mail arrived")
	}
	return Message{}
}

// None checks that nothing arrives for a moment (the work that would send has run by then).
func (s *Server) None(t testing.TB, why string) {
	t.Helper()
	select {
	case m := <-s.msgs:
		t.Fatalf("%s: %+v", why, m)
	case <-time.After(300 * time.Millisecond):
	}
}
