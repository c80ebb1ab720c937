-- test_base64 (spec 4.2) plus the non-raising decode contract (spec 2.2).
local base64 = require "slimta.base64"

local all = {}
for i = 0, 255 do all[#all + 1] = string.char(i) end
all = table.concat(all)
local all_b64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEy"
    .. "MzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdo"
    .. "aWprbG1ub3BxcnN0dXZ3eHl6e3x9fn+AgYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2e"
    .. "n6ChoqOkpaanqKmqq6ytrq+wsbKztLW2t7i5uru8vb6/wMHCw8TFxsfIycrLzM3Oz9DR0tPU"
    .. "1dbX2Nna29zd3t/g4eLj5OXm5+jp6uvs7e7v8PHy8/T19vf4+fr7/P3+/w=="
assert(#all_b64 == 344)

local cases = {
    {"", ""},
    {"A", "QQ=="},
    {"AB", "QUI="},
    {"ABC", "QUJD"},
    {"ABCD", "QUJDRA=="},
    {("ABC"):rep(1000), ("QUJD"):rep(1000)},
    {all, all_b64},
}
for i, c in ipairs(cases) do
    assert(base64.encode(c[1]) == c[2], "encode case " .. i)
    assert(base64.decode(c[2]) == c[1], "decode case " .. i)
end

-- Tolerant decoding: trailing line break, missing padding; garbage -> "".
assert(base64.decode("QUJDRA==\r\n") == "ABCD")
assert(base64.decode("QUJDRA==\n") == "ABCD")
assert(base64.decode("QUJDRA") == "ABCD")
assert(base64.decode("not base64!") == "")
assert(base64.decode("QQ=x") == "")
assert(base64.decode("AHRlc3R1c2VyAHRlc3RwYXNz") == "\0testuser\0testpass")

assert(not pcall(base64.encode, nil))
assert(not pcall(base64.decode, {}))
