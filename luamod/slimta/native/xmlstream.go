package native

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"runtime"
	"strings"
	"sync"
	"unicode/utf8"
)

// XMLHandler receives the events of an XMLParser, like expat's handlers.
type XMLHandler interface {
	Start(name string, attrs []xml.Attr)
	End(name string)
	Text(data []byte)
}

// Expat's messages for the errors callers most likely see; slimta passes
// them through to Lua unchanged.
const (
	errNoElements   = "no element found"
	errInvalidToken = "not well-formed (invalid token)"
	errUnclosed     = "unclosed token"
	errMismatch     = "mismatched tag"
	errJunk         = "junk after document element"
	errDupAttr      = "duplicate attribute"
	errUndefEntity  = "undefined entity"
	errEncoding     = "unknown encoding"
	errFinished     = "parsing finished"
	errBusy         = "parser is busy"
	errAborted      = "parsing aborted"
)

// XMLParser is a push parser on top of encoding/xml: data arrives in
// chunks through Parse and events are delivered as soon as the decoder can
// produce them. encoding/xml only pulls from an io.Reader, so the decoder
// runs on its own goroutine and hands tokens over one at a time; handlers
// always run on the goroutine that calls Parse.
type XMLParser struct {
	latin1 bool // input is ISO-8859-1: converted to UTF-8 before decoding
	st     *xmlStream
	stack  []string
	root   bool // root element seen
	closed bool // root element closed
	done   bool // final chunk processed or error
	err    string
	busy   bool
}

// NewXMLParser creates a parser. encoding forces the input encoding
// ("" = UTF-8 / auto); it reports false for encodings it cannot handle.
func NewXMLParser(encoding string) (*XMLParser, bool) {
	p := &XMLParser{}
	switch normEncoding(encoding) {
	case "", "utf8", "usascii", "ascii":
	case "iso88591", "latin1":
		p.latin1 = true
	default:
		return nil, false
	}
	// An abandoned parser would leave its decoder goroutine waiting for data
	// forever; the goroutine does not reference p, so p can be collected.
	runtime.SetFinalizer(p, (*XMLParser).Close)
	return p, true
}

func normEncoding(s string) string {
	s = strings.ToLower(s)
	return strings.NewReplacer("-", "", "_", "").Replace(s)
}

// Close stops the decoder goroutine; later Parse calls fail.
func (p *XMLParser) Close() {
	if p.st != nil {
		p.st.abort()
	}
	if !p.done {
		p.done = true
		if p.err == "" {
			p.err = errFinished
		}
	}
}

// Parse feeds one chunk (final: no more data follows). It returns "" or
// an expat-style error message; after an error the parser is dead.
func (p *XMLParser) Parse(data []byte, final bool, h XMLHandler) (msg string) {
	if p.busy {
		return errBusy
	}
	if p.err != "" {
		return p.err
	}
	if p.done {
		return errFinished
	}
	if p.latin1 {
		data = latin1ToUTF8(data)
	}
	if p.st == nil && final {
		return p.parseAll(data, h)
	}
	if p.st == nil {
		p.st = startXMLStream(data, final, p.latin1)
	} else if !p.st.push(data, final) {
		return p.fail(errAborted)
	}
	p.busy = true
	normal := false
	defer func() {
		p.busy = false
		if !normal {
			// A handler raised (a Lua error unwinds through here): the
			// document cannot be resumed consistently.
			p.fail(errAborted)
		}
	}()
	for {
		ev, ok := p.st.next()
		if !ok {
			normal = true
			return p.fail(errAborted)
		}
		switch ev.kind {
		case evStarved:
			normal = true
			return ""
		case evEnd:
			normal = true
			return p.finish(ev.err)
		case evToken:
			if m := p.token(ev.tok, h); m != "" {
				normal = true
				return p.fail(m)
			}
		}
	}
}

// parseAll parses a whole document given in one piece on the calling
// goroutine: the same decoder and token handling as the streaming path,
// without handing every token over a channel.
func (p *XMLParser) parseAll(data []byte, h XMLHandler) (msg string) {
	dec := newXMLDecoder(bytes.NewReader(data), p.latin1)
	p.busy = true
	normal := false
	defer func() {
		p.busy = false
		if !normal {
			p.fail(errAborted) // a handler raised
		}
	}()
	for {
		tok, err := dec.RawToken()
		if err != nil {
			normal = true
			return p.finish(err)
		}
		if m := p.token(tok, h); m != "" {
			normal = true
			return p.fail(m)
		}
	}
}

func (p *XMLParser) fail(msg string) string {
	p.done = true
	p.err = msg
	if p.st != nil {
		p.st.abort()
	}
	return msg
}

// finish handles the decoder's terminal error (io.EOF on a clean end).
func (p *XMLParser) finish(err error) string {
	if err == io.EOF {
		if !p.root || len(p.stack) > 0 {
			return p.fail(errNoElements)
		}
		p.done = true
		return ""
	}
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		switch {
		case se.Msg == "unexpected EOF":
			// EOF inside markup; EOF between tokens arrives as io.EOF.
			return p.fail(errUnclosed)
		case strings.HasPrefix(se.Msg, "invalid character entity &") && strings.HasSuffix(se.Msg, ";") &&
			!strings.HasPrefix(se.Msg, "invalid character entity &#"):
			return p.fail(errUndefEntity)
		}
		return p.fail(errInvalidToken)
	}
	if strings.Contains(err.Error(), "CharsetReader") || strings.Contains(err.Error(), "charset") {
		return p.fail(errEncoding)
	}
	return p.fail(errInvalidToken)
}

