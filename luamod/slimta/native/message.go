package native

import (
	"encoding/xml"
	"strings"

	"github.com/slimta-lua/slimta-lua/internal/ltable"
	lua "github.com/yuin/gopher-lua"
)

// slimta.message.native (internal): Go versions of the hot paths of
// slimta.message.contents (parsing the header block, serialising) and of
// slimta.xml.reader (building the node tree), plus the XML escaping the
// to_xml functions use. Each is a faithful port of the Lua code it
// replaces, which stays in place as the reference and as the fallback for
// unusual values (the differential fuzz tests compare the two).
//
// The functions work on 1-based Lua positions where they mirror Lua code,
// to keep the port line-by-line comparable with contents.lua.

// MessageNativeModule is the require name of the module.
const MessageNativeModule = "slimta.message.native"

func openMessageNative(L *lua.LState) int {
	L.Push(newModule(L, map[string]lua.LGFunction{
		"contents_new":    contentsNewFactory,
		"contents_string": contentsStringFactory,
		"message_builder": messageBuilderFactory,
		"response_new":    responseNewFactory,
		"parse_xml":       parseXMLTree,
		"escape_text":     escapeText,
		"escape_attr":     escapeAttr,
		"fold":            foldHeader,
		"build_xml":       buildXMLFunc,
		"trim":            trimFunc,
	}))
	return 1
}

// isWSP reports the bytes that start a continuation line in contents.lua
// (space, tab, CR, VT, FF).
func isWSP(b byte) bool {
	return b == ' ' || b == '\t' || b == '\r' || b == '\v' || b == '\f'
}

// isLuaSpace is Lua's %s in the C locale.
func isLuaSpace(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\v' || b == '\f' || b == '\r'
}

// hdrData is the message being parsed, with Lua-style accessors.
type hdrData string

// sub is Lua's string.sub(d, i, j) for 1 <= i.
func (d hdrData) sub(i, j int) string {
	if j > len(d) {
		j = len(d)
	}
	if j < i {
		return ""
	}
	return string(d[i-1 : j])
}

// lineBounds is line_bounds(data, pos, limit): the position of the LF that
// ends the line at pos (or limit) and of the line's last content byte.
func (d hdrData) lineBounds(pos, limit int) (lineEnd, contentEnd int) {
	idx := strings.IndexByte(string(d[pos-1:]), '\n')
	if idx < 0 {
		return limit, limit
	}
	lf := pos + idx
	if lf > limit {
		return limit, limit
	}
	if lf > pos && d[lf-2] == '\r' {
		return lf, lf - 2
	}
	return lf, lf - 1
}

// crlfLines is crlf_lines(data, first, last).
func (d hdrData) crlfLines(first, last int) string {
	var b strings.Builder
	for pos := first; pos <= last; {
		lineEnd, contentEnd := d.lineBounds(pos, last)
		b.WriteString(d.sub(pos, contentEnd))
		b.WriteString("\r\n")
		pos = lineEnd + 1
	}
	return b.String()
}

// validFieldName: RFC 5322 field names, printable ASCII except ':'.
func validFieldName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < '!' || c > '~' || c == ':' {
			return false
		}
	}
	return true
}

// hdrRecord is one parsed field: {value, raw, name} in Lua.
type hdrRecord struct {
	value, raw, name string
}

// hdrGroup holds the fields of one lower-case name, in message order.
type hdrGroup struct {
	lname string
	recs  []*hdrRecord
	one   [1]*hdrRecord // backing of recs for the usual single field
}

// hdrParsed collects what parse_fields stores in the contents table.
// Records and groups live in slabs sized from the header block's line
// count (an upper bound), so that a message costs a few allocations
// instead of several per field; pointers into them stay valid because
// the slabs never grow.
type hdrParsed struct {
	stack  []*hdrRecord // every field in message order
	groups []*hdrGroup  // one per lower-case name, in first-seen order
	index  map[string]*hdrGroup
	prefix *string
	lower  func(string) string

	recSlab   []hdrRecord
	groupSlab []hdrGroup
}

func (p *hdrParsed) reserve(lines int) {
	p.recSlab = make([]hdrRecord, 0, lines)
	p.groupSlab = make([]hdrGroup, 0, lines)
	p.stack = make([]*hdrRecord, 0, lines)
	p.groups = make([]*hdrGroup, 0, lines)
}

