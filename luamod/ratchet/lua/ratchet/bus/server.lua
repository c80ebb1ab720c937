-- ratchet.bus.server: the serving side of a socket bus. recv_request()
-- multiplexes the listening socket and every connection still sending its
-- request, in the calling thread.

require "ratchet"
local frame = require "ratchet.bus.frame"
local server_transaction = require "ratchet.bus.server_transaction"

local server = {}
server.__index = server

function server.new(socket, request_from_bus, response_to_bus)
    return setmetatable({
        socket = socket,
        request_from_bus = request_from_bus or tostring,
        response_to_bus = response_to_bus or tostring,
        connections = {},
    }, server)
end

local function drop(self, conn)
    local list = self.connections
    for i = 1, #list do
        if list[i] == conn then
            table.remove(list, i)
            break
        end
    end
    pcall(conn.socket.close, conn.socket)
end

-- One read on a ready connection; returns the transaction and request once
-- the connection's request is complete.
local function service(self, conn)
    local ok, data = pcall(conn.socket.recv, conn.socket)
    if not ok or data == "" then
        -- failed or closed before a whole request: forget it
        drop(self, conn)
        return
    end
    local complete = conn.parser:feed(data)
    if complete == nil then
        drop(self, conn)
        return
    end
    if not complete then
        return
    end
    local list = self.connections
    for i = 1, #list do
        if list[i] == conn then
            table.remove(list, i)
            break
        end
    end
    local main, attachments = conn.parser:result()
    local request
    if self.request_from_bus == tonumber then
        request = tonumber(main) -- its second argument would be a base
    else
        request = self.request_from_bus(main, attachments, conn.from)
    end
    if request == nil then
        -- nothing to answer: close instead of stalling the connection
        pcall(conn.socket.close, conn.socket)
        return
    end
    local transaction = server_transaction.new(conn.socket, self.response_to_bus, conn.from)
    return transaction, request
end

-- Waits for the next complete request; returns transaction, request (or
-- nil if waiting failed).
function server:recv_request()
    while true do
        local objects = {self.socket}
        local by_socket = {}
        for _, conn in ipairs(self.connections) do
            objects[#objects + 1] = conn.socket
            by_socket[conn.socket] = conn
        end
        local ok, ready = pcall(ratchet.thread.block_on, objects)
        if not ok or not ready then
            return nil
        end
        if ready == self.socket then
            local sock, from = self.socket:accept()
            self.connections[#self.connections + 1] = {socket = sock, from = from, parser = frame.new()}
        else
            local conn = by_socket[ready]
            if conn then
                local transaction, request = service(self, conn)
                if transaction then
                    return transaction, request
                end
            end
        end
    end
end

function server:close()
    for _, conn in ipairs(self.connections) do
        pcall(conn.socket.close, conn.socket)
    end
    self.connections = {}
    self.socket:close()
end

return server
