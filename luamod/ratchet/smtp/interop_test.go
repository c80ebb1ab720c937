package smtp_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
	slimtalua "github.com/slimta-lua/slimta-lua"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	lua "github.com/yuin/gopher-lua"
)

// startServer runs testdata/serve.lua on a free port until the test ends.
// Accepted messages land in the returned directory as msg1, msg2...
func startServer(t *testing.T, withTLS bool) (port int, outdir string) {
	t.Helper()
	port = freePort(t)
	outdir = t.TempDir()
	rt := slimtalua.New()
	L := rt.State()
	L.SetGlobal("PORT", lua.LNumber(port))
	L.SetGlobal("OUTDIR", lua.LString(outdir))
	if withTLS {
		L.SetGlobal("CERT", lua.LString(writeCert(t)))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = rt.RunFile(ctx, "testdata/serve.lua")
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		rt.Close()
	})
	waitPort(t, port)
	return port, outdir
}

func waitPort(t *testing.T, port int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			_ = c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("port %d never opened", port)
}

func needProgram(t *testing.T, path string) string {
	t.Helper()
	p, err := exec.LookPath(path)
	if err != nil {
		t.Skipf("%s not installed", path)
	}
	return p
}

func readMessages(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for i := 1; ; i++ {
		data, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("msg%d", i)))
		if err != nil {
			return out
		}
		out = append(out, string(data))
	}
}

func TestSwaksPlain(t *testing.T) {
	swaks := needProgram(t, "swaks")
	port, dir := startServer(t, false)
	body := "line one\r\n.leading dot\r\nlast line"
	out, err := exec.Command(swaks, "--server", fmt.Sprintf("127.0.0.1:%d", port),
		"--from", "alice@example.com", "--to", "bob@example.org",
		"--data", body, "--timeout", "20").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "250 2.6.0 Message Accepted for Delivery")
	msgs := readMessages(t, dir)
	require.Len(t, msgs, 1)
	// swaks ends the data with an empty line of its own
	assert.Equal(t, body, strings.TrimRight(msgs[0], "\r\n"))
}

func TestSwaksStartTLS(t *testing.T) {
	swaks := needProgram(t, "swaks")
	if out, _ := exec.Command(swaks, "--support").CombinedOutput(); !bytes.Contains(out, []byte("=== TLS supported")) {
		t.Skip("swaks lacks TLS support (Debian package libnet-ssleay-perl)")
	}
	port, dir := startServer(t, true)
	out, err := exec.Command(swaks, "--server", fmt.Sprintf("127.0.0.1:%d", port), "--tls",
		"--from", "alice@example.com", "--to", "bob@example.org",
		"--data", "Subject: tls\r\n\r\nover TLS", "--timeout", "20").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "220 2.7.0 Go ahead")
	assert.Contains(t, string(out), "250 2.6.0 Message Accepted for Delivery")
	msgs := readMessages(t, dir)
	require.Len(t, msgs, 1)
	assert.Equal(t, "Subject: tls\r\n\r\nover TLS", strings.TrimRight(msgs[0], "\r\n"))
}

func TestSmtpSource(t *testing.T) {
	src := needProgram(t, "/usr/sbin/smtp-source")
	port, dir := startServer(t, false)
	for _, reuse := range []bool{false, true} {
		args := []string{"-4", "-s", "4", "-m", "100", "-l", "700", "-f", "a@example.com", "-t", "b@example.org"}
		if reuse {
			args = append([]string{"-d"}, args...)
		}
		args = append(args, fmt.Sprintf("127.0.0.1:%d", port))
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := exec.CommandContext(ctx, src, args...).CombinedOutput()
		cancel()
		require.NoError(t, err, "%s", out)
	}
	msgs := readMessages(t, dir)
	assert.Len(t, msgs, 200)
}

