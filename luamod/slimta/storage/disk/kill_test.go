package disk_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	slimtalua "github.com/slimta-lua/slimta-lua"
	"github.com/slimta-lua/slimta-lua/luamod/slimta"
	"github.com/slimta-lua/slimta-lua/luamod/slimta/storage/disk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	lua "github.com/yuin/gopher-lua"
)

const childEnv = "SLIMTA_DISK_KILL_CHILD"

// childScript stores messages from 8 ratchet threads and prints each id
// only after the store call returned (i.e. after the fsync).
const childScript = `
require "ratchet"
require "slimta.storage.disk"
local storage = slimta.storage.disk.new(DIR)
ratchet.new(function ()
    for t = 1, 8 do
        ratchet.thread.attach(function ()
            local s = storage:connect()
            for i = 1, 1000000 do
                local contents = ("round %d thread %d seq %d\r\n"):format(ROUND, t, i) .. ("x"):rep(1000)
                local id = s:store_message({round = ROUND, thread = t, seq = i}, contents, ROUND * 1e7 + t * 1e6 + i)
                print(("%s %d %d %d"):format(id, ROUND, t, i))
            end
        end)
    end
end):loop()
`

// TestKillChild is the child side of TestKill9 (skipped otherwise).
func TestKillChild(t *testing.T) {
	dir := os.Getenv(childEnv)
	if dir == "" {
		t.Skip("child process of TestKill9 only")
	}
	round, _ := strconv.Atoi(os.Getenv(childEnv + "_ROUND"))
	rt := slimtalua.New()
	defer rt.Close()
	slimta.PreloadStorage(rt.State())
	rt.State().SetGlobal("DIR", lua.LString(dir))
	rt.State().SetGlobal("ROUND", lua.LNumber(round))
	err := rt.RunString(context.Background(), childScript, "child")
	t.Fatalf("child ended: %v", err) // it is meant to be killed
}

type printed struct {
	id                 string
	round, thread, seq int
}

// TestKill9 runs a child process that stores messages, SIGKILLs it in the
// middle, and checks that every id the child printed (so every store that
// had returned) is on disk with its contents and retry time. Three rounds
// on the same directory, each reopening what the previous one left.
func TestKill9(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		t.Skip("in the child")
	}
	dir := t.TempDir()
	var all []printed
	for round := 1; round <= 3; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKillChild$", "-test.v=false")
		cmd.Env = append(os.Environ(), childEnv+"="+dir, fmt.Sprintf("%s_ROUND=%d", childEnv, round))
		out, err := cmd.StdoutPipe()
		require.NoError(t, err)
		cmd.Stderr = os.Stderr
		require.NoError(t, cmd.Start())
		sc := bufio.NewScanner(out)
		want := 200 + 150*round // kill at a different point each round
		deadline := time.Now().Add(20 * time.Second)
		n := 0
		for n < want && time.Now().Before(deadline) && sc.Scan() {
			var p printed
			if _, err := fmt.Sscanf(sc.Text(), "%s %d %d %d", &p.id, &p.round, &p.thread, &p.seq); err == nil {
				all = append(all, p)
				n++
			}
		}
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		// Ids printed between our last read and the kill count too.
		for sc.Scan() {
			line := sc.Text()
			var p printed
			if _, err := fmt.Sscanf(line, "%s %d %d %d", &p.id, &p.round, &p.thread, &p.seq); err == nil && strings.Count(line, " ") == 3 {
				all = append(all, p)
			}
		}
		_ = cmd.Wait()
		require.GreaterOrEqual(t, n, want, "child stored too few messages before the deadline")
	}

	s, err := disk.Acquire(dir)
	require.NoError(t, err)
	defer s.Release()
	require.NoError(t, s.Check())
	ids, err := s.All(ctx)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, len(ids), len(all))
	for _, p := range all {
		raw, err := s.GetContents(ctx, p.id)
		if !assert.NoError(t, err, "acknowledged message %s lost", p.id) {
			continue
		}
		assert.True(t, strings.HasPrefix(raw, fmt.Sprintf("round %d thread %d seq %d\r\n", p.round, p.thread, p.seq)))
		m, err := s.GetMeta(ctx, p.id)
		require.NoError(t, err)
		assert.Equal(t, float64(p.seq), m["seq"])
		when, ok, err := s.RetryTime(ctx, p.id)
		require.NoError(t, err)
		assert.True(t, ok)
		assert.Equal(t, float64(p.round)*1e7+float64(p.thread)*1e6+float64(p.seq), when)
	}
	t.Logf("%d acknowledged stores survived 3 kills; %d messages on disk", len(all), len(ids))
}
