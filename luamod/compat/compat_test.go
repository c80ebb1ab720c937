package compat

import (
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	lua "github.com/yuin/gopher-lua"
)

func newState(t testing.TB) *lua.LState {
	t.Helper()
	L := lua.NewState()
	Open(L, Options{})
	t.Cleanup(L.Close)
	return L
}

// eval runs a chunk and returns its results converted with tostring.
func eval(t testing.TB, L *lua.LState, code string) []string {
	t.Helper()
	top := L.GetTop()
	fn, err := L.LoadString(code)
	require.NoError(t, err, code)
	L.Push(fn)
	require.NoError(t, L.PCall(0, lua.MultRet, nil), code)
	out := []string{}
	for i := top + 1; i <= L.GetTop(); i++ {
		out = append(out, tostringValue(L, L.Get(i)).String())
	}
	L.SetTop(top)
	return out
}

// evalErr runs a chunk that must fail and returns the error value as a string.
func evalErr(t testing.TB, L *lua.LState, code string) string {
	t.Helper()
	top := L.GetTop()
	fn, err := L.LoadString(code)
	require.NoError(t, err, code)
	L.Push(fn)
	err = L.PCall(0, lua.MultRet, nil)
	require.Error(t, err, code)
	L.SetTop(top)
	return err.(*lua.ApiError).Object.String()
}

type luaCase struct {
	name string
	code string
	want []string
}

func runCases(t *testing.T, cases []luaCase) {
	t.Helper()
	L := newState(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, eval(t, L, c.code), c.code)
		})
	}
}

func TestFormatNumberTable(t *testing.T) {
	nan := math.NaN()
	cases := []struct {
		in   float64
		want string
	}{
		{0, "0"},
		{math.Copysign(0, -1), "-0"},
		{1, "1"},
		{-1, "-1"},
		{123, "123"},
		{1023, "1023"},
		{1024, "1024"},
		{-1023, "-1023"},
		{1e15, "1e+15"},
		{1e14, "1e+14"},
		{99999999999999, "99999999999999"},
		{123456789012345, "1.2345678901234e+14"}, // exact tie: round half to even
		{math.Pow(2, 53), "9.007199254741e+15"},
		{math.Pow(2, 63), "9.2233720368548e+18"},
		{1700000000.5, "1700000000.5"},
		{1700000000, "1700000000"},
		{1.0 / 3, "0.33333333333333"},
		{2.0 / 3, "0.66666666666667"},
		{0.1, "0.1"},
		{0.1 + 0.2, "0.3"},
		{1e-4, "0.0001"},
		{1e-5, "1e-05"},
		{2.5e-5, "2.5e-05"},
		{0.000123456789012345, "0.00012345678901234"},
		{1e100, "1e+100"},
		{1e300, "1e+300"},
		{5e-324, "4.9406564584125e-324"},
		{math.MaxFloat64, "1.7976931348623e+308"},
		{-123.456, "-123.456"},
		{3.14159265358979, "3.1415926535898"},
		{math.Inf(1), "inf"},
		{math.Inf(-1), "-inf"},
		{nan, "nan"},
		{math.Copysign(nan, -1), "-nan"},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, FormatNumber(c.in), "%v", c.in)
	}
}

func TestParseNumber(t *testing.T) {
	good := map[string]float64{
		"1e2": 100, "2e-1": 0.2, "0x1A": 26, " 10 ": 10, "1.5E3": 1500, "+5": 5, "-5": -5,
		".5": 0.5, "5.": 5, "0x.8": 0.5, "0x1.8p3": 12, "0x1.8": 1.5, " -0x10 ": -16, "+0x10": 16,
		"\t\n\v\f\r7\r\n": 7, "1e400": math.Inf(1), "-1e400": math.Inf(-1), "1e-400": 0,
		"0X1P-1": 0.5, "007": 7, "1E+2": 100, "0x10000000000000000000": 7.555786372591432e+22,
	}
	for s, want := range good {
		got, ok := ParseNumber(s)
		assert.True(t, ok, "%q", s)
		assert.Equal(t, want, got, "%q", s)
	}
	bad := []string{"", " ", "1e", "0x", "abc", "1 2", ".", "- 1", "1\x00", "inf", "nan", "Infinity",
		"0x1p", "1e+", "1_000", "0b101", "1.2.3", "--1", "0xg", "e5", "1e5.5", "0x1.8p3.5", "٣"}
	for _, s := range bad {
		_, ok := ParseNumber(s)
		assert.False(t, ok, "%q", s)
	}
}

