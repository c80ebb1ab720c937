-- spec 0.1: what require returns and which globals each module sets.
assert(slimta == nil)
local s = require "slimta"
assert(s == slimta)
assert("table" == type(slimta))
assert("0.0" == slimta.version)
for _, name in ipairs({"xml", "uuid", "base64", "hmac", "signalfd"}) do
    assert("table" == type(slimta[name]), name)
    assert(slimta[name] == package.loaded["slimta." .. name], name)
    assert(slimta[name] == require("slimta." .. name), name)
end
for _, name in ipairs({"redirect_stdio", "daemonize", "drop_privileges"}) do
    assert("function" == type(slimta[name]), name)
end

-- routing modules return nothing: require yields true
require "slimta.message"
assert(true == require "slimta.routing.mx")
assert(true == require "slimta.routing.static")
assert("table" == type(slimta.routing.mx))
assert("table" == type(slimta.routing.static))

-- slimta.message pulls in the xml reader/writer and its submodules
for _, name in ipairs({"slimta.xml.reader", "slimta.xml.writer", "slimta.message.client",
        "slimta.message.envelope", "slimta.message.contents", "slimta.message.bounce",
        "slimta.message.response"}) do
    assert(package.loaded[name], name)
end
assert(slimta.xml.reader and slimta.xml.writer)
assert(slimta.message.client and slimta.message.envelope and slimta.message.contents)
assert(slimta.message.bounce and slimta.message.response)

-- slimta.bus loads ratchet and the bus parts
require "slimta.bus"
assert("table" == type(ratchet))
assert(slimta.bus.proxy and slimta.bus.server and slimta.bus.client)
assert(package.loaded["slimta.bus.proxy"] and package.loaded["slimta.bus.server"]
    and package.loaded["slimta.bus.client"])

-- slimta.relay loads slimta.relay.smtp but not maildrop
require "slimta.relay"
assert(slimta.relay.smtp)
assert(package.loaded["slimta.relay.smtp"])
assert(not package.loaded["slimta.relay.maildrop"])
require "slimta.relay.maildrop"
assert(slimta.relay.maildrop)

-- the edges
require "slimta.edge.smtp"
require "slimta.edge.smtp.auth"
require "slimta.edge.http"
assert(slimta.edge.smtp and slimta.edge.smtp.auth and slimta.edge.http)
assert(ratchet.smtp.server and ratchet.http.server)

require "slimta.queue"
require "slimta.storage.memory"
require "slimta.storage.redis"
assert(slimta.queue and slimta.storage.memory and slimta.storage.redis)

for _, name in ipairs({"add_date_header", "add_received_header", "add_message_id_header",
        "forward", "spamassassin"}) do
    require("slimta.policies." .. name)
    assert(slimta.policies[name], name)
end

-- internal modules are loadable
for _, name in ipairs({"slimta.message.header_folding", "slimta.edge.smtp.auth_mechanisms",
        "slimta.relay.smtp_session", "slimta.relay.maildrop_session",
        "slimta.storage.redis.driver", "slimta.storage.redis.session",
        "slimta.policies.spamassassin.spamc"}) do
    assert(require(name), name)
end

-- 5.2 features the original code and examples use
assert(table.unpack and table.pack)
assert(select("#", table.unpack({1, 2, 3})) == 3)
assert(table.pack(1, nil, 3).n == 3)
assert(("\0a\0b"):match("%z?\0([^\0]*)") == "a")
assert(tostring(12345) == "12345" and tostring(2500) == "2500")
assert(("%s"):format(setmetatable({}, {__tostring = function () return "x" end})) == "x")

-- the Go helpers are an internal module; with LUA_INIT disabling them the
-- pure Lua code runs instead
if os.getenv("LUA_INIT") then
    assert(package.loaded["slimta.message.native"] == nil)
else
    assert(package.loaded["slimta.message.native"])
end
