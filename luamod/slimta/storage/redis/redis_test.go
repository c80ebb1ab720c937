package redis_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	slimtalua "github.com/slimta-lua/slimta-lua"
	"github.com/slimta-lua/slimta-lua/luamod/slimta"
	"github.com/slimta-lua/slimta-lua/luamod/slimta/storage/internal/lstore"
	"github.com/slimta-lua/slimta-lua/luamod/slimta/storage/internal/redistest"
	"github.com/slimta-lua/slimta-lua/luamod/slimta/storage/redis"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	lua "github.com/yuin/gopher-lua"
)

var ctx = context.Background()

func ptr(f float64) *float64 { return &f }

func newClient(srv *redistest.Server, offset int) *redis.Client {
	return redis.NewClient(redis.Config{Host: "127.0.0.1", Port: srv.Port, Offset: offset})
}

// TestKeyLayout: what the engine writes is the original's schema (spec 3.4).
func TestKeyLayout(t *testing.T) {
	srv := redistest.Start(t)
	c := newClient(srv, 4) // offset 4: databases 4..7
	defer c.Close()
	id, err := c.StoreMessage(ctx, lstore.Meta{"sender": "a@b", "attempts": 0.0, "timestamp": 1357000000.0, "dest_port": 25.0}, "raw\r\n", ptr(1357000123), "")
	require.NoError(t, err)
	assert.Equal(t, "[message_ids retry_queue]", sortedKeys(t, srv, 4))
	assert.Equal(t, "["+id+"]", doOn(t, srv, 4, "SMEMBERS", "message_ids"))
	assert.Equal(t, "1357000123", doOn(t, srv, 4, "ZSCORE", "retry_queue", id))
	h := hgetall(t, srv, 5, id)
	assert.Equal(t, map[string]string{"sender": "a@b", "attempts": "0", "timestamp": "1357000000", "dest_port": "25"}, h)
	assert.Equal(t, "raw\r\n", get(t, srv, 6, id))

	ok, _, err := c.Lock(ctx, id, 90*time.Second)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, "locked", get(t, srv, 7, id))
	ttl, _ := strconv.Atoi(doOn(t, srv, 7, "TTL", id))
	assert.InDelta(t, 90, ttl, 2)
	// nothing leaked into the other databases
	for db := 0; db < 4; db++ {
		assert.Equal(t, "0", doOn(t, srv, db, "DBSIZE"), "db %d", db)
	}
	existed, err := c.Delete(ctx, id)
	require.NoError(t, err)
	assert.True(t, existed)
	for db := 4; db < 8; db++ {
		assert.Equal(t, "0", doOn(t, srv, db, "DBSIZE"), "db %d", db)
	}
}

// doOn runs a raw command on database db.
func doOn(t *testing.T, srv *redistest.Server, db int, args ...string) string {
	t.Helper()
	c := redis.NewClient(redis.Config{Host: "127.0.0.1", Port: srv.Port, Offset: db})
	defer c.Close()
	vals := make([]any, len(args))
	for i, a := range args {
		vals[i] = a
	}
	v, err := c.Do(ctx, 0, vals...)
	if errors.Is(err, goredis.Nil) {
		return "<nil>"
	}
	require.NoError(t, err)
	return fmt.Sprint(v)
}

func sortedKeys(t *testing.T, srv *redistest.Server, db int) string {
	s := strings.Trim(doOn(t, srv, db, "KEYS", "*"), "[]")
	keys := strings.Fields(s)
	sort.Strings(keys)
	return "[" + strings.Join(keys, " ") + "]"
}

func get(t *testing.T, srv *redistest.Server, db int, key string) string {
	return doOn(t, srv, db, "GET", key)
}

func hgetall(t *testing.T, srv *redistest.Server, db int, key string) map[string]string {
	c := redis.NewClient(redis.Config{Host: "127.0.0.1", Port: srv.Port, Offset: db})
	defer c.Close()
	v, err := c.Do(ctx, 0, "HGETALL", key)
	require.NoError(t, err)
	out := map[string]string{}
	switch x := v.(type) {
	case []any:
		for i := 0; i+1 < len(x); i += 2 {
			out[fmt.Sprint(x[i])] = fmt.Sprint(x[i+1])
		}
	case map[any]any:
		for k, v := range x {
			out[fmt.Sprint(k)] = fmt.Sprint(v)
		}
	}
	return out
}

