// Package redis implements slimta.storage.redis on github.com/redis/go-redis.
//
// The key layout is the original's (spec 3.4), so data written by the
// original slimta is readable and vice versa: in database o the set
// message_ids and the sorted set retry_queue, in o+1 one hash of meta per
// message, in o+2 the raw contents, in o+3 the lock keys ("locked", with a
// TTL). The defects of spec 6.3 and 6.5 are fixed:
//   - a message is stored by one server-side script: meta, contents, retry
//     schedule and id registration together, the id registered last, and
//     optionally the removal of the message it replaces (a bounce);
//   - every stored message is scheduled, and a lock pushes the retry time
//     to the lock's expiry in the same script, so a message whose delivery
//     never finishes is retried and two retry passes do not both take it;
//   - missing keys are nil, every server error keeps its full text and
//     reaches the caller (writes raise, reads return nil, err);
//   - active locks are listed with SCAN, not KEYS;
//   - connections are pooled per database (no SELECT per command);
//     commands spanning databases run in scripts, whose SELECT does not
//     leak into the pooled connection;
//   - lock durations are sent as whole seconds.
//
// Every call runs inside kernel.Block: only the calling ratchet thread
// waits; go-redis is goroutine-safe.
package redis

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
	"github.com/slimta-lua/slimta-lua/luamod/slimta/native"
	"github.com/slimta-lua/slimta-lua/luamod/slimta/storage/internal/lstore"
)

// Key names in database o (spec 3.4).
const (
	keyIDs   = "message_ids"
	keyRetry = "retry_queue"
)

// ErrNotFound is returned for ids that are not stored.
var ErrNotFound = lstore.ErrNotFound

// Config configures a Client.
type Config struct {
	Host     string
	Port     int
	Offset   int // first of the four databases
	Username string
	Password string
	Timeout  time.Duration // dial/read/write timeout (default 5 s)
	PoolSize int
}

// Client is one engine: four pooled go-redis clients, one per database.
type Client struct {
	cfg Config
	db  [4]*goredis.Client

	// DeleteAsync bookkeeping: ids whose removal is in flight (reads treat
	// them as gone) and the goroutines sending them.
	dmu      sync.Mutex
	deleting map[string]struct{}
	dwg      sync.WaitGroup
}

// NewClient creates the pools; it does not connect yet.
func NewClient(cfg Config) *Client {
	if cfg.Port == 0 {
		cfg.Port = 6379
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	c := &Client{cfg: cfg, deleting: map[string]struct{}{}}
	for i := range c.db {
		c.db[i] = goredis.NewClient(&goredis.Options{
			Addr:            net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)),
			DB:              cfg.Offset + i,
			Username:        cfg.Username,
			Password:        cfg.Password,
			Protocol:        2,
			DisableIdentity: true,
			DialTimeout:     cfg.Timeout,
			ReadTimeout:     cfg.Timeout,
			WriteTimeout:    cfg.Timeout,
			PoolSize:        cfg.PoolSize,
			// Fail fast while the server is down (the queue answers 4xx
			// and the client retries later) instead of go-redis's default
			// of 5 dial attempts 100 ms apart for each of 4 tries.
			MaxRetries:         2,
			MinRetryBackoff:    5 * time.Millisecond,
			MaxRetryBackoff:    50 * time.Millisecond,
			DialerRetries:      1,
			DialerRetryTimeout: 10 * time.Millisecond,
			MaintNotificationsConfig: &maintnotifications.Config{
				Mode: maintnotifications.ModeDisabled,
			},
		})
	}
	return c
}

// Close waits for queued deletes, then closes every pool.
func (c *Client) Close() error {
	c.dwg.Wait()
	var errs []error
	for _, d := range c.db {
		errs = append(errs, d.Close())
	}
	return errors.Join(errs...)
}

// Ping checks that the server answers.
func (c *Client) Ping(ctx context.Context) error { return c.db[0].Ping(ctx).Err() }

