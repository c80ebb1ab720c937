package e2e_test

import (
	"fmt"

	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/slimta-lua/slimta-lua/luamod/slimta/relaytest/peers"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mtaArgs are the options every test passes: a free port, a fresh spool,
// fast retries.
func mtaArgs(t *testing.T, port int, spool string, extra ...string) []string {
	if spool == "" {
		spool = t.TempDir()
	}
	return append([]string{"--port", strconv.Itoa(port), "--spool", spool, "--hostname", "mta.test",
		"--retry-interval", "0.2", "--retry-base", "1", "--relay-timeout", "2"}, extra...)
}

func TestMTAHelpAndBadOptions(t *testing.T) {
	out, err := exec.Command(binary, "scripts/mta.lua", "--help").CombinedOutput()
	if err != nil {
		// Run from the repository root.
		cmd := exec.Command(binary, "scripts/mta.lua", "--help")
		cmd.Dir = repoRoot
		out, err = cmd.CombinedOutput()
	}
	require.NoError(t, err, string(out))
	for _, opt := range []string{"--port", "--spool", "--smarthost", "--hostname", "--redis", "--help"} {
		assert.Contains(t, string(out), opt)
	}
	cmd := exec.Command(binary, "scripts/mta.lua", "--no-such-option")
	cmd.Dir = repoRoot
	out, err = cmd.CombinedOutput()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 2, ee.ExitCode())
	assert.Contains(t, string(out), "unknown option")
}

// swaks -> mta.lua -> smtp-sink, then a graceful stop.
func TestMTASwaksToSmtpSink(t *testing.T) {
	sink := peers.StartSink(t, true)
	port := peers.FreePort(t)
	p := startScript(t, "mta.lua", port, false, mtaArgs(t, port, "", "--smarthost", sink.Addr)...)
	out := swaks(t, port, "--from", "alice@example.test", "--to", "bob@example.test,carol@example.test",
		"--header", "Subject: e2e test", "--body", "Hello from swaks.\n.leading dot line\n")
	assert.Contains(t, out, "250")
	dumps := sink.WaitDumps(t, 1, 10*time.Second)
	require.Len(t, dumps, 1)
	d := dumps[0]
	assert.True(t, peers.Contains(d, "X-Mail-Args: <alice@example.test>"), string(d))
	assert.True(t, peers.Contains(d, "X-Rcpt-Args: <bob@example.test>"), string(d))
	assert.True(t, peers.Contains(d, "X-Rcpt-Args: <carol@example.test>"), string(d))
	assert.True(t, peers.Contains(d, "\n.leading dot line"), string(d))
	assert.NotEmpty(t, peers.HeaderValues(d, "Received"))
	assert.True(t, peers.Contains(d, "by mta.test (slimta"), "Received names --hostname: %s", d)
	assert.Len(t, peers.HeaderValues(d, "Message-Id"), 1)
	assert.Len(t, peers.HeaderValues(d, "Date"), 1)

	p.waitOutput(t, 5*time.Second, " delivery ", "outcome=delivered")
	recv := p.logLines("received")
	require.Len(t, recv, 1)
	assert.Contains(t, recv[0], "from=<alice@example.test>")
	assert.Contains(t, recv[0], "to=<bob@example.test>,<carol@example.test>")
	assert.Contains(t, recv[0], "elapsed=")
	assert.Regexp(t, `id=\S+`, recv[0])
	del := p.logLines("delivery")
	require.Len(t, del, 1)
	assert.Contains(t, del[0], `result="250`)
	assert.Contains(t, del[0], "dest=127.0.0.1:")
	assert.Contains(t, del[0], "attempt=1")

	require.NoError(t, p.stop(syscall.SIGTERM, 10*time.Second), "graceful stop exits 0")
	assert.Contains(t, p.out.String(), "stopped")
}

// A target that answers 451 first and 250 later: deferred, retried on the
// timer, delivered once.
func TestMTADeferRetryDeliver(t *testing.T) {
	srv := peers.StartServer(t)
	var calls atomic.Int32
	srv.OnData(func(*peers.Message) error {
		if calls.Add(1) == 1 {
			return peers.Reply(451, "4.3.0 try again later")
		}
		return nil
	})
	port := peers.FreePort(t)
	p := startScript(t, "mta.lua", port, false, mtaArgs(t, port, "", "--smarthost", srv.Addr)...)
	swaks(t, port, "--from", "alice@example.test", "--to", "bob@example.test", "--header", "Subject: retry me")
	msgs := srv.WaitMessages(t, 1, 15*time.Second)
	assert.Equal(t, []string{"bob@example.test"}, msgs[0].To)
	out := p.waitOutput(t, 5*time.Second, "outcome=deferred", "outcome=delivered")
	assert.Contains(t, out, "attempt=2")
	time.Sleep(500 * time.Millisecond)
	assert.Len(t, srv.Messages(), 1, "delivered exactly once")
}

