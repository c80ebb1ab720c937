package bustest

import (
	"sync"
	"testing"

	slimtalua "github.com/slimta-lua/slimta-lua"
	"github.com/slimta-lua/slimta-lua/internal/pcallfix"
	lua "github.com/yuin/gopher-lua"
)

// FuzzBusXML feeds arbitrary documents to the TCP bus decode path: the
// request side (slimta.bus.server.decode_request with slimta.message) and
// the response side (slimta.bus.client.decode_response with
// slimta.message.response). Decoding may fail, but only by raising a Lua
// error; whatever decodes must survive a re-encode/decode round trip with
// the same number of items.
const fuzzHarness = `
require "slimta.bus"
require "slimta.message"
local server, client = slimta.bus.server, slimta.bus.client
local m = slimta.message
return function (doc)
    local ok, items = pcall(server.decode_request, doc, {"attachment one", "two"}, m, nil)
    if ok then
        for _, msg in ipairs(items) do
            if msg.client and msg.envelope and msg.contents and msg.envelope.sender then
                local xml, att = client.encode_requests({msg})
                local again = server.decode_request(xml, att, m)
                assert(#again == 1, "request round trip")
                assert(again[1].envelope.sender == msg.envelope.sender, "sender round trip")
                assert(#again[1].envelope.recipients == #msg.envelope.recipients, "recipients round trip")
            end
        end
    end
    local ok2, responses = pcall(client.decode_response, doc, {}, m.response)
    if ok2 then
        local xml = server.encode_responses(responses)
        local again = client.decode_response(xml, {}, m.response)
        assert(#again == #responses, "response round trip")
        for i, r in ipairs(responses) do
            assert(again[i].code == r.code, "code round trip")
        end
    end
    return ok, ok2
end
`

var (
	busOnce sync.Once
	busMu   sync.Mutex
	busRT   *slimtalua.Runtime
	busFn   lua.LValue
)

func decodeFn() (*lua.LState, lua.LValue) {
	busOnce.Do(func() {
		busRT = slimtalua.New()
		L := busRT.State()
		if err := L.DoString(fuzzHarness); err != nil {
			panic(err)
		}
		busFn = L.Get(-1)
		L.Pop(1)
	})
	return busRT.State(), busFn
}

func FuzzBusXML(f *testing.F) {
	seeds := []string{
		"<requests>\r\n <message id=\"one\" timestamp=\"12345\" attempts=\"5\">\r\n  <client>\r\n   <protocol>SMTP</protocol>\r\n   <ehlo>testing</ehlo>\r\n   <ip>1.2.3.4</ip>\r\n   <security>TLS</security>\r\n   <receiver>myhost.tld</receiver>\r\n  </client>\r\n  <envelope>\r\n   <sender>sender@domain.com</sender>\r\n   <recipient>recipient@domain.com</recipient>\r\n   <destination relayer=\"SMTP\" port=\"2500\">4.3.2.1</destination>\r\n  </envelope>\r\n  <contents part=\"1\"/>\r\n </message>\r\n</requests>\r\n",
		"<responses>\r\n <reply code=\"250\">Message queued as x\r\n  <data>x</data>\r\n </reply>\r\n <reply code=\"451\">4.3.0 later</reply>\r\n</responses>\r\n",
		"<responses error=\"bad\"/>",
		"<requests><message><client/><envelope><sender>&lt;a&gt;</sender></envelope><contents part=\"9\"/></message></requests>",
		"<requests><other/></requests>",
		"",
		"<requests>",
		"<a/><b/>",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		busMu.Lock()
		defer busMu.Unlock()
		L, fn := decodeFn()
		top := L.GetTop()
		defer L.SetTop(top)
		L.Push(fn)
		L.Push(lua.LString(doc))
		if err := pcallfix.PCall(L, 1, 2); err != nil {
			t.Fatalf("decode of %q: %v", doc, err)
		}
	})
}
