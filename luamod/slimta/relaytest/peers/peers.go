// Package peers provides the SMTP peers that the relay, routing and MTA
// tests deliver into: an in-process go-smtp server with scriptable replies,
// misbehaving servers (hang, reset, garbage), and Postfix's smtp-sink run
// as a child process. Everything listens on 127.0.0.1, on free ports.
package peers

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Message is one mail transaction received by Server.
type Message struct {
	From string
	To   []string
	Data []byte
	EHLO string
	TLS  bool
	Conn int // connection number, from 1
}

// Server is an in-process go-smtp server that records what it receives.
// Hooks (OnMail, OnRcpt, OnData) may refuse a command by returning an
// *smtp.SMTPError; they are called with the mutex not held.
type Server struct {
	Addr string // 127.0.0.1:port
	Port int

	mail func(from string) error
	rcpt func(to string) error
	data func(m *Message) error

	mu       sync.Mutex
	messages []Message
	conns    int
	active   int
	maxConc  int
	srv      *smtp.Server
	l        net.Listener
}

// Options for StartServer.
type Options struct {
	TLS         bool          // offer STARTTLS with a self-signed certificate
	ReadTimeout time.Duration // idle limit per command (default 30 s)
}

// StartServer starts a recording server; it is closed at the end of the
// test.
func StartServer(t testing.TB, opts ...Options) *Server {
	t.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	s := &Server{}
	srv := smtp.NewServer(backend{s})
	srv.Domain = "peer.test"
	srv.ReadTimeout = 30 * time.Second
	if o.ReadTimeout > 0 {
		srv.ReadTimeout = o.ReadTimeout
	}
	srv.WriteTimeout = 30 * time.Second
	srv.MaxMessageBytes = 64 << 20
	srv.MaxRecipients = 1000
	srv.AllowInsecureAuth = true
	srv.ErrorLog = log.New(io.Discard, "", 0)
	if o.TLS {
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{SelfSigned(t, "localhost")}}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.l, s.srv = l, srv
	s.Addr = l.Addr().String()
	s.Port = l.Addr().(*net.TCPAddr).Port
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

// OnMail sets the MAIL hook.
func (s *Server) OnMail(fn func(from string) error) { s.mu.Lock(); s.mail = fn; s.mu.Unlock() }

// OnRcpt sets the RCPT hook.
func (s *Server) OnRcpt(fn func(to string) error) { s.mu.Lock(); s.rcpt = fn; s.mu.Unlock() }

// OnData sets the hook called with each complete message.
func (s *Server) OnData(fn func(m *Message) error) { s.mu.Lock(); s.data = fn; s.mu.Unlock() }

func (s *Server) hooks() (func(string) error, func(string) error, func(*Message) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mail, s.rcpt, s.data
}

// Messages returns a copy of what was received so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Connections returns how many connections were accepted, and the largest
// number open at the same time.
func (s *Server) Connections() (total, maxConcurrent int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns, s.maxConc
}

// WaitMessages waits until at least n messages arrived.
func (s *Server) WaitMessages(t testing.TB, n int, timeout time.Duration) []Message {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		m := s.Messages()
		if len(m) >= n {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d messages, want %d", len(m), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type backend struct{ s *Server }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	s := b.s
	s.mu.Lock()
	s.conns++
	s.active++
	if s.active > s.maxConc {
		s.maxConc = s.active
	}
	n := s.conns
	s.mu.Unlock()
	return &session{s: s, c: c, n: n}, nil
}

type session struct {
	s    *Server
	c    *smtp.Conn
	n    int
	from string
	to   []string
}

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	if mail, _, _ := x.s.hooks(); mail != nil {
		if err := mail(from); err != nil {
			return err
		}
	}
	x.from, x.to = from, nil
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if _, rcpt, _ := x.s.hooks(); rcpt != nil {
		if err := rcpt(to); err != nil {
			return err
		}
	}
	x.to = append(x.to, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, tlsOn := x.c.TLSConnectionState()
	m := Message{From: x.from, To: append([]string(nil), x.to...), Data: data,
		EHLO: x.c.Hostname(), TLS: tlsOn, Conn: x.n}
	if _, _, data := x.s.hooks(); data != nil {
		if err := data(&m); err != nil {
			return err
		}
	}
	x.s.mu.Lock()
	x.s.messages = append(x.s.messages, m)
	x.s.mu.Unlock()
	return nil
}

func (x *session) Reset() { x.from, x.to = "", nil }

func (x *session) Logout() error {
	x.s.mu.Lock()
	x.s.active--
	x.s.mu.Unlock()
	return nil
}

// Reply builds an SMTP error reply for the hooks, e.g. Reply(451, "4.3.0 try later").
func Reply(code int, text string) error {
	e := &smtp.SMTPError{Code: code, Message: text}
	if f := strings.Fields(text); len(f) > 0 {
		var a, b, c int
		if n, _ := fmt.Sscanf(f[0], "%d.%d.%d", &a, &b, &c); n == 3 {
			e.EnhancedCode = smtp.EnhancedCode{a, b, c}
			e.Message = strings.TrimSpace(strings.TrimPrefix(text, f[0]))
		}
	}
	if e.EnhancedCode == (smtp.EnhancedCode{}) {
		e.EnhancedCode = smtp.NoEnhancedCode
	}
	return e
}

// SelfSigned makes a throw-away ECDSA certificate for host.
func SelfSigned(t testing.TB, host string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: host},
		DNSNames:     []string{host},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// ---------------------------------------------------------------------------

// Bad is a misbehaving SMTP server.
type Bad struct {
	Addr  string
	Port  int
	mu    sync.Mutex
	conns int
}

// Accepted returns the number of connections accepted.
func (b *Bad) Accepted() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.conns
}

// StartBad starts a server that misbehaves in one of these ways:
//
//	"hang"        accepts and never says anything
//	"reset"       accepts and resets the connection at once
//	"garbage"     answers every line with text that is not an SMTP reply
//	"close-data"  behaves until DATA's 354, then closes mid-message
//	"hang-data"   behaves until the end of the data, then never answers
func StartBad(t testing.TB, kind string) *Bad {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &Bad{Addr: l.Addr().String(), Port: l.Addr().(*net.TCPAddr).Port}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var open []net.Conn
	done := make(chan struct{})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			b.mu.Lock()
			b.conns++
			b.mu.Unlock()
			mu.Lock()
			open = append(open, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				misbehave(kind, c, done)
			}()
		}
	}()
	t.Cleanup(func() {
		close(done)
		l.Close()
		mu.Lock()
		for _, c := range open {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return b
}

func misbehave(kind string, c net.Conn, done chan struct{}) {
	defer c.Close()
	r := bufio.NewReader(c)
	switch kind {
	case "hang":
		<-done
		return
	case "reset":
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		return
	case "garbage":
		fmt.Fprintf(c, "hello, I am not an SMTP server\r\n")
		for {
			if _, err := r.ReadString('\n'); err != nil {
				return
			}
			fmt.Fprintf(c, "?? what\r\n")
		}
	}
	// "close-data" / "hang-data": a minimal well-behaved start.
	fmt.Fprintf(c, "220 bad.test ESMTP\r\n")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"):
			fmt.Fprintf(c, "250-bad.test\r\n250 PIPELINING\r\n")
		case strings.HasPrefix(cmd, "DATA"):
			fmt.Fprintf(c, "354 go ahead\r\n")
			if kind == "close-data" {
				return
			}
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
			}
			<-done
			return
		case strings.HasPrefix(cmd, "QUIT"):
			fmt.Fprintf(c, "221 bye\r\n")
			return
		default:
			fmt.Fprintf(c, "250 ok\r\n")
		}
	}
}

