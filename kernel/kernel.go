// Package kernel is the ratchet scheduler: every ratchet thread is a
// gopher-lua thread on its own goroutine, and a baton (explicit hand-off
// between the scheduler and one thread at a time) guarantees that exactly one
// goroutine runs Lua per Lua state. A blocking call hands the baton back to
// the scheduler (or, while the run queue drains, straight to the next queued
// thread), waits in Go (netpoller, timers, processes), then queues to be
// resumed. Because the wait happens on the goroutine and not through Lua's
// coroutine yield, a thread may block from any Lua frame: pcall, metamethods,
// iterators, sort comparators, gsub callbacks, user coroutines.
package kernel

import (
	"context"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slimta-lua/slimta-lua/internal/pcallfix"
	lua "github.com/yuin/gopher-lua"
)

type threadState uint8

const (
	stQueued    threadState = iota // attached, never run, or unpaused and queued
	stRunning                      // holds the baton
	stSuspended                    // inside Block
	stPaused                       // inside pause()
	stWaiting                      // inside wait_all()
	stDone                         // returned
	stFailed                       // raised
	stKilled                       // killed or alarmed
)

func (s threadState) live() bool { return s < stDone }

// yieldKind is what a thread tells the scheduler when it gives the baton back.
type yieldKind uint8

const (
	yBlocked yieldKind = iota // in Block: will post itself to the ready list
	yPaused                   // in pause or wait_all: woken by the scheduler
	yDone                     // body returned
	yFailed                   // body raised
	yExited                   // goroutine ended after a kill
)

type yieldMsg struct {
	t     *Thread // the thread giving the baton back (see handOff)
	kind  yieldKind
	err   *lua.ApiError
	trace string
}

type wakeMsg struct {
	kill bool
	vals []lua.LValue // pause() results
}

// Thread is one ratchet thread.
type Thread struct {
	k     *Kernel
	co    *lua.LState
	fn    lua.LValue
	args  []lua.LValue
	state threadState
	gor   bool // goroutine started
	wake  chan wakeMsg

	// Block bookkeeping; cancel is closed (once) to abort the wait.
	cancel    chan struct{}
	abort     func()
	abortOnce sync.Once
	exiting   bool // kill of self in progress: run() must not report again

	pauseVals []lua.LValue
	awaiting  map[*Thread]struct{} // wait_all: children still live
	waiters   []*Thread            // threads in wait_all on this one

	alarm    *time.Timer
	alarmGen uint64
	alarmCB  lua.LValue

	space     lua.LValue
	ctxCancel func()
}

// Co returns the thread's Lua coroutine, the value Lua code sees.
func (t *Thread) Co() *lua.LState { return t.co }

type event struct {
	t        *Thread
	alarmGen uint64 // nonzero: alarm event
}

// Kernel is one ratchet.new() instance.
type Kernel struct {
	L       *lua.LState // the state that created the kernel
	w       *world
	handler lua.LValue
	runq    []*Thread
	waitq   []*Thread
	live    int
	blocked int // threads inside Block: pending wake-up sources
	alarms  int // armed alarms: pending wake-up sources
	brk     bool
	// draining: loop_once is in step 1 (running the run queue), where a
	// suspending thread may hand the baton to the next queued one itself.
	draining bool
	back     chan yieldMsg
	exitc    chan struct{}

	mu     sync.Mutex
	ready  []event
	notify chan struct{}
}

// world is per Lua universe (one lua.Global): which thread holds the baton,
// which states are parked, and the dead threads' tracebacks.
type world struct {
	cur     *Thread
	threads map[*lua.LState]*Thread
	parked  map[*lua.LState]int
	traces  map[*lua.LState]string
	traceQ  []*lua.LState
	ctx     context.Context
	kernels map[*Kernel]struct{}

	closersMu sync.Mutex
	closers   map[*closerEntry]struct{}
}

type closerEntry struct{ c io.Closer }

const worldKey = "ratchet.kernel.world"
const maxTraces = 256

func worldOf(L *lua.LState) *world {
	if ud, ok := L.G.Registry.RawGetString(worldKey).(*lua.LUserData); ok {
		return ud.Value.(*world)
	}
	w := &world{
		threads: map[*lua.LState]*Thread{},
		parked:  map[*lua.LState]int{},
		traces:  map[*lua.LState]string{},
		kernels: map[*Kernel]struct{}{},
		closers: map[*closerEntry]struct{}{},
	}
	ud := L.NewUserData()
	ud.Value = w
	L.G.Registry.RawSetString(worldKey, ud)
	return w
}

