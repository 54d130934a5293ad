-- wrk script of bench/server_load.py: replays a file of prepared requests, each once.
--
-- wrk -s bench/wrk_requests.lua <url> -- <requests file> <threads>
--
-- The file has one request per line, tab-separated: method, path, body (may be empty), then
-- header name and value pairs. Thread k of n sends lines k, k + n, k + 2n... in order, so no
-- two threads send the same request; a thread that reaches its last line starts again and
-- counts a wrap (the harness then refuses the phase: a write sent twice is a replay, not a
-- write). done() prints one JSON line: requests, statuses, errors, latency percentiles (us).

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local function split(line)
  local fields = {}
  for field in (line .. "\t"):gmatch("([^\t]*)\t") do
    table.insert(fields, field)
  end
  return fields
end

function init(args)
  local path, nthreads = args[1], tonumber(args[2])
  requests, statuses, wrapped, idx = {}, {}, 0, 0
  local i = 0
  for line in io.lines(path) do
    if i % nthreads == tid then
      local f = split(line)
      local headers = {}
      for k = 4, #f - 1, 2 do
        headers[f[k]] = f[k + 1]
      end
      local body = nil
      if f[3] ~= "" then
        body = f[3]
      end
      table.insert(requests, wrk.format(f[1], f[2], headers, body))
    end
    i = i + 1
  end
end

function request()
  idx = idx + 1
  if idx > #requests then
    idx = 1
    wrapped = wrapped + 1
  end
  return requests[idx]
end

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
end

function done(summary, latency, requests)
  local codes, wraps = {}, 0
  for _, thread in ipairs(threads) do
    for code, n in pairs(thread:get("statuses")) do
      codes[code] = (codes[code] or 0) + n
    end
    wraps = wraps + thread:get("wrapped")
  end
  local parts = {}
  for code, n in pairs(codes) do
    table.insert(parts, string.format('"%s": %d', code, n))
  end
  local e = summary.errors
  io.write(string.format(
    '\n{"requests": %d, "duration_us": %d, "statuses": {%s}, "wrapped": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %d}\n',
    summary.requests, summary.duration, table.concat(parts, ", "), wraps,
    e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