func TestTostringPrintConcat(t *testing.T) {
	runCases(t, []luaCase{
		{"integers", `return tostring(1), tostring(-7), tostring(2^53), tostring(1e15), tostring(123)`,
			[]string{"1", "-7", "9.007199254741e+15", "1e+15", "123"}},
		{"fractions", `return tostring(1700000000.5), tostring(1/3), tostring(-0.0), tostring(1/0), tostring(-1/0)`,
			[]string{"1700000000.5", "0.33333333333333", "-0", "inf", "-inf"}},
		{"others", `return tostring(nil), tostring(true), tostring(false), tostring("s")`,
			[]string{"nil", "true", "false", "s"}},
		{"__tostring", `return tostring(setmetatable({}, {__tostring = function() return "T" end}))`, []string{"T"}},
		{"__tostring non-string", `return type(tostring(setmetatable({}, {__tostring = function() return 42 end})))`, []string{"number"}},
		{"table default", `local s = tostring({}) return s:match("^table: 0x%x+$") ~= nil`, []string{"true"}},
		{"function default", `return tostring(print):match("^function: ") ~= nil`, []string{"true"}},
		{"format %s", `return string.format("%s|%s|%s|%s", 1/3, 2^53, setmetatable({}, {__tostring = function() return "T" end}), nil)`,
			[]string{"0.33333333333333|9.007199254741e+15|T|nil"}},
		{"concat numbers", `return table.concat({1, 2.5, "x", 1/3, 1e15}, ",")`, []string{"1,2.5,x,0.33333333333333,1e+15"}},
		{"concat range", `return table.concat({"a", "b", "c", "d"}, "-", 2, 3), table.concat({"a"}, ",", 1, 1), table.concat({}, ","), table.concat({1, 2, 3}, ",", 3, 2)`,
			[]string{"b-c", "a", "", ""}},
		{"concat sep number", `return table.concat({1, 2}, 0)`, []string{"102"}},
		{"concat __len", `return table.concat(setmetatable({"a", "b", "c"}, {__len = function() return 2 end}))`, []string{"ab"}},
		{"concat large", `local t = {} for i = 1, 100000 do t[i] = "line" .. i end local s = table.concat(t, "\r\n") return #s, s:sub(1, 13), s:sub(-10)`,
			[]string{"1088893", "line1\r\nline2\r", "line100000"}},
	})
	L := newState(t)
	assert.Equal(t, "<string>:1: invalid value (table) at index 2 in table for 'concat'",
		evalErr(t, L, `table.concat({1, {}, 3})`))
	assert.Equal(t, "<string>:1: invalid value (nil) at index 4 in table for 'concat'",
		evalErr(t, L, `table.concat({1, 2, 3}, ",", 2, 5)`))
}

// captureStdout runs fn and returns what it wrote to os.Stdout.
func captureStdout(t *testing.T, fn func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	old := os.Stdout
	os.Stdout = w
	done := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		done <- string(b)
	}()
	defer func() { os.Stdout = old }()
	fn()
	w.Close()
	os.Stdout = old
	return <-done
}

func TestPrint(t *testing.T) {
	L := newState(t)
	out := captureStdout(t, func() {
		eval(t, L, `print(1, 1/3, nil, true, setmetatable({}, {__tostring = function() return "T" end}), 2^53)
		print()
		print("a", "b")`)
	})
	assert.Equal(t, "1\t0.33333333333333\tnil\ttrue\tT\t9.007199254741e+15\n\na\tb\n", out)
	// A replaced global tostring is honoured, as in 5.2.
	out = captureStdout(t, func() {
		eval(t, L, `local old = tostring
		tostring = function(v) return "<" .. old(v) .. ">" end
		print(1, "x")
		tostring = old`)
	})
	assert.Equal(t, "<1>\t<x>\n", out)
	assert.Contains(t, evalErr(t, L, `print(setmetatable({}, {__tostring = function() return {} end}))`),
		"'tostring' must return a string to 'print'")
}

func TestIOWrite(t *testing.T) {
	L := newState(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "out.txt")
	L.SetGlobal("path", lua.LString(path))
	path2 := filepath.Join(dir, "out2.txt")
	require.NoError(t, os.WriteFile(path2, []byte("stale content that io.output must truncate"), 0o644))
	L.SetGlobal("path2", lua.LString(path2))
	assert.Equal(t, []string{"true"}, eval(t, L, `
		local f = assert(io.open(path, "w"))
		local r = f:write(1/3, " ", 42, " ", 2^53, "\n"):write("chained\n")
		f:close()
		return r == f`))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "0.33333333333333 42 9.007199254741e+15\nchained\n", string(b))

	out := captureStdout(t, func() {
		// io.stdout was bound to the original os.Stdout when the state was
		// opened, so redirect io.output to the test file instead.
		eval(t, L, `io.output(path2) local r = io.write(1.5, "|", 1e15) io.output():close() io.output(io.stdout) return r`)
	})
	assert.Empty(t, out)
	assert.Contains(t, evalErr(t, L, `io.output("/nonexistent/dir/file")`), "cannot open file '/nonexistent/dir/file'")
	b, err = os.ReadFile(path2)
	require.NoError(t, err)
	assert.Equal(t, "1.5|1e+15", string(b))
}

func TestTonumber(t *testing.T) {
	runCases(t, []luaCase{
		{"exponents", `return tonumber("1e2"), tonumber("2e-1"), tonumber("1.5E3")`, []string{"100", "0.2", "1500"}},
		{"hex and spaces", `return tonumber("0x1A"), tonumber(" 10 "), tonumber("-0x10")`, []string{"26", "10", "-16"}},
		{"invalid", `return tonumber("1e"), tonumber(""), tonumber("0x"), tonumber("abc"), tonumber("1 2")`,
			[]string{"nil", "nil", "nil", "nil", "nil"}},
		{"non-strings", `return tonumber(5), tonumber(nil), tonumber({}), tonumber(true)`, []string{"5", "nil", "nil", "nil"}},
		{"bases", `return tonumber("ff", 16), tonumber("-ff", 16), tonumber(" 11 ", 2), tonumber("z", 36), tonumber("Zz", 36)`,
			[]string{"255", "-255", "3", "35", "1295"}},
		{"bases invalid", `return tonumber("8", 8), tonumber("0x1A", 16), tonumber("", 10), tonumber("1.5", 10), tonumber("1 1", 2)`,
			[]string{"nil", "nil", "nil", "nil", "nil"}},
		{"base with number", `return tonumber(10, 16), tonumber("10", "16")`, []string{"16", "16"}},
	})
	L := newState(t)
	assert.Contains(t, evalErr(t, L, `tonumber("1", 1)`), "base out of range")
	assert.Contains(t, evalErr(t, L, `tonumber("1", 37)`), "base out of range")
	assert.Contains(t, evalErr(t, L, `tonumber()`), "value expected")
}

