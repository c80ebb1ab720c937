require "slimta.xml.reader"

local xml = "<container><item1>1</item1>test<item2>2</item2></container>"

local reader = slimta.xml.reader.new()
local root = reader:parse_xml(xml)

assert(1 == #root)
assert("container" == root[1].name)
assert(2 == #root[1])
assert("test" == root[1].data)
assert("item1" == root[1][1].name)
assert("1" == root[1][1].data)
assert("item2" == root[1][2].name)
assert("2" == root[1][2].data)

-- vim:et:fdm=marker:sts=4:sw=4:ts=4