func (p *hdrParsed) newRecord(r hdrRecord) *hdrRecord {
	if len(p.recSlab) < cap(p.recSlab) {
		p.recSlab = append(p.recSlab, r)
		return &p.recSlab[len(p.recSlab)-1]
	}
	return &r
}

// group finds or adds the group of lname. A linear search is fastest
// for the usual dozen names; many distinct names switch to a map.
func (p *hdrParsed) group(lname string) *hdrGroup {
	if p.index != nil {
		if g := p.index[lname]; g != nil {
			return g
		}
	} else {
		for _, g := range p.groups {
			if g.lname == lname {
				return g
			}
		}
	}
	var g *hdrGroup
	if len(p.groupSlab) < cap(p.groupSlab) {
		p.groupSlab = append(p.groupSlab, hdrGroup{lname: lname})
		g = &p.groupSlab[len(p.groupSlab)-1]
	} else {
		g = &hdrGroup{lname: lname}
	}
	g.recs = g.one[:0]
	p.groups = append(p.groups, g)
	if p.index != nil {
		p.index[lname] = g
	} else if len(p.groups) > 16 {
		p.index = make(map[string]*hdrGroup, 2*len(p.groups))
		for _, g := range p.groups {
			p.index[g.lname] = g
		}
	}
	return g
}

// parseFields is parse_fields(self, data, limit, strict) for a fresh
// contents object; it returns the position where parsing stopped.
func (d hdrData) parseFields(p *hdrParsed, limit int, strict bool) int {
	var last *hdrRecord
	pos := 1
	if p.recSlab == nil && limit > 0 {
		p.reserve(strings.Count(string(d[:min(limit, len(d))]), "\n") + 1)
	}
	for pos <= limit {
		lineEnd, contentEnd := d.lineBounds(pos, limit)
		var name, value string
		isField := false
		if !isWSP(d[pos-1]) {
			line := d.sub(pos, contentEnd)
			if colon := strings.IndexByte(line, ':'); colon >= 0 {
				if n := line[:colon]; validFieldName(n) {
					v := colon + 1
					if v < len(line) && (line[v] == ' ' || line[v] == '\t') {
						v++
					}
					name, value, isField = n, line[v:], true
				}
			}
		}
		if isField {
			start, clean := pos, lineEnd == contentEnd+2
			pos = lineEnd + 1
			if pos <= limit && isWSP(d[pos-1]) {
				// Unfold: drop each line break before white space.
				var b strings.Builder
				b.WriteString(value)
				for {
					lineEnd, contentEnd = d.lineBounds(pos, limit)
					clean = clean && lineEnd == contentEnd+2
					b.WriteString(d.sub(pos, contentEnd))
					pos = lineEnd + 1
					if pos > limit || !isWSP(d[pos-1]) {
						break
					}
				}
				value = b.String()
			}
			g := p.group(p.lower(name))
			raw := ""
			if clean {
				raw = d.sub(start, pos-1)
			} else {
				raw = d.crlfLines(start, pos-1)
			}
			last = p.newRecord(hdrRecord{value: value, raw: raw, name: name})
			g.recs = append(g.recs, last)
			p.stack = append(p.stack, last)
			continue
		}
		if strict {
			return pos
		}
		junk := ""
		if lineEnd == contentEnd+2 {
			junk = d.sub(pos, lineEnd)
		} else {
			junk = d.crlfLines(pos, lineEnd)
		}
		if last != nil {
			last.raw += junk
		} else {
			s := junk
			if p.prefix != nil {
				s = *p.prefix + junk
			}
			p.prefix = &s
		}
		pos = lineEnd + 1
	}
	return pos
}

// findBlankLine is find_blank_line(data): the end of the header block.
func (d hdrData) findBlankLine() (headersEnd, contentsStart int, ok bool) {
	idx := strings.IndexByte(string(d), '\n')
	for idx >= 0 {
		lf := idx + 1 // 1-based
		i := lf + 1
		for i <= len(d) && (d[i-1] == ' ' || d[i-1] == '\t' || d[i-1] == '\r' || d[i-1] == '\v' || d[i-1] == '\f') {
			i++
		}
		if i <= len(d) && d[i-1] == '\n' {
			return lf + 1, i + 1, true
		}
		if i > len(d) {
			return 0, 0, false
		}
		next := strings.IndexByte(string(d[i-1:]), '\n')
		if next < 0 {
			return 0, 0, false
		}
		idx = i - 1 + next
	}
	return 0, 0, false
}

