package pollfd

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func pipe(t *testing.T) (*File, *File) {
	t.Helper()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	pr, err := New(r)
	require.NoError(t, err)
	pw, err := New(w)
	require.NoError(t, err)
	t.Cleanup(func() { pr.Close(); pw.Close() })
	return pr, pw
}

func waitDone(t *testing.T, c <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(5 * time.Second):
		t.Fatalf("%s did not return", what)
	}
}

func TestTryAndWait(t *testing.T) {
	r, w := pipe(t)
	buf := make([]byte, 10)
	_, err := r.TryRead(buf)
	assert.Equal(t, unix.EAGAIN, err)
	assert.False(t, r.Ready(false))
	assert.True(t, w.Ready(true))

	woke := make(chan struct{})
	go func() { r.WaitReady(false, nil); close(woke) }()
	time.Sleep(10 * time.Millisecond)
	n, err := w.TryWrite([]byte("hi"))
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	waitDone(t, woke, "WaitReady")
	n, err = r.TryRead(buf)
	require.NoError(t, err)
	assert.Equal(t, "hi", string(buf[:n]))
}

// A cancelled waiter must not disturb another waiter on the same file.
func TestCancelOneOfTwoWaiters(t *testing.T) {
	r, w := pipe(t)
	cancelA := make(chan struct{})
	aDone, bDone := make(chan struct{}), make(chan struct{})
	go func() { r.WaitReady(false, cancelA); close(aDone) }()
	go func() { r.WaitReady(false, nil); close(bDone) }()
	time.Sleep(20 * time.Millisecond)
	close(cancelA)
	waitDone(t, aDone, "cancelled waiter")
	select {
	case <-bDone:
		t.Fatal("uncancelled waiter returned without data")
	case <-time.After(50 * time.Millisecond):
	}
	_, err := w.TryWrite([]byte("x"))
	require.NoError(t, err)
	waitDone(t, bDone, "second waiter")
}

func TestCancelBeforeWaitAndClose(t *testing.T) {
	r, _ := pipe(t)
	c := make(chan struct{})
	close(c)
	done := make(chan struct{})
	go func() { r.WaitReady(false, c); close(done) }()
	waitDone(t, done, "pre-cancelled wait")

	done2 := make(chan struct{})
	go func() { r.WaitReady(false, nil); close(done2) }()
	time.Sleep(10 * time.Millisecond)
	assert.True(t, r.Close())
	assert.False(t, r.Close())
	waitDone(t, done2, "wait on closed file")
	assert.Equal(t, -1, r.Fd())
	_, err := r.TryRead(make([]byte, 1))
	assert.Equal(t, unix.EBADF, err)
}

func TestWriteWaitWhenFull(t *testing.T) {
	r, w := pipe(t)
	chunk := make([]byte, 64*1024)
	for {
		_, err := w.TryWrite(chunk)
		if err == unix.EAGAIN {
			break
		}
		require.NoError(t, err)
	}
	assert.False(t, w.Ready(true))
	done := make(chan struct{})
	go func() { w.WaitReady(true, nil); close(done) }()
	buf := make([]byte, 1<<20)
	for i := 0; i < 4; i++ {
		_, _ = r.TryRead(buf)
	}
	waitDone(t, done, "write wait")
}
