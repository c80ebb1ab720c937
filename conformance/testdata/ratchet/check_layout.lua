-- spec 0: module layout, globals and package.loaded entries.
local r = require "ratchet"
assert(r == ratchet, "require 'ratchet' must return the global ratchet")
assert(package.loaded.ratchet == ratchet)
assert(type(ratchet.new) == "function")
assert(type(ratchet.stackdump) == "function")
assert(ratchet.version == "0.8.2")
for _, name in ipairs({"thread", "error", "exec", "socket", "ssl", "dns", "timerfd", "zmqsocket"}) do
    assert(type(ratchet[name]) == "table", "ratchet." .. name .. " missing")
end
assert(type(ratchet.dns.hosts) == "table")
assert(type(ratchet.dns.resolv_conf) == "table")

-- Native submodules are also in package.loaded, ratchet.thread is not.
for _, name in ipairs({"error", "exec", "socket", "ssl", "dns", "timerfd", "zmqsocket"}) do
    assert(package.loaded["ratchet." .. name] == ratchet[name], "package.loaded['ratchet." .. name .. "']")
end
assert(package.loaded["ratchet.dns.hosts"] == ratchet.dns.hosts)
assert(package.loaded["ratchet.dns.resolv_conf"] == ratchet.dns.resolv_conf)
assert(package.loaded["ratchet.thread"] == nil)
assert(require("ratchet.socket") == ratchet.socket)
assert(require("ratchet.dns.hosts") == ratchet.dns.hosts)

-- Names that never existed.
assert(ratchet.attach == nil)
assert(ratchet.timer == nil)
assert(ratchet.thread.attach_background == nil)
assert(ratchet.socket.pair == nil)
assert(ratchet.socketpad == nil, "socketpad is loaded on demand")
assert(ratchet.bus == nil, "bus is loaded on demand")

-- Pure-Lua modules set their global fields.
local socketpad = require "ratchet.socketpad"
assert(socketpad == ratchet.socketpad and type(socketpad.new) == "function")
local bus = require "ratchet.bus"
assert(bus == ratchet.bus and type(bus.new_local) == "function")
assert(type(bus.new_server) == "function" and type(bus.new_client) == "function")
assert(ratchet.bus.client_transaction ~= nil)
for _, name in ipairs({"samestate", "samestate_transaction", "client", "client_transaction", "server", "server_transaction"}) do
    assert(require("ratchet.bus." .. name), "ratchet.bus." .. name)
end

local hc = require "ratchet.http.client"
assert(hc == ratchet.http.client and type(hc.new) == "function")
local hs = require "ratchet.http.server"
assert(hs == ratchet.http.server and type(hs.new) == "function")
assert(type(require "ratchet.http.common") == "table")

local sc = require "ratchet.smtp.client"
assert(sc == ratchet.smtp.client and type(sc.new) == "function")
local ss = require "ratchet.smtp.server"
assert(ss == ratchet.smtp.server and type(ss.new) == "function")
for _, name in ipairs({"smtp_io", "smtp_reply", "smtp_extensions", "data_reader", "data_sender"}) do
    assert(require("ratchet.smtp." .. name), "ratchet.smtp." .. name)
end

-- There is no ratchet.smtp or ratchet.http package of its own.
assert(not pcall(require, "ratchet.smtp"))
assert(not pcall(require, "ratchet.http"))
assert(not pcall(require, "ratchet.thread"))

-- ratchet.http.common does require "package".
assert(require "package" == package)
assert(require "string" == string)
assert(require "table" == table)
