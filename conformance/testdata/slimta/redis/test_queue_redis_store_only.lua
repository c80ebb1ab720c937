require "ratchet"
require "slimta.message"
require "slimta.bus"
require "slimta.queue"
require "slimta.storage.redis"

redis_port = tonumber(os.getenv("SLIMTA_TEST_REDIS_PORT")) or 6379

function send_message(bus)
    local client = slimta.message.client.new("SMTP", "testing", "1.2.3.4", "TLS", "localhost")
    local envelope = slimta.message.envelope.new("sender@slimta.org", {"rcpt1@slimta.org", "rcpt2@slimta.org"})
    local contents = slimta.message.contents.new("test contents")
    local message = slimta.message.new(client, envelope, contents, 12345)

    local transaction = bus:send_request({message})
    local responses = transaction:recv_response()
    assert(1 == #responses)
    assert("250" == responses[1].code)
    responses_received = (responses_received or 0) + 1
end

function run_queue(queue)
    local threads = {}
    for i = 1, 5 do
        local job = queue:accept()
        table.insert(threads, ratchet.thread.attach(job.store, job))
    end
    ratchet.thread.wait_all(threads)
    queue_done = true
end

kernel = ratchet.new(function ()
    local server_bus, client_bus = slimta.bus.new_local()
    storage = slimta.storage.redis.new("localhost", redis_port)
    local queue = slimta.queue.new(server_bus, nil, storage)

    ratchet.thread.attach(run_queue, queue)
    for i = 1, 5 do
        ratchet.thread.attach(send_message, client_bus)
    end
end)
kernel:loop()

assert(queue_done)
assert(5 == responses_received)

local queue = slimta.queue.new(nil, nil, storage)
local messages = queue:get_all_messages(storage:connect())
assert(5 == #messages)
for i, message in ipairs(messages) do
    assert("sender@slimta.org" == message.envelope.sender)
    assert(2 == #message.envelope.recipients)
    assert("rcpt1@slimta.org" == message.envelope.recipients[1])
    assert("rcpt2@slimta.org" == message.envelope.recipients[2])
    assert("test contents" == tostring(message.contents))
    assert(12345 == message.timestamp)
end

-- vim:et:fdm=marker:sts=4:sw=4:ts=4
