require "slimta.xml.writer"

inner_item = {}
function inner_item.to_xml(self, attachments)
    table.insert(attachments, "test")
    return {"1"}
end

item = {}
function item.to_xml(self, attachments)
    return {
        "<item>",
        inner_item:to_xml(attachments),
        "</item>",
    }
end

local writer = slimta.xml.writer.new()
writer:add_item(item)
local xml, attachments = writer:build({"container"})

assert(1 == #attachments)
assert("test" == attachments[1])

local expected = [[
<container>
 <item>
  1
 </item>
</container>
]]
expected = expected:gsub("\r?\n", "\r\n")
assert(expected == xml, xml)

-- vim:et:fdm=marker:sts=4:sw=4:ts=4
