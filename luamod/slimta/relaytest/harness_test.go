package relaytest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"testing"
	"time"

	slimtalua "github.com/slimta-lua/slimta-lua"
	"github.com/slimta-lua/slimta-lua/luamod/ratchet/dns"
	lua "github.com/yuin/gopher-lua"
)

// runLua runs src (a chunk that may require "relayhelp") with the given
// globals and returns the global RESULTS converted to Go values: tables
// with only keys 1..n become []any, others map[string]any.
func runLua(t *testing.T, src string, globals map[string]any) any {
	t.Helper()
	return runLuaSetup(t, src, globals, nil)
}

// runLuaSetup is runLua with a hook that prepares the state first.
func runLuaSetup(t *testing.T, src string, globals map[string]any, setup func(*lua.LState)) any {
	t.Helper()
	rt := slimtalua.New()
	defer rt.Close()
	L := rt.State()
	L.SetField(L.GetGlobal("package"), "path", lua.LString("testdata/?.lua;"+lua.LuaPathDefault))
	for k, v := range globals {
		L.SetGlobal(k, toLua(L, v))
	}
	if setup != nil {
		setup(L)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := rt.RunString(ctx, src, t.Name()); err != nil {
		var le *slimtalua.Error
		if errors.As(err, &le) {
			t.Fatalf("lua: %s\n%s", le.Message, le.Traceback)
		}
		t.Fatalf("lua: %v", err)
	}
	return fromLua(L.GetGlobal("RESULTS"))
}

// withResolvConf points ratchet.dns (queries without explicit
// configuration, socket.prepare_tcp) at the resolv.conf file path.
func withResolvConf(path string) func(*lua.LState) {
	return func(L *lua.LState) {
		conf, err := dns.LoadResolvConf([]string{path})
		if err != nil {
			panic(err)
		}
		dns.SetDefaults(L, conf, nil)
	}
}

func toLua(L *lua.LState, v any) lua.LValue {
	switch x := v.(type) {
	case nil:
		return lua.LNil
	case string:
		return lua.LString(x)
	case int:
		return lua.LNumber(x)
	case float64:
		return lua.LNumber(x)
	case bool:
		return lua.LBool(x)
	case []string:
		t := L.NewTable()
		for _, s := range x {
			t.Append(lua.LString(s))
		}
		return t
	case map[string]any:
		t := L.NewTable()
		for k, e := range x {
			t.RawSetString(k, toLua(L, e))
		}
		return t
	case lua.LValue:
		return x
	}
	panic(fmt.Sprintf("toLua: %T", v))
}

func fromLua(v lua.LValue) any {
	switch x := v.(type) {
	case *lua.LNilType:
		return nil
	case lua.LString:
		return string(x)
	case lua.LNumber:
		return float64(x)
	case lua.LBool:
		return bool(x)
	case *lua.LTable:
		n := x.MaxN()
		count := 0
		x.ForEach(func(lua.LValue, lua.LValue) { count++ })
		if n > 0 && n == count {
			out := make([]any, n)
			for i := 1; i <= n; i++ {
				out[i-1] = fromLua(x.RawGetInt(i))
			}
			return out
		}
		out := map[string]any{}
		x.ForEach(func(k, e lua.LValue) { out[lua.LVAsString(k)] = fromLua(e) })
		return out
	}
	return v.String()
}

// resp is one relay response as returned by relayhelp.plain.
type resp struct {
	Code, Message string
	Failures      []failure
}

type failure struct{ Recipient, Code, Message string }

func responses(t *testing.T, v any) []resp {
	t.Helper()
	list, ok := v.([]any)
	if !ok {
		t.Fatalf("RESULTS is %#v, want a list of responses", v)
	}
	out := make([]resp, len(list))
	for i, e := range list {
		m := e.(map[string]any)
		t.Logf("response %d: %v %v", i+1, m["code"], m["message"])
		out[i].Code, _ = m["code"].(string)
		out[i].Message, _ = m["message"].(string)
		if fl, ok := m["rcpt_failures"].([]any); ok {
			for _, f := range fl {
				fm := f.(map[string]any)
				out[i].Failures = append(out[i].Failures, failure{
					Recipient: str(fm["recipient"]), Code: str(fm["code"]), Message: str(fm["message"])})
			}
			sort.Slice(out[i].Failures, func(a, b int) bool {
				return out[i].Failures[a].Recipient < out[i].Failures[b].Recipient
			})
		}
	}
	return out
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

var osStat = os.Stat