// leadEnd is data:match("^[ \t\r\v\f]*\n()").
func (d hdrData) leadEnd() (int, bool) {
	i := 0
	for i < len(d) && (d[i] == ' ' || d[i] == '\t' || d[i] == '\r' || d[i] == '\v' || d[i] == '\f') {
		i++
	}
	if i < len(d) && d[i] == '\n' {
		return i + 2, true
	}
	return 0, false
}

func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// contentsFactory is the state behind one contents.new: the Lua class
// and headers metatable, the Lua version for odd arguments, and boxed
// field names (the same few names come back in every message).
type contentsFactory struct {
	class, headersMT *lua.LTable
	luaNew           *lua.LFunction
	names            map[string]*nameBox
}

type nameBox struct {
	name, lname lua.LValue
	lower       string
}

const maxCachedNames = 512

func (f *contentsFactory) box(name string) *nameBox {
	if nb := f.names[name]; nb != nil {
		return nb
	}
	lower := asciiLower(name)
	nb := &nameBox{name: lua.LString(name), lname: lua.LString(lower), lower: lower}
	if len(f.names) < maxCachedNames {
		f.names[name] = nb
	}
	return nb
}

// contentsNewFactory(class, headers_mt, lua_new) returns new(data), a Go
// version of contents.new. Non-string data goes to lua_new, which
// handles (or rejects) it exactly as before.
func contentsNewFactory(L *lua.LState) int {
	f := &contentsFactory{
		class:     L.CheckTable(1),
		headersMT: L.CheckTable(2),
		luaNew:    L.CheckFunction(3),
		names:     map[string]*nameBox{},
	}
	fn := L.NewFunction(func(L *lua.LState) int {
		var data string
		switch v := L.Get(1).(type) {
		case lua.LString:
			data = string(v)
		case *lua.LNilType:
		default:
			if v != lua.LFalse {
				L.Push(f.luaNew)
				L.Push(v)
				L.Call(1, 1)
				return 1
			}
		}
		L.Push(f.newContents(L, data))
		return 1
	})
	factoriesOf(L)[fn] = f
	L.Push(fn)
	return 1
}

// canonicalField tells whether raw is exactly what serialize renders for
// a field it did not parse (name: created_value(name, value) CRLF); such
// fields need no raw record, the rendering gives the same bytes.
func canonicalField(raw, name, value string) bool {
	n := len(name)
	if len(raw) < n+4 || raw[:n] != name || raw[n:n+2] != ": " || raw[len(raw)-2:] != "\r\n" {
		return false
	}
	mid := raw[n+2 : len(raw)-2]
	if strings.ContainsAny(value, "\r\n") {
		return mid == createdValue(name, value)
	}
	if n+2+len(value) <= 78 {
		return mid == value
	}
	return mid == Fold(name, value, 78)
}

