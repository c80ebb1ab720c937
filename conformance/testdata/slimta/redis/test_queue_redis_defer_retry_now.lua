require "ratchet"
require "ratchet.smtp.server"
require "slimta.message"
require "slimta.bus"
require "slimta.queue"
require "slimta.relay"
require "slimta.storage.redis"

smtp_port = tonumber(os.getenv("SLIMTA_TEST_SMTP_PORT")) or 2525
redis_port = tonumber(os.getenv("SLIMTA_TEST_REDIS_PORT")) or 6379

server_handlers = {}
server_handlers.__index = server_handlers

function server_handlers:EHLO(reply, ehlo_as)
    assert("test_ehlo" == ehlo_as)
end

function server_handlers:MAIL(reply, address)
    assert("sender@slimta.org" == address)
end

function server_handlers:RCPT(reply, address)
    assert("rcpt1@slimta.org" == address or "rcpt2@slimta.org" == address)
end

function server_handlers:HAVE_DATA(reply, data, err)
    assert(nil == err)
    assert("test contents" == data)
    if self.defer then
        reply.code = "450"
        reply.message = "Testing"
    else
        reply.code = "250"
        reply.message = "Testing"
        message_delivered = true
    end
end

function smtp_server(socket)
    for i, defer in ipairs({true, false}) do
        local client = socket:accept()
        client:set_timeout(2.0)
        local handlers = setmetatable({defer = defer}, server_handlers)
        local server = ratchet.smtp.server.new(client, handlers)
        server:handle()
    end
    socket:close()
end

function send_message(bus)
    local client = slimta.message.client.new("SMTP", "testing", "1.2.3.4", "TLS", "localhost")
    local envelope = slimta.message.envelope.new("sender@slimta.org", {"rcpt1@slimta.org", "rcpt2@slimta.org"}, "SMTP", "localhost", smtp_port)
    local contents = slimta.message.contents.new("test contents")
    local message = slimta.message.new(client, envelope, contents, 12345)

    local transaction = bus:send_request({message})
    local responses = transaction:recv_response()
    assert(1 == #responses)
    assert("250" == responses[1].code)
    got_response = true
end

function run_queue(queue)
    local job = queue:accept()
    job()
end

function run_relay(relay)
    for i = 1, 2 do
        local job = relay:accept()
        job()
    end
end

kernel = ratchet.new(function ()
    local rec = ratchet.socket.prepare_tcp("localhost", smtp_port)
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:setsockopt("SO_REUSEADDR", true)
    socket:bind(rec.addr)
    socket:listen()
    ratchet.thread.attach(smtp_server, socket)

    local edge_server, edge_client = slimta.bus.new_local()
    local relay_server, relay_client = slimta.bus.new_local()

    storage = slimta.storage.redis.new("localhost", redis_port)
    local queue = slimta.queue.new(edge_server, relay_client, storage)
    queue:set_retry_algorithm(function (message, response)
        return 0
    end)

    local relay = slimta.relay.new(relay_server)
    local smtp = slimta.relay.smtp.new()
    smtp:set_ehlo_as("test_ehlo")
    relay:add_relayer("SMTP", smtp)

    ratchet.thread.attach(run_relay, relay)
    local t1 = ratchet.thread.attach(send_message, edge_client)
    local t2 = ratchet.thread.attach(run_queue, queue)
    ratchet.thread.wait_all({t1, t2})

    local messages = queue:get_deferred_messages(storage:connect())
    assert(1 == #messages)
    assert(not message_delivered)

    local retry_job = queue:retry()
    assert(retry_job)
    retry_job()

    messages = queue:get_all_messages(storage:connect())
    assert(0 == #messages)
    all_done = true
end)
kernel:loop()

assert(got_response)
assert(message_delivered)
assert(all_done)

-- vim:et:fdm=marker:sts=4:sw=4:ts=4
