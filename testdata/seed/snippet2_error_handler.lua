-- Seed snippet 2 (verbatim handler): the traceback of the failed thread is
-- printed and other threads go on.
require "ratchet"

local printed
local function error_handler(err, thread)
    printed = debug.traceback(thread, err)
    print(printed)
end

local others_ran = false
local function entry_thread()
    ratchet.thread.attach(function ()
        ratchet.thread.timer(0.01)
        others_ran = true
    end)
    local function inner() error("failure in thread") end
    inner()
end

local kernel = ratchet.new(entry_thread, error_handler)
kernel:loop()
assert(others_ran, "other threads must continue")
assert(printed:find("failure in thread", 1, true), printed)
assert(printed:find("stack traceback:", 1, true), printed)
assert(printed:find("inner", 1, true), "traceback names the failing function: " .. printed)
