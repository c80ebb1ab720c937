-- slimta.policies.forward: Lua pattern recipient rewriting (spec 2.32).
require "slimta.message"
require "slimta.policies.forward"

local m = slimta.message
local function msg(rcpts)
    return m.new(m.client.new(), m.envelope.new("s@x", rcpts), m.contents.new("x"))
end

local rewriter = slimta.policies.forward.new({
    {pattern = "^postmaster@(.+)$", repl = "admin@%1"},
    {pattern = "@old%.example$", repl = "@new.example", n = 1},
    {pattern = "^(%w+)%+[^@]*(@.*)$", repl = "%1%2"},
    {pattern = "^list@", repl = function () return "members@" end},
    {pattern = "^(%a+)@table%.example$", repl = {alice = "a@elsewhere", bob = false}},
})
local cases = {
    {"postmaster@example.com", "admin@example.com"},
    {"bob@old.example", "bob@new.example"},
    {"bob+tag@x.org", "bob@x.org"},
    {"list@x.org", "members@x.org"},
    {"alice@table.example", "a@elsewhere"},
    -- repl table value false keeps the match (counts as a substitution)
    {"bob@table.example", "bob@table.example"},
    {"nobody@example.com", "nobody@example.com"},
    -- first matching entry wins: postmaster at old.example is not rewritten twice
    {"postmaster@old.example", "admin@old.example"},
    -- nothing matches: untouched
    {"x@y", "x@y"},
}
local rcpts = {}
for i, c in ipairs(cases) do rcpts[i] = c[1] end
local message = msg(rcpts)
rewriter:map(message)
for i, c in ipairs(cases) do
    assert(message.envelope.recipients[i] == c[2],
           c[1] .. " -> " .. tostring(message.envelope.recipients[i]) .. ", want " .. c[2])
end

-- mapping is a plain field that may be edited later
rewriter.mapping = {{pattern = "a", repl = "%%", n = 2}}
local m2 = msg({"banana"})
rewriter:map(m2)
assert(m2.envelope.recipients[1] == "b%n%na", m2.envelope.recipients[1])

-- anchors and classes behave as in Lua
local r = slimta.policies.forward.new({{pattern = "^%s*(.-)%s*$", repl = "<%1>"}})
local m3 = msg({"  spaced@x  "})
r:map(m3)
assert(m3.envelope.recipients[1] == "<spaced@x>", m3.envelope.recipients[1])

-- an empty mapping leaves everything alone
local m4 = msg({"a@b"})
slimta.policies.forward.new():map(m4)
assert(m4.envelope.recipients[1] == "a@b")
