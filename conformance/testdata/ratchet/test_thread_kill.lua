require "ratchet"

PORT = tonumber(os.getenv("RATCHET_TEST_PORT")) or 10025

function ctx1()
    local rec = ratchet.socket.prepare_tcp("localhost", PORT)
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:setsockopt("SO_REUSEADDR", true)
    socket:bind(rec.addr)
    socket:listen()

    local paused = {}
    for i = 1, 5 do
        paused[i] = ratchet.thread.attach(ctx_paused)
    end
    ratchet.thread.attach(ctx_killer, ratchet.thread.self(), paused)

    local client = socket:accept()
    error("listener was not killed")
end

function ctx_paused()
    ratchet.thread.pause()
    error("paused thread was resumed")
end

function ctx_killer(listener, paused)
    ratchet.thread.kill(listener)
    ratchet.thread.kill_all(paused)
end

kernel = ratchet.new(ctx1)
kernel:loop()
assert(0 == kernel:get_num_threads())
