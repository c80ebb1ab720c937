-- spec 2.1 example (fresh), verbatim.
require "ratchet"
local k = ratchet.new(function ()
    local t = ratchet.thread.attach(function (a, b) print(a + b) end, 2, 3)
    ratchet.thread.wait_all({t})
    print("child done")
end, function (err, th) io.stderr:write(tostring(err), "\n") end)
k:loop()          -- prints 5, then "child done"