// newContents builds the table contents.new(data) builds. Raw records
// ({value, raw, name} in _raw[lname]) are only made for fields whose
// bytes differ from the default rendering: the output is the same, and a
// typical message needs one or two instead of one per field.
func (f *contentsFactory) newContents(L *lua.LState, data string) *lua.LTable {
	d := hdrData(data)
	var v [numContentsKeys]lua.LValue
	v[cOrigData] = lua.LString(data)
	v[cSize] = lua.LNumber(len(data))
	self := L.CreateTable(0, 0)

	if lead, ok := d.leadEnd(); ok {
		// A blank first line: no header fields at all.
		headers := L.CreateTable(0, 0)
		headers.Metatable = f.headersMT
		v[cHeaders] = headers
		v[cHeaderStack] = L.CreateTable(0, 0)
		v[cHeadersEnd] = lua.LNumber(1)
		v[cContentsStart] = lua.LNumber(lead)
		v[cLead] = lua.LString(d.sub(1, lead-1))
		v[cBody] = lua.LString(d.sub(lead, len(d)))
		ltable.Fill(self, contentsKeys, v[:])
		self.Metatable = f.class
		return self
	}

	p := &hdrParsed{lower: func(name string) string { return f.box(name).lower }}
	if headersEnd, contentsStart, ok := d.findBlankLine(); ok {
		v[cHeadersEnd] = lua.LNumber(headersEnd)
		v[cContentsStart] = lua.LNumber(contentsStart)
		d.parseFields(p, headersEnd-1, false)
		v[cBody] = lua.LString(d.sub(contentsStart, len(d)))
	} else {
		// No blank line: the leading run of field lines is the header
		// block, the rest is the body, with no separator.
		stop := d.parseFields(p, len(d), true)
		if stop > 1 {
			v[cHeadersEnd] = lua.LNumber(stop)
			v[cContentsStart] = lua.LNumber(stop)
			v[cNosep] = lua.LTrue
		}
		v[cBody] = lua.LString(d.sub(stop, len(d)))
	}

	stack := L.CreateTable(len(p.stack), 0)
	for i, r := range p.stack {
		stack.RawSetInt(i+1, f.box(r.name).name)
	}
	v[cHeaderStack] = stack
	headers := L.CreateTable(0, 0)
	headers.Metatable = f.headersMT
	hkeys := make([]lua.LValue, len(p.groups))
	hvals := make([]lua.LValue, len(p.groups))
	var raws *lua.LTable
	boxedSlab := make([]lua.LValue, len(p.stack))
	for gi, g := range p.groups {
		vals := L.CreateTable(len(g.recs), 0)
		boxed := boxedSlab[:len(g.recs):len(g.recs)]
		boxedSlab = boxedSlab[len(g.recs):]
		var canonical []bool
		need := false
		for i, r := range g.recs {
			boxed[i] = lua.LString(r.value)
			vals.RawSetInt(i+1, boxed[i])
			if !canonicalField(r.raw, r.name, r.value) {
				if canonical == nil {
					canonical = make([]bool, len(g.recs))
					for j := 0; j < i; j++ {
						canonical[j] = true
					}
				}
				need = true
			} else if canonical != nil {
				canonical[i] = true
			}
		}
		hkeys[gi] = f.box(g.recs[0].name).lname
		hvals[gi] = vals
		if !need {
			continue
		}
		rl := L.CreateTable(len(g.recs), 0)
		for i, r := range g.recs {
			if canonical[i] {
				rl.RawSetInt(i+1, lua.LFalse)
				continue
			}
			rec := L.CreateTable(3, 0)
			rec.RawSetInt(1, boxed[i])
			rec.RawSetInt(2, lua.LString(r.raw))
			rec.RawSetInt(3, f.box(r.name).name)
			rl.RawSetInt(i+1, rec)
		}
		if raws == nil {
			raws = L.CreateTable(0, 1)
		}
		raws.RawSetString(g.lname, rl)
	}
	ltable.Fill(headers, hkeys, hvals)
	v[cHeaders] = headers
	if raws != nil {
		v[cRaw] = raws
	}
	if p.prefix != nil {
		v[cPrefix] = lua.LString(*p.prefix)
	}
	ltable.Fill(self, contentsKeys, v[:])
	self.Metatable = f.class
	return self
}

// The fields of a contents object, in the order newContents used to set
// them (next() walks them in this order).
const (
	cOrigData = iota
	cSize
	cHeadersEnd
	cContentsStart
	cLead
	cNosep
	cBody
	cHeaderStack
	cHeaders
	cRaw
	cPrefix
	numContentsKeys
)

var contentsKeys = ltable.Keys("orig_data", "size", "headers_end", "contents_start", "_lead",
	"_nosep", "_body", "header_stack", "headers", "_raw", "_prefix")

// contentsStringFactory(lua_serialize) returns a Go version of the
// contents __tostring. Anything it is not sure to render exactly as the
// Lua code would (non-string names or values, tables changed by hand, a
// header_stack that does not match the values) goes to lua_serialize.
func contentsStringFactory(L *lua.LState) int {
	luaSerialize := L.CheckFunction(1)
	L.Push(L.NewFunction(func(L *lua.LState) int {
		self, ok := L.Get(1).(*lua.LTable)
		if ok {
			if raw, ok := serializeContents(self); ok {
				self.RawSetString("raw_data", lua.LString(raw))
				L.Push(lua.LString(raw))
				return 1
			}
		}
		L.Push(luaSerialize)
		L.Push(L.Get(1))
		L.Call(1, 1)
		return 1
	}))
	return 1
}

