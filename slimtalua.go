// Package slimtalua embeds the slimta-lua interpreter in Go programs: a Lua
// state with the ratchet and slimta modules preloaded, the Lua 5.2
// compatibility layer, and helpers to run scripts under a context.
//
//	rt := slimtalua.New()
//	defer rt.Close()
//	err := rt.RunString(ctx, `print(require("ratchet").version)`, "demo")
//
// Each Runtime is independent; a program may run several at once, each from
// its own goroutine. A single Runtime must not be used from two goroutines
// at the same time.
package slimtalua

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/slimta-lua/slimta-lua/internal/pcallfix"
	"github.com/slimta-lua/slimta-lua/kernel"
	"github.com/slimta-lua/slimta-lua/luamod/compat"
	"github.com/slimta-lua/slimta-lua/luamod/ratchet"
	"github.com/slimta-lua/slimta-lua/luamod/slimta"
	lua "github.com/yuin/gopher-lua"
)

// Options configure a Runtime. The zero value is ready to use.
type Options struct {
	// CallStackSize limits Lua call depth in the main state (default 4096).
	CallStackSize int
	// Args sets the global arg table: Args[0] is the script name.
	Args []string
}

// Runtime is one independent Lua universe with ratchet and slimta available.
type Runtime struct {
	L *lua.LState
}

// New creates a Runtime. It panics only if the embedded Lua sources are
// broken, which tests rule out.
func New(opts ...Options) *Runtime {
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.CallStackSize <= 0 {
		o.CallStackSize = 4096
	}
	L := lua.NewState(lua.Options{
		CallStackSize:       o.CallStackSize,
		MinimizeStackMemory: true,
		RegistrySize:        1024,
		RegistryMaxSize:     1 << 22,
		RegistryGrowStep:    4096,
	})
	Setup(L)
	rt := &Runtime{L: L}
	if o.Args != nil {
		rt.SetArgs(o.Args, 0)
	}
	return rt
}

// Setup installs everything slimta-lua adds to a plain gopher-lua state:
// the compatibility layer, coroutine guards, blocking-safe replacements of
// standard functions, and the ratchet/slimta modules in package.preload.
func Setup(L *lua.LState) {
	// The built-in channel module blocks without releasing the kernel's
	// baton and would freeze every thread (kernel notes §2).
	L.SetGlobal("channel", lua.LNil)
	L.SetField(L.GetField(L.GetGlobal("package"), "loaded"), "channel", lua.LNil)
	compat.Open(L, compat.Options{DeadTraceback: kernel.DeadTraceback})
	pcallfix.Open(L)
	ratchet.GuardCoroutines(L)
	ratchet.WrapBlockingStdlib(L)
	ratchet.Preload(L)
	slimta.Preload(L)
}

// State returns the underlying gopher-lua state, for registering values
// or reading globals.
func (rt *Runtime) State() *lua.LState { return rt.L }

// Close releases the state.
func (rt *Runtime) Close() { rt.L.Close() }

// Register makes fn callable from Lua as the global name.
func (rt *Runtime) Register(name string, fn lua.LGFunction) {
	rt.L.SetGlobal(name, rt.L.NewFunction(fn))
}

// SetArgs builds the global arg table like the lua command: args[scriptIdx]
// becomes arg[0], earlier entries negative indices, later ones 1..n.
func (rt *Runtime) SetArgs(args []string, scriptIdx int) {
	t := rt.L.NewTable()
	for i, a := range args {
		t.RawSetInt(i-scriptIdx, lua.LString(a))
	}
	rt.L.SetGlobal("arg", t)
}

// Error is a Lua error that escaped a script: Value is the raised Lua
// value, Traceback the stack at the point it was raised.
type Error struct {
	Value     lua.LValue
	Message   string
	Traceback string
}

func (e *Error) Error() string { return e.Message }

