-- slimta.storage.memory: an in-process storage engine (spec 2.22). Nothing
-- survives the process; use slimta.storage.disk or slimta.storage.redis
-- for mail that must not be lost.

slimta = slimta or require "slimta"
slimta.storage = slimta.storage or {}
require "slimta.uuid"

local memory = {}
memory.__index = memory

local maps = {"id_hash", "meta_hash", "contents_hash", "lock_hash", "defer_queue"}

function memory.new()
    local self = {
        id_hash = {},
        meta_hash = {},
        contents_hash = {},
        lock_hash = {},
        defer_queue = {},
        count = 0,   -- ids in id_hash
        deleted = 0, -- deletions since the maps were last rebuilt
    }
    return setmetatable(self, memory)
end

-- gopher-lua tables keep every key ever stored in them (deleting only
-- clears the value), so without this the maps would grow with every
-- message ever queued, and pairs() over them would get slower and slower.
-- Rebuilding once deletions outnumber live entries keeps both bounded, at
-- an amortised constant cost per deletion.
local function compact(self)
    for _, name in ipairs(maps) do
        local fresh = {}
        for k, v in pairs(self[name]) do
            fresh[k] = v
        end
        self[name] = fresh
    end
    self.deleted = 0
end

local function register(self, id)
    if not self.id_hash[id] then
        self.id_hash[id] = true
        self.count = self.count + 1
    end
end

-- The engine is its own session, so code may pass it where a session is
-- expected (the tests do).
function memory:connect()
    return self
end

function memory:close()
end

local function new_id(self)
    local id
    repeat
        id = slimta.uuid.generate()
    until not self.id_hash[id]
    return id
end

function memory:claim_message_id()
    local id = new_id(self)
    register(self, id)
    return id
end

-- Extension used by slimta.queue: stores a whole message in one step (no
-- window in which a half-written message is visible), schedules it for
-- retry_when (if given) and removes the message it replaces (if given).
function memory:store_message(meta, contents, retry_when, replaces)
    local id = new_id(self)
    self.meta_hash[id] = meta
    self.contents_hash[id] = contents
    if retry_when then
        self.defer_queue[id] = retry_when
    end
    register(self, id)
    if replaces then
        self:delete_message(replaces)
    end
    return id
end

-- Storing under an id that was not claimed (msg:store(session, id))
-- registers it, so the message is listed and can be locked.
function memory:set_message_meta(id, meta)
    self.meta_hash[id] = meta
    register(self, id)
end

function memory:set_message_meta_key(id, key, value)
    local meta = self.meta_hash[id]
    if not meta then
        error("Message ID not found.", 2)
    end
    meta[key] = value
end

function memory:get_message_meta(id)
    local meta = self.meta_hash[id]
    if not meta then
        return nil, "Message ID not found."
    end
    return meta
end

function memory:get_message_meta_key(id, key)
    local meta = self.meta_hash[id]
    if not meta then
        return nil, "Message ID not found."
    end
    return meta[key]
end

function memory:set_message_contents(id, raw)
    self.contents_hash[id] = raw
    register(self, id)
end

function memory:get_message_contents(id)
    local raw = self.contents_hash[id]
    if not raw then
        return nil, "Message ID not found."
    end
    return raw
end

-- Unknown ids are not scheduled (they could never load); returns whether
-- the id was stored.
function memory:set_message_retry(id, when)
    if not self.id_hash[id] then
        return false
    end
    self.defer_queue[id] = when
    return true
end

function memory:get_message_retry(id)
    return self.defer_queue[id]
end

function memory:get_deferred_messages(when)
    local ret = {}
    for id, t in pairs(self.defer_queue) do
        if when == nil or os.difftime(t, when) <= 0 then
            ret[#ret + 1] = id
        end
    end
    ret.n = #ret
    return ret
end

function memory:get_all_messages()
    local ret = {}
    for id in pairs(self.id_hash) do
        ret[#ret + 1] = id
    end
    ret.n = #ret
    return ret
end

function memory:get_active_messages()
    local ret = {}
    for id in pairs(self.lock_hash) do
        ret[#ret + 1] = id
    end
    ret.n = #ret
    return ret
end

-- Locking an id that is not stored fails: a message deleted after it was
-- listed must not be relayed again. A granted lock also pushes the retry
-- time to the lock's expiry, so the message is not picked up by another
-- retry pass while it is being delivered, and is retried if the delivery
-- never finishes (spec 6.3 #16, #18).
function memory:lock_message(id, len)
    if not self.id_hash[id] then
        return false, "Message ID not found."
    end
    local now = os.time()
    local expiry = self.lock_hash[id]
    if expiry and os.difftime(expiry, now) >= 0 then
        return false, "locked"
    end
    self.lock_hash[id] = now + len
    self.defer_queue[id] = now + len
    return true
end

-- Extends a lock that is still held (used while a delivery is running).
function memory:refresh_lock(id, len)
    if not self.lock_hash[id] or not self.id_hash[id] then
        return false
    end
    local now = os.time()
    self.lock_hash[id] = now + len
    self.defer_queue[id] = now + len
    return true
end

function memory:unlock_message(id)
    self.lock_hash[id] = nil
end

function memory:delete_message(id)
    local existed = self.id_hash[id] ~= nil
    for _, name in ipairs(maps) do
        self[name][id] = nil
    end
    if existed then
        self.count = self.count - 1
    end
    self.deleted = self.deleted + 1
    if self.deleted > 2 * self.count + 1024 then
        compact(self)
    end
    return existed
end

slimta.storage.memory = memory
return slimta
