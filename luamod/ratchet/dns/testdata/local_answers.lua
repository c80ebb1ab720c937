-- Local answers (spec 2.6 rules 1-4): no DNS traffic, from main and threads.
require "ratchet"

local function addrs(r)
    local out = {}
    for i, a in ipairs(r) do out[i] = tostring(a) end
    return table.concat(out, ",")
end

local function check_local()
    local r = assert(ratchet.dns.query("localhost", "a"))
    assert(#r == 1 and tostring(r[1]) == "127.0.0.1", addrs(r))
    local none, msg = ratchet.dns.query("localhost", "AAAA")
    assert(none == nil and msg == "localhost has no AAAA record", msg)
    assert(ratchet.dns.query("127.0.0.1", "ptr")[1] == "localhost.")
    assert(ratchet.dns.query("1.0.0.127.in-addr.arpa", "ptr")[1] == "localhost.")
    assert(addrs(ratchet.dns.query("*", "a")) == "0.0.0.0")
    assert(addrs(ratchet.dns.query("*", "aaaa")) == "::")
    assert(addrs(ratchet.dns.query("192.0.2.9", "a")) == "192.0.2.9")
    assert(addrs(ratchet.dns.query("2001:db8::9", "aaaa")) == "2001:db8::9")
    local n, m = ratchet.dns.query("192.0.2.9", "aaaa")
    assert(n == nil and m == "192.0.2.9 has no AAAA record", m)
    n, m = ratchet.dns.query("localhost", "mx")
    assert(n == nil and m == "localhost has no MX record", m)
    -- Address objects compare by value.
    assert(ratchet.dns.query("*", "a")[1] == ratchet.dns.query("0.0.0.0", "a")[1])

    -- A hosts object built by the user.
    local hosts = ratchet.dns.hosts.new({HOSTS})
    assert(addrs(ratchet.dns.query("FileHost", "a", nil, hosts)) == "192.0.2.77")
    local p = ratchet.dns.query("192.0.2.77", "ptr", nil, hosts)
    assert(#p == 1 and p[1] == "filehost.test.", p[1])
    -- ... which may list an IPv6 localhost.
    assert(addrs(ratchet.dns.query("localhost", "aaaa", nil, hosts)) == "::1")

    local all = ratchet.dns.query_all("localhost", {"a", "AAAA", "mx"})
    assert(addrs(all.a) == "127.0.0.1")
    assert(all.a_error == nil)
    assert(all.AAAA == nil and all.AAAA_error == "localhost has no AAAA record")
    assert(all.mx == nil and all.mx_error == "localhost has no MX record")
end

check_local()

local done = 0
local kernel = ratchet.new(function ()
    for i = 1, 3 do
        ratchet.thread.attach(function ()
            check_local()
            done = done + 1
        end)
    end
end)
kernel:loop()
assert(done == 3)
assert(DNS_QUERIES() == 0, "local answers reached the DNS server")

-- Argument and configuration errors.
local ok, err = pcall(ratchet.dns.query, "x", "bogus")
assert(not ok and err:match("unknown DNS query type: bogus"), err)
ok, err = pcall(ratchet.dns.query, "x")
assert(not ok and err:match("bad argument #2"), err)
ok, err = pcall(ratchet.dns.hosts.new, {MISSING})
assert(not ok)
assert(err.type == "ratchet_error" and err.code == nil)
assert(err["function"] == "ratchet.dns.hosts.new()")
assert(err.description == MISSING .. ": no such file or directory", err.description)
ok, err = pcall(ratchet.dns.resolv_conf.new, {MISSING})
assert(not ok and err["function"] == "ratchet.dns.resolv_conf.new()")

assert(package.loaded["ratchet.dns"] == ratchet.dns)
assert(package.loaded["ratchet.dns.hosts"] == ratchet.dns.hosts)
assert(package.loaded["ratchet.dns.resolv_conf"] == ratchet.dns.resolv_conf)
