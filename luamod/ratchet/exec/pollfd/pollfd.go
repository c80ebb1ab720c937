// Package pollfd wraps a non-blocking descriptor (pipe, timerfd) registered
// with Go's netpoller so that ratchet objects can try an operation without
// blocking and, when it would block, wait for readiness on the calling
// thread's goroutine only, with prompt cancellation.
package pollfd

import (
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// File is a pollable descriptor. Its zero value is not usable: see New.
type File struct {
	f  *os.File
	rc syscall.RawConn

	mu      sync.Mutex
	pending [2]int // aborts in progress per direction (0 read, 1 write)
	closed  atomic.Bool
}

// New wraps f, which must be in non-blocking mode and pollable (os.Pipe
// ends, os.NewFile of a descriptor opened with O_NONBLOCK).
func New(f *os.File) (*File, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	return &File{f: f, rc: rc}, nil
}

// OSFile returns the wrapped file.
func (p *File) OSFile() *os.File { return p.f }

// Fd returns the descriptor number, or -1 once closed.
func (p *File) Fd() int {
	if p.closed.Load() {
		return -1
	}
	fd := -1
	_ = p.rc.Control(func(u uintptr) { fd = int(u) })
	return fd
}

// Closed reports whether Close was called.
func (p *File) Closed() bool { return p.closed.Load() }

// Close closes the descriptor; waiters return at once. It reports false
// when the file was already closed.
func (p *File) Close() bool {
	if p.closed.Swap(true) {
		return false
	}
	_ = p.f.Close()
	return true
}

// control runs fn on the descriptor without taking the file's read/write
// locks, so a try never waits behind another goroutine's readiness wait.
func (p *File) control(fn func(fd int) error) error {
	if p.closed.Load() {
		return syscall.EBADF
	}
	var opErr error
	if err := p.rc.Control(func(u uintptr) { opErr = fn(int(u)) }); err != nil {
		return syscall.EBADF
	}
	return opErr
}

// TryRead makes one non-blocking read. It returns unix.EAGAIN when no
// data is available; (0, nil) means end of file.
func (p *File) TryRead(b []byte) (int, error) { return p.try(unix.Read, b) }

// TryWrite makes one non-blocking write; unix.EAGAIN when the buffer is full.
func (p *File) TryWrite(b []byte) (int, error) { return p.try(unix.Write, b) }

// try runs one read or write on the descriptor, retrying on EINTR.
func (p *File) try(op func(int, []byte) (int, error), b []byte) (int, error) {
	var n int
	err := p.control(func(fd int) error {
		var e error
		for {
			n, e = op(fd, b)
			if e != unix.EINTR {
				break
			}
		}
		return e
	})
	if n < 0 {
		n = 0
	}
	return n, err
}

// Control runs fn with the descriptor (for ioctl-like calls such as
// timerfd_settime). It returns EBADF once the file is closed.
func (p *File) Control(fn func(fd int) error) error { return p.control(fn) }

func pollNow(fd int, write bool) bool {
	ev := int16(unix.POLLIN)
	if write {
		ev = unix.POLLOUT
	}
	fds := []unix.PollFd{{Fd: int32(fd), Events: ev}}
	for {
		n, err := unix.Poll(fds, 0)
		if err == unix.EINTR {
			continue
		}
		// Errors and hang-ups count as ready: the next operation reports them.
		return err != nil || n > 0
	}
}

// Ready reports without blocking whether a read (or write) would make
// progress. A closed file counts as ready (the operation fails at once).
func (p *File) Ready(write bool) bool {
	ready := true
	_ = p.control(func(fd int) error {
		ready = pollNow(fd, write)
		return nil
	})
	return ready
}

func (p *File) setDeadline(dir int, t time.Time) {
	if dir == 0 {
		_ = p.f.SetReadDeadline(t)
	} else {
		_ = p.f.SetWriteDeadline(t)
	}
}

// WaitReady blocks until the file may be ready for reading (write=false)
// or writing, until it is closed, or until cancel is closed. Spurious
// returns are possible; callers try again.
//
// The wait parks in the netpoller. Cancellation moves the file's deadline
// into the past, which wakes every waiter in that direction; waiters that
// were not cancelled go back to sleep once no abort is in progress.
func (p *File) WaitReady(write bool, cancel <-chan struct{}) {
	if p.closed.Load() {
		return
	}
	dir := 0
	if write {
		dir = 1
	}
	done := make(chan struct{})
	watcherDone := make(chan struct{})
	var aborted atomic.Bool
	go func() {
		defer close(watcherDone)
		select {
		case <-cancel:
			p.mu.Lock()
			p.pending[dir]++
			aborted.Store(true)
			p.setDeadline(dir, time.Unix(1, 0))
			p.mu.Unlock()
		case <-done:
		}
	}()
	for {
		polled := false
		fn := func(u uintptr) bool {
			if polled {
				return true
			}
			polled = true
			// Checked after the poller's reset, so an event arriving from
			// here on wakes the wait below.
			return pollNow(int(u), write)
		}
		var err error
		if write {
			err = p.rc.Write(fn)
		} else {
			err = p.rc.Read(fn)
		}
		if err == nil || !errors.Is(err, os.ErrDeadlineExceeded) || aborted.Load() || p.closed.Load() {
			break
		}
		// Another waiter's abort woke us.
		p.mu.Lock()
		busy := p.pending[dir] > 0
		if !busy {
			p.setDeadline(dir, time.Time{})
		}
		p.mu.Unlock()
		if busy {
			time.Sleep(time.Millisecond)
		}
	}
	close(done)
	<-watcherDone
	if aborted.Load() {
		p.mu.Lock()
		p.pending[dir]--
		if p.pending[dir] == 0 {
			p.setDeadline(dir, time.Time{})
		}
		p.mu.Unlock()
	}
}