// TestReadsOriginalData: messages written the way the original slimta
// did (claim with SADD, HSET per field, SET, ZADD) load and relay.
func TestReadsOriginalData(t *testing.T) {
	srv := redistest.Start(t)
	id := "0f0e0d0c-0b0a-4908-8706-050403020100"
	doOn(t, srv, 0, "SADD", "message_ids", id)
	doOn(t, srv, 0, "ZADD", "retry_queue", "1000", id)
	for _, kv := range [][2]string{
		{"timestamp", "1357000000"}, {"attempts", "2"}, {"protocol", "ESMTP"},
		{"ehlo", "there"}, {"ip", "1.2.3.4"}, {"security", "none"}, {"receiver", "mx"},
		{"sender", "s@x"}, {"recipients", "\x00r1@y\x00r2@z"}, {"dest_host", "mx.y"}, {"dest_port", "25"},
	} {
		doOn(t, srv, 1, "HSET", id, kv[0], kv[1])
	}
	doOn(t, srv, 2, "SET", id, "Subject: hi\r\n\r\nbody")
	runLua(t, srv, `
		require "slimta.message"
		require "slimta.storage.redis"
		local s = slimta.storage.redis.new("127.0.0.1", REDIS_PORT):connect()
		local ids = s:get_deferred_messages(os.time())
		assert(#ids == 1 and ids[1] == ID)
		local m = assert(slimta.message.load(s, ID))
		assert(m.envelope.sender == "s@x")
		assert(#m.envelope.recipients == 2 and m.envelope.recipients[2] == "r2@z")
		assert(m.attempts == 2 and m.timestamp == 1357000000)
		assert(m.contents.headers.subject[1] == "hi")
		assert(m.envelope.dest_host == "mx.y")
		-- the original's lock format is honoured
		assert(s:lock_message(ID, 30))
		local ok, why = s:lock_message(ID, 30)
		assert(not ok and why == "locked")
		s:unlock_message(ID)
		s:delete_message(ID)
		assert(#s:get_all_messages() == 0)
	`, map[string]lua.LValue{"ID": lua.LString(id)})
	for db := 0; db < 4; db++ {
		assert.Equal(t, "0", doOn(t, srv, db, "DBSIZE"), "db %d", db)
	}
}

func runLua(t *testing.T, srv *redistest.Server, src string, globals map[string]lua.LValue) *slimtalua.Runtime {
	t.Helper()
	rt := slimtalua.New()
	t.Cleanup(rt.Close)
	L := rt.State()
	slimta.PreloadStorage(L)
	if srv != nil {
		L.SetGlobal("REDIS_PORT", lua.LNumber(srv.Port))
	}
	for k, v := range globals {
		L.SetGlobal(k, v)
	}
	c, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := rt.RunString(c, src, "test"); err != nil {
		var le *slimtalua.Error
		if errors.As(err, &le) {
			t.Fatalf("%s\n%s", le.Message, le.Traceback)
		}
		t.Fatal(err)
	}
	return rt
}

// TestRedisDown: with no server, writes raise, reads return nil, err, and
// the queue answers the edge 451 (never 250).
func TestRedisDown(t *testing.T) {
	if !redistest.Available() {
		t.Skip("redis-server not installed (Debian package redis-server)")
	}
	srv := redistest.Start(t)
	port := srv.Port
	srv.Kill()
	runLua(t, nil, `
		require "ratchet"
		require "slimta.message"
		require "slimta.queue"
		require "slimta.storage.redis"
		local storage = slimta.storage.redis.new("127.0.0.1", PORT, 0, {timeout = 0.5})
		local s = storage:connect()
		local ok, err = pcall(s.store_message, s, {sender = "a"}, "c", os.time())
		assert(not ok and tostring(err):find("connect"), tostring(err))
		local v, e = s:get_message_meta("x")
		assert(v == nil and e ~= "Message ID not found.", tostring(e))
		assert(s:get_all_messages() == nil)
		local locked, why = s:lock_message("x", 10)
		assert(locked == false and why)
		assert(storage:ping() == nil)

		ratchet.new(function ()
			local bus = {}
			function bus:recv_request()
				local tr = {}
				function tr:send_response(r) REPLIES = r end
				local m = slimta.message
				return tr, {m.new(m.client.new("SMTP", "e", "1.2.3.4", "none", "r"),
					m.envelope.new("s@x", {"r@y"}), m.contents.new("x"), os.time())}
			end
			local q = slimta.queue.new(bus, nil, storage)
			q:accept()()
		end):loop()
		assert(REPLIES[1].code == "451", REPLIES[1].code)
		assert(REPLIES[1].message:find("^4%.3%.0 "))
	`, map[string]lua.LValue{"PORT": lua.LNumber(port)})
}

// TestDriverModule: raw commands with the original driver's reply shape.
func TestDriverModule(t *testing.T) {
	srv := redistest.Start(t)
	runLua(t, srv, `
		require "slimta.storage.redis.driver"
		require "slimta.storage.redis.session"
		assert(type(slimta.storage.redis.session.lock_message) == "function")
		local e = slimta.storage.redis.new("127.0.0.1", REDIS_PORT)
		local cmd = slimta.storage.redis.driver.command
		local v, errs = cmd(e, "SET", "k", "v")
		assert(v[1] == "OK" and v.n == 1 and #errs == 0)
		v = cmd(e, "GET", "missing")
		assert(v.n == 1 and v[1] == nil) -- null bulk is nil (spec 6.5 #34)
		cmd(e, "RPUSH", "l", "a", "b")
		v, errs = cmd(e, "GET", "l")
		assert(v.n == 0 and errs[1]:find("^WRONGTYPE"), errs[1]) -- full error (#35)
		v = cmd(e, "LRANGE", "l", 0, -1)
		assert(v.n == 2 and v[1] == "a" and v[2] == "b")
		v = cmd(e, 2, "DBSIZE")
		assert(v[1] == 0)
		assert(e:ping() == true)
		e:shutdown()
		assert(not pcall(e.get_all_messages, e))
	`, nil)
}

