// Package disk implements slimta.storage.disk, a durable message store for
// one machine: every message the store call has returned for is on disk
// and fsync'd, so a kill -9 (or a power cut, as far as the disk honours
// fdatasync) loses no accepted mail.
//
// Design. The data lives in one go.etcd.io/bbolt file (queue.db in the
// directory given to the constructor). bbolt was chosen over a spool
// directory of one file per message because:
//   - crash safety comes from its copy-on-write B+tree with two
//     checksummed meta pages, a well-tested mechanism, instead of a
//     hand-written tmpfile/rename/fsync-the-directory protocol;
//   - a store is one transaction (meta, contents, id registration, retry
//     schedule, optional removal of the message it replaces) and is
//     atomic; a spool directory needs several files per message plus
//     recovery code for half-written sets;
//   - group commit is natural: many writes share one transaction and one
//     pair of fdatasync calls, where a spool needs an fsync per file (or a
//     filesystem-wide syncfs);
//   - the retry schedule is an ordered index (time||id keys), so "due
//     before t" is a range scan, and a restarted process finds it as it was.
//
// Group commit. All writes go through one writer goroutine. A caller
// queues its operation and waits (inside kernel.Block, so other ratchet
// threads run meanwhile); the writer takes every operation queued so far,
// applies them in one bbolt transaction and commits it (fsync), then wakes
// all their callers. While a commit is in flight new operations pile up and
// form the next batch, so the number of fsyncs per message falls as the
// number of concurrent writers rises, and a lone writer pays no batching
// delay (bbolt's own db.Batch waits up to MaxBatchDelay for company, which
// caps a single writer at about 100 stores/s with the default 10 ms). If an
// operation fails inside a batch, the batch is rolled back and its
// operations are rerun one transaction each, so one bad call cannot fail
// the others.
//
// Ids are time-ordered UUIDs (version 7, see id.go) instead of random
// ones, so inserts append to the B+tree's last pages instead of dirtying a
// random leaf page per message (16 writers: 1.7k -> 5.8k stores/s in
// back-to-back runs on the development VM).
//
// Locks are kept in memory. bbolt holds an exclusive flock on the file, so
// only one process uses a store; after a crash no delivery is in progress,
// and the locks of the dead process must not survive it. Locking a message
// also pushes its retry time to the lock's expiry (spec 6.3 #18), written
// through the same queue without waiting for the fsync: if that write is
// lost in a crash, the message is merely retried sooner. A schedule that
// already covers the lock (within a second: the queue stores a message it
// relays at now + lock duration) is left alone, which saves a write per
// message.
//
// Costs seen from Lua (scripts/mta.lua under load). Reads and locks never
// wait for the disk, so the Lua binding runs them without kernel.Block
// (lstore.Handle.Inline): a hand-off between ratchet threads costs more
// than a bbolt read. DeleteAsync (engine:set_async_delete(true)) queues a
// removal without waiting for its commit; reads stop seeing the id at
// once and its lock is kept until the commit, so nothing can relay it
// again meanwhile. Only stores (and Sync) make the caller wait for the
// fsync; a batch of nothing but such fire-and-forget writes waits up to
// lazyDelay (5 ms) for a store to commit with, which under load takes
// about a third of the commits (each is two fdatasyncs) away. After each
// commit the writer yields its P (runtime.Gosched) so the callers it woke
// run before the next fdatasync blocks the P.
package disk

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slimta-lua/slimta-lua/luamod/slimta/storage/internal/lstore"
	bolt "go.etcd.io/bbolt"
)

// FileName is the database file inside the store directory.
const FileName = "queue.db"

var (
	bucketIDs      = []byte("ids")      // id -> retry key (16.. bytes) or empty
	bucketMeta     = []byte("meta")     // id -> EncodeMeta record
	bucketContents = []byte("contents") // id -> raw message
	bucketRetry    = []byte("retry")    // sortable time (8 bytes) || id -> empty
)

// ErrClosed is returned by every call after Release closed the store.
var ErrClosed = errors.New("slimta.storage.disk: store is closed")

// ErrNotFound is returned for ids that are not in the store.
var ErrNotFound = lstore.ErrNotFound

// maxBatch bounds one transaction; beyond it the rest waits for the next.
const maxBatch = 1024