func TestTableUnpackPack(t *testing.T) {
	runCases(t, []luaCase{
		{"unpack all", `return table.unpack({1, 2, 3})`, []string{"1", "2", "3"}},
		{"unpack i", `return table.unpack({1, 2, 3}, 2)`, []string{"2", "3"}},
		{"unpack i j", `return table.unpack({1, 2, 3}, 2, 3)`, []string{"2", "3"}},
		{"unpack beyond", `return table.unpack({1, 2}, 2, 4)`, []string{"2", "nil", "nil"}},
		{"unpack empty", `return select("#", table.unpack({1, 2}, 3))`, []string{"0"}},
		{"global unpack", `return unpack({"a", "b"})`, []string{"a", "b"}},
		{"same function", `return table.unpack == unpack`, []string{"true"}},
		{"unpack string idx", `return table.unpack({1, 2, 3}, "2")`, []string{"2", "3"}},
		{"pack", `local p = table.pack(1, nil, 3) return p.n, p[1], p[2], p[3]`, []string{"3", "1", "nil", "3"}},
		{"pack empty", `return table.pack().n`, []string{"0"}},
	})
	L := newState(t)
	assert.Contains(t, evalErr(t, L, `table.unpack({}, 1, 1e9)`), "too many results to unpack")
}

func TestLoad(t *testing.T) {
	runCases(t, []luaCase{
		{"string", `return load("return 1+1")()`, []string{"2"}},
		{"loadstring", `return loadstring("return 2+2")()`, []string{"4"}},
		{"env", `local env = {x = 5} return load("return x", "chunk", "t", env)()`, []string{"5"}},
		{"env isolation", `x = 1 local f = load("x = 2 return x", "c", "t", {}) return f(), x`, []string{"2", "1"}},
		{"reader", `local parts, i = {"return ", "4", "2"}, 0
			return load(function() i = i + 1 return parts[i] end)()`, []string{"42"}},
		{"reader empty string ends", `local parts, i = {"return 1", "", "+1"}, 0
			return load(function() i = i + 1 return parts[i] end)()`, []string{"1"}},
		{"syntax error", `return load("x x", "=my")`, []string{"nil", "my:1: syntax error near 'x'"}},
		{"syntax error default name", `return load("return +")`, []string{"nil", `[string "return +"]:1: syntax error near '+'`}},
		{"syntax error at eof", `return load("return (1", "=x")`, []string{"nil", `x:1: syntax error near <eof>`}},
		{"runtime error name", `return pcall(load("error('boom')", "@file.lua"))`, []string{"false", "file.lua:1: boom"}},
		{"chunk name", `return pcall(load("local x = nil; return x.y", "=(load)"))`,
			[]string{"false", "(load):1: attempt to index a non-table object(nil) with key 'y'"}},
		{"long chunk name", `return pcall(load("error('e')", "local a = 1 -- a long first line of source code that goes on\nerror()"))`,
			[]string{"false", `[string "local a = 1 -- a long first line of source co..."]:1: e`}},
		{"mode b", `return load("return 1", "x", "b")`, []string{"nil", "attempt to load a text chunk (mode is 'b')"}},
		{"mode t binary", `return load("\27Lua", "x", "t")`, []string{"nil", "attempt to load a binary chunk (mode is 't')"}},
		{"reader non-string", `return load(function() return {} end)`, []string{"nil", "reader function must return a string"}},
		{"reader error", `return load(function() error("rd", 0) end)`, []string{"nil", "rd"}},
	})
}

func TestMathLog(t *testing.T) {
	runCases(t, []luaCase{
		{"base 2", `return math.log(8, 2), math.log(1024, 2)`, []string{"3", "10"}},
		{"base 10", `return math.log(100, 10), math.log(1000, 10)`, []string{"2", "3"}},
		{"base e", `return math.log(1), math.log(math.exp(2))`, []string{"0", "2"}},
		{"other base", `return math.log(27, 3), math.log(0, 2)`, []string{"3", "-inf"}},
		{"string args", `return math.log("8", "2")`, []string{"3"}},
	})
}

