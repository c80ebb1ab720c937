require "ratchet"

PORT = tonumber(os.getenv("RATCHET_TEST_PORT")) or 10025

function ctx1()
    local rec = ratchet.socket.prepare_tcp("*", PORT, "AF_INET")
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:setsockopt("SO_REUSEADDR", true)
    socket:bind(rec.addr)
    socket:listen()

    local rec2 = ratchet.socket.prepare_tcp("localhost", PORT)
    local client = ratchet.socket.new(rec2.family, rec2.socktype, rec2.protocol)
    client:connect(rec2.addr)

    local paired, from = socket:accept()
    assert(ratchet.dns.query(tostring(from), "ptr")[1] == "localhost.")
end

kernel = ratchet.new(ctx1)
kernel:loop()