// Store is one open store directory, shared by every engine object that
// names the same directory in this process.
type Store struct {
	db   *bolt.DB
	path string
	refs int // guarded by registry.mu

	wmu    sync.RWMutex // held for reading while queueing, for writing by close
	closed bool
	writes chan *writeOp
	done   chan struct{} // closed when the writer goroutine has exited

	lmu   sync.Mutex
	locks map[string]time.Time // id -> lock expiry
	// Ids whose DeleteAsync is queued but not yet committed: reads treat
	// them as gone. Guarded by lmu.
	deleting map[string]struct{}

	commits  atomic.Uint64 // committed (fsync'd) transactions
	writeOps atomic.Uint64 // operations in them
}

type writeOp struct {
	apply func(tx *bolt.Tx) error
	err   error
	done  chan struct{}   // nil: nobody waits (fire and forget)
	after func(err error) // optional, run by the writer once the op is over
}

var registry = struct {
	sync.Mutex
	open map[string]*Store
}{open: map[string]*Store{}}

// Acquire opens the store in dir (created if missing), or returns the one
// this process already has open there. Every Acquire needs a Release.
func Acquire(dir string) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	registry.Lock()
	defer registry.Unlock()
	if s := registry.open[abs]; s != nil {
		s.refs++
		return s, nil
	}
	s, err := open(abs)
	if err != nil {
		return nil, err
	}
	s.refs = 1
	registry.open[abs] = s
	return s, nil
}

// Release drops one reference; the last one closes the database.
func (s *Store) Release() error {
	registry.Lock()
	s.refs--
	last := s.refs == 0
	if last {
		delete(registry.open, s.path)
	}
	registry.Unlock()
	if !last {
		return nil
	}
	return s.close()
}

func open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	file := filepath.Join(dir, FileName)
	_, statErr := os.Stat(file)
	db, err := bolt.Open(file, 0o600, &bolt.Options{
		// Another process holding the store: fail instead of hanging.
		Timeout: 2 * time.Second,
		// The freelist is rebuilt at open instead of being rewritten by
		// every commit: less to write per fsync.
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
	})
	if err != nil {
		return nil, fmt.Errorf("slimta.storage.disk: %s: %w", file, err)
	}
	if os.IsNotExist(statErr) {
		// Make the new file's directory entry durable too.
		if d, err := os.Open(dir); err == nil {
			_ = d.Sync()
			_ = d.Close()
		}
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketIDs, bucketMeta, bucketContents, bucketRetry} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	s := &Store{
		db:     db,
		path:   dir,
		writes: make(chan *writeOp, maxBatch),
		done:   make(chan struct{}),
		locks:  map[string]time.Time{},

		deleting: map[string]struct{}{},
	}
	go s.writer()
	return s, nil
}

func (s *Store) close() error {
	s.wmu.Lock()
	if s.closed {
		s.wmu.Unlock()
		return nil
	}
	s.closed = true
	close(s.writes)
	s.wmu.Unlock()
	<-s.done // the writer drains what was queued before closing
	return s.db.Close()
}

// Path returns the store directory.
func (s *Store) Path() string { return s.path }

// Stats reports committed transactions (each one fsync'd) and the write
// operations they carried: ops/commits is the group-commit factor.
func (s *Store) Stats() (commits, ops uint64) { return s.commits.Load(), s.writeOps.Load() }

// ---- the writer ----

func (s *Store) writer() {
	defer close(s.done)
	batch := make([]*writeOp, 0, maxBatch)
	for op := range s.writes {
		batch = append(batch[:0], op)
		open := s.fill(&batch)
		if open && !waited(batch) {
			// Only fire-and-forget operations (async deletes, lock
			// bookkeeping): give a store a moment to come and carry them,
			// instead of paying a commit (two fdatasyncs) of their own.
			open = s.lazyFill(&batch)
		}
		s.commit(batch)
		if waited(batch) {
			// The callers just woken sit in this P's run queue. Let them
			// run now: otherwise the next commit's fdatasync holds the P
			// and they wait until sysmon takes it back (often milliseconds,
			// measured with go tool trace -pprof=sched), stalling every
			// store behind the one after it.
			runtime.Gosched()
		}
		if !open {
			return
		}
	}
}

// fill adds what is queued right now; false once the queue is closed.
func (s *Store) fill(batch *[]*writeOp) bool {
	for len(*batch) < maxBatch {
		select {
		case op, ok := <-s.writes:
			if !ok {
				return false
			}
			*batch = append(*batch, op)
		default:
			return true
		}
	}
	return true
}