func TestBit32(t *testing.T) {
	runCases(t, []luaCase{
		{"band", `return bit32.band(0xFF, 0x0F), bit32.band(), bit32.band(-1), bit32.band(0xF0F0, 0xFF00, 0x3000)`,
			[]string{"15", "4294967295", "4294967295", "12288"}},
		{"bor bxor", `return bit32.bor(1, 2, 4), bit32.bor(), bit32.bxor(3, 1), bit32.bxor(), bit32.bxor(0xFF, 0xFF, 0xFF)`,
			[]string{"7", "0", "2", "0", "255"}},
		{"bnot", `return bit32.bnot(0), bit32.bnot(0xFFFFFFFF), bit32.bnot(-1)`, []string{"4294967295", "0", "0"}},
		{"btest", `return bit32.btest(1, 2), bit32.btest(3, 2), bit32.btest()`, []string{"false", "true", "true"}},
		{"modulo", `return bit32.band(2^32 + 5), bit32.band(-2), bit32.band(1.9), bit32.band(-1.5), bit32.band(2^40 + 1)`,
			[]string{"5", "4294967294", "1", "4294967294", "1"}},
		{"lshift", `return bit32.lshift(1, 31), bit32.lshift(1, 32), bit32.lshift(0xFF, -4), bit32.lshift(3, 0)`,
			[]string{"2147483648", "0", "15", "3"}},
		{"rshift", `return bit32.rshift(0x80000000, 31), bit32.rshift(1, 32), bit32.rshift(0xFF, -4), bit32.rshift(-1, 28)`,
			[]string{"1", "0", "4080", "15"}},
		{"arshift", `return bit32.arshift(0x80000000, 4), bit32.arshift(0x80000000, 40), bit32.arshift(0x40000000, 4), bit32.arshift(-16, -2), bit32.arshift(-1, 31)`,
			[]string{"4160749568", "4294967295", "67108864", "4294967232", "4294967295"}},
		{"rotate", `return bit32.lrotate(0x80000001, 1), bit32.rrotate(1, 1), bit32.lrotate(0x12345678, 32), bit32.lrotate(0x12345678, -4), bit32.rrotate(0x12345678, 36)`,
			[]string{"3", "2147483648", "305419896", "2166572391", "2166572391"}},
		{"extract", `return bit32.extract(0xF0, 4, 4), bit32.extract(0x80000000, 31), bit32.extract(0xFFFFFFFF, 0, 32), bit32.extract(5, 1)`,
			[]string{"15", "1", "4294967295", "0"}},
		{"replace", `return bit32.replace(0, 5, 4, 3), bit32.replace(0xFFFFFFFF, 0, 0), bit32.replace(0, 0xFFFF, 28, 4), bit32.replace(1, 1, 31)`,
			[]string{"80", "4294967294", "4026531840", "2147483649"}},
		{"string coercion", `return bit32.band("255", "0x0F")`, []string{"15"}},
	})
	L := newState(t)
	assert.Contains(t, evalErr(t, L, `bit32.extract(1, 30, 3)`), "trying to access non-existent bits")
	assert.Contains(t, evalErr(t, L, `bit32.extract(1, -1)`), "field cannot be negative")
	assert.Contains(t, evalErr(t, L, `bit32.extract(1, 0, 0)`), "width must be positive")
	assert.Contains(t, evalErr(t, L, `bit32.band({})`), "number expected")
}

func TestBaseMisc(t *testing.T) {
	runCases(t, []luaCase{
		{"rawlen", `return rawlen({1, 2, 3}), rawlen("abcd"), rawlen(setmetatable({1}, {__len = function() return 9 end}))`,
			[]string{"3", "4", "1"}},
		{"select #", `return select("#"), select("#", 1, nil, 3, nil)`, []string{"0", "4"}},
		{"select negative", `return select(-1, 1, 2, 3)`, []string{"3"}},
		{"select -3", `return select(-3, 1, 2, 3)`, []string{"1", "2", "3"}},
		{"select past end", `return select("#", select(5, 1, 2, 3))`, []string{"0"}},
		{"select numeric string", `return select("2", "a", "b", "c")`, []string{"b", "c"}},
		{"pairs __pairs", `local out = {}
			local t = setmetatable({}, {__pairs = function(t) return function(_, k) if not k then return 1, "one" end end, t, nil end})
			for k, v in pairs(t) do out[#out + 1] = k .. "=" .. v end
			return table.concat(out, ",")`, []string{"1=one"}},
		{"pairs plain", `local n = 0 for k, v in pairs({a = 1, b = 2, 3}) do n = n + v end return n`, []string{"6"}},
		{"pairs metatable without __pairs", `local n = 0 for k, v in pairs(setmetatable({1, 2}, {})) do n = n + v end return n`, []string{"3"}},
		{"ipairs", `local n = 0 for i, v in ipairs({1, 2, nil, 4}) do n = n + v end return n`, []string{"3"}},
		{"ipairs __ipairs", `local t = setmetatable({}, {__ipairs = function(t) return function(_, i) if i < 2 then return i + 1, "v" end end, t, 0 end})
			local s = "" for i, v in ipairs(t) do s = s .. i .. v end return s`, []string{"1v2v"}},
		{"error position", `return select(2, pcall(error, "x")), select(2, pcall(function() error("y") end)), select(2, pcall(function() error("z", 0) end))`,
			[]string{"x", "<string>:1: y", "z"}},
		{"error level 2", `local function f() error("lvl", 2) end
			return select(2, pcall(function()
				f()
			end))`, []string{"<string>:3: lvl"}},
		{"error table", `local e = {} local ok, got = pcall(error, e) return rawequal(e, got)`, []string{"true"}},
		{"error number", `return select(2, pcall(function() error(42) end))`, []string{"<string>:1: 42"}},
		{"string.rep sep", `return string.rep("ab", 3, ","), string.rep("x", 0), string.rep("x", -1, ","), string.rep("x", 1, ","), ("ab"):rep(2)`,
			[]string{"ab,ab,ab", "", "", "x", "abab"}},
		{"find plain", `return ("hello"):find("l", 1, true)`, []string{"3", "3"}},
		{"find empty past end", `return ("hello"):find("", 10)`, []string{"nil"}},
		{"find empty", `return ("hello"):find("", 3)`, []string{"3", "2"}},
		{"find empty at end", `return ("hello"):find("", 6)`, []string{"6", "5"}},
		{"find plain past end", `return ("abc"):find("c", 10, true)`, []string{"nil"}},
		{"find pattern", `return ("hello"):find("l+")`, []string{"3", "4"}},
		{"find captures", `return ("hello"):find("(h)(e)")`, []string{"1", "2", "h", "e"}},
		{"find dot plain", `return ("a.b"):find(".", 1, true)`, []string{"2", "2"}},
		{"find no specials", `return ("a.b"):find("b", -1)`, []string{"3", "3"}},
		{"find negative init", `return ("hello"):find("l", -2)`, []string{"4", "4"}},
		{"find very negative init", `return ("hello"):find("h", -100)`, []string{"1", "1"}},
		{"find anchored", `return ("hello"):find("^l", 3)`, []string{"3", "3"}},
	})
	L := newState(t)
	assert.Contains(t, evalErr(t, L, `string.rep("x", 1e12)`), "resulting string too large")
	assert.Contains(t, evalErr(t, L, `string.rep("abc", 2^29, "")`), "resulting string too large")
	assert.Contains(t, evalErr(t, L, `rawlen(5)`), "table or string expected")
	assert.Contains(t, evalErr(t, L, `select(0, 1)`), "index out of range")
	assert.Contains(t, evalErr(t, L, `select(-3, 1)`), "index out of range")
}