// luaString accepts strings only: numbers would need Lua's own number
// formatting (the caller then leaves the work to the Lua version).
func luaString(v lua.LValue) (string, bool) {
	if x, ok := v.(lua.LString); ok {
		return string(x), true
	}
	return "", false
}

// serializeContents is serialize(self) of contents.lua; ok is false when
// the Lua version must do it.
func serializeContents(self *lua.LTable) (string, bool) {
	var b strings.Builder
	if orig, ok := self.RawGetString("orig_data").(lua.LString); ok {
		b.Grow(len(orig) + 128)
	}
	n := 0 // pieces written before the body; a prefix counts (as in Lua)
	if v := self.RawGetString("_prefix"); v != lua.LNil && v != lua.LFalse {
		s, ok := luaString(v)
		if !ok {
			return "", false
		}
		b.WriteString(s)
		n = 1
	}
	headers, ok := self.RawGetString("headers").(*lua.LTable)
	if !ok {
		return "", false
	}
	var raws *lua.LTable
	switch r := self.RawGetString("_raw").(type) {
	case *lua.LTable:
		raws = r
	case *lua.LNilType:
	default:
		if r != lua.LFalse {
			return "", false
		}
	}
	stack, ok := self.RawGetString("header_stack").(*lua.LTable)
	if !ok {
		return "", false
	}
	var counts map[string]int
	for i := 1; ; i++ {
		nv := stack.RawGetInt(i)
		if nv == lua.LNil {
			break
		}
		name, ok := nv.(lua.LString)
		if !ok || !isASCII(string(name)) {
			return "", false
		}
		lname := asciiLower(string(name))
		if counts == nil {
			counts = map[string]int{}
		}
		k := counts[lname] + 1
		counts[lname] = k
		vals, ok := headers.RawGetString(lname).(*lua.LTable)
		if !ok {
			return "", false
		}
		value := vals.RawGetInt(k)
		if value == lua.LNil {
			return "", false // Lua raises the "header stack" error
		}
		var rec lua.LValue = lua.LNil
		if raws != nil {
			switch rl := raws.RawGetString(lname).(type) {
			case *lua.LTable:
				rec = rl.RawGetInt(k)
			case *lua.LNilType:
			default:
				if rl != lua.LFalse {
					return "", false
				}
			}
		}
		n++
		switch r := rec.(type) {
		case *lua.LTable:
			if luaEqual(r.RawGetInt(1), value) && luaEqual(r.RawGetInt(3), name) {
				raw, ok := luaString(r.RawGetInt(2))
				if !ok {
					return "", false
				}
				b.WriteString(raw)
				continue
			}
		case *lua.LNilType:
		default:
			if r != lua.LFalse {
				return "", false
			}
		}
		v, ok := luaString(value)
		if !ok {
			return "", false
		}
		b.WriteString(string(name))
		b.WriteString(": ")
		b.WriteString(createdValue(string(name), v))
		b.WriteString("\r\n")
	}
	if n > 0 {
		if v := self.RawGetString("_nosep"); v == lua.LNil || v == lua.LFalse {
			b.WriteString("\r\n")
		}
	} else if v := self.RawGetString("_lead"); v != lua.LNil && v != lua.LFalse {
		s, ok := luaString(v)
		if !ok {
			return "", false
		}
		b.WriteString(s)
	}
	if v := self.RawGetString("_body"); v != lua.LNil && v != lua.LFalse {
		s, ok := luaString(v)
		if !ok {
			return "", false
		}
		b.WriteString(s)
	}
	return b.String(), true
}

// luaEqual is raw Lua equality for the values serialize compares (strings
// and numbers by value, everything else by identity).
func luaEqual(a, b lua.LValue) bool {
	switch x := a.(type) {
	case lua.LString:
		y, ok := b.(lua.LString)
		return ok && x == y
	case lua.LNumber:
		y, ok := b.(lua.LNumber)
		return ok && x == y
	}
	return a == b
}

