require "ratchet"

called = false

local callable = {data = "beep beep"}
setmetatable(callable, {__call = function (self)
    assert(self.data == "beep beep")
    called = true
end})

kernel = ratchet.new(function ()
    ratchet.thread.attach(callable)
end)
kernel:loop()
assert(called)