func TestStringFormat(t *testing.T) {
	runCases(t, []luaCase{
		{"basics", `return string.format("%d %5.2f %x %X %o %c %e %g %i %u %%", 3.0, 3.14159, 255, 255, 8, 65, 12345.678, 0.0001, 42, 7)`,
			[]string{"3  3.14 ff FF 10 A 1.234568e+04 0.0001 42 7 %"}},
		{"%d truncates", `return string.format("%d", 3.7), string.format("%d", -3.7), string.format("%d", "12")`, []string{"3", "-3", "12"}},
		{"%x negative", `return string.format("%x", -1)`, []string{"ffffffffffffffff"}},
		{"%s width", `return string.format("[%5s][%-5s][%.2s][%5.1s]", "ab", "ab", "xyz", "xyz")`, []string{"[   ab][ab   ][xy][    x]"}},
		{"%s long", `return #string.format("%s", string.rep("x", 300))`, []string{"300"}},
		{"%s NUL", `return #string.format("%s", "a\0b")`, []string{"3"}},
		{"%q number", `return string.format("%q", 1/3)`, []string{`"0.33333333333333"`}},
		{"%c zero", `return #string.format("%c", 0)`, []string{"1"}},
		{"%g", `return string.format("%g %g %g %g %.3g", 100000, 1e6, 1e-5, 0.5, 1234567)`, []string{"100000 1e+06 1e-05 0.5 1.23e+06"}},
		{"inf nan", `return string.format("%f %e %g %5.1f %d", 1/0, -1/0, 1/0, -1/0, 3)`, []string{"inf -inf inf  -inf 3"}},
		{"no args", `return string.format("plain")`, []string{"plain"}},
		{"mixed", `return string.format("%s=%d;%s", "a", 1, true)`, []string{"a=1;true"}},
	})
	L := newState(t)
	assert.Contains(t, evalErr(t, L, `string.format("%d")`), "bad argument #2")
	assert.Contains(t, evalErr(t, L, `string.format("%d", "x")`), "number expected")
	assert.Contains(t, evalErr(t, L, `string.format("%y", 1)`), "invalid option '%y' to 'format'")
	assert.Contains(t, evalErr(t, L, `string.format("%", 1)`), "invalid option '%' to 'format'")
	assert.Contains(t, evalErr(t, L, `string.format("%123d", 1)`), "invalid format (width or precision too long)")
	assert.Contains(t, evalErr(t, L, `string.format("%------d", 1)`), "invalid format (repeated flags)")
	assert.Contains(t, evalErr(t, L, `string.format("%d", 2^63)`), "not a number in proper range")
	assert.Contains(t, evalErr(t, L, `string.format("%d", 0/0)`), "not a number in proper range")
	assert.Contains(t, evalErr(t, L, `string.format("%q", {})`), "string expected")
	assert.Contains(t, evalErr(t, L, `string.format("%s", setmetatable({}, {__tostring = function() return {} end}))`),
		"'__tostring' must return a string")
}

func TestFormatQRoundTrip(t *testing.T) {
	L := newState(t)
	assert.Equal(t, []string{`"a\` + "\n" + `b\0c\r\1\127` + "\x80" + `\"\\1\0001"`},
		eval(t, L, `return string.format("%q", "a\nb\0c\r\1\127\128\"\\1\0".."1")`))
	// Every byte value, alone and followed by a digit, must read back.
	assert.Equal(t, []string{"0"}, eval(t, L, `
		local bad = 0
		for b = 0, 255 do
			for _, s in ipairs({string.char(b), string.char(b) .. "1", "x" .. string.char(b) .. string.char(b)}) do
				local q = string.format("%q", s)
				local f = assert(load("return " .. q))
				if f() ~= s then bad = bad + 1 end
			end
		end
		return bad`))
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	L.SetGlobal("all", lua.LString(all))
	assert.Equal(t, []string{"true"}, eval(t, L, `return load("return " .. string.format("%q", all .. all))() == all .. all`))
}

func TestOSDate(t *testing.T) {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	defer pinLocation(loc)()
	runCases(t, []luaCase{
		{"utc", `return os.date("!%a, %d %b %Y %H:%M:%S", 1700000000)`, []string{"Tue, 14 Nov 2023 22:13:20"}},
		{"%c %x %X", `return os.date("!%c|%x|%X|%Z", 1700000000)`, []string{"Tue Nov 14 22:13:20 2023|11/14/23|22:13:20|GMT"}},
		{"local", `return os.date("%H:%M %z %Z", 1700000000), os.date("%H:%M %z %Z", 1688205600)`,
			[]string{"23:13 +0100 CET", "12:00 +0200 CEST"}},
		{"T e j D R h u", `return os.date("!%T|%e|%j|%D|%R|%h|%u|%n|%t", 1700000000)`,
			[]string{"22:13:20|14|318|11/14/23|22:13|Nov|2|\n|\t"}},
		{"unknown literal", `return os.date("!%Q %k %Ez %", 0)`, []string{"%Q %k %Ez %"}},
		{"float time", `return os.date("!%S", 59.9)`, []string{"59"}},
		{"string time", `return os.date("!%Y", "86400")`, []string{"1970"}},
		{"utc table", `local t = os.date("!*t", 1700000000)
			return t.year, t.month, t.day, t.hour, t.min, t.sec, t.wday, t.yday, t.isdst`,
			[]string{"2023", "11", "14", "22", "13", "20", "3", "318", "false"}},
		{"local table dst", `local t = os.date("*t", 1688205600) return t.hour, t.isdst, t.yday`, []string{"12", "true", "182"}},
		{"default format", `return #os.date() > 0, os.date("!%c", 0)`, []string{"true", "Thu Jan  1 00:00:00 1970"}},
		{"empty format", `return os.date("", 0)`, []string{""}},
		{"huge time", `return os.date("%Y", 2^62)`, []string{"nil"}},
	})
}

