package http_test

import (
	"context"
	"fmt"
	"io"
	"net"
	nethttp "net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	slimtalua "github.com/slimta-lua/slimta-lua"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	lua "github.com/yuin/gopher-lua"
)

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func run(t *testing.T, rt *slimtalua.Runtime, path string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := rt.RunFile(ctx, path); err != nil {
		if le, ok := err.(*slimtalua.Error); ok {
			t.Fatalf("%s\n%s", le.Message, le.Traceback)
		}
		t.Fatal(err)
	}
}

func TestLuaScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/test_*.lua")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".lua"), func(t *testing.T) {
			rt := slimtalua.New()
			defer rt.Close()
			rt.State().SetGlobal("PORT", lua.LNumber(freePort(t)))
			run(t, rt, f)
		})
	}
}

func startServer(t *testing.T) int {
	t.Helper()
	port := freePort(t)
	rt := slimtalua.New()
	rt.State().SetGlobal("PORT", lua.LNumber(port))
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
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			_ = c.Close()
			return port
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("server did not start")
	return 0
}

func TestCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not installed (Debian package curl)")
	}
	port := startServer(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)

	out, err := exec.Command(curl, "-sS", "-i", "--max-time", "20", base+"/hello").CombinedOutput()
	require.NoError(t, err, "%s", out)
	s := string(out)
	assert.True(t, strings.HasPrefix(s, "HTTP/1.0 200 OK  Injected: yes\r\n"), s)
	assert.Contains(t, s, "X-Uri: /hello\r\n")
	assert.True(t, strings.HasSuffix(s, "\r\n\r\nhello /hello"), s)

	body := strings.Repeat("0123456789", 20000)
	cmd := exec.Command(curl, "-sS", "-i", "--max-time", "20", "-H", "Content-Type: message/rfc822",
		"--data-binary", "@-", base+"/email")
	cmd.Stdin = strings.NewReader(body)
	out, err = cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	s = string(out)
	assert.True(t, strings.HasPrefix(s, "HTTP/1.0 200 OK\r\n"), s[:40])
	assert.Contains(t, s, "X-Length: 200000\r\n")
	assert.True(t, strings.HasSuffix(s, body))

	// HTTP/1.0 as well, and an unknown method
	out, err = exec.Command(curl, "-sS", "-i", "-0", "--max-time", "20", "-X", "DELETE", base+"/x").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.True(t, strings.HasPrefix(string(out), "HTTP/1.0 501 Not Implemented\r\n"), string(out))

	// the body limit (1 MiB in serve.lua)
	big := strings.Repeat("x", 2<<20)
	cmd = exec.Command(curl, "-sS", "-i", "--max-time", "20", "--data-binary", "@-", base+"/email")
	cmd.Stdin = strings.NewReader(big)
	out, _ = cmd.CombinedOutput()
	assert.Contains(t, string(out), "HTTP/1.0 413 Request Entity Too Large")
}

func TestRawRequests(t *testing.T) {
	port := startServer(t)
	cases := []struct{ req, want string }{
		{"GET /a HTTP/1.0\r\n\r\n", "HTTP/1.0 200 "},
		{"GET /a HTTP/2.0\r\n\r\n", "HTTP/1.0 505 Version Not Supported\r\n"},
		{"get /a http/1.0\nX: y\n\n", "HTTP/1.0 200 "},
		{"garbage\r\n\r\n", "HTTP/1.0 400 Bad Request\r\n"},
		{"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", "HTTP/1.0 411 Length Required\r\n"},
		{"GET /a HTTP/1.0\r\nX: " + strings.Repeat("h", 70000) + "\r\n\r\n", "HTTP/1.0 431 "},
		{"", ""},
	}
	for _, c := range cases {
		conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		require.NoError(t, err)
		_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
		_, err = conn.Write([]byte(c.req))
		require.NoError(t, err)
		_ = conn.(*net.TCPConn).CloseWrite()
		got, _ := io.ReadAll(conn)
		_ = conn.Close()
		assert.True(t, strings.HasPrefix(string(got), c.want), "%q -> %q", c.req, got)
	}
}

func TestClientAgainstGoServer(t *testing.T) {
	srv := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		data, _ := io.ReadAll(r.Body)
		w.Header().Add("X-Echo", r.Method+" "+r.URL.Path)
		w.Header().Add("X-Echo", strings.Join(r.Header.Values("X-Test"), "+"))
		w.WriteHeader(nethttp.StatusCreated)
		_, _ = w.Write([]byte("got " + string(data)))
	}))
	defer srv.Close()
	port := srv.Listener.Addr().(*net.TCPAddr).Port

	rt := slimtalua.New()
	defer rt.Close()
	L := rt.State()
	L.SetGlobal("PORT", lua.LNumber(port))
	L.SetGlobal("METHOD", lua.LString("post"))
	L.SetGlobal("URI", lua.LString("/path"))
	L.SetGlobal("BODY", lua.LString("payload"))
	run(t, rt, "testdata/fetch.lua")
	assert.Equal(t, lua.LNumber(201), L.GetGlobal("CODE"))
	assert.Equal(t, "Created", lua.LVAsString(L.GetGlobal("REASON")))
	assert.Equal(t, "got payload", lua.LVAsString(L.GetGlobal("RBODY")))
	assert.Equal(t, "POST /path,a+b", lua.LVAsString(L.GetGlobal("XECHO")))
	assert.Equal(t, lua.LNumber(0), L.GetGlobal("MISSING"))
}
