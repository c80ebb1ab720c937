require "ratchet"

counter = 0

function ctx_echo()
    local p = ratchet.exec.new({"echo", "hello", "world"})
    p:start()
    counter = counter + 1
    p:stdin():close()
    local output = p:stdout():read()
    assert(output:gsub("%\n$", "") == "hello world")
    counter = counter + 1
    assert(0 == p:wait())
    counter = counter + 1
end

function ctx_cat()
    local p = ratchet.exec.new({"cat"})
    p:start()
    p:stdin():write("test\n")
    p:stdin():close()
    assert("test\n" == p:stdout():read())
    counter = counter + 1
    assert(0 == p:wait())
    counter = counter + 1
end

function ctx_communicate()
    local p = ratchet.exec.new({"cat"})
    local out, err, status = p:communicate("testing")
    assert(out == "testing")
    assert(err == "")
    assert(status == 0)
    counter = counter + 1
end

kernel = ratchet.new(function ()
    ratchet.thread.attach(ctx_echo)
    ratchet.thread.attach(ctx_echo)
    ratchet.thread.attach(ctx_cat)
    ratchet.thread.attach(ctx_communicate)
end)
kernel:loop()

assert(counter == 9)
