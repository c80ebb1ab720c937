package native

import (
	"encoding/xml"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// slimta.xml (spec 2.6): the streaming parser binding and escape().

const xmlParserType = "slimta.xml.parser"

func openXML(L *lua.LState) *lua.LTable {
	mt := L.NewTypeMetatable(xmlParserType)
	mt.RawSetString("__index", newModule(L, map[string]lua.LGFunction{
		"parse":     xmlParse,
		"parsesome": xmlParseSome,
		"close":     xmlClose,
	}))
	return newModule(L, map[string]lua.LGFunction{
		"new":    xmlNew,
		"escape": xmlEscape,
	})
}

// luaXMLParser is the userdata value: the Go parser plus the Lua callbacks.
type luaXMLParser struct {
	p                 *XMLParser
	state             lua.LValue
	start, end, chars lua.LValue // *lua.LFunction or nil
}

func optCallback(L *lua.LState, n int) lua.LValue {
	switch v := L.Get(n).(type) {
	case *lua.LNilType:
		return nil
	case *lua.LFunction:
		return v
	default:
		L.TypeError(n, lua.LTFunction)
		return nil
	}
}

// xmlNew is slimta.xml.new(state, start_cb, end_cb, data_cb [, encoding]).
func xmlNew(L *lua.LState) int {
	lp := &luaXMLParser{
		state: L.Get(1),
		start: optCallback(L, 2),
		end:   optCallback(L, 3),
		chars: optCallback(L, 4),
	}
	enc := ""
	if L.Get(5) != lua.LNil {
		enc = checkStringStrict(L, 5)
	}
	p, ok := NewXMLParser(enc)
	if !ok {
		L.ArgError(5, "unknown encoding: "+enc)
	}
	lp.p = p
	ud := L.NewUserData()
	ud.Value = lp
	L.SetMetatable(ud, L.GetTypeMetatable(xmlParserType))
	L.Push(ud)
	return 1
}

func checkXMLParser(L *lua.LState) *luaXMLParser {
	ud := L.CheckUserData(1)
	if lp, ok := ud.Value.(*luaXMLParser); ok {
		return lp
	}
	L.ArgError(1, "slimta.xml parser expected")
	return nil
}

// luaXMLHandler calls the callbacks in the Lua state that called parse, so
// a parser may be driven from any coroutine (spec 2.6, last point).
type luaXMLHandler struct {
	L  *lua.LState
	lp *luaXMLParser
}

func (h luaXMLHandler) call(fn lua.LValue, args ...lua.LValue) {
	h.L.CallByParam(lua.P{Fn: fn, NRet: 0, Protect: false}, args...)
}

func (h luaXMLHandler) Start(name string, attrs []xml.Attr) {
	if h.lp.start == nil {
		return
	}
	t := h.L.CreateTable(0, len(attrs))
	for _, a := range attrs {
		t.RawSetString(qname(a.Name), lua.LString(a.Value))
	}
	h.call(h.lp.start, h.lp.state, lua.LString(name), t)
}

func (h luaXMLHandler) End(name string) {
	if h.lp.end != nil {
		h.call(h.lp.end, h.lp.state, lua.LString(name))
	}
}

func (h luaXMLHandler) Text(data []byte) {
	if h.lp.chars != nil {
		h.call(h.lp.chars, h.lp.state, lua.LString(data))
	}
}

func doParse(L *lua.LState, more bool) int {
	lp := checkXMLParser(L)
	data := checkStringStrict(L, 2)
	if msg := lp.p.Parse([]byte(data), !more, luaXMLHandler{L, lp}); msg != "" {
		L.Push(lua.LNil)
		L.Push(lua.LString(msg))
		return 2
	}
	L.Push(lua.LTrue)
	return 1
}

// xmlParse is parser:parse(data [, more_coming]).
func xmlParse(L *lua.LState) int { return doParse(L, lua.LVAsBool(L.Get(3))) }

// xmlParseSome is parser:parsesome(data) = parse(data, true).
func xmlParseSome(L *lua.LState) int { return doParse(L, true) }

// xmlClose releases the parser (not in the original; harmless to omit).
func xmlClose(L *lua.LState) int {
	checkXMLParser(L).p.Close()
	return 0
}

// xmlEscaper implements the RECOMMENDED escaping (spec 6.13): the replacer
// works in one pass, which is equivalent to escaping & first.
var xmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")

// EscapeXML escapes &, <, > and " for XML text and attribute values.
func EscapeXML(s string) string { return xmlEscaper.Replace(s) }

func xmlEscape(L *lua.LState) int {
	L.Push(lua.LString(EscapeXML(checkStringStrict(L, 1))))
	return 1
}
