require "ratchet"
local seen
local obj = setmetatable({data = "beep beep"}, {__call = function (self, x)
    seen = self.data .. x
end})
kernel = ratchet.new(function ()
    ratchet.thread.attach(obj, "!")
end)
kernel:loop()
assert(seen == "beep beep!")
-- a callable table as the entry itself
local entry = setmetatable({}, {__call = function (self) entered = true end})
ratchet.new(entry):loop()
assert(entered)