// SetContext ties every kernel of L's universe to ctx: when it is cancelled,
// running loops kill their threads, close tracked resources and raise.
func SetContext(L *lua.LState, ctx context.Context) { worldOf(L).ctx = ctx }

// Track registers c to be closed when the universe's context is cancelled.
// The returned function forgets it (call it when c is closed normally).
func Track(L *lua.LState, c io.Closer) (untrack func()) {
	w := worldOf(L)
	e := &closerEntry{c}
	w.closersMu.Lock()
	w.closers[e] = struct{}{}
	w.closersMu.Unlock()
	return func() {
		w.closersMu.Lock()
		delete(w.closers, e)
		w.closersMu.Unlock()
	}
}

// CloseTracked closes every tracked resource of L's universe.
func CloseTracked(L *lua.LState) {
	w := worldOf(L)
	w.closersMu.Lock()
	list := make([]io.Closer, 0, len(w.closers))
	for e := range w.closers {
		list = append(list, e.c)
	}
	w.closers = map[*closerEntry]struct{}{}
	w.closersMu.Unlock()
	for _, c := range list {
		_ = c.Close()
	}
}

// New creates a kernel whose entry thread will call entry().
func New(L *lua.LState, entry, handler lua.LValue) *Kernel {
	w := worldOf(L)
	k := &Kernel{
		L:       L,
		w:       w,
		handler: handler,
		back:    make(chan yieldMsg),
		exitc:   make(chan struct{}),
		notify:  make(chan struct{}, 1),
	}
	if handler == lua.LNil {
		k.handler = nil
	}
	k.attach(L, entry, nil)
	return k
}

// NumThreads is kernel:get_num_threads().
func (k *Kernel) NumThreads() int { return k.live }

// Break is kernel["break"]().
func (k *Kernel) Break() { k.brk = true }

// threadOptions keeps a parked thread near 10 KiB (kernel notes §4) while
// allowing deep recursion and large unpack: frames are allocated in segments
// and the registry grows on demand.
var threadOptions = lua.Options{
	CallStackSize:       1024,
	MinimizeStackMemory: true,
	RegistrySize:        256,
	RegistryMaxSize:     1 << 20,
	RegistryGrowStep:    1024,
}

func (k *Kernel) attach(L *lua.LState, fn lua.LValue, args []lua.LValue) *Thread {
	// Threads are made from the kernel's creating state, not from the
	// attaching thread: a thread's context (when a context is set) must be a
	// child of the runtime's, not of a parent thread that may end first.
	base := k.L
	saved := base.Options
	base.Options = threadOptions
	co, cancelCtx := base.NewThread()
	base.Options = saved
	t := &Thread{k: k, co: co, fn: fn, args: args, state: stQueued, wake: make(chan wakeMsg, 1), ctxCancel: cancelCtx}
	k.w.threads[co] = t
	k.live++
	k.runq = append(k.runq, t)
	return t
}

// ThreadOf returns the ratchet thread whose coroutine is co, or nil.
func ThreadOf(L *lua.LState, co *lua.LState) *Thread { return worldOf(L).threads[co] }

// Current returns the ratchet thread holding the baton in L's universe, or nil in main.
func Current(L *lua.LState) *Thread { return worldOf(L).cur }

// CurrentCoroutine returns the running ratchet thread's coroutine, or nil.
func CurrentCoroutine(L *lua.LState) lua.LValue {
	if t := worldOf(L).cur; t != nil {
		return t.co
	}
	return nil
}

// NeedThread returns the calling ratchet thread, or raises the plain error
// the original gave for kernel functions called from main:
// "<fname> cannot be called from main thread."
func NeedThread(L *lua.LState, fname string) *Thread {
	t := worldOf(L).cur
	if t == nil {
		L.RaiseError("%s cannot be called from main thread.", fname)
	}
	return t
}

// InThread reports whether L runs inside a ratchet thread.
func InThread(L *lua.LState) bool { return worldOf(L).cur != nil }

