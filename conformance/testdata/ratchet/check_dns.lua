-- spec 2.6: local answers of ratchet.dns (no network needed).
require "ratchet"

local function expect_error(pattern, f, ...)
    local ok, err = pcall(f, ...)
    assert(not ok, "expected an error matching " .. pattern)
    assert(tostring(err):match(pattern), tostring(err))
    return err
end

HOSTS = os.tmpname()
local f = assert(io.open(HOSTS, "w"))
f:write("# test hosts\n")
f:write("10.1.2.3 alpha.example alpha\n")
f:write("10.1.2.4 Beta.Example\n")
f:write("10.1.2.5 alpha.example\n")
f:write("fd00::5 alpha.example\n")
f:write("10.1.2.3 second-name\n")
f:close()

kernel = ratchet.new(function ()
    local a = ratchet.dns.query("localhost", "a")
    assert(#a == 1 and tostring(a[1]) == "127.0.0.1")
    local none, msg = ratchet.dns.query("localhost", "aaaa")
    assert(none == nil and msg == "localhost has no AAAA record", tostring(msg))
    local ptr = ratchet.dns.query("127.0.0.1", "ptr")
    assert(ptr[1] == "localhost.", tostring(ptr[1]))
    assert(ratchet.dns.query("1.0.0.127.in-addr.arpa", "PTR")[1] == "localhost.")
    assert(tostring(ratchet.dns.query("*", "a")[1]) == "0.0.0.0")
    assert(tostring(ratchet.dns.query("*", "AAAA")[1]) == "::")
    assert(tostring(ratchet.dns.query("192.0.2.7", "a")[1]) == "192.0.2.7")
    assert(tostring(ratchet.dns.query("2001:db8::1", "aaaa")[1]) == "2001:db8::1")
    expect_error("unknown DNS query type: bogus", ratchet.dns.query, "localhost", "bogus")
    expect_error("", ratchet.dns.query, "localhost")

    -- A user hosts file: every matching line in order, case-insensitive.
    local hosts = ratchet.dns.hosts.new({HOSTS})
    local rc = ratchet.dns.resolv_conf.new({"/dev/null"})
    local ans = ratchet.dns.query("alpha.example", "a", rc, hosts, 1)
    assert(#ans == 2 and tostring(ans[1]) == "10.1.2.3" and tostring(ans[2]) == "10.1.2.5")
    ans = ratchet.dns.query("beta.example", "a", rc, hosts, 1)
    assert(#ans == 1 and tostring(ans[1]) == "10.1.2.4")
    ans = ratchet.dns.query("ALPHA", "a", rc, hosts, 1)
    assert(tostring(ans[1]) == "10.1.2.3")
    ans = ratchet.dns.query("alpha.example", "aaaa", rc, hosts, 1)
    assert(tostring(ans[1]) == "fd00::5")
    ans = ratchet.dns.query("10.1.2.3", "ptr", rc, hosts, 1)
    assert(ans[1] == "alpha.example." and ans[2] == "second-name.", tostring(ans[1]) .. " " .. tostring(ans[2]))

    -- query_all: one entry per type string as given, plus T_error.
    local all = ratchet.dns.query_all("localhost", {"a", "AAAA"})
    assert(type(all) == "table")
    assert(tostring(all.a[1]) == "127.0.0.1")
    assert(all.a_error == nil)
    assert(all.AAAA == nil and all.AAAA_error == "localhost has no AAAA record", tostring(all.AAAA_error))
    all = ratchet.dns.query_all("alpha.example", {"a", "aaaa"}, rc, hosts, 1)
    assert(tostring(all.a[2]) == "10.1.2.5" and tostring(all.aaaa[1]) == "fd00::5")

    -- prepare_tcp uses the same rules.
    local rec = ratchet.socket.prepare_tcp("localhost", 25)
    assert(rec.family == 2 and tostring(rec.addr) == "127.0.0.1")
end)
kernel:loop()

-- Loader errors: "<path>: <reason>", function named, no code.
local err = expect_error("", ratchet.dns.hosts.new, {"/nonexistent/hosts"})
assert(type(err) == "table" and err.type == "ratchet_error", tostring(err))
assert(err.description:match("^/nonexistent/hosts: "), err.description)
assert(err["function"] == "ratchet.dns.hosts.new()", tostring(err["function"]))
assert(err.code == nil)
err = expect_error("", ratchet.dns.resolv_conf.new, {"/nonexistent/resolv.conf"})
assert(err.description:match("^/nonexistent/resolv%.conf: "), err.description)
assert(err["function"] == "ratchet.dns.resolv_conf.new()", tostring(err["function"]))
assert(ratchet.dns.hosts.new())
assert(ratchet.dns.resolv_conf.new())
os.remove(HOSTS)
