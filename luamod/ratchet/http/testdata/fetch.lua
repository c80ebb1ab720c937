-- HTTP client for the Go tests: queries METHOD URI on PORT and leaves the
-- results in globals.
require "ratchet"
require "ratchet.http.client"

ratchet.new(function ()
    local rec = ratchet.socket.prepare_tcp("127.0.0.1", PORT, "AF_INET")
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:connect(rec.addr)
    local client = ratchet.http.client.new(socket)
    local headers
    if BODY then headers = {["Content-Length"] = {#BODY}, ["X-Test"] = {"a", "b"}} end
    CODE, REASON, HEADERS, RBODY = client:query(METHOD, URI, headers, BODY)
    if HEADERS then
        XECHO = table.concat(HEADERS["X-Echo"], ",")
        MISSING = #HEADERS["x-missing"]
    end
end):loop()