// DeadTraceback returns the traceback captured when co's body raised.
func DeadTraceback(L *lua.LState, co *lua.LState) (string, bool) {
	s, ok := worldOf(L).traces[co]
	return s, ok
}

// IsParked reports whether co is a state that must not be resumed by Lua
// code: a ratchet thread's own coroutine, or a coroutine suspended inside a
// blocking call of some ratchet thread.
func IsParked(L *lua.LState, co *lua.LState) bool {
	w := worldOf(L)
	if w.parked[co] > 0 {
		return true
	}
	_, isThread := w.threads[co]
	return isThread
}

// ThreadStatus gives coroutine.status for ratchet threads ("" if co is not one).
func ThreadStatus(L *lua.LState, co *lua.LState) string {
	w := worldOf(L)
	t, ok := w.threads[co]
	if !ok {
		if w.parked[co] > 0 {
			return "normal"
		}
		return ""
	}
	if t.state == stRunning && L.G.CurrentThread == co {
		return "running"
	}
	if !t.state.live() {
		return "dead"
	}
	if t.state == stRunning {
		return "normal"
	}
	return "suspended"
}

func (w *world) rememberTrace(co *lua.LState, tr string) {
	w.traces[co] = tr
	w.traceQ = append(w.traceQ, co)
	if len(w.traceQ) > maxTraces {
		delete(w.traces, w.traceQ[0])
		w.traceQ = w.traceQ[1:]
	}
}

// ---- thread goroutine side ----

func (t *Thread) run() {
	// After the final report the scheduler owns t again: nothing here may
	// touch t once reported is set and the message is sent.
	reported := false
	k := t.k
	defer func() {
		// Reached on return and on runtime.Goexit after a kill by another
		// thread or the scheduler (self-kill reports through Kill).
		if !reported && !t.exiting {
			k.exitc <- struct{}{}
		}
	}()
	// Started by giveBaton: this goroutine holds the baton already.
	co := t.co
	co.G.CurrentThread = co
	co.Push(t.fn)
	for _, a := range t.args {
		co.Push(a)
	}
	t.args = nil
	err := co.PCall(co.GetTop()-1, 0, nil)
	co.SetTop(0)
	reported = true
	if err != nil {
		ae, ok := err.(*lua.ApiError)
		if !ok {
			ae = &lua.ApiError{Type: lua.ApiErrorRun, Object: lua.LString(err.Error())}
		}
		k.back <- yieldMsg{t: t, kind: yFailed, err: ae, trace: ae.StackTrace}
		return
	}
	k.back <- yieldMsg{t: t, kind: yDone}
}

// Thread goroutines are pooled: a goroutine whose thread finished waits a
// while for the next thread instead of exiting. A new connection's thread
// then starts on a goroutine whose stack has already grown to a session's
// depth, which saves the repeated stack copying (measured at ~12 µs per
// SMTP connection). Killed threads end their goroutine (runtime.Goexit).
var (
	idleWorkers = make(chan *Thread)
	idleCount   atomic.Int32
)

const (
	workerIdle     = 10 * time.Second
	maxIdleWorkers = 256 // bounds the stacks kept around after a burst
)

func startWorker(t *Thread) {
	select {
	case idleWorkers <- t:
	default:
		go worker(t)
	}
}

func worker(t *Thread) {
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for t != nil {
		t.run()
		if idleCount.Add(1) > maxIdleWorkers {
			idleCount.Add(-1)
			return
		}
		if !idle.Stop() {
			select {
			case <-idle.C:
			default:
			}
		}
		idle.Reset(workerIdle)
		select {
		case t = <-idleWorkers: // nil asks the worker to exit
		case <-idle.C:
			t = nil
		}
		idleCount.Add(-1)
	}
}

