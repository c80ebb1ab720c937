package disk

import (
	"crypto/rand"
	"encoding/binary"
	"sync"
	"time"

	"github.com/slimta-lua/slimta-lua/luamod/slimta/native"
)

// Message ids are UUIDs of version 7 (RFC 9562): a millisecond timestamp
// then random bits, so new ids sort after older ones. bbolt keeps keys in
// a B+tree; random (version 4) ids would dirty a different leaf page per
// message in every transaction, time-ordered ids append to the same few
// pages, which makes each group commit write (and fsync) far less. The
// 12 bits after the timestamp are a counter, so ids made in the same
// millisecond by this process still sort in creation order.

var idClock struct {
	sync.Mutex
	last uint64 // ms<<12 | counter of the last id
}

func newUUIDv7() string {
	now := uint64(time.Now().UnixMilli()) << 12
	idClock.Lock()
	if now <= idClock.last {
		now = idClock.last + 1
	}
	idClock.last = now
	idClock.Unlock()

	var b [16]byte
	if _, err := rand.Read(b[8:]); err != nil {
		panic(err) // crypto/rand does not fail on supported systems
	}
	ms, seq := now>>12, now&0xfff
	binary.BigEndian.PutUint64(b[0:8], ms<<16|0x7000|seq)
	b[8] = b[8]&0x3f | 0x80 // RFC 9562 variant
	return native.FormatUUID(b)
}