// lazyDelay bounds how long fire-and-forget writes wait for company: it
// widens the window in which a crash forgets a delete (and so repeats a
// delivery) by at most this much.
var lazyDelay = 5 * time.Millisecond

// lazyFill waits up to lazyDelay for an operation somebody waits for, then
// takes what else is queued; false once the queue is closed.
func (s *Store) lazyFill(batch *[]*writeOp) bool {
	t := time.NewTimer(lazyDelay)
	defer t.Stop()
	for len(*batch) < maxBatch {
		select {
		case op, ok := <-s.writes:
			if !ok {
				return false
			}
			*batch = append(*batch, op)
			if op.done != nil {
				return s.fill(batch)
			}
		case <-t.C:
			return true
		}
	}
	return true
}

func waited(batch []*writeOp) bool {
	for _, op := range batch {
		if op.done != nil {
			return true
		}
	}
	return false
}

func (s *Store) commit(batch []*writeOp) {
	err := s.db.Update(func(tx *bolt.Tx) error {
		for _, op := range batch {
			if err := op.apply(tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		s.commits.Add(1)
		s.writeOps.Add(uint64(len(batch)))
		for _, op := range batch {
			finish(op, nil)
		}
		return
	}
	if len(batch) == 1 {
		finish(batch[0], err)
		return
	}
	// Isolate the failing operation: rerun each in its own transaction.
	for _, op := range batch {
		err := s.db.Update(op.apply)
		if err == nil {
			s.commits.Add(1)
			s.writeOps.Add(1)
		}
		finish(op, err)
	}
}

func finish(op *writeOp, err error) {
	op.err = err
	if op.after != nil {
		op.after(err)
	}
	if op.done != nil {
		close(op.done)
	}
}

func (s *Store) enqueue(op *writeOp) error {
	s.wmu.RLock()
	defer s.wmu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	s.writes <- op
	return nil
}

// write applies fn in a group-committed transaction and returns once it
// is durable (or ctx is cancelled: the write may still happen then).
func (s *Store) write(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	op := &writeOp{apply: fn, done: make(chan struct{})}
	if err := s.enqueue(op); err != nil {
		return err
	}
	select {
	case <-op.done:
		return op.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Sync waits until every write queued before it is durable.
func (s *Store) Sync(ctx context.Context) error {
	return s.write(ctx, func(*bolt.Tx) error { return nil })
}

// writeLater queues fn without waiting for it.
func (s *Store) writeLater(fn func(tx *bolt.Tx) error) {
	_ = s.enqueue(&writeOp{apply: fn})
}

func (s *Store) view(fn func(tx *bolt.Tx) error) error {
	s.wmu.RLock()
	closed := s.closed
	s.wmu.RUnlock()
	if closed {
		return ErrClosed
	}
	return s.db.View(fn)
}

// ---- encoding helpers ----

// retryKey orders by time: the float's bits are mapped so that unsigned
// byte order equals numeric order, then the id follows.
func retryKey(when float64, id string) []byte {
	bits := math.Float64bits(when)
	if bits>>63 == 0 {
		bits |= 1 << 63
	} else {
		bits = ^bits
	}
	k := make([]byte, 8, 8+len(id))
	binary.BigEndian.PutUint64(k, bits)
	return append(k, id...)
}

func retryTime(k []byte) float64 {
	bits := binary.BigEndian.Uint64(k[:8])
	if bits>>63 == 1 {
		bits &^= 1 << 63
	} else {
		bits = ^bits
	}
	return math.Float64frombits(bits)
}

func checkTime(when float64) error {
	if math.IsNaN(when) {
		return errors.New("retry time is not a number")
	}
	return nil
}

// copyBytes copies a value out of bbolt's mmap, which is only valid
// inside the transaction.
func copyBytes(b []byte) []byte { return append([]byte(nil), b...) }

// setRetry (re)schedules id; when == nil removes it from the schedule.
func setRetry(tx *bolt.Tx, id string, when *float64) error {
	ids := bkt(tx, bucketIDs)
	old := ids.Get([]byte(id))
	if len(old) > 0 {
		if err := bkt(tx, bucketRetry).Delete(copyBytes(old)); err != nil {
			return err
		}
	}
	var k []byte
	if when != nil {
		k = retryKey(*when, id)
		if err := bkt(tx, bucketRetry).Put(k, nil); err != nil {
			return err
		}
	}
	return ids.Put([]byte(id), k)
}

func deleteID(tx *bolt.Tx, id string) (bool, error) {
	ids := bkt(tx, bucketIDs)
	key := []byte(id)
	old := ids.Get(key)
	existed := old != nil
	if len(old) > 0 {
		if err := bkt(tx, bucketRetry).Delete(copyBytes(old)); err != nil {
			return false, err
		}
	}
	for _, b := range [][]byte{bucketIDs, bucketMeta, bucketContents} {
		if err := tx.Bucket(b).Delete(key); err != nil {
			return false, err
		}
	}
	return existed, nil
}

// bkt returns a bucket set up for time-ordered keys: ids and retry keys
// grow with time, so pages that split are left nearly full instead of
// half full (bbolt's default), which means fewer pages per commit.
func bkt(tx *bolt.Tx, name []byte) *bolt.Bucket {
	b := tx.Bucket(name)
	b.FillPercent = 0.9
	return b
}

func newID(tx *bolt.Tx) string {
	ids := bkt(tx, bucketIDs)
	for {
		id := newUUIDv7()
		if ids.Get([]byte(id)) == nil {
			return id
		}
	}
}

func register(tx *bolt.Tx, id string) error {
	ids := bkt(tx, bucketIDs)
	if ids.Get([]byte(id)) != nil {
		return nil
	}
	return ids.Put([]byte(id), nil)
}

// ---- the session operations (spec 2.21) ----

// Claim allocates a fresh id and registers it durably.
func (s *Store) Claim(ctx context.Context) (string, error) {
	var id string
	err := s.write(ctx, func(tx *bolt.Tx) error {
		id = newID(tx)
		return register(tx, id)
	})
	return id, err
}

// StoreMessage writes a whole message in one transaction: meta, contents,
// id registration, retry schedule (when non-nil) and, when replaces is not
// empty, the removal of that message (a bounce replacing its original).
func (s *Store) StoreMessage(ctx context.Context, meta lstore.Meta, contents string, when *float64, replaces string) (string, error) {
	rec, err := EncodeMeta(meta)
	if err != nil {
		return "", err
	}
	if when != nil {
		if err := checkTime(*when); err != nil {
			return "", err
		}
	}
	var id string
	err = s.write(ctx, func(tx *bolt.Tx) error {
		id = newID(tx)
		key := []byte(id)
		if err := bkt(tx, bucketMeta).Put(key, rec); err != nil {
			return err
		}
		if err := bkt(tx, bucketContents).Put(key, []byte(contents)); err != nil {
			return err
		}
		if err := setRetry(tx, id, when); err != nil {
			return err
		}
		if replaces != "" {
			if _, err := deleteID(tx, replaces); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil && replaces != "" {
		s.unlock(replaces)
	}
	return id, err
}

// SetMeta replaces id's meta table (registering id if it was not).
func (s *Store) SetMeta(ctx context.Context, id string, meta lstore.Meta) error {
	rec, err := EncodeMeta(meta)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *bolt.Tx) error {
		if err := bkt(tx, bucketMeta).Put([]byte(id), rec); err != nil {
			return err
		}
		return register(tx, id)
	})
}

// SetMetaKey sets one meta key; v == nil deletes it. ErrNotFound when id
// has no meta.
func (s *Store) SetMetaKey(ctx context.Context, id, key string, v lstore.Value) error {
	return s.write(ctx, func(tx *bolt.Tx) error {
		b := bkt(tx, bucketMeta)
		rec := b.Get([]byte(id))
		if rec == nil {
			return ErrNotFound
		}
		m, err := DecodeMeta(rec)
		if err != nil {
			return err
		}
		if v == nil {
			delete(m, key)
		} else {
			m[key] = v
		}
		out, err := EncodeMeta(m)
		if err != nil {
			return err
		}
		return b.Put([]byte(id), out)
	})
}

// GetMeta returns id's meta, ErrNotFound if it has none.
func (s *Store) GetMeta(_ context.Context, id string) (lstore.Meta, error) {
	if s.beingDeleted(id) {
		return nil, ErrNotFound
	}
	var m lstore.Meta
	err := s.view(func(tx *bolt.Tx) error {
		rec := bkt(tx, bucketMeta).Get([]byte(id))
		if rec == nil {
			return ErrNotFound
		}
		var err error
		m, err = DecodeMeta(rec)
		return err
	})
	return m, err
}

// GetMetaKey returns one meta value (nil when absent), ErrNotFound for an
// unknown id.
func (s *Store) GetMetaKey(ctx context.Context, id, key string) (lstore.Value, error) {
	m, err := s.GetMeta(ctx, id)
	if err != nil {
		return nil, err
	}
	return m[key], nil
}

// SetContents stores id's raw contents (registering id if it was not).
func (s *Store) SetContents(ctx context.Context, id string, raw string) error {
	return s.write(ctx, func(tx *bolt.Tx) error {
		if err := bkt(tx, bucketContents).Put([]byte(id), []byte(raw)); err != nil {
			return err
		}
		return register(tx, id)
	})
}

// GetContents returns id's raw contents, ErrNotFound if none.
func (s *Store) GetContents(_ context.Context, id string) (string, error) {
	if s.beingDeleted(id) {
		return "", ErrNotFound
	}
	var raw string
	err := s.view(func(tx *bolt.Tx) error {
		v := bkt(tx, bucketContents).Get([]byte(id))
		if v == nil {
			return ErrNotFound
		}
		raw = string(v)
		return nil
	})
	return raw, err
}

// SetRetry schedules id for when. Unknown ids are ignored (reported as
// false) so the schedule never holds ids that cannot load.
func (s *Store) SetRetry(ctx context.Context, id string, when float64) (bool, error) {
	if err := checkTime(when); err != nil {
		return false, err
	}
	found := false
	err := s.write(ctx, func(tx *bolt.Tx) error {
		found = bkt(tx, bucketIDs).Get([]byte(id)) != nil
		if !found {
			return nil
		}
		return setRetry(tx, id, &when)
	})
	return found, err
}

// RetryTime returns id's scheduled retry time (ok false if unscheduled).
func (s *Store) RetryTime(_ context.Context, id string) (when float64, ok bool, err error) {
	if s.beingDeleted(id) {
		return 0, false, nil
	}
	err = s.view(func(tx *bolt.Tx) error {
		k := bkt(tx, bucketIDs).Get([]byte(id))
		if len(k) >= 8 {
			when, ok = retryTime(k), true
		}
		return nil
	})
	return when, ok, err
}

// Deferred lists ids whose retry time is <= *when (all scheduled ids when
// nil), earliest first. Entries stay scheduled.
func (s *Store) Deferred(_ context.Context, when *float64) ([]string, error) {
	var out []string
	err := s.view(func(tx *bolt.Tx) error {
		c := bkt(tx, bucketRetry).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if len(k) < 8 {
				continue
			}
			if when != nil && retryTime(k) > *when {
				break
			}
			out = append(out, string(k[8:]))
		}
		return nil
	})
	return s.withoutDeleting(out), err
}

// All lists every registered id.
func (s *Store) All(context.Context) ([]string, error) {
	var out []string
	err := s.view(func(tx *bolt.Tx) error {
		return bkt(tx, bucketIDs).ForEach(func(k, _ []byte) error {
			out = append(out, string(k))
			return nil
		})
	})
	return s.withoutDeleting(out), err
}

// Delete removes id with its meta, contents, schedule entry and lock.
func (s *Store) Delete(ctx context.Context, id string) (bool, error) {
	existed := false
	err := s.write(ctx, func(tx *bolt.Tx) error {
		var err error
		existed, err = deleteID(tx, id)
		return err
	})
	if err == nil {
		s.unlock(id)
	}
	return existed, err
}

// DeleteAsync queues the removal of id and returns without waiting for
// the disk; from now on reads do not see id. The id keeps its delivery
// lock until the removal is committed, so no retry pass can pick it up in
// between. If the write fails (or the process dies first), the message
// reappears and is delivered again: at-least-once, as after a crash during
// a delivery.
func (s *Store) DeleteAsync(id string) (bool, error) {
	existed, err := s.exists(id)
	if err != nil {
		return false, err
	}
	s.lmu.Lock()
	s.deleting[id] = struct{}{}
	s.lmu.Unlock()
	err = s.enqueue(&writeOp{
		apply: func(tx *bolt.Tx) error {
			_, err := deleteID(tx, id)
			return err
		},
		after: func(err error) {
			s.lmu.Lock()
			delete(s.deleting, id)
			if err == nil {
				delete(s.locks, id)
			}
			s.lmu.Unlock()
		},
	})
	if err != nil {
		s.lmu.Lock()
		delete(s.deleting, id)
		s.lmu.Unlock()
		return false, err
	}
	return existed, nil
}

func (s *Store) beingDeleted(id string) bool {
	s.lmu.Lock()
	_, ok := s.deleting[id]
	s.lmu.Unlock()
	return ok
}

// withoutDeleting drops ids with a queued DeleteAsync from a listing.
func (s *Store) withoutDeleting(ids []string) []string {
	s.lmu.Lock()
	defer s.lmu.Unlock()
	if len(s.deleting) == 0 {
		return ids
	}
	out := ids[:0]
	for _, id := range ids {
		if _, ok := s.deleting[id]; !ok {
			out = append(out, id)
		}
	}
	return out
}

func (s *Store) exists(id string) (bool, error) {
	if s.beingDeleted(id) {
		return false, nil
	}
	found := false
	err := s.view(func(tx *bolt.Tx) error {
		found = bkt(tx, bucketIDs).Get([]byte(id)) != nil
		return nil
	})
	return found, err
}

// pushRetry moves id's schedule to when, without waiting for the disk.
func (s *Store) pushRetry(id string, when float64) {
	s.writeLater(func(tx *bolt.Tx) error {
		if bkt(tx, bucketIDs).Get([]byte(id)) == nil {
			return nil
		}
		return setRetry(tx, id, &when)
	})
}

// Lock takes id's delivery lock for d. It fails with "locked" while an
// unexpired lock exists and with "Message ID not found." for unknown ids
// (locking a deleted message must not let it be relayed again).
func (s *Store) Lock(_ context.Context, id string, d time.Duration) (bool, string, error) {
	if s.beingDeleted(id) {
		return false, ErrNotFound.Error(), nil
	}
	found, scheduled := false, math.Inf(-1)
	err := s.view(func(tx *bolt.Tx) error {
		k := bkt(tx, bucketIDs).Get([]byte(id))
		found = k != nil
		if len(k) >= 8 {
			scheduled = retryTime(k)
		}
		return nil
	})
	if err != nil {
		return false, "", err
	}
	if !found {
		return false, ErrNotFound.Error(), nil
	}
	now := time.Now()
	s.lmu.Lock()
	if exp, ok := s.locks[id]; ok && now.Before(exp) {
		s.lmu.Unlock()
		return false, "locked", nil
	}
	exp := now.Add(d)
	s.locks[id] = exp
	s.lmu.Unlock()
	// A message stored for relaying is already scheduled at about the
	// lock's expiry (the queue stores it at now + lock duration): within a
	// second is close enough, as the in-memory lock is what keeps a retry
	// pass away meanwhile, and it saves a write per message.
	if want := unixSeconds(exp); scheduled < want-1 {
		s.pushRetry(id, want)
	}
	return true, "", nil
}

// RefreshLock extends a lock that is still held; false if it is not.
func (s *Store) RefreshLock(_ context.Context, id string, d time.Duration) (bool, error) {
	now := time.Now()
	s.lmu.Lock()
	_, ok := s.locks[id]
	exp := now.Add(d)
	if ok {
		s.locks[id] = exp
	}
	s.lmu.Unlock()
	if ok {
		s.pushRetry(id, unixSeconds(exp))
	}
	return ok, nil
}

// Unlock drops id's lock.
func (s *Store) Unlock(_ context.Context, id string) error {
	s.unlock(id)
	return nil
}

func (s *Store) unlock(id string) {
	s.lmu.Lock()
	delete(s.locks, id)
	s.lmu.Unlock()
}

// Active lists ids holding an unexpired lock (expired ones are dropped).
func (s *Store) Active(context.Context) ([]string, error) {
	now := time.Now()
	s.lmu.Lock()
	out := make([]string, 0, len(s.locks))
	for id, exp := range s.locks {
		if now.Before(exp) {
			out = append(out, id)
		} else {
			delete(s.locks, id)
		}
	}
	s.lmu.Unlock()
	sort.Strings(out)
	return out, nil
}

func unixSeconds(t time.Time) float64 {
	return math.Ceil(float64(t.UnixNano()) / 1e9)
}

// Check verifies the file's internal consistency (bbolt's page checks).
func (s *Store) Check() error {
	return s.view(func(tx *bolt.Tx) error {
		var errs []error
		for err := range tx.Check() {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	})
}

var _ lstore.Backend = (*Store)(nil)
