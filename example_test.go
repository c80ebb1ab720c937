package slimtalua_test

import (
	"context"
	"fmt"
	"time"

	slimtalua "github.com/slimta-lua/slimta-lua"
	lua "github.com/yuin/gopher-lua"
)

// A runtime with ratchet and slimta preloaded runs a script in a few lines.
func Example() {
	rt := slimtalua.New()
	defer rt.Close()
	err := rt.RunString(context.Background(), `
		require "ratchet"
		local kernel = ratchet.new(function ()
			local t = ratchet.thread.attach(function (a, b) print("sum", a + b) end, 2, 3)
			ratchet.thread.wait_all({t})
			print("child done")
		end)
		kernel:loop()
	`, "example")
	fmt.Println("error:", err)
	// Output:
	// sum	5
	// child done
	// error: <nil>
}

// Go functions registered on the runtime are callable from Lua, and results
// can be read back from globals.
func ExampleRuntime_Register() {
	rt := slimtalua.New()
	defer rt.Close()
	rt.Register("double", func(L *lua.LState) int {
		L.Push(L.CheckNumber(1) * 2)
		return 1
	})
	if err := rt.RunString(context.Background(), `result = double(21)`, "register"); err != nil {
		fmt.Println(err)
	}
	fmt.Println(rt.State().GetGlobal("result"))
	// Output: 42
}

// Cancelling the context stops every kernel of the runtime: threads end,
// tracked sockets close, and the call returns the context's error.
func ExampleRuntime_RunString_cancel() {
	rt := slimtalua.New()
	defer rt.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := rt.RunString(ctx, `
		require "ratchet"
		ratchet.new(function ()
			ratchet.thread.attach(function () ratchet.thread.timer(3600) end)
			ratchet.thread.timer(3600)
		end):loop()
	`, "forever")
	fmt.Println(err != nil, ctx.Err())
	// Output: true context deadline exceeded
}

// Lua errors come back as *slimtalua.Error with the message and the
// traceback captured where the error was raised.
func ExampleError() {
	rt := slimtalua.New()
	defer rt.Close()
	err := rt.RunString(context.Background(), `local function f() error("boom") end f()`, "=chunk")
	if e, ok := err.(*slimtalua.Error); ok {
		fmt.Println(e.Message)
	}
	// Output: chunk:1: boom
}