func TestOSTime(t *testing.T) {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	defer pinLocation(loc)()
	// Expected values from glibc's mktime with TZ=Europe/Berlin.
	runCases(t, []luaCase{
		{"summer", `return os.time({year = 2023, month = 7, day = 1, hour = 12})`, []string{"1688205600"}},
		{"summer isdst=false", `return os.time({year = 2023, month = 7, day = 1, hour = 12, isdst = false})`, []string{"1688209200"}},
		{"summer isdst=true", `return os.time({year = 2023, month = 7, day = 1, hour = 12, isdst = true})`, []string{"1688205600"}},
		{"winter", `return os.time({year = 2023, month = 1, day = 15, hour = 12})`, []string{"1673780400"}},
		{"winter isdst=false", `return os.time({year = 2023, month = 1, day = 15, hour = 12, isdst = false})`, []string{"1673780400"}},
		{"winter isdst=true", `return os.time({year = 2023, month = 1, day = 15, hour = 12, isdst = true})`, []string{"1673776800"}},
		{"month 13", `return os.time({year = 2023, month = 13, day = 1, hour = 0})`, []string{"1704063600"}},
		{"all out of range", `return os.time({year = 2023, month = 2, day = 30, hour = 25, min = 61, sec = -5})`, []string{"1677805255"}},
		{"zeros", `return os.time({year = 2024, month = 0, day = 0, hour = 0})`, []string{"1701298800"}},
		{"string fields", `return os.time({year = "2023", month = "07", day = "1", hour = "12"})`, []string{"1688205600"}},
		{"default hour 12", `return os.time({year = 2023, month = 7, day = 1})`, []string{"1688205600"}},
		{"round trip", `local now = os.time() return os.time(os.date("*t", now)) == now`, []string{"true"}},
		{"now", `return math.abs(os.time() - ` + "os.time(nil)" + `) <= 1`, []string{"true"}},
		{"difftime", `return os.difftime(10, 3), os.difftime(10), os.difftime(10.9, 0.5)`, []string{"7", "10", "10"}},
	})
	L := newState(t)
	assert.Contains(t, evalErr(t, L, `os.time({year = 2023, month = 1})`), "field 'day' missing in date table")
	assert.Contains(t, evalErr(t, L, `os.time({year = 2023, day = 1})`), "field 'month' missing in date table")
	assert.Contains(t, evalErr(t, L, `os.time(5)`), "table expected")
}

func TestPackage(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "foo"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "foo", "bar.lua"), []byte("return 1"), 0o644))
	L := newState(t)
	L.SetGlobal("dir", lua.LString(dir))
	assert.Equal(t, []string{filepath.Join(dir, "foo", "bar.lua")},
		eval(t, L, `return package.searchpath("foo.bar", dir .. "/?.so;" .. dir .. "/?.lua")`))
	assert.Equal(t, []string{"nil", "\n\tno file '/nonexistent/foo/bar.lua'\n\tno file '/nonexistent/foo/bar.so'"},
		eval(t, L, `return package.searchpath("foo.bar", "/nonexistent/?.lua;;/nonexistent/?.so")`))
	assert.Equal(t, []string{"nil", "\n\tno file '/nonexistent/foo_bar.x'"},
		eval(t, L, `return package.searchpath("foo.bar", "/nonexistent/?.x", ".", "_")`))
	assert.Equal(t, []string{"nil", "\n\tno file '/nonexistent/foo.bar.x'"},
		eval(t, L, `return package.searchpath("foo.bar", "/nonexistent/?.x", "")`))
	runCases(t, []luaCase{
		{"searchers", `return package.searchers == package.loaders, type(package.searchers)`, []string{"true", "table"}},
		{"require std", `return require("package") == package, require("string") == string, require("table") == table,
			require("math") == math, require("os") == os, require("io") == io, require("coroutine") == coroutine,
			require("debug") == debug, require("bit32") == bit32, require("_G") == _G`,
			[]string{"true", "true", "true", "true", "true", "true", "true", "true", "true", "true"}},
	})
}

