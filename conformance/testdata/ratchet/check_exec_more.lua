-- spec 2.7: ratchet.exec details.
require "ratchet"

local function expect_error(pattern, f, ...)
    local ok, err = pcall(f, ...)
    assert(not ok, "expected an error matching " .. pattern)
    assert(tostring(err):match(pattern), tostring(err))
    return err
end

done = false
kernel = ratchet.new(function ()
    local argv = {"sh", "-c", "echo out; echo err >&2; exit 3"}
    local p = ratchet.exec.new(argv)
    assert(p:get_argv() == argv)
    assert(p:get_start_time() == nil)
    local err = expect_error("Must call start%(%)%.", p.stdin, p)
    assert(ratchet.error.is(err, "EBADF"))
    expect_error("Must call start", p.stdout, p)
    expect_error("Must call start", p.stderr, p)
    local out, errout, status = p:communicate()
    assert(out == "out\n" and errout == "err\n" and status == 3)
    assert(type(p:get_start_time()) == "number")
    assert(math.abs(p:get_start_time() - os.time()) < 5)

    -- wait: status and exited-normally flag; killed: 0, false.
    p = ratchet.exec.new({"sh", "-c", "exit 7"})
    assert(type(p:start()) == "number")
    local st, normal = p:wait()
    assert(st == 7 and normal == true)

    p = ratchet.exec.new({"sleep", "10"})
    p:start()
    assert(select("#", p:kill("SIGKILL")) <= 1)
    st, normal = p:wait()
    assert(st == 0 and normal == false, tostring(st) .. " " .. tostring(normal))

    p = ratchet.exec.new({"sleep", "10"})
    p:start()
    err = expect_error("", p.wait, p, 0.05)
    assert(ratchet.error.is(err, "ETIMEDOUT") and err.description == "Timed out on wait.")
    expect_error("bad argument", p.wait, p, "soon")
    expect_error("", p.kill, p, "SIGNOPE")
    p:kill()
    st, normal = p:wait()
    assert(normal == false)

    -- A program that cannot run: the child exits with status 1.
    p = ratchet.exec.new({"/nonexistent/program"})
    p:start()
    st = p:wait()
    assert(st == 1)

    -- Pipe files: read in chunks, write returns nothing, EOF gives "".
    p = ratchet.exec.new({"cat"})
    p:start()
    local stdin, stdout = p:stdin(), p:stdout()
    assert(type(stdin:get_fd()) == "number")
    assert(select("#", stdin:write("abc")) == 0)
    assert(stdout:read(2) == "ab")
    assert(stdout:read() == "c")
    stdin:close()
    assert(stdout:read() == "")
    assert(p:wait() == 0)

    -- Writing to a child that closed its stdin: EPIPE, no SIGPIPE.
    p = ratchet.exec.new({"sh", "-c", "exec 0<&-; sleep 0.2"})
    p:start()
    ratchet.thread.timer(0.05)
    local ok, werr
    for i = 1, 20 do
        ok, werr = pcall(p:stdin().write, p:stdin(), string.rep("x", 65536))
        if not ok then break end
    end
    assert(not ok and ratchet.error.is(werr, "EPIPE"), tostring(werr))
    p:wait()

    -- Many children at once.
    local threads = {}
    for i = 1, 10 do
        threads[i] = ratchet.thread.attach(function ()
            local o, e, s = ratchet.exec.new({"sh", "-c", "echo " .. i}):communicate()
            assert(o == i .. "\n" and s == 0)
        end)
    end
    ratchet.thread.wait_all(threads)
    done = true
end)
kernel:loop()
assert(done)