// TestRestartDuringLoad: Redis is killed (SIGKILL) and restarted twice
// while 16 threads store messages through the queue. Every message the
// queue answered 250 is in Redis afterwards; the others were answered 4xx.
func TestRestartDuringLoad(t *testing.T) {
	srv := redistest.Start(t, redistest.AppendFsyncAlways...)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 2; i++ {
			time.Sleep(400 * time.Millisecond)
			srv.Kill()
			time.Sleep(300 * time.Millisecond)
			if err := srv.Restart(); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	rt := runLua(t, srv, loadScript, map[string]lua.LValue{"SECONDS": lua.LNumber(2.2)})
	<-done
	L := rt.State()
	acked := L.GetGlobal("ACKED").(*lua.LTable)
	failed := int(L.GetGlobal("FAILED").(lua.LNumber))
	n := acked.Len()
	t.Logf("%d stores acknowledged, %d answered 4xx", n, failed)
	require.Greater(t, n, 0)
	assert.Greater(t, failed, 0, "the outages should have failed some stores")

	// restart once more: everything acknowledged is still there
	require.NoError(t, srv.Restart())
	c := newClient(srv, 0)
	defer c.Close()
	all, err := c.All(ctx)
	require.NoError(t, err)
	have := map[string]bool{}
	for _, id := range all {
		have[id] = true
	}
	for i := 1; i <= n; i++ {
		id := acked.RawGetInt(i).String()
		if !assert.True(t, have[id], "acknowledged %s lost", id) {
			continue
		}
		raw, err := c.GetContents(ctx, id)
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(raw, "load test"), raw)
	}
}

const loadScript = `
require "ratchet"
require "slimta.message"
require "slimta.queue"
require "slimta.storage.redis"
local storage = slimta.storage.redis.new("127.0.0.1", REDIS_PORT, 0, {timeout = 0.5})
ACKED, FAILED = {}, 0
local deadline = os.time() + SECONDS
local stop = false
ratchet.new(function ()
	-- an edge bus that hands out one message per request
	local bus = {}
	function bus:recv_request()
		local tr = {}
		function tr:send_response(r)
			if r[1].code == "250" then
				ACKED[#ACKED + 1] = r[1].data
			else
				assert(r[1].code:sub(1, 1) == "4", r[1].code)
				FAILED = FAILED + 1
			end
		end
		local m = slimta.message
		return tr, {m.new(m.client.new("SMTP", "e", "1.2.3.4", "none", "r"),
			m.envelope.new("s@x", {"r@y"}), m.contents.new("load test " .. #ACKED), os.time())}
	end
	local q = slimta.queue.new(bus, nil, storage)
	ratchet.thread.attach(function ()
		ratchet.thread.timer(SECONDS)
		stop = true
	end)
	for t = 1, 16 do
		ratchet.thread.attach(function ()
			while not stop do
				q:accept()()
				if FAILED > 0 and (FAILED % 16) == 0 then
					ratchet.thread.timer(0.01)
				end
			end
		end)
	end
end):loop()
`

// DeleteAsync hides the id at once and removes every key once
// WaitDeletes returns.
func TestDeleteAsync(t *testing.T) {
	srv := redistest.Start(t)
	c := newClient(srv, 8)
	defer c.Close()
	id, err := c.StoreMessage(ctx, lstore.Meta{"sender": "a@b"}, "raw", ptr(0), "")
	require.NoError(t, err)
	keep, err := c.StoreMessage(ctx, lstore.Meta{"sender": "c@d"}, "raw", ptr(0), "")
	require.NoError(t, err)
	ok, _, err := c.Lock(ctx, id, time.Minute)
	require.NoError(t, err)
	require.True(t, ok)

	queued, err := c.DeleteAsync(id)
	require.NoError(t, err)
	assert.True(t, queued)
	_, err = c.GetMeta(ctx, id)
	assert.ErrorIs(t, err, redis.ErrNotFound)
	_, err = c.GetContents(ctx, id)
	assert.ErrorIs(t, err, redis.ErrNotFound)
	ok, why, err := c.Lock(ctx, id, time.Minute)
	require.NoError(t, err)
	assert.False(t, ok)
	assert.Equal(t, redis.ErrNotFound.Error(), why)
	all, err := c.All(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{keep}, all)

	c.WaitDeletes()
	for db := 8; db < 12; db++ {
		assert.NotContains(t, doOn(t, srv, db, "KEYS", "*"), id, "db %d", db)
	}
	due, err := c.Deferred(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{keep}, due)
}