func TestXpcall(t *testing.T) {
	runCases(t, []luaCase{
		{"extra args", `return xpcall(function(a, b) return a + b, "x" end, debug.traceback, 1, 2)`, []string{"true", "3", "x"}},
		{"nil args counted", `return xpcall(function(...) return select("#", ...) end, print, 1, nil, 3, nil)`, []string{"true", "4"}},
		{"handler result", `return xpcall(function() error("e", 0) end, function(m) return "H:" .. m end)`, []string{"false", "H:e"}},
		{"handler gets table", `local e = {} local ok, got = xpcall(function() error(e) end, function(m) return m end) return ok, rawequal(got, e)`,
			[]string{"false", "true"}},
		{"not callable", `return xpcall(nil, function(m) return "H:" .. m end)`, []string{"false", "H:attempt to call a nil value"}},
		{"handler error", `return xpcall(function() error("x") end, function() error("again") end)`, []string{"false", "error in error handling"}},
		{"handler not callable", `return xpcall(function() error("x") end, 42)`, []string{"false", "error in error handling"}},
		{"nested pcall", `local inner = {}
			local ok, e = xpcall(function() inner.r = {pcall(error, "in")}; error("out", 0) end, function(m) return "H:" .. m end)
			return ok, e, inner.r[1], inner.r[2]`, []string{"false", "H:out", "false", "in"}},
		{"nested xpcall", `return xpcall(function()
				local ok, e = xpcall(function() error("a", 0) end, function(m) return "inner:" .. m end)
				error(e, 0)
			end, function(m) return "outer:" .. m end)`, []string{"false", "outer:inner:a"}},
		{"callable table", `local c = setmetatable({}, {__call = function(self, x) return x * 2 end}) return xpcall(c, print, 21)`,
			[]string{"true", "42"}},
		{"success after failure", `xpcall(error, print) return xpcall(function() return "ok" end, print)`, []string{"true", "ok"}},
		// gopher-lua's own handler support left upvalues open: the closure
		// then read a later local's value instead of 43 (kernel notes §3).
		{"upvalues closed", `local f
			xpcall(function() local x = 43; f = function() return x end; error("e") end, function(m) return m end)
			local a, b, c = "A", "B", "C"
			return f()`, []string{"43"}},
		{"traceback in handler", `local ok, tb = xpcall(function() local t = nil; return t.x end, debug.traceback)
			return ok, tb:match("^[^\n]*"), tb:find("stack traceback:\n\t", 1, true) ~= nil, tb:find("in function 'xpcall'", 1, true) ~= nil`,
			[]string{"false", `<string>:1: attempt to index a non-table object(nil) with key 'x'`, "true", "true"}},
	})
	L := newState(t)
	assert.Contains(t, evalErr(t, L, `xpcall(function() end)`), "value expected")
}

func TestTraceback(t *testing.T) {
	L := newState(t)
	fn, err := L.Load(strings.NewReader(`
local function inner()
  return debug.traceback("msg")
end
local function outer()
  local tb = inner()
  return tb
end
local r = outer()
return r
`), "t.lua")
	require.NoError(t, err)
	L.Push(fn)
	require.NoError(t, L.PCall(0, 1, nil))
	assert.Equal(t, "msg\nstack traceback:\n"+
		"\tt.lua:3: in function 'inner'\n"+
		"\tt.lua:6: in function 'outer'\n"+
		"\tt.lua:9: in main chunk\n"+
		"\t[C]: in ?", L.Get(-1).String())
	L.Pop(1)

	runCases(t, []luaCase{
		{"non-string message", `local e = {} return rawequal(debug.traceback(e), e)`, []string{"true"}},
		{"number message", `return (debug.traceback(12):match("^[^\n]*"))`, []string{"12"}},
		{"no message", `return (debug.traceback():match("^[^\n]*"))`, []string{"stack traceback:"}},
		{"level", `local function f() return debug.traceback("m", 2) end
			return (select(2, f():gsub("\n", "\n")))`, []string{"3"}},
		{"thread with message", `local co = coroutine.create(function() coroutine.yield() end)
			coroutine.resume(co)
			return debug.traceback(co, "comsg")`,
			[]string{"comsg\nstack traceback:\n\t[C]: in function 'yield'\n\t<string>:1: in function <<string>:1>"}},
		{"thread with level", `local co = coroutine.create(function() coroutine.yield() end)
			coroutine.resume(co)
			return debug.traceback(co, "m", 1)`,
			[]string{"m\nstack traceback:\n\t<string>:1: in function <<string>:1>"}},
		{"thread nil message", `local co = coroutine.create(function() coroutine.yield() end)
			coroutine.resume(co)
			return (debug.traceback(co):match("^[^\n]*"))`, []string{"stack traceback:"}},
		{"dead thread without frames", `local co = coroutine.create(function() end)
			coroutine.resume(co)
			return debug.traceback(co, "dead")`, []string{"dead\nstack traceback:"}},
		{"tail calls", `local function a() error("t") end
			local function b() return a() end
			local _, tb = xpcall(function() b() end, debug.traceback)
			return (tb:find("\t(...tail calls...)\n", 1, true) ~= nil)`, []string{"true"}},
		{"no [G]", `local _, tb = xpcall(function() error("x") end, debug.traceback) return (tb:find("[G]", 1, true) == nil), (tb:find("[C]: in function 'error'", 1, true) ~= nil)`,
			[]string{"true", "true"}},
	})
}

func TestTracebackTruncation(t *testing.T) {
	L := newState(t)
	out := eval(t, L, `local function rec(n) if n == 0 then error("deep") end return (rec(n - 1)) end
		local _, tb = xpcall(function() rec(30) end, debug.traceback)
		return tb`)[0]
	lines := strings.Split(out, "\n")
	// C Lua 5.2: message, header, levels 1..10, "...", the last 11 levels.
	require.Len(t, lines, 2+10+1+11)
	assert.Equal(t, "\t...", lines[12])
	assert.Equal(t, "\t[C]: in function 'error'", lines[2])
	assert.Equal(t, "\t[C]: in ?", lines[len(lines)-1])
}

