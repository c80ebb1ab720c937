-- Further ratchet.exec behaviour (spec 2.7, defects 4.10/4.11).
require "ratchet"

local function errcode(f, ...)
    local ok, err = pcall(f, ...)
    assert(not ok, "expected an error")
    return err
end

local done = {}

ratchet.new(function ()
    -- get_argv, get_start_time, use before start.
    ratchet.thread.attach(function ()
        local argv = {"true"}
        local p = ratchet.exec.new(argv)
        assert(p:get_argv() == argv)
        assert(p:get_start_time() == nil)
        local err = errcode(p.stdin, p)
        assert(err.code == "EBADF" and err.description == "Must call start().", tostring(err))
        local before = os.time()
        assert(type(p:start()) == "number")
        assert(p:get_start_time() >= before - 1)
        assert(not pcall(p.start, p), "second start must fail")
        local status, normal = p:wait()
        assert(status == 0 and normal == true)
        done.basic = true
    end)

    -- Exit statuses, a program that cannot run, stderr.
    ratchet.thread.attach(function ()
        local out, err, status = ratchet.exec.new({"sh", "-c", "echo out; echo err >&2; exit 3"}):communicate()
        assert(out == "out\n" and err == "err\n" and status == 3, status)
        local p = ratchet.exec.new({"/nonexistent/program"})
        p:start()
        assert(p:stdout():read() == "")
        local status, normal = p:wait()
        assert(status == 1 and normal == true)
        done.status = true
    end)

    -- kill, signals, wait with a timeout.
    ratchet.thread.attach(function ()
        local p = ratchet.exec.new({"sleep", "30"})
        p:start()
        local err = errcode(p.wait, p, 0.05)
        assert(err.code == "ETIMEDOUT" and err.description == "Timed out on wait.", tostring(err))
        assert(not pcall(p.kill, p, "SIGBOGUS"))
        p:kill("sigkill")
        local status, normal = p:wait()
        assert(status == 0 and normal == false)
        -- A reaped child is never signalled again.
        err = errcode(p.kill, p)
        assert(err.code == nil and err.errno ~= nil, tostring(err))
        local q = ratchet.exec.new({"sleep", "30"})
        q:start()
        q:kill()
        assert(select(2, q:wait()) == false)
        assert(not pcall(q.wait, q, "soon"))
        done.kill = true
    end)

    -- More data than a pipe holds, in both directions at once.
    ratchet.thread.attach(function ()
        local big = string.rep("0123456789abcdef", 64 * 1024) -- 1 MiB
        local out, err, status = ratchet.exec.new({"cat"}):communicate(big)
        assert(#out == #big and out == big and status == 0)
        -- write() returns the unwritten tail once the pipe is full.
        local p = ratchet.exec.new({"cat"})
        p:start()
        local rest = p:stdin():write(big)
        assert(type(rest) == "string" and #rest < #big)
        -- Drain stdout in another thread while this one keeps writing.
        local got = {}
        local reader = ratchet.thread.attach(function ()
            while true do
                local chunk = p:stdout():read(65536)
                if chunk == "" then break end
                got[#got + 1] = chunk
            end
        end)
        while rest do rest = p:stdin():write(rest) end
        p:stdin():close()
        ratchet.thread.wait_all({reader})
        assert(table.concat(got) == big)
        assert(p:wait() == 0)
        done.big = true
    end)

    -- A reader that went away: EPIPE, and no SIGPIPE kills us.
    ratchet.thread.attach(function ()
        local p = ratchet.exec.new({"sh", "-c", "exec 0<&-; echo closed; sleep 5"})
        p:start()
        assert(p:stdout():read() == "closed\n")
        local err = errcode(p:stdin().write, p:stdin(), "x")
        assert(err.code == "EPIPE", tostring(err))
        p:kill()
        p:wait()
        done.epipe = true
    end)

    -- block_on works with exec files; get_fd gives a descriptor.
    ratchet.thread.attach(function ()
        local p = ratchet.exec.new({"sh", "-c", "sleep 0.05; echo late"})
        p:start()
        local f = p:stdout()
        assert(type(f:get_fd()) == "number" and f:get_fd() >= 0)
        assert(ratchet.thread.block_on({f}, nil, 0.001) == false)
        assert(ratchet.thread.block_on({f}) == f)
        assert(f:read() == "late\n")
        p:wait()
        assert(f:get_fd() == -1)
        done.block_on = true
    end)

    -- The child inherits none of our pipes (close-on-exec, 4.10). The
    -- test process itself may have inherited descriptors from its parent;
    -- only ours are checked.
    ratchet.thread.attach(function ()
        local holder = ratchet.exec.new({"cat"})
        holder:start()
        local ours = {}
        for _, f in ipairs({holder:stdin(), holder:stdout(), holder:stderr()}) do
            ours[f:get_fd()] = true
        end
        local out = ratchet.exec.new({"ls", "/proc/self/fd"}):communicate()
        for fd in out:gmatch("%d+") do
            fd = tonumber(fd)
            assert(fd <= 3 or not ours[fd], "leaked descriptor " .. fd)
        end
        holder:stdin():close()
        holder:wait()
        done.cloexec = true
    end)
end):loop()

for _, k in ipairs({"basic", "status", "kill", "big", "epipe", "block_on", "cloexec"}) do
    assert(done[k], k .. " did not finish")
end

-- From main, communicate runs synchronously.
local out = ratchet.exec.new({"echo", "main"}):communicate()
assert(out == "main\n")
