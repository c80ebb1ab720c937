// Package exec implements ratchet.exec (spec ratchet.md 2.7): subprocesses
// with non-blocking pipes whose reads, writes and waits suspend only the
// calling ratchet thread.
package exec

import (
	"errors"
	"os"
	osexec "os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/slimta-lua/slimta-lua/kernel"
	"github.com/slimta-lua/slimta-lua/luamod/luaarg"
	"github.com/slimta-lua/slimta-lua/luamod/ratchet/exec/pollfd"
	lua "github.com/yuin/gopher-lua"
	"golang.org/x/sys/unix"
)

// BUFSZ is the default (and, in the original, maximum) read size.
const BUFSZ = 8192

const (
	procMetaKey = "ratchet.exec.meta"
	fileMetaKey = "ratchet.exec.file.meta"
)

// Process is the Go value behind an exec object.
type Process struct {
	argv *lua.LTable
	args []string

	started   bool
	startTime time.Time
	cmd       *osexec.Cmd
	pid       int
	// failed: the program could not be executed; the object then behaves
	// like a child that exited with status 1 at once (spec 2.7).
	failed bool

	stdin, stdout, stderr *File
	files                 [3]*lua.LUserData

	done    chan struct{} // closed when the child has been reaped
	state   *os.ProcessState
	untrack func()
	once    sync.Once
}

// File is one parent-side pipe end (stdin is writable, stdout/stderr
// readable). It implements kernel.Waitable for block_on.
type File struct {
	p *pollfd.File
}

// Ready implements kernel.Waitable.
func (f *File) Ready(write bool) bool { return f.p.Ready(write) }

// WaitReady implements kernel.Waitable.
func (f *File) WaitReady(write bool, cancel <-chan struct{}) { f.p.WaitReady(write, cancel) }

// Close closes the pipe end; false if it was already closed.
func (f *File) Close() bool { return f.p.Close() }

// Open builds the ratchet.exec table.
func Open(L *lua.LState) *lua.LTable {
	t := L.NewTable()
	t.RawSetString("new", L.NewFunction(execNew))
	return t
}

func execNew(L *lua.LState) int {
	const fname = "ratchet.exec.new"
	argv := luaarg.CheckTable(L, 1, fname)
	var args []string
	for i := 1; ; i++ {
		v := argv.RawGetInt(i)
		if v == lua.LNil {
			break
		}
		switch s := v.(type) {
		case lua.LString:
			args = append(args, string(s))
		case lua.LNumber:
			args = append(args, s.String())
		default:
			luaarg.ArgError(L, 1, fname, "argv entries must be strings")
		}
	}
	if len(args) == 0 {
		luaarg.ArgError(L, 1, fname, "argv must name a program")
	}
	ud := L.NewUserData()
	ud.Value = &Process{argv: argv, args: args}
	L.SetMetatable(ud, procMeta(L))
	L.Push(ud)
	return 1
}

func procMeta(L *lua.LState) *lua.LTable {
	return luaarg.Metatable(L, procMetaKey, procMethods)
}

var procMethods = map[string]lua.LGFunction{
	"get_argv":       procGetArgv,
	"start":          procStart,
	"get_start_time": procGetStartTime,
	"stdin":          func(L *lua.LState) int { return procFile(L, 0, "ratchet.exec.stdin()") },
	"stdout":         func(L *lua.LState) int { return procFile(L, 1, "ratchet.exec.stdout()") },
	"stderr":         func(L *lua.LState) int { return procFile(L, 2, "ratchet.exec.stderr()") },
	"wait":           procWait,
	"kill":           procKill,
	"communicate":    procCommunicate,
}

func fileMeta(L *lua.LState) *lua.LTable {
	return luaarg.Metatable(L, fileMetaKey, fileMethods)
}

var fileMethods = map[string]lua.LGFunction{
	"read":   fileRead,
	"write":  fileWrite,
	"close":  fileClose,
	"get_fd": fileGetFd,
}

func checkProc(L *lua.LState, fname string) *Process {
	return luaarg.CheckUserData[*Process](L, 1, fname, "ratchet.exec object")
}

func checkFile(L *lua.LState, fname string) *File {
	return luaarg.CheckUserData[*File](L, 1, fname, "ratchet.exec file")
}

func procGetArgv(L *lua.LState) int {
	L.Push(checkProc(L, "get_argv").argv)
	return 1
}

func procGetStartTime(L *lua.LState) int {
	p := checkProc(L, "get_start_time")
	if !p.started {
		L.Push(lua.LNil)
		return 1
	}
	L.Push(lua.LNumber(float64(p.startTime.UnixNano()) / 1e9))
	return 1
}

// pipes creates the three pipes: parent ends (non-blocking, pollable,
// close-on-exec) and child ends.
func pipes() (parent, child [3]*os.File, err error) {
	closeAll := func() {
		for i := 0; i < 3; i++ {
			if parent[i] != nil {
				parent[i].Close()
			}
			if child[i] != nil {
				child[i].Close()
			}
		}
	}
	for i := 0; i < 3; i++ {
		r, w, e := os.Pipe()
		if e != nil {
			closeAll()
			return parent, child, e
		}
		if i == 0 {
			parent[i], child[i] = w, r
		} else {
			parent[i], child[i] = r, w
		}
	}
	return parent, child, nil
}