func (p *XMLParser) token(tok xml.Token, h XMLHandler) string {
	switch t := tok.(type) {
	case xml.StartElement:
		if p.closed {
			return errJunk
		}
		name := qname(t.Name)
		for i := range t.Attr {
			for j := 0; j < i; j++ {
				if t.Attr[i].Name == t.Attr[j].Name {
					return errDupAttr
				}
			}
		}
		p.stack = append(p.stack, name)
		p.root = true
		h.Start(name, t.Attr)
	case xml.EndElement:
		name := qname(t.Name)
		if len(p.stack) == 0 || p.stack[len(p.stack)-1] != name {
			return errMismatch
		}
		p.stack = p.stack[:len(p.stack)-1]
		if len(p.stack) == 0 {
			p.closed = true
		}
		h.End(name)
	case xml.CharData:
		if len(p.stack) == 0 {
			// Outside the root only XML white space is allowed.
			if len(bytes.Trim(t, " \t\r\n")) != 0 {
				if p.closed {
					return errJunk
				}
				return errInvalidToken
			}
			return ""
		}
		if len(t) > 0 {
			h.Text(t)
		}
	case xml.Directive:
		if p.root {
			return errInvalidToken
		}
	case xml.ProcInst:
		if t.Target == "xml" && p.root {
			return errInvalidToken
		}
	}
	return ""
}

func qname(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}

func latin1ToUTF8(b []byte) []byte {
	ascii := true
	for _, c := range b {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return b
	}
	out := make([]byte, 0, len(b)+len(b)/4)
	for _, c := range b {
		out = utf8.AppendRune(out, rune(c))
	}
	return out
}

// ---- decoder goroutine ----

type evKind uint8

const (
	evToken   evKind = iota // a token for the handlers
	evStarved               // the decoder needs the next chunk
	evEnd                   // the decoder stopped (err, io.EOF when clean)
)

type xmlEvent struct {
	kind evKind
	tok  xml.Token
	err  error
}

type feedChunk struct {
	data  []byte
	final bool
}

type xmlStream struct {
	events   chan xmlEvent
	feed     chan feedChunk
	quit     chan struct{}
	quitOnce sync.Once
}

var errStreamAborted = errors.New("xml stream aborted")

func startXMLStream(first []byte, final, latin1 bool) *xmlStream {
	s := &xmlStream{
		events: make(chan xmlEvent),
		feed:   make(chan feedChunk),
		quit:   make(chan struct{}),
	}
	go s.run(newXMLDecoder(&streamReader{s: s, buf: first, final: final}, latin1))
	return s
}

// newXMLDecoder sets up encoding/xml the way both parse paths use it.
func newXMLDecoder(r io.Reader, latin1 bool) *xml.Decoder {
	dec := xml.NewDecoder(r)
	dec.Strict = true
	dec.CharsetReader = func(label string, in io.Reader) (io.Reader, error) {
		switch normEncoding(label) {
		case "usascii", "ascii", "utf8":
			return in, nil
		case "iso88591", "latin1":
			if latin1 {
				return in, nil // already converted chunk by chunk
			}
			return &latin1Reader{r: in}, nil
		}
		return nil, errors.New("unsupported charset " + label)
	}
	return dec
}

func (s *xmlStream) run(dec *xml.Decoder) {
	for {
		tok, err := dec.RawToken()
		if err != nil {
			s.send(xmlEvent{kind: evEnd, err: err})
			return
		}
		if !s.send(xmlEvent{kind: evToken, tok: xml.CopyToken(tok)}) {
			return
		}
	}
}

func (s *xmlStream) send(ev xmlEvent) bool {
	select {
	case s.events <- ev:
		return true
	case <-s.quit:
		return false
	}
}

func (s *xmlStream) next() (xmlEvent, bool) {
	select {
	case ev := <-s.events:
		return ev, true
	case <-s.quit:
		return xmlEvent{}, false
	}
}

// push hands the next chunk to the decoder, which is waiting for it (the
// last event it produced was evStarved).
func (s *xmlStream) push(data []byte, final bool) bool {
	select {
	case s.feed <- feedChunk{data, final}:
		return true
	case <-s.quit:
		return false
	}
}

func (s *xmlStream) abort() { s.quitOnce.Do(func() { close(s.quit) }) }

// streamReader is the decoder's input: the chunks given to Parse.
type streamReader struct {
	s     *xmlStream
	buf   []byte
	final bool
}

func (r *streamReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.final {
			return 0, io.EOF
		}
		if !r.s.send(xmlEvent{kind: evStarved}) {
			return 0, errStreamAborted
		}
		select {
		case c := <-r.s.feed:
			r.buf, r.final = c.data, c.final
		case <-r.s.quit:
			return 0, errStreamAborted
		}
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// latin1Reader converts ISO-8859-1 declared in the document to UTF-8.
type latin1Reader struct {
	r   io.Reader
	out []byte
}

func (l *latin1Reader) Read(p []byte) (int, error) {
	if len(l.out) == 0 {
		buf := make([]byte, len(p)/2+1)
		n, err := l.r.Read(buf)
		if n == 0 {
			return 0, err
		}
		l.out = latin1ToUTF8(buf[:n])
	}
	n := copy(p, l.out)
	l.out = l.out[n:]
	return n, nil
}