// ---------------------------------------------------------------------------

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// SmtpSinkPath is Postfix's smtp-sink (Debian package postfix).
const SmtpSinkPath = "/usr/sbin/smtp-sink"

// Sink is a running smtp-sink.
type Sink struct {
	Addr string
	Port int
	Dir  string // dump directory (one file per transaction), "" without dumps
	cmd  *exec.Cmd
}

// StartSink runs smtp-sink on a free loopback port; with dump, each
// transaction is written to a file in a fresh directory. Extra arguments
// go before the address (e.g. "-Q" for hard errors). The test is skipped
// when smtp-sink is missing.
func StartSink(t testing.TB, dump bool, extra ...string) *Sink {
	t.Helper()
	if _, err := os.Stat(SmtpSinkPath); err != nil {
		t.Skip("smtp-sink not installed (Debian package postfix)")
	}
	s := &Sink{}
	args := []string{}
	if os.Geteuid() == 0 {
		args = append(args, "-u", "nobody")
	}
	args = append(args, "-m", "1000")
	if dump {
		// smtp-sink writes the dumps as the unprivileged user, who cannot
		// enter t.TempDir()'s private parent: use a world-writable dir.
		dir, err := os.MkdirTemp("", "smtp-sink-dump-")
		if err != nil {
			t.Fatal(err)
		}
		_ = os.Chmod(dir, 0o777)
		t.Cleanup(func() { _ = os.RemoveAll(dir) })
		s.Dir = dir
		args = append(args, "-d", filepath.Join(s.Dir, "%Y%m%d%H/%M."))
	}
	args = append(args, extra...)
	for attempt := 0; attempt < 10; attempt++ {
		port := FreePort(t)
		addr := "127.0.0.1:" + strconv.Itoa(port)
		cmd := exec.Command(SmtpSinkPath, append(args, addr, "256")...)
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if waitListen(addr, 5*time.Second) {
			s.Addr, s.Port, s.cmd = addr, port, cmd
			t.Cleanup(func() {
				_ = cmd.Process.Kill()
				_, _ = cmd.Process.Wait()
			})
			return s
		}
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
	}
	t.Fatal("smtp-sink did not start")
	return nil
}

