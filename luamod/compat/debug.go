package compat

import (
	"reflect"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

func (st *state) openDebug(L *lua.LState, g *lua.LTable) {
	if t := libTable(g, "debug"); t != nil {
		t.RawSetString("traceback", L.NewFunction(st.debugTraceback))
	}
}

// debugTraceback is 5.2's debug.traceback([thread,] [msg [, level]]).
// gopher-lua's raises an error when given a thread and a message.
func (st *state) debugTraceback(L *lua.LState) int {
	co := L
	arg := 0
	if th, ok := L.Get(1).(*lua.LState); ok {
		co = th
		arg = 1
	}
	var msg string
	hasMsg := false
	switch x := L.Get(arg + 1).(type) {
	case lua.LString:
		msg, hasMsg = string(x), true
	case lua.LNumber:
		msg, hasMsg = FormatNumber(float64(x)), true
	case *lua.LNilType:
	default:
		// A non-string message (an error object) is returned untouched.
		L.Push(x)
		return 1
	}
	level := int64(0)
	if co == L {
		level = 1
	}
	level = optInt(L, arg+2, level)
	if level < 0 {
		level = 0
	}
	tb := st.traceback(L, co, int(level))
	if hasMsg {
		tb = msg + "\n" + tb
	}
	L.Push(lua.LString(tb))
	return 1
}

// Traceback levels shown by C Lua 5.2: the first levels1 and the last
// levels2 when there are more than both.
const (
	levels1 = 12
	levels2 = 10
)

// traceback renders co's stack from level in C Lua 5.2's format.
func (st *state) traceback(L, co *lua.LState, level int) string {
	lines := st.frameLines(co)
	if len(lines) == 0 {
		if co != L && st.opts.DeadTraceback != nil {
			if s, ok := st.opts.DeadTraceback(L, co); ok {
				return normaliseTraceback(s, level)
			}
		}
		return "stack traceback:"
	}
	var b strings.Builder
	b.WriteString("stack traceback:")
	// C Lua's countlevels yields the last valid level, one less than the
	// number of levels; the cut-off arithmetic below follows it.
	n := len(lines)
	numlevels := n - 1
	mark := -1
	if numlevels > levels1+levels2 {
		mark = levels1
	}
	for lv := level; lv < n; {
		lv++
		if lv == mark {
			b.WriteString("\n\t...")
			lv = numlevels - levels2
			continue
		}
		b.WriteString("\n\t")
		b.WriteString(lines[lv-1])
	}
	return b.String()
}

// debugFrameField is the index of lua.Debug's unexported frame pointer,
// used only to tell real frames from the phantom levels that gopher-lua's
// GetStack reports for tail calls (it returns the bottom frame for them).
var debugFrameField = func() int {
	f, ok := reflect.TypeOf(lua.Debug{}).FieldByName("frame")
	if !ok || f.Type.Kind() != reflect.Pointer || len(f.Index) != 1 {
		return -1
	}
	return f.Index[0]
}()

func frameID(d *lua.Debug) uintptr {
	return reflect.ValueOf(d).Elem().Field(debugFrameField).Pointer()
}

// frameLines returns one line per real stack level of co, level 0 first,
// formatted as C Lua does ("src:line: in function 'name'"), with
// "(...tail calls...)" folded into the line of the frame that tail-called,
// xpcall's trampoline left out, and "[C]: in ?" for the host at the bottom
// of the main thread.
func (st *state) frameLines(co *lua.LState) []string {
	var dbgs []*lua.Debug
	var ids []uintptr
	for lv := 0; ; lv++ {
		d, ok := co.GetStack(lv)
		if !ok {
			break
		}
		dbgs = append(dbgs, d)
		if debugFrameField >= 0 {
			ids = append(ids, frameID(d))
		}
	}
	if len(dbgs) == 0 {
		return nil
	}
	// Phantom levels all report the bottom frame; the real bottom is the
	// first such report after the last other frame.
	real := make([]bool, len(dbgs))
	tail := make([]bool, len(dbgs))
	if ids == nil {
		for i := range real {
			real[i] = true
		}
	} else {
		bottom := ids[len(ids)-1]
		last := -1
		for i, id := range ids {
			if id != bottom {
				last = i
			}
		}
		prev := -1
		for i, id := range ids {
			if id != bottom || i == last+1 {
				real[i] = true
				prev = i
			} else if prev >= 0 {
				tail[prev] = true
			}
		}
	}
	lines := make([]string, 0, len(dbgs)+2)
	if !co.Dead && co.G.CurrentThread != co {
		// gopher-lua pops coroutine.yield's frame when a coroutine yields;
		// C Lua shows it on top of a suspended coroutine. A thread that is
		// not running and has a Lua function on top can only be a yielded
		// coroutine: a thread parked in a Go function (a kernel blocking
		// call, coroutine.resume) has that function's frame on top.
		if fv, err := co.GetInfo("f", dbgs[0], lua.LNil); err == nil {
			if fn, ok := fv.(*lua.LFunction); ok && !fn.IsG {
				lines = append(lines, "[C]: in function 'yield'")
			}
		}
	}
	for i, d := range dbgs {
		if !real[i] {
			continue
		}
		fv, err := co.GetInfo("Slnf", d, lua.LNil)
		if err != nil {
			continue
		}
		fn, _ := fv.(*lua.LFunction)
		if fn != nil && fn.IsG && fn.Env == st.xpcallEnv {
			continue
		}
		lines = append(lines, frameLine(d, fn, tail[i] || d.What == "tail"))
	}
	if co.G != nil && co == co.G.MainThread {
		lines = append(lines, "[C]: in ?")
	}
	return lines
}

func frameLine(d *lua.Debug, fn *lua.LFunction, tail bool) string {
	isG := fn == nil || fn.IsG
	var b strings.Builder
	if isG {
		b.WriteString("[C]:")
	} else {
		b.WriteString(d.Source)
		b.WriteByte(':')
		if d.CurrentLine > 0 {
			b.WriteString(strconv.Itoa(d.CurrentLine))
			b.WriteByte(':')
		}
	}
	b.WriteString(" in ")
	switch {
	case d.What == "main":
		// The bottom frame of a thread: a chunk, or a coroutine/thread body.
		switch {
		case isG:
			b.WriteString("?")
		case fn.Proto.LineDefined == 0:
			b.WriteString("main chunk")
		default:
			b.WriteString("function <" + fn.Proto.SourceName + ":" + strconv.Itoa(fn.Proto.LineDefined) + ">")
		}
	case d.Name == "" || d.Name == "?" || d.Name == "(anonymous)":
		if isG {
			b.WriteString("?")
		} else {
			b.WriteString("function <" + fn.Proto.SourceName + ":" + strconv.Itoa(fn.Proto.LineDefined) + ">")
		}
	case d.Name[0] == '<':
		b.WriteString("function " + d.Name)
	default:
		b.WriteString("function '" + d.Name + "'")
	}
	if tail {
		b.WriteString("\n\t(...tail calls...)")
	}
	return b.String()
}

// normaliseTraceback rewrites a stored traceback (possibly gopher-lua's
// ApiError.StackTrace) in C Lua's style and drops its first level lines.
func normaliseTraceback(s string, level int) string {
	var b strings.Builder
	b.WriteString("stack traceback:")
	skipped := 0
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimLeft(line, "\t ")
		line = strings.TrimRight(line, "\r")
		if line == "" || line == "stack traceback:" {
			continue
		}
		switch {
		case line == "[G]: ?":
			line = "[C]: in ?"
		case line == "(tailcall): ?":
			line = "(...tail calls...)"
		case strings.HasPrefix(line, "[G]:"):
			line = "[C]:" + line[len("[G]:"):]
		}
		if skipped < level && line != "(...tail calls...)" && line != "..." {
			skipped++
			continue
		}
		b.WriteString("\n\t")
		b.WriteString(line)
	}
	return b.String()
}
