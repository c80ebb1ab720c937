-- slimta.relay.maildrop_session (internal): runs the delivery program for
-- every (message, recipient) of one relay request and merges the results
-- into one response per message.

require "ratchet"
slimta = slimta or require "slimta"
require "slimta.message"

local session = {}
session.__index = session

local EX_TEMPFAIL = 75
local STDERR_KEEP = 4096

function session.new(relayer)
    return setmetatable({relayer = relayer, messages = {}, items = {}}, session)
end

function session:add_message(message, responses, index)
    local response = slimta.message.response.new()
    responses[index] = response
    self.messages[message] = response
    self.items[#self.items + 1] = {message = message, response = response}
end

function session:fail_remaining(code, message)
    for _, item in ipairs(self.items) do
        local r = item.response
        if r.code == nil or r.code == "" then
            r.code, r.message = tostring(code), message or ""
        end
    end
end

-- Error text from the program's stderr: without a leading "maildrop: ",
-- control characters removed, shortened.
local function clean(text, fallback)
    text = (text or ""):gsub("^maildrop: ", ""):gsub("[%c]+", " ")
    text = text:gsub("^%s+", ""):gsub("%s+$", "")
    if text == "" then
        return fallback
    end
    return text:sub(1, 200)
end

-- Runs one program; returns code, message.
local function run_one(argv, data, time_limit)
    local p = ratchet.exec.new(argv)
    local ok, err = pcall(p.start, p)
    if not ok then
        return "451", "4.3.0 Could not start " .. tostring(argv[1]) .. ": "
            .. tostring(type(err) == "table" and err.description or err)
    end
    local deadline = time_limit and (os.time() + time_limit)
    local stdin, stdout, stderr = p:stdin(), p:stdout(), p:stderr()
    local reads, writes = {stdout, stderr}, {stdin}
    local pending = data
    if pending == "" then
        stdin:close()
        writes = {}
    end
    local err_text = {}
    local err_len = 0
    local timed_out = false
    local io_ok, io_err = pcall(function ()
        while reads[1] or writes[1] do
            local left
            if deadline then
                left = deadline - os.time()
                if left <= 0 then
                    timed_out = true
                    return
                end
            end
            local ready = ratchet.thread.block_on(reads, writes, left)
            if not ready then
                timed_out = true
                return
            elseif ready == stdin then
                -- A writable pipe takes at least 4096 bytes without blocking.
                local chunk = pending:sub(1, 4096)
                local wok, rest = pcall(stdin.write, stdin, chunk)
                if not wok then
                    -- The program stopped reading (e.g. exited early);
                    -- its exit status tells the outcome.
                    pending = ""
                else
                    local written = #chunk - (rest and #rest or 0)
                    pending = pending:sub(written + 1)
                end
                if pending == "" then
                    pcall(stdin.close, stdin)
                    writes = {}
                end
            else
                local chunk = ready:read()
                if chunk == "" then
                    for i, f in ipairs(reads) do
                        if f == ready then
                            table.remove(reads, i)
                            break
                        end
                    end
                elseif ready == stderr and err_len < STDERR_KEEP then
                    err_text[#err_text + 1] = chunk
                    err_len = err_len + #chunk
                end
            end
        end
    end)
    if not io_ok and writes[1] and not timed_out then
        -- The child stopped reading (e.g. exited early): stop feeding it.
        pcall(stdin.close, stdin)
    end
    local status, normal
    if not timed_out then
        local left
        if deadline then
            left = math.max(deadline - os.time(), 1)
        end
        local wok, s, n = pcall(p.wait, p, left)
        if wok then
            status, normal = s, n
        else
            timed_out = true
        end
    end
    if timed_out then
        pcall(p.kill, p, "SIGKILL")
        pcall(p.wait, p, 5)
        return "451", "4.4.7 Delivery program timed out"
    end
    local text = table.concat(err_text)
    if not normal then
        return "451", "4.3.0 Delivery program killed: " .. clean(text, tostring(argv[1]))
    elseif status == 0 then
        return "250", "2.0.0 Message delivered successfully."
    elseif status == EX_TEMPFAIL then
        return "450", "4.2.0 " .. clean(text, "Temporary delivery failure")
    end
    if not io_ok and text == "" then
        text = tostring(type(io_err) == "table" and io_err.description or io_err)
    end
    return "550", "5.2.0 " .. clean(text, "Delivery failed (exit status " .. tostring(status) .. ")")
end

-- Merges per-recipient results: any success -> first success (with the
-- failures listed in rcpt_failures); otherwise the first temporary failure,
-- else the first failure.
local function merge(response, results)
    local first_ok, first_temp, first_fail
    local failures = {}
    for _, res in ipairs(results) do
        local class = res.code:sub(1, 1)
        if class == "2" then
            first_ok = first_ok or res
        else
            failures[#failures + 1] = res
            if class == "4" then
                first_temp = first_temp or res
            end
            first_fail = first_fail or res
        end
    end
    local pick = first_ok or first_temp or first_fail
    response.code, response.message = pick.code, pick.message
    if failures[1] and #results > 1 then
        response.rcpt_failures = failures
    end
end

function session:relay_all()
    local relayer = self.relayer
    local tasks = {}
    for _, item in ipairs(self.items) do
        local message = item.message
        local recipients = message.envelope and message.envelope.recipients or {}
        item.results = {}
        if not recipients[1] then
            tasks[#tasks + 1] = {item = item, recipient = nil}
        end
        for _, rcpt in ipairs(recipients) do
            tasks[#tasks + 1] = {item = item, recipient = rcpt}
        end
    end

    local function run_task(task)
        local message = task.item.message
        local ok, code, text = pcall(function ()
            local argv = relayer:build_argv(message, task.recipient)
            return run_one(argv, tostring(message.contents or ""), relayer.time_limit)
        end)
        if not ok then
            code, text = "451", "4.3.0 " .. tostring(type(code) == "table" and code.description or code)
        end
        task.result = {recipient = task.recipient, code = code, message = text}
    end

    local next_task = 1
    local function worker()
        while tasks[next_task] do
            local task = tasks[next_task]
            next_task = next_task + 1
            run_task(task)
        end
    end
    local n = math.min(relayer.max_parallel or 1, #tasks)
    if n > 1 and ratchet.thread.self() then
        local threads = {}
        for i = 1, n do
            threads[i] = ratchet.thread.attach(worker)
        end
        ratchet.thread.wait_all(threads)
    else
        worker()
    end

    for _, task in ipairs(tasks) do
        if task.result then
            local results = task.item.results
            results[#results + 1] = task.result
        end
    end
    for _, item in ipairs(self.items) do
        if item.results[1] then
            merge(item.response, item.results)
        end
    end
end

return session
