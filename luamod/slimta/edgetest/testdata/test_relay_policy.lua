-- The default anti-relay rule (POLICY.md) without any network.
local policy = require "slimta.edge.relay_policy"

local p = policy.new()
-- loopback is trusted by default, in every spelling
for _, ip in ipairs({"127.0.0.1", "127.255.0.9", "::1", "::ffff:127.0.0.1", "0:0:0:0:0:0:0:1", "[::1]"}) do
    assert(p:allows(ip, false, "anyone@anywhere.example"), ip)
end
-- others are refused unless authenticated
for _, ip in ipairs({"192.0.2.1", "10.0.0.1", "::2", "2001:db8::1", "::ffff:192.0.2.1", "128.0.0.1", "not an ip", ""}) do
    assert(not p:allows(ip, false, "anyone@anywhere.example"), ip)
    assert(p:allows(ip, true, "anyone@anywhere.example"), ip)
end

-- local domains are accepted from anyone, without case or trailing dot
p:set_local_domains({"Example.ORG"})
assert(p:allows("192.0.2.1", false, "bob@example.org"))
assert(p:allows("192.0.2.1", false, "bob@EXAMPLE.org."))
assert(not p:allows("192.0.2.1", false, "bob@sub.example.org"))
assert(not p:allows("192.0.2.1", false, "bob@example.org@evil.example"))
assert(not p:allows("192.0.2.1", false, "example.org"))

-- custom networks replace the default
p:set_trusted_networks({"192.0.2.0/25", "2001:db8::/32", "198.51.100.7"})
assert(p:allows("192.0.2.127", false, "x@y"))
assert(not p:allows("192.0.2.128", false, "x@y"))
assert(p:allows("2001:db8:ffff::1", false, "x@y"))
assert(not p:allows("2001:db9::1", false, "x@y"))
assert(p:allows("198.51.100.7", false, "x@y"))
assert(not p:allows("198.51.100.8", false, "x@y"))
assert(not p:allows("127.0.0.1", false, "x@y"))
p:set_trusted_networks({"10.1.2.3/9"})
assert(p:allows("10.127.0.1", false, "x@y"))
assert(not p:allows("10.128.0.1", false, "x@y"))
p:set_trusted_networks({"::/0"})
assert(p:allows("2001:db8::1", false, "x@y") and p:allows("1.2.3.4", false, "x@y"))
p:set_trusted_networks({})
assert(not p:allows("127.0.0.1", false, "x@y"))

-- bad networks raise at configuration time
for _, bad in ipairs({"300.0.0.1/8", "1.2.3.4/33", "::1/129", "foo", "1::2::3"}) do
    assert(not pcall(p.set_trusted_networks, p, {bad}), bad)
end

-- explicit opt-out
p:set_open_relay(true)
assert(p:allows("192.0.2.200", false, "x@y"))

-- address parsing corner cases
local parse = policy.parse_ip
assert(parse("::")[16] == 0)
assert(parse("1:2:3:4:5:6:7:8")[16] == 8)
assert(parse("::ffff:10.0.0.1")[13] == 10)
assert(parse("fe80::1%eth0")[1] == 0xfe)
assert(parse("1:2:3:4:5:6:7:8:9") == nil)
assert(parse("12345::") == nil)
assert(parse("1.2.3") == nil)