// createdValue is created_value(name, value) of contents.lua: folded,
// and with line breaks turned into folds.
func createdValue(name, value string) string {
	if !strings.ContainsAny(value, "\r\n") {
		return Fold(name, value, 78)
	}
	value = strings.ReplaceAll(value, "\r\n", "\n")
	value = strings.ReplaceAll(value, "\r", "\n")
	value = strings.TrimRight(value, "\n")
	// a run of line breaks becomes one CRLF, followed by a space unless
	// white space follows anyway
	var b strings.Builder
	for i := 0; i < len(value); i++ {
		c := value[i]
		if c != '\n' {
			b.WriteByte(c)
			continue
		}
		for i+1 < len(value) && value[i+1] == '\n' {
			i++
		}
		b.WriteString("\r\n")
		if i+1 < len(value) && value[i+1] != ' ' && value[i+1] != '\t' {
			b.WriteByte(' ')
		}
	}
	return b.String()
}

// Fold is header_folding.fold(name, value, max_len) (spec 2.14).
func Fold(name, value string, maxLen int) string {
	if len(name)+2+len(value) <= maxLen {
		return value
	}
	var b strings.Builder
	b.Grow(len(value) + 8)
	remaining := maxLen - len(name) - 2
	pos := 0
	for pos < len(value) {
		wsStart := pos
		for pos < len(value) && isLuaSpace(value[pos]) {
			pos++
		}
		wordStart := pos
		for pos < len(value) && !isLuaSpace(value[pos]) {
			pos++
		}
		ws, word := value[wsStart:wordStart], value[wordStart:pos]
		piece := len(ws) + len(word)
		switch {
		case piece > remaining && ws != "":
			b.WriteString("\r\n")
			b.WriteString(ws)
			b.WriteString(word)
			remaining = maxLen - piece
		case piece > remaining:
			b.WriteString(word)
			remaining -= piece
		default:
			b.WriteString(ws)
			b.WriteString(word)
			remaining -= piece
		}
	}
	return b.String()
}

// foldHeader is fold(name, value [, max_len]) for Lua.
func foldHeader(L *lua.LState) int {
	name := L.CheckString(1)
	value := L.CheckString(2)
	maxLen := L.OptInt(3, 78)
	L.Push(lua.LString(Fold(name, value, maxLen)))
	return 1
}

// EscapeText is writer.escape_text: XML escaping plus CR as a character
// reference (parsers turn CRLF into LF).
func EscapeText(s string) string {
	s = EscapeXML(s)
	if strings.IndexByte(s, '\r') >= 0 {
		s = strings.ReplaceAll(s, "\r", "&#13;")
	}
	return s
}

// EscapeAttr is writer.escape_attr: also LF and TAB, which attribute
// value normalisation would turn into spaces.
func EscapeAttr(s string) string {
	s = EscapeXML(s)
	if strings.ContainsAny(s, "\r\n\t") {
		s = attrEscaper.Replace(s)
	}
	return s
}

var attrEscaper = strings.NewReplacer("\r", "&#13;", "\n", "&#10;", "\t", "&#9;")

// escapeArg is tostring(v) for the values to_xml escapes: strings as they
// are, anything else through the global tostring, as the Lua code did.
func escapeArg(L *lua.LState) string {
	v := L.Get(1)
	if s, ok := v.(lua.LString); ok {
		return string(s)
	}
	L.Push(L.GetGlobal("tostring"))
	L.Push(v)
	L.Call(1, 1)
	r := L.Get(-1)
	L.Pop(1)
	switch x := r.(type) {
	case lua.LString:
		return string(x)
	case lua.LNumber:
		return x.String() // what slimta.xml.escape does with a number
	}
	L.RaiseError("'tostring' must return a string")
	return ""
}

func escapeText(L *lua.LState) int {
	L.Push(lua.LString(EscapeText(escapeArg(L))))
	return 1
}

func escapeAttr(L *lua.LState) int {
	L.Push(lua.LString(EscapeAttr(escapeArg(L))))
	return 1
}

// xmlTree is an XMLHandler that builds the node tree of
// slimta.xml.reader:parse_xml: node.name, node.attrs, node.data (the
// element's own text, concatenated) and the child nodes at 1..n.
type xmlTree struct {
	L     *lua.LState
	nodes []*lua.LTable
	kids  []int
	texts [][]byte
}