func waitListen(addr string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			// A greeting proves it is our server, not a stale port.
			_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if strings.HasPrefix(line, "220") {
				return true
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// WaitListen reports whether an SMTP server greets on addr within timeout.
func WaitListen(addr string, timeout time.Duration) bool { return waitListen(addr, timeout) }

// Dumps returns the contents of every transaction smtp-sink dumped.
func (s *Sink) Dumps(t testing.TB) [][]byte {
	t.Helper()
	var out [][]byte
	_ = filepath.Walk(s.Dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			if b, err := os.ReadFile(p); err == nil {
				out = append(out, b)
			}
		}
		return nil
	})
	return out
}

// WaitDumps waits until smtp-sink dumped at least n transactions whose
// files are complete (they end with the end-of-data line's CRLF.CRLF or
// the dump's trailer); returns them.
func (s *Sink) WaitDumps(t testing.TB, n int, timeout time.Duration) [][]byte {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var prev [][]byte
	for {
		d := s.Dumps(t)
		// A dump file is written while the transaction runs: it counts
		// once it ends with the dump's empty line and stopped changing.
		if len(d) >= n && sameDumps(prev, d) && allComplete(d) {
			return d
		}
		prev = d
		if time.Now().After(deadline) {
			t.Fatalf("smtp-sink got %d transactions, want %d", len(d), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func sameDumps(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func allComplete(d [][]byte) bool {
	for _, b := range d {
		if !bytes.HasSuffix(b, []byte("\n\n")) {
			return false
		}
	}
	return true
}

// HeaderValues returns every value of a header (case-insensitive name) in
// the raw message data, unfolded.
func HeaderValues(data []byte, name string) []string {
	var out []string
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	prefix := strings.ToLower(name) + ":"
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if strings.HasPrefix(strings.ToLower(l), prefix) {
			v := strings.TrimSpace(l[len(prefix):])
			for i+1 < len(lines) && (strings.HasPrefix(lines[i+1], " ") || strings.HasPrefix(lines[i+1], "\t")) {
				i++
				v += " " + strings.TrimSpace(lines[i])
			}
			out = append(out, v)
		}
	}
	return out
}

// Contains reports whether data contains s.
func Contains(data []byte, s string) bool { return bytes.Contains(data, []byte(s)) }

// Flaky misbehaves (as StartBad's kind) on its first Failures connections
// and then forwards every later connection to Target, a working server.
type Flaky struct {
	Addr string
	Port int
	mu   sync.Mutex
	n    int
}

// Accepted returns the number of connections accepted so far.
func (f *Flaky) Accepted() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}

// StartFlaky starts a Flaky in front of target ("127.0.0.1:port").
func StartFlaky(t testing.TB, kind string, failures int, target string) *Flaky {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &Flaky{Addr: l.Addr().String(), Port: l.Addr().(*net.TCPAddr).Port}
	done := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var open []net.Conn
	track := func(c net.Conn) {
		mu.Lock()
		open = append(open, c)
		mu.Unlock()
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			track(c)
			f.mu.Lock()
			f.n++
			n := f.n
			f.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				if n <= failures {
					misbehave(kind, c, done)
					return
				}
				u, err := net.Dial("tcp", target)
				if err != nil {
					c.Close()
					return
				}
				track(u)
				go func() { _, _ = io.Copy(u, c); _ = u.(*net.TCPConn).CloseWrite() }()
				_, _ = io.Copy(c, u)
				c.Close()
				u.Close()
			}()
		}
	}()
	t.Cleanup(func() {
		close(done)
		l.Close()
		mu.Lock()
		for _, c := range open {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return f
}