// RunString compiles and runs src as a chunk named name.
func (rt *Runtime) RunString(ctx context.Context, src, name string) error {
	fn, err := rt.L.Load(strings.NewReader(src), strings.TrimLeft(name, "=@"))
	if err != nil {
		return err
	}
	_, err = rt.Call(ctx, fn)
	return err
}

// RunFile runs the Lua file at path with args as its ... values.
func (rt *Runtime) RunFile(ctx context.Context, path string, args ...string) error {
	fn, err := rt.L.LoadFile(path)
	if err != nil {
		return err
	}
	vals := make([]lua.LValue, len(args))
	for i, a := range args {
		vals[i] = lua.LString(a)
	}
	_, err = rt.Call(ctx, fn, vals...)
	return err
}

// Call runs fn(args...) under ctx and returns its results. Cancelling ctx
// stops every kernel loop of the runtime: threads are killed, tracked
// sockets closed, and the loop raises, so Call returns an error wrapping
// ctx's cause.
func (rt *Runtime) Call(ctx context.Context, fn lua.LValue, args ...lua.LValue) ([]lua.LValue, error) {
	L := rt.L
	top := L.GetTop()
	defer L.SetTop(top)
	if ctx != nil && ctx.Done() != nil {
		kernel.SetContext(L, ctx)
		L.SetContext(ctx)
		defer func() {
			kernel.SetContext(L, nil)
			L.RemoveContext()
		}()
	}
	L.Push(fn)
	for _, a := range args {
		L.Push(a)
	}
	// Capture the traceback at the error point, while the frames exist.
	var trace string
	capture := L.NewFunction(func(L *lua.LState) int {
		v := L.Get(1)
		if tb, ok := L.GetField(L.GetGlobal("debug"), "traceback").(*lua.LFunction); ok {
			L.Push(tb)
			L.Push(lua.LString(""))
			L.Push(lua.LNumber(3)) // skip traceback and this function
			if L.PCall(2, 1, nil) == nil {
				trace = strings.TrimPrefix(lua.LVAsString(L.Get(-1)), "\n")
			}
			L.Pop(1)
		}
		L.Push(v)
		return 1
	})
	err := pcallfix.PCallHandler(L, len(args), lua.MultRet, capture)
	if err == nil {
		n := L.GetTop() - top
		res := make([]lua.LValue, n)
		for i := range res {
			res[i] = L.Get(top + 1 + i)
		}
		return res, nil
	}
	e := &Error{Message: err.Error(), Traceback: trace}
	var ae *lua.ApiError
	if errors.As(err, &ae) {
		e.Value = ae.Object
		e.Message = rt.ToString(ae.Object)
		if e.Traceback == "" {
			e.Traceback = ae.StackTrace
		}
	}
	if ctx != nil && ctx.Err() != nil {
		kernel.ShutdownAll(L)
		return nil, fmt.Errorf("%w: %s", context.Cause(ctx), e.Message)
	}
	return nil, e
}

// CallGlobal calls the global function name with args and returns its results.
func (rt *Runtime) CallGlobal(ctx context.Context, name string, args ...lua.LValue) ([]lua.LValue, error) {
	fn := rt.L.GetGlobal(name)
	if fn == lua.LNil {
		return nil, fmt.Errorf("slimtalua: no global function %q", name)
	}
	return rt.Call(ctx, fn, args...)
}

// ToString converts a Lua value with tostring semantics (honouring __tostring).
func (rt *Runtime) ToString(v lua.LValue) string {
	L := rt.L
	if v == nil {
		return "nil"
	}
	if s, ok := v.(lua.LString); ok {
		return string(s)
	}
	L.Push(L.GetGlobal("tostring"))
	L.Push(v)
	if err := pcallfix.PCall(L, 1, 1); err != nil {
		return v.String()
	}
	s := lua.LVAsString(L.Get(-1))
	L.Pop(1)
	if s == "" {
		return fmt.Sprintf("(error object is a %s value)", v.Type())
	}
	return s
}

// Stderr is where uncaught errors are reported by helpers such as the CLI.
var Stderr = os.Stderr