func score(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "+inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// Scripts that span databases. SELECT inside a script only changes the
// script's own database (Redis >= 2.8.12), never the pooled connection's.
// The caller's base database is passed as ARGV[1].
const delFunc = `
local function del(base, id)
  redis.call('SELECT', base)
  local r = redis.call('SREM', 'message_ids', id)
  redis.call('ZREM', 'retry_queue', id)
  for d = 1, 3 do
    redis.call('SELECT', base + d)
    redis.call('DEL', id)
  end
  return r
end
`

// ARGV: base, id, contents, score or "", replaces or "", field, value, ...
var storeScript = goredis.NewScript(delFunc + `
local base, id = tonumber(ARGV[1]), ARGV[2]
redis.call('SELECT', base)
if redis.call('SISMEMBER', 'message_ids', id) == 1 then return 0 end
redis.call('SELECT', base + 1)
redis.call('DEL', id)
local n = #ARGV
local i = 6
while i < n do
  local j = i + 199
  if j > n then j = n end
  redis.call('HSET', id, unpack(ARGV, i, j))
  i = j + 1
end
redis.call('SELECT', base + 2)
redis.call('SET', id, ARGV[3])
redis.call('SELECT', base)
if ARGV[4] ~= '' then redis.call('ZADD', 'retry_queue', ARGV[4], id) end
redis.call('SADD', 'message_ids', id)
if ARGV[5] ~= '' then del(base, ARGV[5]) end
return 1
`)

// ARGV: base, id -> SREM reply (1 removed, 0 unknown).
var deleteScript = goredis.NewScript(delFunc + `
return del(tonumber(ARGV[1]), ARGV[2])
`)

// ARGV: base, id, seconds, expiry score -> "ok" | "locked" | "missing".
var lockScript = goredis.NewScript(`
local base, id = tonumber(ARGV[1]), ARGV[2]
redis.call('SELECT', base)
if redis.call('SISMEMBER', 'message_ids', id) == 0 then return 'missing' end
redis.call('SELECT', base + 3)
if not redis.call('SET', id, 'locked', 'NX', 'EX', ARGV[3]) then return 'locked' end
redis.call('SELECT', base)
redis.call('ZADD', 'retry_queue', ARGV[4], id)
return 'ok'
`)

// ARGV: base, id, seconds, expiry score -> 1 extended, 0 not held.
var refreshScript = goredis.NewScript(`
local base, id = tonumber(ARGV[1]), ARGV[2]
redis.call('SELECT', base + 3)
if not redis.call('SET', id, 'locked', 'XX', 'EX', ARGV[3]) then return 0 end
redis.call('SELECT', base)
if redis.call('SISMEMBER', 'message_ids', id) == 1 then
  redis.call('ZADD', 'retry_queue', ARGV[4], id)
end
return 1
`)

// In database o+1. KEYS: id; ARGV: field [, value] (no value: HDEL).
var setKeyScript = goredis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if #ARGV == 1 then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
return 1
`)

// In database o. KEYS: message_ids, retry_queue; ARGV: score, id.
var setRetryScript = goredis.NewScript(`
if redis.call('SISMEMBER', KEYS[1], ARGV[2]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[2])
return 1
`)

func metaArgs(m lstore.Meta) []any {
	out := make([]any, 0, 2*len(m))
	for _, k := range m.Keys() {
		out = append(out, k, lstore.String(m[k]))
	}
	return out
}

// Claim allocates a fresh id in message_ids (spec 2.23).
func (c *Client) Claim(ctx context.Context) (string, error) {
	for {
		id := native.NewUUID()
		n, err := c.db[0].SAdd(ctx, keyIDs, id).Result()
		if err != nil {
			return "", err
		}
		if n == 1 {
			return id, nil
		}
	}
}

// StoreMessage writes meta, contents, schedule and id in one script.
// A fresh random (v4) id that already exists can only be this call's own
// write, retried by go-redis after a lost reply, so that counts as done.
func (c *Client) StoreMessage(ctx context.Context, meta lstore.Meta, contents string, when *float64, replaces string) (string, error) {
	id := native.NewUUID()
	sc := ""
	if when != nil {
		sc = score(*when)
	}
	args := append([]any{c.cfg.Offset, id, contents, sc, replaces}, metaArgs(meta)...)
	if err := storeScript.Run(ctx, c.db[0], nil, args...).Err(); err != nil {
		return "", err
	}
	return id, nil
}

// SetMeta replaces id's meta hash atomically.
func (c *Client) SetMeta(ctx context.Context, id string, meta lstore.Meta) error {
	_, err := c.db[1].TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.Del(ctx, id)
		if len(meta) > 0 {
			p.HSet(ctx, id, metaArgs(meta)...)
		}
		return nil
	})
	return err
}

// SetMetaKey sets (v != nil) or deletes one meta field of a stored message.
func (c *Client) SetMetaKey(ctx context.Context, id, key string, v lstore.Value) error {
	args := []any{key}
	if v != nil {
		args = append(args, lstore.String(v))
	}
	n, err := setKeyScript.Run(ctx, c.db[1], []string{id}, args...).Int()
	if err != nil {
		return err
	}
	if n < 0 {
		return ErrNotFound
	}
	return nil
}

// GetMeta returns id's meta (all values strings, as Redis stores them).
func (c *Client) GetMeta(ctx context.Context, id string) (lstore.Meta, error) {
	if c.beingDeleted(id) {
		return nil, ErrNotFound
	}
	h, err := c.db[1].HGetAll(ctx, id).Result()
	if err != nil {
		return nil, err
	}
	if len(h) == 0 {
		return nil, ErrNotFound
	}
	m := make(lstore.Meta, len(h))
	for k, v := range h {
		m[k] = v
	}
	return m, nil
}

// GetMetaKey returns one field, nil when it is absent.
func (c *Client) GetMetaKey(ctx context.Context, id, key string) (lstore.Value, error) {
	if c.beingDeleted(id) {
		return nil, ErrNotFound
	}
	v, err := c.db[1].HGet(ctx, id, key).Result()
	if errors.Is(err, goredis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return v, nil
}

// SetContents stores the raw message.
func (c *Client) SetContents(ctx context.Context, id, raw string) error {
	return c.db[2].Set(ctx, id, raw, 0).Err()
}

// GetContents returns the raw message or ErrNotFound.
func (c *Client) GetContents(ctx context.Context, id string) (string, error) {
	if c.beingDeleted(id) {
		return "", ErrNotFound
	}
	v, err := c.db[2].Get(ctx, id).Result()
	if errors.Is(err, goredis.Nil) {
		return "", ErrNotFound
	}
	return v, err
}

// SetRetry schedules a stored id; false for ids not in message_ids.
func (c *Client) SetRetry(ctx context.Context, id string, when float64) (bool, error) {
	if math.IsNaN(when) {
		return false, errors.New("retry time is not a number")
	}
	n, err := setRetryScript.Run(ctx, c.db[0], []string{keyIDs, keyRetry}, score(when), id).Int()
	return n == 1, err
}

// RetryTime returns id's score in retry_queue.
func (c *Client) RetryTime(ctx context.Context, id string) (float64, bool, error) {
	if c.beingDeleted(id) {
		return 0, false, nil
	}
	f, err := c.db[0].ZScore(ctx, keyRetry, id).Result()
	if errors.Is(err, goredis.Nil) {
		return 0, false, nil
	}
	return f, err == nil, err
}

// Deferred lists ids scheduled at or before *when (all when nil).
func (c *Client) Deferred(ctx context.Context, when *float64) ([]string, error) {
	max := "+inf"
	if when != nil {
		max = score(*when)
	}
	ids, err := c.db[0].ZRangeByScore(ctx, keyRetry, &goredis.ZRangeBy{Min: "-inf", Max: max}).Result()
	return c.withoutDeleting(ids), err
}

// All lists message_ids.
func (c *Client) All(ctx context.Context) ([]string, error) {
	ids, err := c.db[0].SMembers(ctx, keyIDs).Result()
	return c.withoutDeleting(ids), err
}

// Active lists the lock keys with SCAN (never KEYS, which blocks Redis).
func (c *Client) Active(ctx context.Context) ([]string, error) {
	var out []string
	var cursor uint64
	for {
		keys, next, err := c.db[3].Scan(ctx, cursor, "*", 1000).Result()
		if err != nil {
			return nil, err
		}
		out = append(out, keys...)
		if next == 0 {
			return out, nil
		}
		cursor = next
	}
}

func lockSeconds(d time.Duration) (int64, float64) {
	secs := int64(math.Ceil(d.Seconds()))
	if secs < 1 {
		secs = 1
	}
	return secs, float64(time.Now().Unix() + secs)
}

// Lock takes id's delivery lock; reason is "locked" or ErrNotFound's text.
func (c *Client) Lock(ctx context.Context, id string, d time.Duration) (bool, string, error) {
	if c.beingDeleted(id) {
		return false, ErrNotFound.Error(), nil
	}
	secs, exp := lockSeconds(d)
	r, err := lockScript.Run(ctx, c.db[0], nil, c.cfg.Offset, id, secs, score(exp)).Text()
	if err != nil {
		return false, "", err
	}
	switch r {
	case "ok":
		return true, "", nil
	case "missing":
		return false, ErrNotFound.Error(), nil
	}
	return false, r, nil
}

// RefreshLock extends a lock still held.
func (c *Client) RefreshLock(ctx context.Context, id string, d time.Duration) (bool, error) {
	secs, exp := lockSeconds(d)
	n, err := refreshScript.Run(ctx, c.db[0], nil, c.cfg.Offset, id, secs, score(exp)).Int()
	return n == 1, err
}

// Unlock deletes the lock key.
func (c *Client) Unlock(ctx context.Context, id string) error {
	return c.db[3].Del(ctx, id).Err()
}

// Delete removes id everywhere atomically; true if it was in message_ids.
func (c *Client) Delete(ctx context.Context, id string) (bool, error) {
	n, err := deleteScript.Run(ctx, c.db[0], nil, c.cfg.Offset, id).Int64()
	return n == 1, err
}

// DeleteAsync sends the removal of id from a goroutine and returns at
// once; reads treat id as gone from now on. The result is true unless id
// was already being deleted (whether it existed is not asked, which would
// cost the round trip this saves). If the removal fails, the message
// comes back and is delivered again once its lock expires (at-least-once).
func (c *Client) DeleteAsync(id string) (bool, error) {
	c.dmu.Lock()
	if _, ok := c.deleting[id]; ok {
		c.dmu.Unlock()
		return false, nil
	}
	c.deleting[id] = struct{}{}
	c.dmu.Unlock()
	c.dwg.Add(1)
	go func() {
		defer c.dwg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 2*c.cfg.Timeout)
		_, _ = c.Delete(ctx, id)
		cancel()
		c.dmu.Lock()
		delete(c.deleting, id)
		c.dmu.Unlock()
	}()
	return true, nil
}

// WaitDeletes returns once every DeleteAsync sent so far is done.
func (c *Client) WaitDeletes() { c.dwg.Wait() }

func (c *Client) beingDeleted(id string) bool {
	c.dmu.Lock()
	_, ok := c.deleting[id]
	c.dmu.Unlock()
	return ok
}

func (c *Client) withoutDeleting(ids []string) []string {
	c.dmu.Lock()
	defer c.dmu.Unlock()
	if len(c.deleting) == 0 {
		return ids
	}
	out := ids[:0]
	for _, id := range ids {
		if _, ok := c.deleting[id]; !ok {
			out = append(out, id)
		}
	}
	return out
}

// Do runs a raw command on database o+db (the driver module).
func (c *Client) Do(ctx context.Context, db int, args ...any) (any, error) {
	if db < 0 || db > 3 {
		return nil, fmt.Errorf("database index %d out of range 0..3", db)
	}
	return c.db[db].Do(ctx, args...).Result()
}

var _ lstore.Backend = (*Client)(nil)