func TestDeadTraceback(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	co, _ := L.NewThread()
	var asked *lua.LState
	Open(L, Options{DeadTraceback: func(_ *lua.LState, th *lua.LState) (string, bool) {
		asked = th
		return "stack traceback:\n\t[G]: in function 'error'\n\tt.lua:2: in function 'inner'\n\t(tailcall): ?\n\tt.lua:5: in main chunk\n\t[G]: ?", true
	}})
	L.SetGlobal("co", co)
	assert.Equal(t, []string{"boom\nstack traceback:\n\t[C]: in function 'error'\n\tt.lua:2: in function 'inner'\n\t(...tail calls...)\n\tt.lua:5: in main chunk\n\t[C]: in ?"},
		eval(t, L, `return debug.traceback(co, "boom")`))
	assert.Same(t, co, asked)
	assert.Equal(t, []string{"boom\nstack traceback:\n\t(...tail calls...)\n\tt.lua:5: in main chunk\n\t[C]: in ?"},
		eval(t, L, `return debug.traceback(co, "boom", 2)`))

	// Without a stored traceback: just the header.
	L2 := lua.NewState()
	defer L2.Close()
	co2, _ := L2.NewThread()
	Open(L2, Options{DeadTraceback: func(*lua.LState, *lua.LState) (string, bool) { return "", false }})
	L2.SetGlobal("co", co2)
	assert.Equal(t, []string{"m\nstack traceback:"}, eval(t, L2, `return debug.traceback(co, "m")`))
}

// TestKernelThreadTraceback checks tracebacks of a thread run the way the
// kernel runs ratchet threads (co.PCall from Go) while it is parked in a Go
// function, read from another state.
func TestKernelThreadTraceback(t *testing.T) {
	L := newState(t)
	co, _ := L.NewThread()
	var seen string
	L.SetGlobal("park", L.NewFunction(func(T *lua.LState) int {
		// Another thread asks for co's traceback while co is inside park.
		L.Push(L.GetField(L.GetGlobal("debug"), "traceback"))
		L.Push(co)
		L.Push(lua.LString("parked"))
		L.Call(2, 1)
		seen = L.Get(-1).String()
		L.Pop(1)
		return 0
	}))
	fn, err := co.Load(strings.NewReader("local function body()\n  park()\nend\nbody()\n"), "thread.lua")
	require.NoError(t, err)
	co.Push(fn)
	require.NoError(t, co.PCall(0, 0, nil))
	assert.Equal(t, "parked\nstack traceback:\n\t[C]: in function 'park'\n\tthread.lua:2: in function 'body'\n\tthread.lua:4: in main chunk", seen)
}

func TestOpenIdempotentAndPartialLibs(t *testing.T) {
	// Open on a state with only some libraries must not fail.
	L := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer L.Close()
	for _, pair := range []struct {
		name string
		fn   lua.LGFunction
	}{{lua.LoadLibName, lua.OpenPackage}, {lua.BaseLibName, lua.OpenBase}, {lua.StringLibName, lua.OpenString}} {
		L.Push(L.NewFunction(pair.fn))
		L.Push(lua.LString(pair.name))
		L.Call(1, 0)
	}
	Open(L, Options{})
	assert.Equal(t, []string{"a-b", "0.33333333333333"}, eval(t, L, `return string.format("%s-%s", "a", "b"), tostring(1/3)`))
}

func TestOSExitBoolean(t *testing.T) {
	L := newState(t)
	var got []lua.LValue
	os := L.GetGlobal("os").(*lua.LTable)
	// Replace the underlying exit to observe the converted status.
	st := &state{osExit: L.NewFunction(func(L *lua.LState) int { got = append(got, L.Get(1)); return 0 })}
	os.RawSetString("exit", L.NewFunction(st.osExitFn))
	eval(t, L, `os.exit(true) os.exit(false) os.exit(3) os.exit()`)
	assert.Equal(t, []lua.LValue{lua.LNumber(0), lua.LNumber(1), lua.LNumber(3), lua.LNumber(0)}, got)
}

// TestGopherPcallUpvalueBug documents a gopher-lua v1.1.2 bug that compat
// cannot fix from outside the VM: any error caught by pcall closes every
// open upvalue of the thread, including those of frames that are still
// live, so an enclosing function and its closures stop sharing the
// variable. It skips while the bug is present and fails once the VM is
// fixed, so that this note gets removed.
func TestGopherPcallUpvalueBug(t *testing.T) {
	L := newState(t)
	got := eval(t, L, `
		local shared
		local function f() pcall(error, "x"); shared = 1 end
		f()
		return shared`)
	if got[0] == "nil" {
		t.Skip("gopher-lua bug present: a write to an upvalue after a caught error is lost (want 1, got nil)")
	}
	assert.Equal(t, []string{"1"}, got)
}

func TestMoreEdges(t *testing.T) {
	runCases(t, []luaCase{
		{"date *t exact", `return os.date("!*tx", 0)`, []string{"*tx"}},
		{"find pattern at end", `return ("abc"):find("x*", 4)`, []string{"4", "3"}},
		{"format %5.1s", `return string.format("%-3c|%3c", 65, 66)`, []string{"A  |  B"}},
		// (0 and -0.0 in one chunk share a constant slot, in C Lua 5.2 too.)
		{"tostring small ints cached", `return tostring(0), tostring(1023), tostring(1023.5)`, []string{"0", "1023", "1023.5"}},
		{"tostring negative zero", `local z = 0 return tostring(-z)`, []string{"-0"}},
		{"concat single", `return table.concat({"only"}), table.concat({7})`, []string{"only", "7"}},
	})
}
