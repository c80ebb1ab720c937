-- slimta.uuid.generate(): random canonical lower-case UUIDs (spec 2.4).
local uuid = require "slimta.uuid"
local seen = {}
for _ = 1, 200 do
    local u = uuid.generate()
    assert(#u == 36)
    assert(u:match("^%x%x%x%x%x%x%x%x%-%x%x%x%x%-4%x%x%x%-[89ab]%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$"), u)
    assert(u == u:lower())
    assert(not seen[u])
    seen[u] = true
end