// A permanent failure bounces to the sender; the bounce (null sender) is
// itself delivered through the smarthost.
func TestMTABounce(t *testing.T) {
	srv := peers.StartServer(t)
	srv.OnRcpt(func(to string) error {
		if strings.HasPrefix(to, "nobody@") {
			return peers.Reply(550, "5.1.1 no such user here")
		}
		return nil
	})
	port := peers.FreePort(t)
	p := startScript(t, "mta.lua", port, false, mtaArgs(t, port, "", "--smarthost", srv.Addr)...)
	swaks(t, port, "--from", "alice@example.test", "--to", "nobody@example.test", "--header", "Subject: doomed")
	msgs := srv.WaitMessages(t, 1, 15*time.Second)
	b := msgs[0]
	assert.Equal(t, "", b.From, "bounces come from the null sender")
	assert.Equal(t, []string{"alice@example.test"}, b.To)
	body := string(b.Data)
	assert.Contains(t, body, "Undelivered Mail Returned to Sender")
	assert.Contains(t, body, "no such user here")
	assert.Contains(t, body, "Subject: doomed")
	p.waitOutput(t, 5*time.Second, "outcome=failed")

	// Partial failure: the good recipient gets the message, the sender a
	// bounce for the other one.
	swaks(t, port, "--from", "alice@example.test", "--to", "bob@example.test,nobody@example.test", "--header", "Subject: half")
	msgs = srv.WaitMessages(t, 3, 15*time.Second)
	var toBob, bounce int
	for _, m := range msgs[1:] {
		switch {
		case m.From == "alice@example.test" && len(m.To) == 1 && m.To[0] == "bob@example.test":
			toBob++
		case m.From == "" && strings.Contains(string(m.Data), "Subject: half"):
			bounce++
		}
	}
	assert.Equal(t, 1, toBob)
	assert.Equal(t, 1, bounce)
}

// Targets that hang, reset or talk garbage: the message is deferred and
// retried on schedule until the target works.
func TestMTABadTargetsRetried(t *testing.T) {
	for _, kind := range []string{"hang", "reset", "garbage"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			srv := peers.StartServer(t)
			flaky := peers.StartFlaky(t, kind, 2, srv.Addr)
			port := peers.FreePort(t)
			p := startScript(t, "mta.lua", port, false,
				mtaArgs(t, port, "", "--smarthost", flaky.Addr, "--relay-timeout", "1")...)
			swaks(t, port, "--from", "alice@example.test", "--to", "bob@example.test", "--header", "Subject: "+kind)
			srv.WaitMessages(t, 1, 30*time.Second)
			out := p.waitOutput(t, 5*time.Second, "outcome=delivered")
			assert.GreaterOrEqual(t, strings.Count(out, "outcome=deferred"), 2, out)
			assert.GreaterOrEqual(t, flaky.Accepted(), 3)
		})
	}
}

// The same pipeline with Redis storage.
func TestMTARedis(t *testing.T) {
	redisAddr := startRedis(t)
	sink := peers.StartSink(t, true)
	port := peers.FreePort(t)
	p := startScript(t, "mta.lua", port, false, mtaArgs(t, port, "", "--redis", redisAddr, "--smarthost", sink.Addr)...)
	for i := 0; i < 3; i++ {
		swaks(t, port, "--from", "alice@example.test", "--to", fmt.Sprintf("r%d@example.test", i))
	}
	sink.WaitDumps(t, 3, 10*time.Second)
	p.waitOutput(t, 5*time.Second, "storage=redis:")
}

func startRedis(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed (Debian package redis-server)")
	}
	port := peers.FreePort(t)
	dir := t.TempDir()
	cmd := exec.Command(path, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--dir", dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
	})
	addr := "127.0.0.1:" + strconv.Itoa(port)
	require.True(t, waitTCP(addr, 5*time.Second, nil), "redis-server did not start")
	return addr
}

