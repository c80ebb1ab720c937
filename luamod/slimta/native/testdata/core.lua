-- require "slimta": global table, version, native submodules (spec 0.1, 2.1).
assert(slimta == nil)
local s = require "slimta"
assert(type(s) == "table")
assert(slimta == s, "require must create the global slimta table")
assert(s.version == "0.0")
for _, name in ipairs({"xml", "uuid", "base64", "hmac", "signalfd"}) do
    assert(type(s[name]) == "table", name)
    assert(package.loaded["slimta." .. name] == s[name], name)
    assert(require("slimta." .. name) == s[name], name)
end
assert(type(s.redirect_stdio) == "function")
assert(type(s.daemonize) == "function")
assert(type(s.drop_privileges) == "function")
assert(require "slimta" == s)

-- redirect_stdio with no arguments touches nothing.
s.redirect_stdio()

-- drop_privileges with a name that cannot exist raises a ratchet error.
local ok, err = pcall(s.drop_privileges, "no-such-user-slimta-test", "no-such-group")
assert(not ok)
assert(type(err) == "table" and err.type == "ratchet_error", tostring(err))
assert(err["function"] == "slimta.drop_privileges()")

-- redirect_stdio on an impossible path raises and leaves stdout alone.
ok, err = pcall(s.redirect_stdio, "/nonexistent-dir/slimta/out.log")
assert(not ok)
assert(err.type == "ratchet_error" and err.code == "ENOENT", tostring(err.code))
io.stdout:write("")

-- Lua modules load the core themselves.
local m = require "slimta.message"
assert(slimta.message == m)
assert(m.client and m.envelope and m.contents and m.bounce and m.response)
assert(slimta.xml.reader and slimta.xml.writer)
assert(require "slimta.xml.writer" == slimta.xml.writer)
assert(require "slimta.message.header_folding" == slimta.message.header_folding)
