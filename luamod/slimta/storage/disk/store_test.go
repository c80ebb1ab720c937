package disk_test

import (
	"context"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/slimta-lua/slimta-lua/luamod/slimta/storage/disk"
	"github.com/slimta-lua/slimta-lua/luamod/slimta/storage/internal/lstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var ctx = context.Background()

func ptr(f float64) *float64 { return &f }

func open(t *testing.T, dir string) *disk.Store {
	t.Helper()
	s, err := disk.Acquire(dir)
	require.NoError(t, err)
	return s
}

func TestStoreAndReopen(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	meta := lstore.Meta{"sender": "a@b", "recipients": "\x00x@y", "timestamp": 12345.0, "attempts": 0.0, "spammy": true}
	id, err := s.StoreMessage(ctx, meta, "contents\r\n", ptr(2000), "")
	require.NoError(t, err)
	id2, err := s.Claim(ctx)
	require.NoError(t, err)
	require.NoError(t, s.SetMeta(ctx, id2, lstore.Meta{"sender": ""}))
	require.NoError(t, s.SetContents(ctx, id2, "two"))
	ok, err := s.SetRetry(ctx, id2, -5.5)
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = s.SetRetry(ctx, "no-such-id", 1)
	require.NoError(t, err)
	require.False(t, ok, "unknown ids are not scheduled")
	require.NoError(t, s.Release())

	// a "restarted process": the file is opened again
	s = open(t, dir)
	defer s.Release()
	require.NoError(t, s.Check())
	got, err := s.GetMeta(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, meta, got)
	raw, err := s.GetContents(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, "contents\r\n", raw)
	all, err := s.All(ctx)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{id, id2}, all)
	due, err := s.Deferred(ctx, ptr(0))
	require.NoError(t, err)
	assert.Equal(t, []string{id2}, due)
	due, err = s.Deferred(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{id2, id}, due, "earliest first")
	when, ok, err := s.RetryTime(ctx, id)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, 2000.0, when)

	existed, err := s.Delete(ctx, id)
	require.NoError(t, err)
	assert.True(t, existed)
	existed, err = s.Delete(ctx, id)
	require.NoError(t, err)
	assert.False(t, existed)
	_, err = s.GetMeta(ctx, id)
	assert.ErrorIs(t, err, disk.ErrNotFound)
	due, err = s.Deferred(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{id2}, due)
}

func TestRetryOrder(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Release()
	times := []float64{5, -1e9, 0, 1.5, 1e12, -0.25, 1700000000}
	byTime := map[float64]string{}
	for _, w := range times {
		id, err := s.StoreMessage(ctx, lstore.Meta{}, "", ptr(w), "")
		require.NoError(t, err)
		byTime[w] = id
	}
	due, err := s.Deferred(ctx, ptr(1.5))
	require.NoError(t, err)
	assert.Equal(t, []string{byTime[-1e9], byTime[-0.25], byTime[0], byTime[1.5]}, due)
}

func TestSharedAndClosed(t *testing.T) {
	dir := t.TempDir()
	a := open(t, dir)
	b := open(t, dir) // same process, same directory: one shared store
	require.Same(t, a, b)
	ok, _, err := a.Lock(ctx, "x", time.Minute)
	require.NoError(t, err)
	assert.False(t, ok, "unknown id")
	id, err := a.StoreMessage(ctx, lstore.Meta{}, "c", nil, "")
	require.NoError(t, err)
	ok, _, err = a.Lock(ctx, id, time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	ok, why, err := b.Lock(ctx, id, time.Minute)
	require.NoError(t, err)
	assert.False(t, ok)
	assert.Equal(t, "locked", why)
	require.NoError(t, a.Release())
	_, err = b.GetContents(ctx, id)
	require.NoError(t, err, "still open for the second user")
	require.NoError(t, b.Release())
	_, err = b.GetContents(ctx, id)
	assert.ErrorIs(t, err, disk.ErrClosed)
	_, err = b.Claim(ctx)
	assert.ErrorIs(t, err, disk.ErrClosed)
}

func TestLockExpiry(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Release()
	id, err := s.StoreMessage(ctx, lstore.Meta{}, "c", ptr(0), "")
	require.NoError(t, err)
	ok, _, err := s.Lock(ctx, id, 50*time.Millisecond)
	require.NoError(t, err)
	require.True(t, ok)
	active, _ := s.Active(ctx)
	assert.Equal(t, []string{id}, active)
	require.NoError(t, s.Sync(ctx))
	when, _, _ := s.RetryTime(ctx, id)
	assert.Greater(t, when, float64(time.Now().Unix())-1, "lock pushed the retry time")
	time.Sleep(80 * time.Millisecond)
	active, _ = s.Active(ctx)
	assert.Empty(t, active, "expired")
	ok, _, err = s.Lock(ctx, id, time.Minute)
	require.NoError(t, err)
	assert.True(t, ok, "an expired lock can be taken again")
	refreshed, err := s.RefreshLock(ctx, id, time.Minute)
	require.NoError(t, err)
	assert.True(t, refreshed)
	require.NoError(t, s.Unlock(ctx, id))
	refreshed, _ = s.RefreshLock(ctx, id, time.Minute)
	assert.False(t, refreshed)
}

func TestReplaceIsAtomic(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Release()
	orig, err := s.StoreMessage(ctx, lstore.Meta{"sender": "a"}, "orig", ptr(100), "")
	require.NoError(t, err)
	ok, _, _ := s.Lock(ctx, orig, time.Minute)
	require.True(t, ok)
	b, err := s.StoreMessage(ctx, lstore.Meta{"sender": ""}, "bounce", ptr(1), orig)
	require.NoError(t, err)
	all, _ := s.All(ctx)
	assert.Equal(t, []string{b}, all)
	active, _ := s.Active(ctx)
	assert.Empty(t, active)
}

func TestSetMetaKey(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Release()
	id, err := s.StoreMessage(ctx, lstore.Meta{"attempts": 0.0, "x": "y"}, "c", nil, "")
	require.NoError(t, err)
	require.NoError(t, s.SetMetaKey(ctx, id, "attempts", 1.0))
	require.NoError(t, s.SetMetaKey(ctx, id, "x", nil))
	m, err := s.GetMeta(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, lstore.Meta{"attempts": 1.0}, m)
	assert.ErrorIs(t, s.SetMetaKey(ctx, "missing", "a", "b"), disk.ErrNotFound)
	v, err := s.GetMetaKey(ctx, id, "attempts")
	require.NoError(t, err)
	assert.Equal(t, 1.0, v)
}

// TestGroupCommit: concurrent writers share transactions (and fsyncs).
func TestGroupCommit(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Release()
	c0, o0 := s.Stats()
	const writers, each = 16, 50
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				_, err := s.StoreMessage(ctx, lstore.Meta{"w": float64(w)}, fmt.Sprint(i), ptr(1), "")
				assert.NoError(t, err)
			}
		}(w)
	}
	wg.Wait()
	c1, o1 := s.Stats()
	assert.Equal(t, uint64(writers*each), o1-o0)
	assert.Less(t, c1-c0, uint64(writers*each), "some transactions carried several stores")
	all, _ := s.All(ctx)
	assert.Len(t, all, writers*each)
}

