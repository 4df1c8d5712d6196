-- wrk script for bench/api_ingest.py: POST observation batches, each key (indicator, time) new.
-- Settings come from the environment: TOCSIN_TOKEN, BATCH (observations per request),
-- INDICATORS (codes i000000 ... in the configuration), TIME0 (epoch seconds of this phase).
-- BATCH=0 sends GET requests instead (for /healthz, the ceiling of the HTTP stack).
-- Each thread counts the requests answered 2xx; done() prints them as one JSON line.

local token = os.getenv("TOCSIN_TOKEN")
local batch = tonumber(os.getenv("BATCH") or "1")
local indicators = tonumber(os.getenv("INDICATORS") or "1000")
local time0 = tonumber(os.getenv("TIME0") or "1767225600")
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "wrk_threads.lua") -- setup(), total()

function init(args)
  n = 0
  acked = 0
  other = 0
  nthreads = tonumber(os.getenv("WRK_THREADS") or "2")
  if batch > 0 then
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"
    wrk.headers["Authorization"] = "Bearer " .. token
  end
end

function request()
  if batch == 0 then
    return wrk.format("GET")
  end
  -- request n of thread id: one moment, `batch` consecutive indicators
  local t = time0 + n * nthreads + id
  local first = (n * batch) % indicators
  local parts = {}
  for j = 0, batch - 1 do
    parts[j + 1] = string.format('{"indicator":"i%06d","time":%d,"value":%d.25}',
      (first + j) % indicators, t, j % 3)
  end
  n = n + 1
  return wrk.format(nil, nil, nil, '{"observations":[' .. table.concat(parts, ",") .. ']}')
end

function response(status, headers, body)
  if status >= 200 and status < 300 then acked = acked + 1 else other = other + 1 end
end

function done(summary, latency, requests)
  local a, o = total("acked"), total("other")
  io.write(string.format('{"acked": %d, "other": %d, "p50_ms": %.2f, "p99_ms": %.2f, ' ..
    '"requests": %d, "duration_s": %.3f}\n', a, o, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, summary.requests, summary.duration / 1e6))
end
