package e2e_test

import (
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slimta-lua/slimta-lua/luamod/slimta/relaytest/peers"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runScript runs a one-shot script to completion.
func runScript(t *testing.T, name string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"scripts/" + name}, args...)...)
	cmd.Dir = repoRoot
	done := make(chan struct{})
	var out []byte
	var err error
	go func() {
		out, err = cmd.CombinedOutput()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("%s did not finish:\n%s", name, out)
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), code
}

func TestExampleFullMTA(t *testing.T) {
	sink := peers.StartSink(t, true)
	port := peers.FreePort(t)
	p := startScript(t, "full_mta.lua", port, false, "memory", "--port", strconv.Itoa(port), "--smarthost", sink.Addr)
	swaks(t, port, "--from", "alice@example.test", "--to", "bob@example.test")
	d := sink.WaitDumps(t, 1, 10*time.Second)[0]
	assert.Len(t, peers.HeaderValues(d, "Message-Id"), 1)
	assert.NotEmpty(t, peers.HeaderValues(d, "Received"))
	p.waitOutput(t, 5*time.Second, "received ", "delivery of ")
}

func TestExampleHTTPMTAWithSendHTTP(t *testing.T) {
	sink := peers.StartSink(t, true)
	port := peers.FreePort(t)
	p := startScript(t, "http_mta.lua", port, true, "memory", "--port", strconv.Itoa(port), "--smarthost", sink.Addr)
	out, code := runScript(t, "send_http.lua", "alice@example.test", "bob@example.test", "127.0.0.1", strconv.Itoa(port))
	assert.Equal(t, 0, code, out)
	assert.True(t, strings.HasPrefix(out, "200 "), out)
	d := sink.WaitDumps(t, 1, 10*time.Second)[0]
	assert.True(t, peers.Contains(d, "This message was posted over HTTP."))
	p.waitOutput(t, 5*time.Second, "delivery of ")

	out, code = runScript(t, "send_http.lua", "only-one-argument")
	assert.Equal(t, 1, code, out)
	assert.Contains(t, out, "usage")
}

func TestExampleQueueOnly(t *testing.T) {
	port := peers.FreePort(t)
	p := startScript(t, "queue_only.lua", port, false, "memory", "--port", strconv.Itoa(port))
	out := swaks(t, port, "--from", "alice@example.test", "--to", "bob@example.test")
	assert.Contains(t, out, "queued as")
	p.waitOutput(t, 5*time.Second, "stored ")
}

func TestExampleProxy(t *testing.T) {
	srv := peers.StartServer(t)
	srv.OnRcpt(func(to string) error {
		if strings.HasPrefix(to, "later@") {
			return peers.Reply(451, "4.2.0 not now")
		}
		return nil
	})
	port := peers.FreePort(t)
	startScript(t, "proxy.lua", port, false, "--port", strconv.Itoa(port), "--smarthost", srv.Addr)
	swaks(t, port, "--from", "alice@example.test", "--to", "bob@example.test")
	m := srv.WaitMessages(t, 1, 10*time.Second)[0]
	assert.Equal(t, []string{"bob@example.test"}, m.To)
	assert.Contains(t, string(m.Data), "Received: ")

	// Without a queue, the relay's 4xx goes back to the client.
	path, err := exec.LookPath("swaks")
	require.NoError(t, err)
	cmd := exec.Command(path, "--server", "127.0.0.1", "--port", strconv.Itoa(port),
		"--from", "alice@example.test", "--to", "later@example.test", "--timeout", "20")
	out, _ := cmd.CombinedOutput()
	assert.Contains(t, string(out), "451")
}

// Messages stored by mta.lua while its smarthost was down are delivered
// by flush_queue.lua from the same spool.
func TestExampleFlushQueueDisk(t *testing.T) {
	spool := t.TempDir()
	port := peers.FreePort(t)
	dead := peers.FreePort(t)
	p := startScript(t, "mta.lua", port, false, mtaArgs(t, port, spool,
		"--smarthost", "127.0.0.1:"+strconv.Itoa(dead), "--retry-base", "3600")...)
	swaks(t, port, "--from", "alice@example.test", "--to", "bob@example.test")
	swaks(t, port, "--from", "alice@example.test", "--to", "carol@example.test")
	p.waitOutput(t, 10*time.Second, "outcome=deferred")
	for strings.Count(p.out.String(), "outcome=deferred") < 2 {
		time.Sleep(50 * time.Millisecond)
	}
	require.NoError(t, p.stop(syscall.SIGTERM, 10*time.Second))

	sink := peers.StartSink(t, true)
	out, code := runScript(t, "flush_queue.lua", "disk", spool, "--smarthost", sink.Addr)
	assert.Equal(t, 0, code, out)
	assert.Equal(t, 2, strings.Count(out, ": [250]"), out)
	sink.WaitDumps(t, 2, 10*time.Second)

	out, code = runScript(t, "flush_queue.lua", "disk", spool, "--smarthost", sink.Addr)
	assert.Equal(t, 0, code, out)
	assert.NotContains(t, out, "[250]", "the queue is empty now")
}

func TestExampleQueueOnlyRedisThenFlush(t *testing.T) {
	redisAddr := startRedis(t)
	host, rport, _ := strings.Cut(redisAddr, ":")
	port := peers.FreePort(t)
	p := startScript(t, "queue_only.lua", port, false, "redis", host, rport, "--port", strconv.Itoa(port))
	swaks(t, port, "--from", "alice@example.test", "--to", "bob@example.test")
	p.waitOutput(t, 5*time.Second, "stored ")
	_ = p.stop(syscall.SIGTERM, 5*time.Second) // no signal handling: killed

	sink := peers.StartSink(t, true)
	out, code := runScript(t, "flush_queue.lua", "redis", host, rport, "--smarthost", sink.Addr)
	assert.Equal(t, 0, code, out)
	assert.Contains(t, out, ": [250]")
	sink.WaitDumps(t, 1, 10*time.Second)
}