func TestBadRetryTime(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Release()
	_, err := s.StoreMessage(ctx, lstore.Meta{}, "", ptr(math.NaN()), "")
	assert.Error(t, err)
}

// DeleteAsync hides the id at once, keeps its lock until the removal is
// committed, and the removal survives a reopen once Sync returned.
func TestDeleteAsync(t *testing.T) {
	cases := []struct {
		name   string
		locked bool
	}{{"unlocked", false}, {"locked", true}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			s := open(t, dir)
			id, err := s.StoreMessage(ctx, lstore.Meta{"sender": "a@b"}, "x", ptr(0), "")
			require.NoError(t, err)
			keep, err := s.StoreMessage(ctx, lstore.Meta{"sender": "c@d"}, "y", ptr(0), "")
			require.NoError(t, err)
			if c.locked {
				ok, _, err := s.Lock(ctx, id, time.Minute)
				require.NoError(t, err)
				require.True(t, ok)
			}
			existed, err := s.DeleteAsync(id)
			require.NoError(t, err)
			assert.True(t, existed)
			// reads miss it at once, committed or not
			_, err = s.GetMeta(ctx, id)
			assert.ErrorIs(t, err, disk.ErrNotFound)
			_, err = s.GetContents(ctx, id)
			assert.ErrorIs(t, err, disk.ErrNotFound)
			ok, why, err := s.Lock(ctx, id, time.Minute)
			require.NoError(t, err)
			assert.False(t, ok)
			assert.Equal(t, disk.ErrNotFound.Error(), why)
			for _, list := range [][]string{must(s.All(ctx)), must(s.Deferred(ctx, nil))} {
				assert.Equal(t, []string{keep}, list)
			}
			require.NoError(t, s.Sync(ctx))
			active, err := s.Active(ctx)
			require.NoError(t, err)
			assert.Empty(t, active, "the lock goes with the committed removal")
			existed, err = s.DeleteAsync(id)
			require.NoError(t, err)
			assert.False(t, existed)
			require.NoError(t, s.Release())

			s = open(t, dir)
			defer s.Release()
			all, err := s.All(ctx)
			require.NoError(t, err)
			assert.Equal(t, []string{keep}, all)
		})
	}
}

// A lock leaves a schedule that already covers it alone (a message stored
// for relaying is scheduled at now + lock duration); an earlier one is
// pushed to the lock's expiry.
func TestLockPushesRetryOnlyWhenNeeded(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Release()
	now := float64(time.Now().Unix())
	early, err := s.StoreMessage(ctx, lstore.Meta{}, "x", ptr(now-10), "")
	require.NoError(t, err)
	late, err := s.StoreMessage(ctx, lstore.Meta{}, "y", ptr(now+3600), "")
	require.NoError(t, err)
	for _, id := range []string{early, late} {
		ok, _, err := s.Lock(ctx, id, 60*time.Second)
		require.NoError(t, err)
		require.True(t, ok)
	}
	require.NoError(t, s.Sync(ctx))
	for id, min := range map[string]float64{early: now + 59, late: now + 59} {
		when, ok, err := s.RetryTime(ctx, id)
		require.NoError(t, err)
		require.True(t, ok)
		assert.GreaterOrEqual(t, when, min)
	}
	when, _, err := s.RetryTime(ctx, late)
	require.NoError(t, err)
	assert.Equal(t, now+3600, when, "already covered: not rewritten")
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// A queued delete with no store to ride along is committed on its own
// after a short wait, not left pending.
func TestDeleteAsyncCommitsAlone(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Release()
	id, err := s.StoreMessage(ctx, lstore.Meta{}, "x", ptr(0), "")
	require.NoError(t, err)
	before, _ := s.Stats()
	_, err = s.DeleteAsync(id)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		c, _ := s.Stats()
		return c > before
	}, 5*time.Second, 5*time.Millisecond)
}
