require "slimta.base64"

local all_bytes = {}
for i = 0, 255 do
    table.insert(all_bytes, string.char(i))
end

local tests = {
    {"", ""},
    {"A", "QQ=="},
    {"AB", "QUI="},
    {"ABC", "QUJD"},
    {"ABCD", "QUJDRA=="},
    {string.rep("ABC", 1000), string.rep("QUJD", 1000)},
    {table.concat(all_bytes), "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn+AgYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6ChoqOkpaanqKmqq6ytrq+wsbKztLW2t7i5uru8vb6/wMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbX2Nna29zd3t/g4eLj5OXm5+jp6uvs7e7v8PHy8/T19vf4+fr7/P3+/w=="},
}

for i, test in ipairs(tests) do
    local encoded = slimta.base64.encode(test[1])
    assert(test[2] == encoded, "encode " .. i)
    local decoded = slimta.base64.decode(test[2])
    assert(test[1] == decoded, "decode " .. i)
end

-- vim:et:fdm=marker:sts=4:sw=4:ts=4
