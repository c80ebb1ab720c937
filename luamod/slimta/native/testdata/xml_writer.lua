-- test_xml_writer (spec 4.2, 2.7).
local writer = require "slimta.xml.writer"

local inner = {}
function inner:to_xml(attachments)
    table.insert(attachments, "test")
    return {tostring(#attachments)}
end
local item = {}
function item:to_xml(attachments)
    return {"<item>", inner:to_xml(attachments), "</item>"}
end

local w = writer.new()
assert(type(w.lines) == "table" and type(w.attachments) == "table")
w:add_item(item)
local doc, attachments = w:build({"container"})
assert(#attachments == 1 and attachments[1] == "test")
assert(doc == "<container>\r\n <item>\r\n  1\r\n </item>\r\n</container>\r\n", doc)

-- no containers, deeper nesting, literal leading spaces kept
local w2 = writer.new()
w2:add_item({to_xml = function() return {"<a>", {" <b>", {"x"}, " </b>"}, "</a>"} end})
w2:add_item({to_xml = function() return {"<c/>"} end})
assert(w2:build() == "<a>\r\n  <b>\r\n  x\r\n  </b>\r\n</a>\r\n<c/>\r\n", (w2:build()))

-- two containers
local w3 = writer.new()
w3:add_item({to_xml = function() return {"<z/>"} end})
assert(w3:build({"p", "q"}) == "<p>\r\n <q>\r\n  <z/>\r\n </q>\r\n</p>\r\n")

-- escaping helpers
assert(writer.escape_text("a<b&c>\r\n") == "a&lt;b&amp;c&gt;&#13;\n")
assert(writer.escape_attr('"x"\t\r\n') == "&quot;x&quot;&#9;&#13;&#10;")
