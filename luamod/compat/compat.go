// Package compat adds the Lua 5.2 behaviour that slimta and ratchet code
// relies on to gopher-lua, which implements Lua 5.1 (with bugs of its own).
//
// Open replaces or adds these globals (both 5.1 and 5.2 idioms keep working):
//
//	base:      tostring print tonumber select rawlen load loadstring unpack
//	           xpcall error pairs ipairs
//	table:     table.concat table.pack table.unpack
//	string:    string.format string.rep string.find
//	math:      math.log
//	bit32:     the whole library
//	os:        os.date os.time os.difftime os.exit
//	io:        io.write, io.output, file:write
//	debug:     debug.traceback
//	package:   package.searchpath package.searchers, package.loaded entries
//	           for the standard libraries
//
// Numbers are converted to strings with FormatNumber (C's "%.14g") by every
// function replaced here. The VM's own conversions cannot be changed from
// outside gopher-lua: the '..' operator, string coercion in arithmetic
// ("10"+1), numbers returned into string.gsub replacements, and library
// functions not replaced here that take a number where a string is expected
// still use gopher-lua's LNumber.String (Go's shortest form, so 1/3 .. ""
// gives "0.3333333333333333" and 2^53 .. "" gives "9007199254740992").
// Integers below 1e14 print the same either way, which covers ports,
// counters and timestamps.
//
// Chunk names given to load are stored in C Lua's short form ("=stdin" ->
// "stdin", "@f.lua" -> "f.lua", source -> [string "..."]) because gopher-lua
// uses the stored name directly in error messages and tracebacks; as a
// consequence debug.getinfo(f).source is that short form too.
//
// Things that need the compiler and cannot be added by Go functions: _ENV,
// the "\x41" and "\z" string escapes, and (in gopher-lua) yielding across
// pcall inside user coroutines.
package compat

import (
	lua "github.com/yuin/gopher-lua"
)

// Options configure Open.
type Options struct {
	// DeadTraceback, if set, returns a traceback captured earlier for a coroutine whose frames are gone
	// (a ratchet thread that died). debug.traceback(co, msg, level) uses it when it returns ok.
	//
	// The text may start with the "stack traceback:" header or not, and may be in gopher-lua's
	// format (ApiError.StackTrace): it is normalised to the C Lua style, and the first
	// level lines are dropped as C Lua does with the dead coroutine's frames.
	DeadTraceback func(L *lua.LState, co *lua.LState) (string, bool)
}

// state is shared by the closures that Open installs.
type state struct {
	opts Options

	tostring   *lua.LFunction // our tostring; print calls it directly unless replaced
	xpcallEnv  *lua.LTable    // marks xpcall's trampoline frames (hidden in tracebacks)
	pairsIter  lua.LValue     // gopher-lua's iterator for pairs (next)
	ipairsIter lua.LValue     // gopher-lua's iterator for ipairs
	ioOutput   lua.LValue     // the original io.output, to find the default output file
	ioOpen     lua.LValue     // the original io.open
	fileWrite  lua.LValue     // the original file:write
	strFind    lua.LValue     // the original string.find
	osExit     lua.LValue     // the original os.exit
}

// Open installs the Lua 5.2 compatibility layer into L's globals (call after the standard libs are open).
func Open(L *lua.LState, opts Options) {
	st := &state{opts: opts}
	g := L.G.Global

	st.openBase(L, g)
	st.openTable(L, g)
	st.openString(L, g)
	openMath(L, g)
	openBit32(L, g)
	st.openOS(L, g)
	st.openIO(L, g)
	st.openDebug(L, g)
	openPackage(L, g)
}

// libTable returns the global table name, or nil when that library is not open.
func libTable(g *lua.LTable, name string) *lua.LTable {
	t, _ := g.RawGetString(name).(*lua.LTable)
	return t
}

func setFuncs(L *lua.LState, t *lua.LTable, funcs map[string]lua.LGFunction) {
	for name, fn := range funcs {
		t.RawSetString(name, L.NewFunction(fn))
	}
}

// Argument helpers with the 5.2 C API coercions: a numeric string is
// accepted where a number is expected, and integers are taken by truncation
// (gopher-lua's CheckInt rejects "25").

func toNumber(v lua.LValue) (float64, bool) {
	switch x := v.(type) {
	case lua.LNumber:
		return float64(x), true
	case lua.LString:
		return ParseNumber(string(x))
	}
	return 0, false
}

func checkNumber(L *lua.LState, n int) float64 {
	f, ok := toNumber(L.Get(n))
	if !ok {
		L.TypeError(n, lua.LTNumber)
	}
	return f
}

func optNumber(L *lua.LState, n int, d float64) float64 {
	if L.Get(n) == lua.LNil {
		return d
	}
	return checkNumber(L, n)
}

// toInt truncates like a C cast of a double to lua_Integer, saturating
// instead of overflowing.
func toInt(f float64) int64 {
	switch {
	case f != f:
		return 0
	case f >= 9.2233720368547758e18:
		return 1<<63 - 1
	case f <= -9.2233720368547758e18:
		return -1 << 63
	}
	return int64(f)
}

func checkInt(L *lua.LState, n int) int64 { return toInt(checkNumber(L, n)) }

func optInt(L *lua.LState, n int, d int64) int64 {
	if L.Get(n) == lua.LNil {
		return d
	}
	return checkInt(L, n)
}

// checkString accepts strings and numbers (formatted with %.14g).
func checkString(L *lua.LState, n int) string {
	switch x := L.Get(n).(type) {
	case lua.LString:
		return string(x)
	case lua.LNumber:
		return FormatNumber(float64(x))
	}
	L.TypeError(n, lua.LTString)
	return ""
}

func optString(L *lua.LState, n int, d string) string {
	if L.Get(n) == lua.LNil {
		return d
	}
	return checkString(L, n)
}
