-- spec 4.2 test_queue_store_relay / test_queue_relay_defer /
-- test_queue_relay_bounce shape, end to end: edge bus -> queue (this
-- engine) -> relay manager -> slimta.relay.smtp -> a ratchet SMTP server
-- on a free loopback port answering 250, then 450, then 550.
dofile(TESTDATA .. "/helper.lua")
require "slimta.bus"
require "slimta.queue"
require "slimta.relay"
require "ratchet.smtp.server"

local storage = new_storage()
local answers = {{"250", "Testing"}, {"450", "Testing"}, {"550", "Testing"}}
local got = {}

local function smtp_server(sock)
    for i = 1, #answers do
        local conn = sock:accept()
        local handlers = {}
        function handlers:EHLO(reply, name)
            got.ehlo = name
        end
        function handlers:MAIL(reply, address)
            got.sender = address
        end
        function handlers:RCPT(reply, address)
            got.rcpt = (got.rcpt or 0) + 1
        end
        function handlers:HAVE_DATA(reply, data)
            got.data = data
            reply.code, reply.message = answers[i][1], answers[i][2]
        end
        ratchet.smtp.server.new(conn, handlers):handle()
    end
end

run(function ()
    local rec = ratchet.socket.prepare_tcp("127.0.0.1", SMTP_PORT)
    local sock = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    sock:setsockopt("SO_REUSEADDR", true)
    sock:bind(rec.addr)
    sock:listen()
    local server = ratchet.thread.attach(smtp_server, sock)

    local edge_srv, edge_cli = slimta.bus.new_local()
    local relay_srv, relay_cli = slimta.bus.new_local()
    local q = slimta.queue.new(edge_srv, relay_cli, storage)
    local relay = slimta.relay.new(relay_srv)
    local smtp = slimta.relay.smtp.new()
    smtp:set_ehlo_as("test_ehlo")
    relay:add_relayer("SMTP", smtp)
    local relay_loop = ratchet.thread.attach(function ()
        while true do
            ratchet.thread.attach(relay:accept())
        end
    end)

    for i = 1, #answers do
        local m = test_message()
        m.envelope.dest_host, m.envelope.dest_port = "127.0.0.1", SMTP_PORT
        local client = ratchet.thread.attach(function ()
            local replies = edge_cli:send_request({m}):recv_response()
            assert(replies[1].code == "250", replies[1].code)
        end)
        q:accept()()
        ratchet.thread.wait_all({client})
        assert(got.ehlo == "test_ehlo", tostring(got.ehlo))
        assert(got.sender == "sender@slimta.org")
        assert(got.data == "test contents", tostring(got.data))
        local all = q:get_all_messages(storage:connect())
        if i == 1 then
            assert(#all == 0, "delivered message still stored")
        else
            -- 450 with the default retry algorithm, then 550: the original
            -- is replaced by a bounce each time
            assert(#all == i - 1, #all)
            for _, b in ipairs(all) do
                assert(b.envelope.sender == "")
                assert(b.envelope.recipients[1] == "sender@slimta.org")
            end
        end
    end
    assert(count_ids(storage:get_deferred_messages(os.time())) == 2)
    ratchet.thread.kill(relay_loop)
    ratchet.thread.wait_all({server})
    sock:close()
end)
