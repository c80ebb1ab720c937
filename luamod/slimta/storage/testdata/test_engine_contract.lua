-- The session interface of spec 2.21 (plus the queue's extensions) as
-- every engine implements it.
dofile(TESTDATA .. "/helper.lua")

local function same(a, b)
    return tostring(a) == tostring(b)
end

local function check(storage)
    local s = storage:connect()

    -- claim + separate writes (the original message:store path)
    local id = s:claim_message_id()
    assert(type(id) == "string" and #id == 36, tostring(id))
    assert(id:match("^%x+%-%x+%-[47]%x+%-[89ab]%x+%-%x+$"), id) -- v4, or v7 (disk)
    local all = s:get_all_messages()
    assert(count_ids(all) == 1 and all[1] == id)
    local meta = {timestamp = 12345, attempts = 0, sender = "a@b", recipients = "\0x@y\0z@w", dest_port = 25}
    s:set_message_meta(id, meta)
    s:set_message_contents(id, "raw\r\n\0bytes")
    local got = assert(s:get_message_meta(id))
    for k, v in pairs(meta) do
        assert(same(got[k], v), k .. ": " .. tostring(got[k]))
    end
    assert(s:get_message_contents(id) == "raw\r\n\0bytes")
    assert(same(s:get_message_meta_key(id, "sender"), "a@b"))
    assert(s:get_message_meta_key(id, "nope") == nil)
    s:set_message_meta_key(id, "attempts", 3)
    assert(same(s:get_message_meta_key(id, "attempts"), 3))
    if ENGINE ~= "memory" then
        s:set_message_meta_key(id, "dest_port", nil)
        assert(s:get_message_meta_key(id, "dest_port") == nil)
    end

    -- unknown ids
    local none, err = s:get_message_meta("00000000-0000-4000-8000-000000000000")
    assert(none == nil and err == "Message ID not found.", tostring(err))
    none, err = s:get_message_contents("00000000-0000-4000-8000-000000000000")
    assert(none == nil and err == "Message ID not found.")
    assert(not pcall(s.set_message_meta_key, s, "00000000-0000-4000-8000-000000000000", "k", "v"))

    -- retry schedule
    assert(count_ids(s:get_deferred_messages()) == 0)
    s:set_message_retry(id, 1000)
    assert(count_ids(s:get_deferred_messages(999)) == 0)
    assert(count_ids(s:get_deferred_messages(1000)) == 1)
    assert(count_ids(s:get_deferred_messages()) == 1)
    assert(s:get_message_retry(id) == 1000)
    -- reading does not consume
    assert(count_ids(s:get_deferred_messages(os.time())) == 1)

    -- whole-message store with schedule, and replacement
    local id2 = s:store_message({sender = "c@d", recipients = "\0e@f", attempts = 0, timestamp = 1}, "second", 2000)
    assert(id2 ~= id)
    assert(s:get_message_contents(id2) == "second")
    assert(same(s:get_message_meta(id2).sender, "c@d"))
    local due = s:get_deferred_messages(1500)
    assert(count_ids(due) == 1 and due[1] == id)
    assert(count_ids(s:get_deferred_messages(2000)) == 2)
    local id3 = s:store_message({sender = ""}, "bounce", os.time(), id2)
    assert(s:get_message_meta(id2) == nil)
    assert(s:get_message_contents(id3) == "bounce")
    assert(count_ids(s:get_all_messages()) == 2)

    -- locks
    assert(s:lock_message(id, 60) == true)
    local ok, why = s:lock_message(id, 60)
    assert(ok == false and why == "locked", tostring(why))
    local active = s:get_active_messages()
    assert(count_ids(active) == 1 and active[1] == id)
    -- a lock pushes the retry time to its expiry (the disk engine writes
    -- that without waiting: sync() waits for it)
    if s.sync then
        s:sync()
    end
    assert(s:get_message_retry(id) >= os.time() + 59)
    assert(count_ids(s:get_deferred_messages(os.time())) == 1) -- only id3
    assert(s:refresh_lock(id, 120) == true)
    if s.sync then
        s:sync()
    end
    assert(s:get_message_retry(id) >= os.time() + 119)
    s:unlock_message(id)
    assert(s:refresh_lock(id, 10) == false)
    assert(count_ids(s:get_active_messages()) == 0)
    assert(s:lock_message(id, 1) == true)
    s:unlock_message(id)
    ok, why = s:lock_message("00000000-0000-4000-8000-000000000000", 10)
    assert(ok == false and why == "Message ID not found.", tostring(why))

    -- delete removes everything
    assert(s:lock_message(id, 60))
    s:delete_message(id)
    assert(s:get_message_meta(id) == nil)
    assert(s:get_message_contents(id) == nil)
    assert(count_ids(s:get_active_messages()) == 0)
    all = s:get_all_messages()
    assert(count_ids(all) == 1 and all[1] == id3)
    assert(count_ids(s:get_deferred_messages()) == 1)
    assert(s:set_message_retry(id, 5) ~= true)
    s:delete_message(id3)
    assert(count_ids(s:get_all_messages()) == 0)
    assert(count_ids(s:get_deferred_messages()) == 0)
    s:close()
end

-- from main (outside any thread) and from a ratchet thread
check(new_storage())
run(function ()
    check(new_storage())
    -- concurrent writers in several threads
    local storage = new_storage()
    local threads, ids = {}, {}
    for t = 1, 8 do
        threads[t] = ratchet.thread.attach(function ()
            local s = storage:connect()
            for i = 1, 10 do
                local id = s:store_message({n = i, t = t}, "m" .. t .. "." .. i, os.time())
                ids[#ids + 1] = id
            end
            s:close()
        end)
    end
    ratchet.thread.wait_all(threads)
    local s = storage:connect()
    assert(count_ids(s:get_all_messages()) == 80)
    local seen = {}
    for _, id in ipairs(ids) do
        assert(not seen[id])
        seen[id] = true
        local m = s:get_message_meta(id)
        assert(s:get_message_contents(id) == "m" .. tostring(m.t) .. "." .. tostring(m.n))
    end
end)