// start launches the child. A program that cannot be executed gives a
// process that "exited" with status 1, as the original's forked child did.
func (p *Process) start(L *lua.LState) {
	parent, child, err := pipes()
	if err != nil {
		kernel.RaiseErrno(L, "ratchet.exec.start()", "pipe", err)
	}
	cmd := osexec.Command(p.args[0], p.args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = child[0], child[1], child[2]
	startErr := cmd.Start()
	for _, c := range child {
		c.Close()
	}
	p.started = true
	p.startTime = time.Now()
	p.done = make(chan struct{})
	var files [3]*File
	for i, f := range parent {
		pf, err := pollfd.New(f)
		if err != nil {
			for _, g := range parent {
				g.Close()
			}
			kernel.RaiseErrno(L, "ratchet.exec.start()", "pipe", err)
		}
		files[i] = &File{p: pf}
	}
	p.stdin, p.stdout, p.stderr = files[0], files[1], files[2]
	for i, f := range files {
		ud := L.NewUserData()
		ud.Value = f
		L.SetMetatable(ud, fileMeta(L))
		p.files[i] = ud
	}
	p.untrack = kernel.Track(L, abandon{p})
	if startErr != nil {
		p.failed = true
		p.pid = -1
		close(p.done)
		return
	}
	p.cmd = cmd
	p.pid = cmd.Process.Pid
	// Reaping in a goroutine cannot miss the exit (spec 4.11).
	go func() {
		_ = cmd.Wait()
		p.state = cmd.ProcessState
		close(p.done)
	}()
}

// Close releases the parent pipe ends (also called when the embedding
// context is cancelled). The child keeps running.
func (p *Process) Close() error {
	for _, f := range []*File{p.stdin, p.stdout, p.stderr} {
		if f != nil {
			f.Close()
		}
	}
	return nil
}

// abandon is what the embedding context's cancellation closes: the pipes,
// and the child itself, so that a stopped runtime leaves no process (nor
// the goroutine reaping it) behind.
type abandon struct{ p *Process }

func (a abandon) Close() error {
	a.p.Close()
	if a.p.cmd != nil && !a.p.exited() {
		_ = a.p.cmd.Process.Kill()
	}
	return nil
}

func (p *Process) finish() {
	p.once.Do(func() {
		p.Close()
		if p.untrack != nil {
			p.untrack()
		}
	})
}

func procStart(L *lua.LState) int {
	p := checkProc(L, "start")
	if p.started {
		// The original leaked three pipes here (spec 4.11).
		L.RaiseError("ratchet.exec.start(): process already started.")
	}
	p.start(L)
	L.Push(lua.LNumber(p.pid))
	return 1
}

func procFile(L *lua.LState, i int, fname string) int {
	p := checkProc(L, fname)
	if !p.started {
		kernel.Raise(L, kernel.Error{Description: "Must call start().", Code: "EBADF", Function: fname})
	}
	L.Push(p.files[i])
	return 1
}

func (p *Process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// status gives wait's results: (exit status, exited normally).
func (p *Process) status() (int, bool) {
	if p.failed {
		return 1, true
	}
	ws, ok := p.state.Sys().(syscall.WaitStatus)
	if !ok {
		return p.state.ExitCode(), p.state.Exited()
	}
	if ws.Exited() {
		return ws.ExitStatus(), true
	}
	return 0, false
}

// waitExit suspends until the child is reaped; false on timeout (< 0: none).
func (p *Process) waitExit(L *lua.LState, timeout time.Duration) bool {
	if p.exited() {
		return true
	}
	kernel.Block(L, func(cancel <-chan struct{}) {
		var tc <-chan time.Time
		if timeout >= 0 {
			tm := time.NewTimer(timeout)
			defer tm.Stop()
			tc = tm.C
		}
		select {
		case <-p.done:
		case <-tc:
		case <-cancel:
		}
	}, nil)
	return p.exited()
}

func procWait(L *lua.LState) int {
	const fname = "ratchet.exec.wait()"
	p := checkProc(L, "wait")
	timeout := time.Duration(-1)
	if L.Get(2) != lua.LNil {
		// Numeric strings count as numbers, as in the Lua 5.2 C API.
		if v := luaarg.CheckNumber(L, 2, "wait"); v >= 0 {
			timeout = time.Duration(v * float64(time.Second))
		}
	}
	if !p.started {
		kernel.Raise(L, kernel.Error{Description: "Must call start().", Code: "EBADF", Function: fname})
	}
	if !p.waitExit(L, timeout) {
		kernel.RaiseTimeout(L, fname, "wait")
	}
	p.finish()
	st, normal := p.status()
	L.Push(lua.LNumber(st))
	L.Push(lua.LBool(normal))
	return 2
}

// checkSignal is luaarg.CheckSignal with kill's default (SIGTERM) and its
// stricter rule for numbers (a fraction is not a signal).
func checkSignal(L *lua.LState, n int, fname string) syscall.Signal {
	switch v := L.Get(n).(type) {
	case *lua.LNilType:
		return syscall.SIGTERM
	case lua.LNumber:
		if float64(v) != float64(int(v)) {
			luaarg.ArgError(L, n, fname, "Invalid signal.")
		}
	}
	return luaarg.CheckSignal(L, n, fname)
}

func procKill(L *lua.LState) int {
	const fname = "ratchet.exec.kill()"
	p := checkProc(L, "kill")
	sig := checkSignal(L, 2, "kill")
	if !p.started {
		kernel.Raise(L, kernel.Error{Description: "Must call start().", Code: "EBADF", Function: fname})
	}
	if p.failed || p.exited() {
		// Never signal a reaped pid: it may belong to another process now.
		kernel.RaiseErrno(L, fname, "kill", syscall.ESRCH)
	}
	if err := p.cmd.Process.Signal(sig); err != nil {
		if errors.Is(err, os.ErrProcessDone) {
			err = syscall.ESRCH
		}
		kernel.RaiseErrno(L, fname, "kill", err)
	}
	return 0
}

// readAll reads f to end of file, waiting on the poller; it stops early
// when cancel closes.
func readAll(f *File, cancel <-chan struct{}) []byte {
	var out []byte
	buf := make([]byte, 32*1024)
	for {
		n, err := f.p.TryRead(buf)
		out = append(out, buf[:n]...)
		switch {
		case err == unix.EAGAIN:
			if kernel.Cancelled(cancel) {
				return out
			}
			f.p.WaitReady(false, cancel)
		case err != nil || n == 0:
			return out
		}
	}
}

// writeAll writes data to f, ignoring a reader that went away (EPIPE).
func writeAll(f *File, data []byte, cancel <-chan struct{}) {
	for len(data) > 0 {
		n, err := f.p.TryWrite(data)
		data = data[n:]
		switch {
		case err == unix.EAGAIN:
			if kernel.Cancelled(cancel) {
				return
			}
			f.p.WaitReady(true, cancel)
		case err != nil:
			return
		}
	}
}

func procCommunicate(L *lua.LState) int {
	p := checkProc(L, "communicate")
	var data []byte
	if L.Get(2) != lua.LNil {
		data = []byte(luaarg.CheckString(L, 2, "communicate"))
	}
	if !p.started {
		p.start(L)
	}
	var out, errOut []byte
	kernel.Block(L, func(cancel <-chan struct{}) {
		var wg sync.WaitGroup
		wg.Add(3)
		go func() {
			defer wg.Done()
			writeAll(p.stdin, data, cancel)
			p.stdin.Close()
		}()
		go func() { defer wg.Done(); out = readAll(p.stdout, cancel) }()
		go func() { defer wg.Done(); errOut = readAll(p.stderr, cancel) }()
		wg.Wait()
		select {
		case <-p.done:
		case <-cancel:
		}
	}, nil)
	if !p.waitExit(L, -1) {
		kernel.RaiseTimeout(L, "ratchet.exec.communicate()", "wait")
	}
	p.finish()
	st, _ := p.status()
	L.Push(lua.LString(out))
	L.Push(lua.LString(errOut))
	L.Push(lua.LNumber(st))
	return 3
}

func fileRead(L *lua.LState) int {
	const fname = "ratchet.exec.read()"
	f := checkFile(L, "read")
	maxlen := BUFSZ
	if L.Get(2) != lua.LNil {
		n := luaarg.CheckNumber(L, 2, "read")
		if n < 0 {
			luaarg.ArgError(L, 2, "read", "non-negative length expected")
		}
		maxlen = int(n)
	}
	if maxlen == 0 {
		L.Push(lua.LString(""))
		return 1
	}
	buf := make([]byte, maxlen)
	for {
		n, err := f.p.TryRead(buf)
		if err == unix.EAGAIN {
			kernel.Block(L, func(cancel <-chan struct{}) { f.p.WaitReady(false, cancel) }, nil)
			continue
		}
		if err != nil {
			kernel.RaiseErrno(L, fname, "read", err)
		}
		L.Push(lua.LString(buf[:n]))
		return 1
	}
}

func fileWrite(L *lua.LState) int {
	const fname = "ratchet.exec.write()"
	f := checkFile(L, "write")
	data := luaarg.CheckString(L, 2, "write")
	if data == "" {
		return 0
	}
	for {
		n, err := f.p.TryWrite([]byte(data))
		if err == unix.EAGAIN {
			kernel.Block(L, func(cancel <-chan struct{}) { f.p.WaitReady(true, cancel) }, nil)
			continue
		}
		if err != nil {
			kernel.RaiseErrno(L, fname, "write", err)
		}
		if n < len(data) {
			L.Push(lua.LString(data[n:]))
			return 1
		}
		return 0
	}
}

func fileClose(L *lua.LState) int {
	f := checkFile(L, "close")
	if f.Close() {
		L.Push(lua.LTrue)
		return 1
	}
	return 0
}

func fileGetFd(L *lua.LState) int {
	f := checkFile(L, "get_fd")
	L.Push(lua.LNumber(f.p.Fd()))
	return 1
}
