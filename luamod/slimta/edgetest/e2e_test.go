package edgetest

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slimta-lua/slimta-lua/luamod/slimta/luatest"
	"github.com/stretchr/testify/require"
)

func e2eGlobals(t *testing.T, port int, extra map[string]any) map[string]any {
	g := globals(t)
	g["PORT"] = port
	for k, v := range extra {
		g[k] = v
	}
	return g
}

// perlHas reports whether a Perl module swaks needs for a feature exists.
func perlHas(module string) bool {
	return exec.Command("perl", "-M"+module, "-e", "1").Run() == nil
}

// TestSwaks: swaks -> slimta.edge.smtp -> local bus -> Lua consumer, in
// clear text, with STARTTLS and with AUTH PLAIN/LOGIN/CRAM-MD5.
func TestSwaks(t *testing.T) {
	swaks := luatest.Program(t, "swaks", "swaks")
	tlsOK := perlHas("Net::SSLeay") && perlHas("IO::Socket::SSL")
	type tc struct {
		ehlo string
		args []string
		ok   bool   // a message reaches the bus
		want string // in swaks' output
		tls  bool
		body string
	}
	cases := []tc{
		{ehlo: "plain", ok: true, want: "250 2.6.0 Message queued as plain"},
		{ehlo: "dots", ok: true, body: "Subject: e2e dots\n\n.leading dots\n.\nend", want: "250 2.6.0 Message queued as dots"},
		{ehlo: "cram", args: []string{"--auth", "CRAM-MD5", "--auth-user", "testuser", "--auth-password", "testpass"},
			ok: true, want: "235 2.7.0 Authentication successful"},
		{ehlo: "cram-bad", args: []string{"--auth", "CRAM-MD5", "--auth-user", "testuser", "--auth-password", "wrong"},
			want: "535 5.7.8 Authentication credentials invalid"},
		// PLAIN is not offered without TLS: swaks gives up before sending
		{ehlo: "plain-cleartext", args: []string{"--auth", "PLAIN", "--auth-user", "testuser", "--auth-password", "testpass"}},
		{ehlo: "starttls", args: []string{"--tls"}, ok: true, tls: true, want: "250 2.6.0 Message queued as starttls"},
		{ehlo: "tls-plain", args: []string{"--tls", "--auth", "PLAIN", "--auth-user", "testuser", "--auth-password", "testpass"},
			ok: true, tls: true, want: "235 2.7.0 Authentication successful"},
		{ehlo: "tls-login", args: []string{"--tls", "--auth", "LOGIN", "--auth-user", "testuser", "--auth-password", "testpass"},
			ok: true, tls: true, want: "235 2.7.0 Authentication successful"},
		{ehlo: "tls-plain-bad", args: []string{"--tls", "--auth", "PLAIN", "--auth-user", "testuser", "--auth-password", "nope"},
			tls: true, want: "535 5.7.8 Authentication credentials invalid"},
	}
	var run []tc
	messages := 0
	for _, c := range cases {
		if c.tls && !tlsOK {
			t.Logf("skipping %s: swaks needs Net::SSLeay and IO::Socket::SSL (Debian libnet-ssleay-perl, libio-socket-ssl-perl)", c.ehlo)
			continue
		}
		run = append(run, c)
		if c.ok {
			messages++
		}
	}
	port := luatest.FreePort(t)
	ready := make(chan string, 1)
	done := luatest.Background(t, filepath.Join("testdata", "e2e_swaks.lua"), luatest.Options{
		Globals: e2eGlobals(t, port, map[string]any{"MESSAGES": messages}),
		Ready:   ready,
		Timeout: 90 * time.Second,
	})
	luatest.WaitReady(t, ready, done)
	for _, c := range run {
		body := c.body
		if body == "" {
			body = fmt.Sprintf("Subject: e2e %s\n\nslimta end-to-end test", c.ehlo)
		}
		args := append([]string{
			"--server", "127.0.0.1", "--port", strconv.Itoa(port), "--ehlo", c.ehlo,
			"--from", "sender@example.com", "--to", "rcpt1@example.org,rcpt2@example.org",
			"--data", body, "--timeout", "15", "--suppress-data",
		}, c.args...)
		out, err := exec.Command(swaks, args...).CombinedOutput()
		text := string(out)
		if c.ok {
			require.NoError(t, err, "%s:\n%s", c.ehlo, text)
		} else {
			require.Error(t, err, "%s:\n%s", c.ehlo, text)
		}
		if c.want != "" {
			require.True(t, strings.Contains(text, c.want), "%s: want %q in\n%s", c.ehlo, c.want, text)
		}
	}
	luatest.Wait(t, done)
}