// ReleaseIdleWorkers ends the pooled goroutines that wait for a thread,
// for programs that count goroutines or are about to exit.
func ReleaseIdleWorkers() {
	for idleCount.Load() > 0 {
		select {
		case idleWorkers <- nil:
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// yieldToScheduler gives the baton away (to the next queued thread, else
// back to the scheduler) and waits to be resumed. If the thread is killed
// meanwhile, the goroutine ends here.
func (t *Thread) yieldToScheduler(L *lua.LState, kind yieldKind) wakeMsg {
	if !t.k.handOff() {
		t.k.back <- yieldMsg{t: t, kind: kind}
	}
	msg := <-t.wake
	if msg.kill {
		t.k.w.park(L, -1) // the scheduler waits in awaitExit meanwhile
		runtime.Goexit()
	}
	return msg
}

func (w *world) park(L *lua.LState, d int) {
	for s := L; s != nil; s = s.Parent {
		w.parked[s] += d
		if w.parked[s] <= 0 {
			delete(w.parked, s)
		}
	}
}

// Block suspends the ratchet thread running L while wait runs on its
// goroutine without the baton; other threads run meanwhile. cancel is closed
// if the thread is killed or the kernel stops; abort (optional) is called at
// the same moment, from another goroutine, to interrupt waits that do not
// watch cancel (for example by setting a deadline on a descriptor). wait must
// return promptly after either. From main (outside any ratchet thread) wait
// runs directly, cancelled only by the universe's context.
func Block(L *lua.LState, wait func(cancel <-chan struct{}), abort func()) {
	w := worldOf(L)
	t := w.cur
	if t == nil {
		var done <-chan struct{}
		if w.ctx != nil {
			done = w.ctx.Done()
		}
		wait(done)
		return
	}
	k := t.k
	savedCT := L.G.CurrentThread
	w.park(L, 1)
	t.cancel = make(chan struct{})
	t.abort = abort
	t.abortOnce = sync.Once{}
	t.state = stSuspended
	k.blocked++
	cancel := t.cancel
	if !k.handOff() {
		k.back <- yieldMsg{t: t, kind: yBlocked}
	}
	// No baton from here until the scheduler resumes us.
	wait(cancel)
	k.post(event{t: t})
	msg := <-t.wake
	if msg.kill {
		w.park(L, -1) // the scheduler waits in awaitExit meanwhile
		runtime.Goexit()
	}
	w.park(L, -1)
	L.G.CurrentThread = savedCT
}

// Cancelled reports whether cancel is closed (helper for wait functions).
func Cancelled(cancel <-chan struct{}) bool {
	select {
	case <-cancel:
		return true
	default:
		return false
	}
}

// Sleep blocks the calling thread for d (0: until the next poll).
// It returns false if it was cancelled.
func Sleep(L *lua.LState, d time.Duration) bool {
	ok := true
	Block(L, func(cancel <-chan struct{}) {
		if d <= 0 {
			ok = !Cancelled(cancel)
			return
		}
		tm := time.NewTimer(d)
		select {
		case <-tm.C:
		case <-cancel:
			tm.Stop()
			ok = false
		}
	}, nil)
	return ok
}

func (k *Kernel) post(e event) {
	k.mu.Lock()
	k.ready = append(k.ready, e)
	k.mu.Unlock()
	select {
	case k.notify <- struct{}{}:
	default:
	}
}

func (t *Thread) cancelWait() {
	t.abortOnce.Do(func() {
		if t.cancel != nil {
			close(t.cancel)
		}
		if t.abort != nil {
			t.abort()
		}
	})
}

// Pause is ratchet.thread.pause: suspends until Unpause, returns its values.
func Pause(L *lua.LState) []lua.LValue {
	w := worldOf(L)
	t := w.cur
	savedCT := L.G.CurrentThread
	t.state = stPaused
	w.park(L, 1)
	msg := t.yieldToScheduler(L, yPaused)
	w.park(L, -1)
	L.G.CurrentThread = savedCT
	return msg.vals
}

// Unpause queues a paused thread with the values its pause() returns.
// It returns false when t is not paused.
func Unpause(t *Thread, vals []lua.LValue) bool {
	k := t.k
	switch t.state {
	case stPaused:
		t.state = stQueued
		t.pauseVals = vals
		k.runq = append(k.runq, t)
		return true
	case stQueued:
		if t.gor { // unpaused twice before it ran: last values win
			t.pauseVals = vals
			return true
		}
	}
	return false
}

// WaitAll suspends the calling thread until every listed live thread ends.
func WaitAll(L *lua.LState, list []*Thread) {
	w := worldOf(L)
	t := w.cur
	k := t.k
	t.awaiting = map[*Thread]struct{}{}
	for _, c := range list {
		if c.state.live() && c != t {
			if _, dup := t.awaiting[c]; !dup {
				t.awaiting[c] = struct{}{}
				c.waiters = append(c.waiters, t)
			}
		}
	}
	t.state = stWaiting
	k.waitq = append(k.waitq, t)
	savedCT := L.G.CurrentThread
	w.park(L, 1)
	t.yieldToScheduler(L, yPaused)
	w.park(L, -1)
	L.G.CurrentThread = savedCT
}

// Attach creates a queued thread calling fn(args...) in the current kernel.
func Attach(L *lua.LState, fn lua.LValue, args []lua.LValue) *Thread {
	return worldOf(L).cur.k.attach(L, fn, args)
}

// SetAlarm arms (or re-arms) the current thread's alarm.
func SetAlarm(L *lua.LState, d time.Duration, cb lua.LValue) {
	t := worldOf(L).cur
	t.clearAlarm()
	t.alarmGen++
	gen := t.alarmGen
	t.alarmCB = cb
	k := t.k
	k.alarms++
	t.alarm = time.AfterFunc(d, func() { k.post(event{t: t, alarmGen: gen}) })
}

func (t *Thread) clearAlarm() {
	if t.alarm != nil {
		if t.alarm.Stop() {
			t.k.alarms-- // never fired; a fired one is counted down when its event is seen
		}
		t.alarm = nil
		t.alarmGen++
	}
}

// Space returns the thread's scratch value, storing def (or a new table).
func (t *Thread) Space(L *lua.LState, def lua.LValue) lua.LValue {
	if t.space == nil {
		if def == nil || def == lua.LNil {
			def = L.NewTable()
		}
		t.space = def
	}
	return t.space
}

// Live reports whether the thread is still live.
func (t *Thread) Live() bool { return t.state.live() }

// Kernel returns the thread's kernel.
func (t *Thread) Kernel() *Kernel { return t.k }

// ---- scheduler side ----

// remove takes a thread out of every structure after it ended.
func (k *Kernel) remove(t *Thread, st threadState) {
	t.state = st
	k.live--
	t.clearAlarm()
	for _, wt := range t.waiters {
		delete(wt.awaiting, t)
	}
	t.waiters = nil
	for c := range t.awaiting {
		c.dropWaiter(t)
	}
	t.awaiting = nil
	k.runq = removeThread(k.runq, t)
	k.waitq = removeThread(k.waitq, t)
	delete(k.w.threads, t.co)
	// coroutine.status must say "dead" from now on (the kernel no longer
	// knows the thread), and coroutine.resume must refuse it.
	t.co.Dead = true
	t.space = nil
	t.fn = nil
	t.args = nil
	if t.ctxCancel != nil {
		t.ctxCancel()
	}
}

func (c *Thread) dropWaiter(t *Thread) {
	for i, x := range c.waiters {
		if x == t {
			c.waiters = append(c.waiters[:i], c.waiters[i+1:]...)
			return
		}
	}
}

func removeThread(q []*Thread, t *Thread) []*Thread {
	for i, x := range q {
		if x == t {
			return append(q[:i], q[i+1:]...)
		}
	}
	return q
}

// Kill ends t without reporting (ratchet.thread.kill). Killing the calling
// thread ends it at once: Kill does not return then.
func Kill(L *lua.LState, t *Thread) {
	if !t.state.live() {
		return
	}
	k := t.k
	if t == k.w.cur && t.state == stRunning {
		k.remove(t, stKilled)
		t.exiting = true
		k.back <- yieldMsg{t: t, kind: yExited}
		runtime.Goexit()
	}
	k.kill(t)
}

// kill ends a thread that is not the one running; called under the baton.
func (k *Kernel) kill(t *Thread) {
	prev := t.state
	k.remove(t, stKilled)
	switch prev {
	case stSuspended:
		k.blocked--
		t.cancelWait()
		t.wake <- wakeMsg{kill: true}
		k.awaitExit()
	case stPaused, stWaiting:
		t.wake <- wakeMsg{kill: true}
		k.awaitExit()
	case stQueued:
		if t.gor { // unpaused, parked on wake
			t.wake <- wakeMsg{kill: true}
			k.awaitExit()
		}
	case stRunning:
		// A thread running a nested kernel's loop: cannot be stopped from here.
	}
}

// awaitExit waits for a killed thread's goroutine to finish unwinding, so
// that no two goroutines touch Lua state at once.
func (k *Kernel) awaitExit() { <-k.exitc }

// handOff is called by the thread holding the baton as it suspends
// itself: when another thread of its kernel is queued, the baton goes to
// it directly, as the scheduler would have done next (the queue is FIFO),
// but without the round trip through the scheduler's goroutine. Each
// goroutine hand-off readies a goroutine, and on a multi-core machine
// every one also wakes an idle OS thread; a local bus request and its
// response then cost two hand-offs instead of four. The scheduler sees
// the chain end when some thread gives the baton back to it (yieldMsg.t
// says which). It reports false when nothing is queued, and outside step 1
// of loop_once: threads resumed by a poll must not start queued threads
// before the poll's other threads have run (spec 1.3 step 4).
func (k *Kernel) handOff() bool {
	if !k.draining {
		return false
	}
	for len(k.runq) > 0 {
		next := k.runq[0]
		k.runq[0] = nil
		k.runq = k.runq[1:]
		if next.state != stQueued {
			continue
		}
		vals := next.pauseVals
		next.pauseVals = nil
		k.w.cur = next
		next.state = stRunning
		next.giveBaton(wakeMsg{vals: vals})
		return true
	}
	return false
}

// giveBaton wakes t, which holds the baton from now on. A thread that
// never ran is started on a worker goroutine instead, and that start is its
// wake-up (one goroutine hand-off per new thread, not two): it has no
// pause values yet, and nothing can kill it in between.
func (t *Thread) giveBaton(msg wakeMsg) {
	if !t.gor {
		t.gor = true
		startWorker(t)
		return
	}
	t.wake <- msg
}

// resume hands the baton to t and waits until a thread gives it back (t,
// or the last thread of a hand-off chain started by t: see handOff).
func (k *Kernel) resume(L *lua.LState, t *Thread, msg wakeMsg) yieldMsg {
	w := k.w
	prev := w.cur
	savedCT := L.G.CurrentThread
	w.cur = t
	t.state = stRunning
	t.giveBaton(msg)
	y := <-k.back
	w.cur = prev
	L.G.CurrentThread = savedCT
	return y
}

// after processes what a thread reported when it gave the baton back.
// It returns a non-nil error value to raise from loop when there is no handler.
func (k *Kernel) after(L *lua.LState, t *Thread, y yieldMsg) (lua.LValue, bool) {
	switch y.kind {
	case yDone:
		k.remove(t, stDone)
	case yFailed:
		k.remove(t, stFailed)
		k.w.rememberTrace(t.co, y.trace)
		return k.report(L, y.err.Object, t)
	case yExited:
		// killed itself; already removed
	}
	return nil, false
}

// report delivers a thread error to the handler; without one it returns the
// value for loop to raise.
func (k *Kernel) report(L *lua.LState, errv lua.LValue, t *Thread) (lua.LValue, bool) {
	if errv == nil {
		errv = lua.LNil
	}
	if k.handler == nil {
		return errv, true
	}
	L.Push(k.handler)
	L.Push(errv)
	L.Push(t.co)
	L.Call(2, 0) // errors from the handler propagate out of loop
	return nil, false
}

// LoopOnce is kernel:loop_once(noblock). It returns false when no live
// thread is left.
func (k *Kernel) LoopOnce(L *lua.LState, noblock bool) bool {
	// 1. Run queue, FIFO, including threads appended while draining.
	ran := false
	k.draining = true
	defer func() { k.draining = false }() // also when a thread error escapes
	for len(k.runq) > 0 {
		t := k.runq[0]
		k.runq = k.runq[1:]
		if t.state != stQueued {
			continue
		}
		vals := t.pauseVals
		t.pauseVals = nil
		ran = true
		y := k.resume(L, t, wakeMsg{vals: vals})
		if e, raise := k.after(L, y.t, y); raise {
			L.Error(e, 0)
		}
	}
	k.draining = false
	if ran {
		return true
	}
	// 2. Satisfied wait_all waiters, in the order they started waiting.
	var done []*Thread
	for _, t := range k.waitq {
		if len(t.awaiting) == 0 {
			done = append(done, t)
		}
	}
	if len(done) > 0 {
		for _, t := range done {
			k.waitq = removeThread(k.waitq, t)
		}
		for _, t := range done {
			if t.state != stWaiting {
				continue
			}
			t.awaiting = nil
			y := k.resume(L, t, wakeMsg{})
			if e, raise := k.after(L, y.t, y); raise {
				L.Error(e, 0)
			}
		}
		return true
	}
	// 3. Anything left?
	if k.live == 0 {
		return false
	}
	// 4. Poll.
	k.mu.Lock()
	n := len(k.ready)
	k.mu.Unlock()
	if n == 0 {
		if k.blocked == 0 && k.alarms == 0 {
			Raise(L, Error{Description: "Non-IO deadlock detected.", Code: "DEADLOCK", Function: "ratchet.loop_once()"})
		}
		if noblock {
			return true
		}
		var ctxDone <-chan struct{}
		if k.w.ctx != nil {
			ctxDone = k.w.ctx.Done()
		}
		select {
		case <-k.notify:
		case <-ctxDone:
			k.Shutdown(L)
			L.RaiseError("kernel stopped: %v", context.Cause(k.w.ctx))
		}
	}
	k.mu.Lock()
	evs := k.ready
	k.ready = nil
	k.mu.Unlock()
	var raise lua.LValue
	for i, ev := range evs {
		t := ev.t
		if ev.alarmGen != 0 {
			if ev.alarmGen == t.alarmGen {
				k.alarms--
				t.alarm = nil
				if e, r := k.fireAlarm(L, t); r && raise == nil {
					raise = e
					k.requeue(evs[i+1:])
					break
				}
			}
			continue
		}
		if t.state != stSuspended {
			continue // killed meanwhile; its goroutine is gone
		}
		k.blocked--
		y := k.resume(L, t, wakeMsg{})
		if e, r := k.after(L, y.t, y); r {
			raise = e
			k.requeue(evs[i+1:])
			break
		}
	}
	if raise != nil {
		L.Error(raise, 0)
	}
	return true
}

// requeue puts unprocessed events back in front, so that a loop() called
// again after an escaped error still sees them.
func (k *Kernel) requeue(evs []event) {
	if len(evs) == 0 {
		return
	}
	k.mu.Lock()
	k.ready = append(append([]event(nil), evs...), k.ready...)
	k.mu.Unlock()
	select {
	case k.notify <- struct{}{}:
	default:
	}
}

func (k *Kernel) fireAlarm(L *lua.LState, t *Thread) (lua.LValue, bool) {
	if !t.state.live() {
		return nil, false
	}
	cb := t.alarmCB
	t.alarmCB = nil
	k.kill(t)
	var errv lua.LValue
	if cb != nil && cb != lua.LNil {
		L.Push(cb)
		if err := pcallfix.PCall(L, 0, 0); err != nil {
			errv = pcallfix.ErrorValue(err)
		}
	}
	if errv == nil {
		e := NewError(L, Error{Description: "Thread alarm!", Code: "ALARM", Function: "ratchet.thread.alarm()"})
		e.RawSetString("thread", t.co)
		errv = e
	}
	return k.report(L, errv, t)
}

// Loop is kernel:loop().
func (k *Kernel) Loop(L *lua.LState) {
	k.w.kernels[k] = struct{}{}
	defer delete(k.w.kernels, k)
	for {
		if k.brk {
			k.brk = false
			return
		}
		if !k.LoopOnce(L, false) {
			return
		}
	}
}

// Shutdown kills every live thread of k and closes tracked resources.
func (k *Kernel) Shutdown(L *lua.LState) {
	var all []*Thread
	for _, t := range k.w.threads {
		if t.k == k && t.state.live() {
			all = append(all, t)
		}
	}
	for _, t := range all {
		k.kill(t)
	}
	CloseTracked(L)
}

// ShutdownAll kills the live threads of every kernel of L's universe and
// closes tracked resources. The embedding API calls it when a context ends
// while a thread was running Lua (the cancel then surfaces as a Lua error
// and loop may not have reached its own shutdown).
func ShutdownAll(L *lua.LState) {
	w := worldOf(L)
	for _, t := range w.threads {
		if t.state.live() && t.state != stRunning {
			t.k.kill(t)
		}
	}
	CloseTracked(L)
}

// Stopped reports whether the universe's context is done (for waits that
// poll it explicitly).
func Stopped(L *lua.LState) bool {
	w := worldOf(L)
	return w.ctx != nil && w.ctx.Err() != nil
}
