-- test_xml_reader (spec 4.2, 2.8).
local reader = require "slimta.xml.reader"

local root = reader.new():parse_xml("<container><item1>1</item1>test<item2>2</item2></container>")
assert(root.name == nil)
assert(#root == 1)
local c = root[1]
assert(c.name == "container")
assert(#c == 2)
assert(c.data == "test")
assert(c[1].name == "item1" and c[1].data == "1")
assert(c[2].name == "item2" and c[2].data == "2")

-- the example of spec 2.8
root = reader.new():parse_xml("<a x='1'>hi<b>2</b>!</a>")
assert(root[1].name == "a" and root[1].attrs.x == "1" and root[1].data == "hi!")
assert(root[1][1].name == "b" and root[1][1].data == "2")

-- nodes carry only name, attrs, data and children
for k in pairs(root[1]) do
    assert(k == "name" or k == "attrs" or k == "data" or type(k) == "number", tostring(k))
end
assert(next(root[1][1].attrs) == nil)
assert(root[1][1][1] == nil)

-- whitespace is kept, CRLF becomes LF, entities are decoded
root = reader.new():parse_xml("<a>\r\n x &amp; y\r\n <b/>\r\n</a>")
assert(root[1].data == "\n x & y\n \n", root[1].data)

-- malformed input raises the parser's message
local ok, err = pcall(function() return reader.new():parse_xml("<a><b></a>") end)
assert(not ok and err == "mismatched tag", tostring(err))
ok, err = pcall(reader.parse_xml, reader.new(), "")
assert(not ok and err == "no element found")
