-- slimta.storage.memory specifics (spec 2.22).
dofile(TESTDATA .. "/helper.lua")

local mod = require "slimta.storage.memory"
assert(mod == slimta, "modules return the slimta table")
local storage = slimta.storage.memory.new()
assert(storage:connect() == storage, "the engine is its own session")
storage:close()

-- meta is kept by reference, values keep their Lua types
local id = storage:claim_message_id()
local meta = {attempts = 0, timestamp = 12345}
storage:set_message_meta(id, meta)
assert(storage:get_message_meta(id) == meta)
storage:set_message_meta_key(id, "attempts", 1)
assert(meta.attempts == 1)
assert(storage.meta_hash[id] == meta and storage.id_hash[id] == true)

-- deferred: os.difftime(r, t) <= 0, order unspecified
storage:set_message_retry(id, 100)
assert(#storage:get_deferred_messages(99) == 0)
assert(#storage:get_deferred_messages(100) == 1)

-- lock: an unexpired entry blocks, an expired one does not
assert(storage:lock_message(id, 60) == true)
local ok, why = storage:lock_message(id, 60)
assert(ok == false and why == "locked")
storage.lock_hash[id] = os.time() - 1 -- expired
assert(storage:lock_message(id, 60) == true)
assert(#storage:get_active_messages() == 1)

-- delete clears all five maps
storage:delete_message(id)
for _, map in ipairs({"id_hash", "meta_hash", "contents_hash", "lock_hash", "defer_queue"}) do
    assert(next(storage[map]) == nil, map)
end

-- store under an explicit id (msg:store(session, id)) registers it
local m = test_message()
m:store(storage, "my-own-id")
assert(storage:get_all_messages()[1] == "my-own-id")
assert(storage:lock_message("my-own-id", 10))
local loaded = slimta.message.load(storage, "my-own-id")
assert(loaded.id == "my-own-id" and tostring(loaded.contents) == "test contents")

-- churn: the maps are rebuilt, so deleted ids do not accumulate
local churn = slimta.storage.memory.new()
local keep = churn:store_message({}, "kept", 5)
for i = 1, 5000 do
    local id = churn:store_message({i = i}, "x", os.time())
    assert(churn:lock_message(id, 10))
    churn:delete_message(id)
end
assert(churn.deleted < 2000, churn.deleted)
assert(churn.count == 1)
local all = churn:get_all_messages()
assert(#all == 1 and all[1] == keep)
assert(#churn:get_deferred_messages() == 1)
