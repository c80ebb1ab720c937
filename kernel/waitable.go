package kernel

import (
	"sync"
	"time"

	lua "github.com/yuin/gopher-lua"
	"golang.org/x/sys/unix"
)

// Waitable is implemented by the Go values behind ratchet objects (sockets,
// TLS sessions, timerfds, exec pipes...) so that block_on and multi_recv can
// wait on several of them through Go's netpoller.
type Waitable interface {
	// Ready reports, without blocking, whether a read (write=false) or a
	// write would make progress now. Buffered data counts as readable.
	Ready(write bool) bool
	// WaitReady blocks until the object may be ready or cancel is closed.
	// Spurious returns are allowed: callers check Ready again.
	WaitReady(write bool, cancel <-chan struct{})
}

// FDWaitable waits on a foreign descriptor (an object that only offers
// get_fd) with poll(2) in short slices, so that cancellation is noticed.
type FDWaitable int

func (fd FDWaitable) poll(write bool, ms int) bool {
	ev := int16(unix.POLLIN)
	if write {
		ev = unix.POLLOUT
	}
	fds := []unix.PollFd{{Fd: int32(fd), Events: ev}}
	n, err := unix.Poll(fds, ms)
	if err != nil {
		return err != unix.EINTR // a bad descriptor counts as ready: the caller's I/O reports it
	}
	return n > 0
}

// Ready implements Waitable.
func (fd FDWaitable) Ready(write bool) bool { return fd.poll(write, 0) }

// WaitReady implements Waitable.
func (fd FDWaitable) WaitReady(write bool, cancel <-chan struct{}) {
	for !Cancelled(cancel) {
		if fd.poll(write, 20) {
			return
		}
	}
}

// WaitItem is one entry of a multi-object wait.
type WaitItem struct {
	W     Waitable
	Write bool
}

// WaitAny returns the index of the first ready item in list order, suspending
// the calling thread until one is ready. It returns -1 when timeout (>= 0)
// expires first. A negative timeout waits forever.
func WaitAny(L *lua.LState, items []WaitItem, timeout time.Duration) int {
	for i, it := range items {
		if it.W.Ready(it.Write) {
			return i
		}
	}
	var deadline time.Time
	if timeout >= 0 {
		deadline = time.Now().Add(timeout)
	}
	for {
		timedOut := false
		Block(L, func(cancel <-chan struct{}) {
			sub := make(chan struct{})
			woke := make(chan struct{}, len(items)+1)
			var wg sync.WaitGroup
			for _, it := range items {
				wg.Add(1)
				go func(it WaitItem) {
					defer wg.Done()
					it.W.WaitReady(it.Write, sub)
					woke <- struct{}{}
				}(it)
			}
			var tc <-chan time.Time
			if timeout >= 0 {
				tm := time.NewTimer(time.Until(deadline))
				defer tm.Stop()
				tc = tm.C
			}
			select {
			case <-woke:
			case <-tc:
				timedOut = true
			case <-cancel:
			}
			close(sub)
			wg.Wait()
		}, nil)
		for i, it := range items {
			if it.W.Ready(it.Write) {
				return i
			}
		}
		if timedOut || (timeout >= 0 && !time.Now().Before(deadline)) {
			return -1
		}
	}
}
