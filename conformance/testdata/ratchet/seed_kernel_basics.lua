-- shared/seed/ratchet.rst snippets 1, 2 and 4: require order, an entry
-- thread, an error handler printing debug.traceback(thread, err), and a
-- listening socket prepared for "0.0.0.0".
require "ratchet"
require "slimta"

PORT = tonumber(os.getenv("RATCHET_TEST_PORT")) or 25

ran = false

local kernel = ratchet.new(function ()
    -- This is the entry thread...
    -- Attach additional threads, make blocking socket calls, etc.
    ran = true
end)
kernel:loop()
assert(ran)

handled = 0
others = 0

local function error_handler(err, thread)
    print(debug.traceback(thread, err))
    handled = handled + 1
end

local function entry_thread()
    ratchet.thread.attach(function () error("first failure") end)
    ratchet.thread.attach(function () error(ratchet.error.new("second failure", "TEST")) end)
    ratchet.thread.attach(function ()
        ratchet.thread.timer(0.01)
        others = others + 1
    end)

    local rec = ratchet.socket.prepare_tcp("0.0.0.0", PORT)
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:setsockopt("SO_REUSEADDR", true)
    socket:bind(rec.addr)
    socket:listen()
    assert(rec.family == 2)
    assert(tostring(rec.addr) == "0.0.0.0")
    others = others + 1
end

local kernel = ratchet.new(entry_thread, error_handler)
kernel:loop()
assert(handled == 2)
assert(others == 2)