// kill -9 during a load of 1,000 messages, then a restart on the same
// spool: every message that got a 250 reaches the sink (at least once; a
// delivery that was in flight at the kill may be repeated).
func TestMTACrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	sink := peers.StartSink(t, true)
	spool := t.TempDir()
	port := peers.FreePort(t)
	args := mtaArgs(t, port, spool, "--smarthost", sink.Addr, "--lock-duration", "3", "--quiet")
	p := startScript(t, "mta.lua", port, false, args...)

	const total = 1000
	var (
		mu    sync.Mutex
		acked = map[string]bool{}
		next  atomic.Int32
		wg    sync.WaitGroup
	)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	stopLoad := make(chan struct{})
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			var c *smtp.Client
			attempt := 0
			for {
				n := int(next.Add(1))
				if n > total {
					break
				}
				for {
					select {
					case <-stopLoad:
						return
					default:
					}
					attempt++
					id := fmt.Sprintf("<%d.%d.%d@load.test>", n, w, attempt)
					if c == nil {
						var err error
						c, err = smtp.Dial(addr)
						if err != nil || c.Hello("load.test") != nil {
							c = nil
							time.Sleep(100 * time.Millisecond)
							continue
						}
					}
					if err := sendOne(c, id, n); err != nil {
						c.Close()
						c = nil
						time.Sleep(50 * time.Millisecond)
						continue
					}
					mu.Lock()
					acked[id] = true
					mu.Unlock()
					break
				}
			}
			if c != nil {
				_ = c.Quit()
			}
		}(w)
	}
	// Kill once a third of the load is acknowledged.
	deadline := time.Now().Add(60 * time.Second)
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= total/3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	require.NoError(t, syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL))
	<-p.done
	time.Sleep(200 * time.Millisecond)
	p2 := startScript(t, "mta.lua", port, false, args...)
	waitDone := make(chan struct{})
	go func() { wg.Wait(); close(waitDone) }()
	select {
	case <-waitDone:
	case <-time.After(90 * time.Second):
		close(stopLoad)
		t.Fatal("load did not finish")
	}

	mu.Lock()
	want := len(acked)
	mu.Unlock()
	require.GreaterOrEqual(t, want, total)
	// Wait until every acknowledged message was delivered.
	var counts map[string]int
	deadline = time.Now().Add(60 * time.Second)
	for {
		counts = completeDeliveries(t, sink)
		missing := 0
		for id := range acked {
			if counts[id] == 0 {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d acknowledged messages never delivered", missing, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
	dups, extra := 0, 0
	for id, c := range counts {
		if c > 1 {
			dups++
		}
		if !acked[id] {
			extra++
		}
	}
	t.Logf("acked %d, delivered %d distinct, %d delivered more than once, %d delivered without an ack (killed before the 250)",
		want, len(counts), dups, extra)
	assert.LessOrEqual(t, dups, 32, "duplicates are limited to deliveries in flight at the kill")
	_ = p2
}

// sendOne sends one load message; its body ends with a marker line so that
// complete deliveries can be told from transactions cut by the kill.
func sendOne(c *smtp.Client, id string, n int) error {
	if err := c.Mail("load@example.test", nil); err != nil {
		return err
	}
	if err := c.Rcpt(fmt.Sprintf("rcpt%d@example.test", n%50), nil); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	body := "Message-Id: " + id + "\r\nSubject: load " + strconv.Itoa(n) + "\r\n\r\n" +
		strings.Repeat("load test line\r\n", 20) + "END-OF-LOAD-MESSAGE\r\n"
	if _, err := w.Write([]byte(body)); err != nil {
		return err
	}
	return w.Close()
}

// completeDeliveries counts, per Message-Id, the sink's complete dumps.
func completeDeliveries(t *testing.T, sink *peers.Sink) map[string]int {
	counts := map[string]int{}
	for _, d := range sink.Dumps(t) {
		if !peers.Contains(d, "END-OF-LOAD-MESSAGE") {
			continue
		}
		for _, v := range peers.HeaderValues(d, "Message-Id") {
			counts[v]++
		}
	}
	return counts
}

// One recipient deferred, the other delivered: the retry goes to the
// deferred one only (the stored recipient list shrinks), nobody gets it
// twice.
func TestMTAPartialDefer(t *testing.T) {
	srv := peers.StartServer(t)
	var refused atomic.Int32
	srv.OnRcpt(func(to string) error {
		if strings.HasPrefix(to, "later@") && refused.Add(1) == 1 {
			return peers.Reply(451, "4.2.1 mailbox busy, try later")
		}
		return nil
	})
	port := peers.FreePort(t)
	p := startScript(t, "mta.lua", port, false, mtaArgs(t, port, "", "--smarthost", srv.Addr)...)
	swaks(t, port, "--from", "alice@example.test", "--to", "bob@example.test,later@example.test", "--header", "Subject: partial")
	msgs := srv.WaitMessages(t, 2, 15*time.Second)
	assert.Equal(t, []string{"bob@example.test"}, msgs[0].To)
	assert.Equal(t, []string{"later@example.test"}, msgs[1].To)
	p.waitOutput(t, 5*time.Second, "outcome=deferred-partial", "outcome=delivered")
	time.Sleep(500 * time.Millisecond)
	assert.Len(t, srv.Messages(), 2, "no duplicate for bob")
}