// TestCurl: curl -> slimta.edge.http -> local bus -> Lua consumer.
func TestCurl(t *testing.T) {
	curl := luatest.Program(t, "curl", "curl")
	port := luatest.FreePort(t)
	ready := make(chan string, 1)
	done := luatest.Background(t, filepath.Join("testdata", "e2e_curl.lua"), luatest.Options{
		Globals: e2eGlobals(t, port, map[string]any{"MESSAGES": 3}),
		Ready:   ready,
		Timeout: 60 * time.Second,
	})
	luatest.WaitReady(t, ready, done)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	post := func(path, subject string, extra ...string) string {
		args := []string{"-s", "-i", "--http1.0", "--max-time", "20", "-X", "POST"}
		// extra headers ("Name: value", or "Name:" to drop one) replace
		// the defaults of the same name
		override := map[string]bool{}
		for _, e := range extra {
			name, _, _ := strings.Cut(e, ":")
			override[strings.ToLower(name)] = true
			args = append(args, "-H", e)
		}
		for _, d := range []string{"X-Ehlo: curl.example", "X-Sender: alice@example.net",
			"X-Recipient: bob@example.org", "X-Recipient: carol@example.org", "Content-Type: message/rfc822"} {
			name, _, _ := strings.Cut(d, ":")
			if !override[strings.ToLower(name)] {
				args = append(args, "-H", d)
			}
		}
		args = append(args, "--data-binary", "Subject: "+subject+"\r\n\r\nHello from curl\r\n", url+path)
		out, err := exec.Command(curl, args...).CombinedOutput()
		require.NoError(t, err, string(out))
		return string(out)
	}
	status := func(out string) string {
		line, _, _ := strings.Cut(out, "\r\n")
		return line
	}
	// refusals that never reach the bus
	require.Equal(t, "HTTP/1.0 404 Not Found", status(post("/nowhere", "queued")))
	out := post("/email", "queued", "Content-Type: text/plain")
	require.Equal(t, "HTTP/1.0 406 Not Acceptable", status(out))
	require.Contains(t, out, "Accept: message/rfc822\r\n")
	require.Equal(t, "HTTP/1.0 400 Missing X-Sender header", status(post("/email", "queued", "X-Sender:")))
	get, err := exec.Command(curl, "-s", "-i", "--http1.0", "--max-time", "20", url+"/email").CombinedOutput()
	require.NoError(t, err)
	require.Equal(t, "HTTP/1.0 503 Service Unavailable", status(string(get)))
	// the three messages the consumer expects (it stops after them)
	out = post("/email", "queued")
	require.Equal(t, "HTTP/1.0 200 Message queued as 0123", status(out))
	require.True(t, strings.HasSuffix(out, "\r\n\r\n0123"), out)
	require.Contains(t, out, "Content-Length: 4\r\n")
	require.Equal(t, "HTTP/1.0 500 4.3.0 Try again later", status(post("/email/", "deferred")))
	// a multi-line reply must not split the HTTP response (spec 6.2 #15)
	require.Equal(t, "HTTP/1.0 400 5.7.1 Rejected by policy", status(post("/email", "rejected")))
	luatest.Wait(t, done)
}
