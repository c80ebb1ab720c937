package storage_test

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
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	lua "github.com/yuin/gopher-lua"
)

const restartEnv = "SLIMTA_STORAGE_RESTART_CHILD"

// engineSetup is Lua that defines new_engine() from the globals ENGINE,
// DIR and REDIS_PORT.
const engineSetup = `
require "ratchet"
require "slimta.message"
require "slimta.queue"
require "slimta.storage.disk"
require "slimta.storage.redis"
function new_engine()
    if ENGINE == "disk" then
        return slimta.storage.disk.new(DIR)
    end
    return slimta.storage.redis.new("127.0.0.1", REDIS_PORT)
end
function new_message(i)
    local m = slimta.message
    return m.new(m.client.new("ESMTP", "c", "127.0.0.1", "none", "mx"),
        m.envelope.new("s@x", {"r@y"}, nil, "localhost", 25),
        m.contents.new("Subject: " .. i .. "\r\n\r\nbody " .. i), os.time())
end
`

// childQueue accepts messages from a fake edge, prints each 250'd id, and
// relays to a bus that never answers: every message is in flight when
// the process is killed.
const childQueue = engineSetup + `
local n = 0
local edge = {}
function edge:recv_request()
    ratchet.thread.timer(0.002)
    n = n + 1
    local tr = {}
    function tr:send_response(r)
        assert(r[1].code == "250", r[1].code)
        print("ACK " .. r[1].data)
    end
    return tr, {new_message(n)}
end
local relay = {}
function relay:send_request()
    return {recv_response = function () ratchet.thread.pause() end}
end
ratchet.new(function ()
    local q = slimta.queue.new(edge, relay, new_engine())
    q:set_lock_duration(1)
    while true do
        ratchet.thread.attach(q:accept())
    end
end):loop()
`

// TestRestartChild is the child side of TestSurvivesRestart.
func TestRestartChild(t *testing.T) {
	engine := os.Getenv(restartEnv)
	if engine == "" {
		t.Skip("child process of TestSurvivesRestart only")
	}
	rt := slimtalua.New()
	defer rt.Close()
	L := rt.State()
	slimta.PreloadStorage(L)
	L.SetGlobal("ENGINE", lua.LString(engine))
	L.SetGlobal("DIR", lua.LString(os.Getenv(restartEnv+"_DIR")))
	port, _ := strconv.Atoi(os.Getenv(restartEnv + "_PORT"))
	L.SetGlobal("REDIS_PORT", lua.LNumber(port))
	err := rt.RunString(context.Background(), childQueue, "child")
	t.Fatalf("child ended: %v", err)
}

// TestSurvivesRestart: a slimta-lua process accepts messages, is killed
// with SIGKILL while all of them are being delivered, and a new process
// on the same storage delivers every acknowledged message exactly once
// after the dead process's locks expire.
func TestSurvivesRestart(t *testing.T) {
	if os.Getenv(restartEnv) != "" {
		t.Skip("in the child")
	}
	for _, engine := range []string{"disk", "redis"} {
		t.Run(engine, func(t *testing.T) {
			if engine == "redis" {
				if redisSrv == nil {
					t.Skip("redis-server not installed (Debian package redis-server)")
				}
				require.NoError(t, redisSrv.FlushAll())
			}
			dir := t.TempDir()
			port := 0
			if redisSrv != nil {
				port = redisSrv.Port
			}
			cmd := exec.Command(os.Args[0], "-test.run=^TestRestartChild$")
			cmd.Env = append(os.Environ(), restartEnv+"="+engine, restartEnv+"_DIR="+dir,
				fmt.Sprintf("%s_PORT=%d", restartEnv, port))
			out, err := cmd.StdoutPipe()
			require.NoError(t, err)
			cmd.Stderr = os.Stderr
			require.NoError(t, cmd.Start())
			acked := map[string]bool{}
			sc := bufio.NewScanner(out)
			deadline := time.Now().Add(20 * time.Second)
			for len(acked) < 40 && time.Now().Before(deadline) && sc.Scan() {
				if id, ok := strings.CutPrefix(sc.Text(), "ACK "); ok {
					acked[id] = true
				}
			}
			require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
			for sc.Scan() {
				if id, ok := strings.CutPrefix(sc.Text(), "ACK "); ok && len(id) == 36 {
					acked[id] = true
				}
			}
			_ = cmd.Wait()
			require.GreaterOrEqual(t, len(acked), 40)

			// the "restarted process"
			rt := slimtalua.New()
			defer rt.Close()
			L := rt.State()
			slimta.PreloadStorage(L)
			L.SetGlobal("ENGINE", lua.LString(engine))
			L.SetGlobal("DIR", lua.LString(dir))
			L.SetGlobal("REDIS_PORT", lua.LNumber(port))
			L.SetGlobal("ACKED", lua.LNumber(len(acked)))
			delivered := map[string]int{}
			L.SetGlobal("delivered", L.NewFunction(func(L *lua.LState) int {
				delivered[L.CheckString(1)]++
				return 0
			}))
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err = rt.RunString(ctx, engineSetup+`
				local storage = new_engine()
				local relay = {}
				function relay:send_request(msgs)
					for _, m in ipairs(msgs) do delivered(m.id) end
					local r = {}
					for i = 1, #msgs do r[i] = slimta.message.response.new("250", "ok") end
					return {recv_response = function () return r end}
				end
				ratchet.new(function ()
					local q = slimta.queue.new(nil, relay, storage)
					local stored = #storage:get_all_messages()
					assert(stored >= ACKED, ("%d stored, %d acknowledged"):format(stored, ACKED))
					-- wait for the dead process's locks to expire
					local deadline = os.time() + 10
					while #storage:get_all_messages() > 0 and os.time() < deadline do
						local job = q:retry()
						if job then job() else ratchet.thread.timer(0.2) end
					end
					assert(#storage:get_all_messages() == 0, "messages left")
				end):loop()
			`, "restarted")
			require.NoError(t, err)
			for id := range acked {
				assert.Equal(t, 1, delivered[id], "acknowledged message %s", id)
			}
			for id, n := range delivered {
				assert.Equal(t, 1, n, "message %s delivered %d times", id, n)
			}
		})
	}
}
