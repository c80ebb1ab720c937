-- Spec 3.2 test_exec: echo twice, cat, and communicate, in four threads.
require "ratchet"

counter = 0

function run_echo()
    local p = ratchet.exec.new({"echo", "hello", "world"})
    p:start()
    p:stdin():close()
    local out = p:stdout():read()
    out = out:gsub("%\r?%\n$", "")
    assert(out == "hello world", out)
    counter = counter + 1
    assert(p:wait() == 0)
    counter = counter + 1
end

function run_cat()
    local p = ratchet.exec.new({"cat"})
    p:start()
    p:stdin():write("test\n")
    p:stdin():close()
    assert(p:stdout():read() == "test\n")
    counter = counter + 1
    assert(p:wait() == 0)
    counter = counter + 1
end

function run_communicate()
    local p = ratchet.exec.new({"cat"})
    local out, err, status = p:communicate("testing")
    assert(out == "testing")
    counter = counter + 1
    assert(err == "")
    counter = counter + 1
    assert(status == 0)
    counter = counter + 1
end

function ctx1()
    ratchet.thread.attach(run_echo)
    ratchet.thread.attach(run_echo)
    ratchet.thread.attach(run_cat)
    ratchet.thread.attach(run_communicate)
end

kernel = ratchet.new(ctx1)
kernel:loop()
assert(counter == 9, tostring(counter))