func (t *xmlTree) Start(name string, attrs []xml.Attr) {
	top := len(t.nodes) - 1
	node := t.L.CreateTable(0, 3)
	node.RawSetString("name", lua.LString(name))
	at := t.L.CreateTable(0, len(attrs))
	for _, a := range attrs {
		at.RawSetString(qname(a.Name), lua.LString(a.Value))
	}
	node.RawSetString("attrs", at)
	t.kids[top]++
	t.nodes[top].RawSetInt(t.kids[top], node)
	t.nodes = append(t.nodes, node)
	t.kids = append(t.kids, 0)
	t.texts = append(t.texts, nil)
}

func (t *xmlTree) End(string) {
	top := len(t.nodes) - 1
	t.nodes[top].RawSetString("data", lua.LString(t.texts[top]))
	t.nodes = t.nodes[:top]
	t.kids = t.kids[:top]
	t.texts = t.texts[:top]
}

func (t *xmlTree) Text(data []byte) {
	// text outside any element belongs to the root, which keeps no data
	if top := len(t.nodes) - 1; top > 0 {
		t.texts[top] = append(t.texts[top], data...)
	}
}

// parseXMLTree is parse_xml(data) -> root; raises the parser's message.
func parseXMLTree(L *lua.LState) int {
	data := checkStringStrict(L, 1)
	// a one-piece parse runs on this goroutine: no decoder goroutine to
	// clean up, so no finalizer either
	p := &XMLParser{}
	root := L.NewTable()
	t := &xmlTree{L: L, nodes: []*lua.LTable{root}, kids: []int{0}, texts: [][]byte{nil}}
	msg := p.Parse([]byte(data), true, t)
	p.Close()
	if msg != "" {
		L.Error(lua.LString(msg), 0)
	}
	L.Push(root)
	return 1
}

// maxXMLDepth bounds the nesting build_xml follows; deeper (or cyclic)
// line arrays are left to the Lua version, which reports them as before.
const maxXMLDepth = 100

// buildXML is writer:build's layout (spec 2.7) for lines, containers:
// each container and line on its own CRLF-terminated line, indented by
// its depth. ok is false for anything but strings and tables.
func buildXML(lines, containers *lua.LTable) (string, bool) {
	var b strings.Builder
	n := 0
	for i := 1; ; i++ {
		v := containers.RawGetInt(i)
		if v == lua.LNil {
			break
		}
		name, ok := v.(lua.LString)
		if !ok {
			return "", false
		}
		writeIndent(&b, i-1)
		b.WriteByte('<')
		b.WriteString(string(name))
		b.WriteString(">\r\n")
		n = i
	}
	if !emitXMLLines(&b, lines, n) {
		return "", false
	}
	for i := n; i >= 1; i-- {
		writeIndent(&b, i-1)
		b.WriteString("</")
		b.WriteString(string(containers.RawGetInt(i).(lua.LString)))
		b.WriteString(">\r\n")
	}
	return b.String(), true
}

func writeIndent(b *strings.Builder, depth int) {
	for ; depth > 0; depth-- {
		b.WriteByte(' ')
	}
}

func emitXMLLines(b *strings.Builder, lines *lua.LTable, depth int) bool {
	if depth > maxXMLDepth {
		return false
	}
	for i := 1; ; i++ {
		switch v := lines.RawGetInt(i).(type) {
		case *lua.LNilType:
			return true
		case *lua.LTable:
			if !emitXMLLines(b, v, depth+1) {
				return false
			}
		case lua.LString:
			writeIndent(b, depth)
			b.WriteString(string(v))
			b.WriteString("\r\n")
		default:
			return false
		}
	}
}

// buildXMLFunc is build_xml(lines, containers) -> string, or nil when the
// Lua version has to do it.
func buildXMLFunc(L *lua.LState) int {
	lines, ok1 := L.Get(1).(*lua.LTable)
	containers, ok2 := L.Get(2).(*lua.LTable)
	if ok1 && ok2 {
		if s, ok := buildXML(lines, containers); ok {
			L.Push(lua.LString(s))
			return 1
		}
	}
	L.Push(lua.LNil)
	return 1
}

// trimFunc is trim(s) = s:match("^%s*(.-)%s*$") for strings (the to_xml
// decoders trim every value); other values raise like string.match.
func trimFunc(L *lua.LState) int {
	s := L.CheckString(1)
	L.Push(lua.LString(strings.TrimFunc(s, func(r rune) bool {
		return r < 0x80 && isLuaSpace(byte(r))
	})))
	return 1
}
