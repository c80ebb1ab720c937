-- Queries answered by the loopback test server named in RESOLV_CONF.
require "ratchet"

local rc = ratchet.dns.resolv_conf.new({RESOLV_CONF})

local function addrs(r)
    local out = {}
    for i, a in ipairs(r) do out[i] = tostring(a) end
    return table.concat(out, ",")
end

local function check(conf)
    assert(addrs(ratchet.dns.query("host.test", "a", conf)) == "192.0.2.1,192.0.2.2")
    assert(addrs(ratchet.dns.query("host.test.", "aaaa", conf)) == "2001:db8::1")
    local p = ratchet.dns.query("192.0.2.2", "ptr", conf)
    assert(p[1] == "host.test.", p[1])
    local t = ratchet.dns.query("txt.test", "txt", conf)
    assert(#t == 1 and t[1] == "hello world", t[1])

    local mx = assert(ratchet.dns.query("mail.test", "mx", conf))
    assert(mx.n == 5)
    assert(#mx.priorities == 3 and mx.priorities[1] == 10 and mx.priorities[2] == 20 and mx.priorities[3] == 30)
    assert(mx[10][1] == "mx1.mail.test." and mx[10][2] == "mx2.mail.test.")
    assert(mx[20][1] == "mx3.mail.test." and mx[20][2] == "mx4.mail.test.")
    local order = {}
    for i = 1, 5 do order[i] = mx:get_i(i) end
    assert(table.concat(order, " ") == "mx1.mail.test. mx2.mail.test. mx3.mail.test. mx4.mail.test. mx5.mail.test.")
    assert(mx:get_i(0) == nil and mx:get_i(-1) == nil)
    assert(mx:get_i(6) == "mx1.mail.test." and mx:get_i(10) == "mx5.mail.test.")

    -- Preference 0 (a null MX, RFC 7505, and an ordinary one).
    local null = assert(ratchet.dns.query("null.test", "mx", conf))
    assert(null.n == 1 and null.priorities[1] == 0 and null[0][1] == "." and null:get_i(1) == ".")
    local zero = assert(ratchet.dns.query("zero.test", "mx", conf))
    assert(zero:get_i(1) == "a.zero.test." and zero:get_i(2) == "b.zero.test.")

    local soa = ratchet.dns.query("test", "soa", conf)[1]
    assert(soa.mname == "ns1.test." and soa.rname == "admin.test." and soa.serial == 7)
    assert(soa.refresh == 3600 and soa.retry == 600 and soa.expire == 86400 and soa.minimum == 300)
    local srv = ratchet.dns.query("_smtp._tcp.test", "srv", conf)[1]
    assert(srv.priority == 10 and srv.weight == 5 and srv.port == 25 and srv.target == "mail.test.")
    local fp = ratchet.dns.query("ssh.test", "sshfp", conf)[1]
    assert(fp.algorithm == "dsa" and fp.type == "sha1" and #fp.digest == 20 and fp.digest:byte(1) == 1)
    local ok, err = pcall(ratchet.dns.query, "ssh256.test", "sshfp", conf)
    assert(not ok and err.code == "EINVAL" and err.description == "Only SHA1 digests are supported.")

    local none, msg = ratchet.dns.query("nowhere.test", "a", conf)
    assert(none == nil and msg == "nowhere.test has no A record", msg)
    none, msg = ratchet.dns.query("host.test", "mx", conf)
    assert(none == nil and msg == "host.test has no MX record", msg)

    local all = ratchet.dns.query_all("host.test", {"a", "aaaa", "mx"}, conf)
    assert(addrs(all.a) == "192.0.2.1,192.0.2.2" and addrs(all.aaaa) == "2001:db8::1")
    assert(all.mx == nil and all.mx_error == "host.test has no MX record")
end

-- From main: synchronous.
check(rc)
-- The defaults were pointed at the same server by the test.
check(nil)

-- In threads: only the querying thread waits; a silent name times out
-- while the others finish.
local finished, ticks = 0, 0
local kernel = ratchet.new(function ()
    ratchet.thread.attach(function ()
        local r, msg = ratchet.dns.query("silent.test", "a", rc, nil, 0.3)
        assert(r == nil and msg == "Timed out.", msg)
        local all = ratchet.dns.query_all("silent.test", {"a", "mx"}, rc, nil, 0.3)
        assert(all.a_error == "Timed out." and all.mx_error == "Timed out.")
        finished = finished + 1
    end)
    ratchet.thread.attach(function ()
        for i = 1, 5 do
            ratchet.thread.timer(0.01)
            ticks = ticks + 1
        end
    end)
    for i = 1, 3 do
        ratchet.thread.attach(function ()
            check(rc)
            finished = finished + 1
        end)
    end
end)
kernel:loop()
assert(finished == 4 and ticks == 5)

-- A thread killed in the middle of a query goes away at once.
local k2 = ratchet.new(function ()
    local t = ratchet.thread.attach(function ()
        ratchet.dns.query("silent.test", "a", rc, nil, 30)
        error("not reached")
    end)
    ratchet.thread.timer(0.05)
    ratchet.thread.kill(t)
end)
k2:loop()
