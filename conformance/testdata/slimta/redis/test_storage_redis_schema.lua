require "ratchet"
require "slimta.message"
require "slimta.storage.redis"
require "redis_check"

redis_port = tonumber(os.getenv("SLIMTA_TEST_REDIS_PORT")) or 6379

function count(list)
    local n = 0
    for _ in pairs(list) do n = n + 1 end
    return n
end

function contains(list, value)
    for _, v in ipairs(list) do
        if v == value then return true end
    end
    return false
end

kernel = ratchet.new(function ()
    local storage = slimta.storage.redis.new("localhost", redis_port)
    local session = storage:connect()

    local client = slimta.message.client.new("SMTP", "testing", "1.2.3.4", "TLS", "myhost.tld")
    local envelope = slimta.message.envelope.new("sender@slimta.org", {"rcpt1@slimta.org", "rcpt2@slimta.org"}, "SMTP", "mx.slimta.org", 25)
    local contents = slimta.message.contents.new("Subject: test\r\n\r\ntest contents\r\n")
    local message = slimta.message.new(client, envelope, contents, 12345)

    local id = message:store(session)
    assert(id == message.id)
    assert(id:match("^%x%x%x%x%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$"), id)

    local check = redis_check.new("localhost", redis_port)

    -- db 0: the set of ids
    assert("OK" == check:call("SELECT", 0))
    assert("set" == check:call("TYPE", "message_ids"))
    assert(1 == check:call("SISMEMBER", "message_ids", id))

    -- db 1: the meta hash, all strings
    assert("OK" == check:call("SELECT", 1))
    assert("hash" == check:call("TYPE", id))
    assert("12345" == check:call("HGET", id, "timestamp"))
    assert("0" == check:call("HGET", id, "attempts"))
    assert("SMTP" == check:call("HGET", id, "protocol"))
    assert("testing" == check:call("HGET", id, "ehlo"))
    assert("1.2.3.4" == check:call("HGET", id, "ip"))
    assert("TLS" == check:call("HGET", id, "security"))
    assert("myhost.tld" == check:call("HGET", id, "receiver"))
    assert("sender@slimta.org" == check:call("HGET", id, "sender"))
    assert("\0rcpt1@slimta.org\0rcpt2@slimta.org" == check:call("HGET", id, "recipients"))
    assert("SMTP" == check:call("HGET", id, "dest_relayer"))
    assert("mx.slimta.org" == check:call("HGET", id, "dest_host"))
    assert("25" == check:call("HGET", id, "dest_port"))
    assert(nil == check:call("HGET", id, "id"))

    -- db 2: the raw contents
    assert("OK" == check:call("SELECT", 2))
    assert("string" == check:call("TYPE", id))
    assert("Subject: test\r\n\r\ntest contents\r\n" == check:call("GET", id))

    -- the session reads back what it wrote
    local meta = session:get_message_meta(id)
    assert("12345" == tostring(meta.timestamp))
    assert("sender@slimta.org" == meta.sender)
    assert("\0rcpt1@slimta.org\0rcpt2@slimta.org" == meta.recipients)
    assert("sender@slimta.org" == session:get_message_meta_key(id, "sender"))
    assert("Subject: test\r\n\r\ntest contents\r\n" == session:get_message_contents(id))

    local loaded = slimta.message.load(session, id)
    assert(id == loaded.id)
    assert(12345 == loaded.timestamp)
    assert(0 == loaded.attempts)
    assert("sender@slimta.org" == loaded.envelope.sender)
    assert(2 == #loaded.envelope.recipients)
    assert("rcpt2@slimta.org" == loaded.envelope.recipients[2])
    assert("25" == tostring(loaded.envelope.dest_port))
    assert("test" == loaded.contents.headers.subject[1])

    -- unknown ids: nil plus an error, never a hang (spec 6.34)
    local nometa, err = session:get_message_meta("no-such-id")
    assert(nil == nometa and err)
    assert(nil == session:get_message_contents("no-such-id"))
    assert(nil == slimta.message.load(session, "no-such-id"))

    -- increment_attempts writes one key
    loaded:increment_attempts(session)
    assert(1 == loaded.attempts)
    assert("OK" == check:call("SELECT", 1))
    assert("1" == check:call("HGET", id, "attempts"))
    session:set_message_meta_key(id, "dest_host", nil)
    assert(nil == check:call("HGET", id, "dest_host"))

    -- db 0: the retry schedule
    session:set_message_retry(id, 1357000000)
    assert("OK" == check:call("SELECT", 0))
    assert("zset" == check:call("TYPE", "retry_queue"))
    assert("1357000000" == check:call("ZSCORE", "retry_queue", id))
    assert(contains(session:get_deferred_messages(1357000000), id))
    assert(not contains(session:get_deferred_messages(1356999999), id))
    assert(contains(session:get_deferred_messages(), id))
    -- reading does not consume
    assert(contains(session:get_deferred_messages(), id))
    assert(contains(session:get_all_messages(), id))

    -- db 3: the lock
    assert(true == session:lock_message(id, 120))
    assert("OK" == check:call("SELECT", 3))
    assert("locked" == check:call("GET", id))
    local ttl = check:call("TTL", id)
    assert(ttl > 0 and ttl <= 120, ttl)
    assert(contains(session:get_active_messages(), id))
    assert(not session:lock_message(id, 120))
    session:unlock_message(id)
    assert(nil == check:call("GET", id))
    assert(not contains(session:get_active_messages(), id))
    assert(true == session:lock_message(id, 120))

    -- delete removes everything
    session:delete_message(id)
    assert("OK" == check:call("SELECT", 0))
    assert(0 == check:call("SISMEMBER", "message_ids", id))
    assert(nil == check:call("ZSCORE", "retry_queue", id))
    for db = 1, 3 do
        assert("OK" == check:call("SELECT", db))
        assert(0 == check:call("EXISTS", id))
    end
    assert(not contains(session:get_all_messages(), id))

    -- claim_message_id registers the id at once
    local claimed = session:claim_message_id()
    assert("OK" == check:call("SELECT", 0))
    assert(1 == check:call("SISMEMBER", "message_ids", claimed))
    session:delete_message(claimed)

    -- a database offset moves all four databases
    local shifted = slimta.storage.redis.new("localhost", redis_port, 4):connect()
    local id2 = message:store(shifted)
    assert("OK" == check:call("SELECT", 4))
    assert(1 == check:call("SISMEMBER", "message_ids", id2))
    assert("OK" == check:call("SELECT", 5))
    assert("hash" == check:call("TYPE", id2))
    assert("OK" == check:call("SELECT", 6))
    assert("string" == check:call("TYPE", id2))
    assert("OK" == check:call("SELECT", 0))
    assert(0 == check:call("SISMEMBER", "message_ids", id2))
    shifted:delete_message(id2)
    shifted:close()

    check:close()
    session:close()
    done = true
end)
kernel:loop()

assert(done)

-- vim:et:fdm=marker:sts=4:sw=4:ts=4