// deliver runs testdata/deliver.lua against port with the given messages.
func deliver(t *testing.T, port int, msgs []string, tls bool) {
	t.Helper()
	rt := slimtalua.New()
	defer rt.Close()
	L := rt.State()
	L.SetGlobal("PORT", lua.LNumber(port))
	tbl := L.NewTable()
	for _, m := range msgs {
		tbl.Append(lua.LString(m))
	}
	L.SetGlobal("MSGS", tbl)
	if tls {
		L.SetGlobal("TLS", lua.LTrue)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := rt.RunFile(ctx, "testdata/deliver.lua"); err != nil {
		if le, ok := err.(*slimtalua.Error); ok {
			t.Fatalf("%s\n%s", le.Message, le.Traceback)
		}
		t.Fatal(err)
	}
}

var interopMessages = []string{
	"Subject: one\r\n\r\nhello",
	"Subject: dots\n\n.\n..\n.x\nend\n",
	"",
	".starts with a dot",
	"bare\rcr and\r\ncrlf\nand lf",
	strings.Repeat("0123456789 abcdefghij\n.", 50000),
}

// wireNormal is what an RFC 5321 receiver keeps: the client's text with
// CR removed, LF as CRLF, ending in CRLF unless empty.
func wireNormal(s string) string {
	s = strings.ReplaceAll(s, "\r", "")
	s = strings.ReplaceAll(s, "\n", "\r\n")
	if s != "" && !strings.HasSuffix(s, "\r\n") {
		s += "\r\n"
	}
	return s
}

func TestClientToSmtpSink(t *testing.T) {
	sink := needProgram(t, "/usr/sbin/smtp-sink")
	port := freePort(t)
	args := []string{}
	if os.Geteuid() == 0 {
		args = append(args, "-u", "nobody")
	}
	args = append(args, fmt.Sprintf("127.0.0.1:%d", port), "10")
	cmd := exec.Command(sink, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	waitPort(t, port)
	deliver(t, port, interopMessages, false)
}

type goBackend struct {
	mu   sync.Mutex
	msgs []string
	from []string
}

func (b *goBackend) NewSession(_ *gosmtp.Conn) (gosmtp.Session, error) { return &goSession{b: b}, nil }

type goSession struct{ b *goBackend }

func (s *goSession) Mail(from string, _ *gosmtp.MailOptions) error {
	s.b.mu.Lock()
	s.b.from = append(s.b.from, from)
	s.b.mu.Unlock()
	return nil
}
func (s *goSession) Rcpt(string, *gosmtp.RcptOptions) error { return nil }
func (s *goSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.b.mu.Lock()
	s.b.msgs = append(s.b.msgs, string(data))
	s.b.mu.Unlock()
	return nil
}
func (s *goSession) Reset()        {}
func (s *goSession) Logout() error { return nil }

func TestClientToGoSMTP(t *testing.T) {
	be := &goBackend{}
	srv := gosmtp.NewServer(be)
	srv.Domain = "localhost"
	srv.MaxMessageBytes = 64 << 20
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	deliver(t, l.Addr().(*net.TCPAddr).Port, interopMessages, false)
	be.mu.Lock()
	defer be.mu.Unlock()
	require.Len(t, be.msgs, len(interopMessages))
	for i, m := range interopMessages {
		assert.Equal(t, wireNormal(m), be.msgs[i], "message %d", i)
		assert.Equal(t, fmt.Sprintf("sender%d@example.com", i+1), be.from[i])
	}
}

// TestClientToRatchetServer checks the same messages end to end between
// the two halves of ratchet.smtp, over STARTTLS.
func TestClientToRatchetServer(t *testing.T) {
	port, dir := startServer(t, true)
	deliver(t, port, interopMessages, true)
	msgs := readMessages(t, dir)
	require.Len(t, msgs, len(interopMessages))
	for i, m := range interopMessages {
		assert.Equal(t, strings.TrimSuffix(wireNormal(m), "\r\n"), msgs[i], "message %d", i)
	}
}
