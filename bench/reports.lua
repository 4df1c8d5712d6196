-- wrk script for bench/reports.py: POST form-encoded Open311 reports, as any app sends them.
-- The mix is forms() in bench/reports.py: 30 % gas smells (attribute[strength]=strong) near 20
-- hot spots (gaussian jitter of JITTER degrees, by Box-Muller), 70 % uniformly over the grid as
-- smoke_fire, landslide or power_line_down. Settings come from the environment: KEY (the app's
-- Open311 key), ORIGIN_LAT, ORIGIN_LON, ROWS_DEG, COLS_DEG (the grid's corner and size in
-- degrees), SEED, TAG (names the phase in descriptions), JITTER, and MODE: "reports" (default)
-- or "healthz" (GET /healthz instead, the ceiling of the HTTP stack).
-- Every description names the phase, the thread and its counter: no two reports are duplicates.
-- A report is accepted when answered 200 with a `service_request_id` (a healthz when answered
-- 200); anything else is "other". done() prints the counts and latencies as one JSON line.

local mode = os.getenv("MODE") or "reports"
local key = os.getenv("KEY") or ""
local lat0 = tonumber(os.getenv("ORIGIN_LAT") or "45.0")
local lon0 = tonumber(os.getenv("ORIGIN_LON") or "10.0")
local rows_deg = tonumber(os.getenv("ROWS_DEG") or "3.17")
local cols_deg = tonumber(os.getenv("COLS_DEG") or "3.17")
local seed = tonumber(os.getenv("SEED") or "18")
local tag = os.getenv("TAG") or "run"
local jitter = tonumber(os.getenv("JITTER") or "0.0005")
local path = "/open311/v2/requests.json"
local others = { "smoke_fire", "landslide", "power_line_down" }
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "wrk_threads.lua") -- setup(), total()

-- a normal deviate of mean 0 and deviation sd (Box-Muller; LuaJIT has no gauss)
local function gauss(sd)
  local u1, u2 = 1 - math.random(), math.random()
  return sd * math.sqrt(-2 * math.log(u1)) * math.cos(2 * math.pi * u2)
end

function init(args)
  n = 0
  accepted = 0
  other = 0
  -- the hot spots are the same in every thread (one seed), the draws differ by thread
  math.randomseed(seed)
  spots = {}
  for i = 1, 20 do
    spots[i] = { lat0 + math.random() * rows_deg, lon0 + math.random() * cols_deg }
  end
  math.randomseed(seed + id)
  if mode ~= "healthz" then
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  end
end

function request()
  if mode == "healthz" then
    return wrk.format("GET", "/healthz")
  end
  local lat, lon, service, extra
  if math.random() < 0.3 then
    local spot = spots[math.random(#spots)]
    lat, lon = spot[1] + gauss(jitter), spot[2] + gauss(jitter)
    service, extra = "gas_smell", "&attribute%5Bstrength%5D=strong"
  else
    lat, lon = lat0 + math.random() * rows_deg, lon0 + math.random() * cols_deg
    service, extra = others[math.random(#others)], ""
  end
  n = n + 1
  local body = string.format(
    "api_key=%s&service_code=%s&lat=%.6f&long=%.6f&description=bench+report+%s-%d-%d%s",
    key, service, lat, lon, tag, id, n, extra)
  return wrk.format(nil, path, nil, body)
end

function response(status, headers, body)
  if status == 200 and (mode == "healthz" or string.find(body, "service_request_id", 1, true)) then
    accepted = accepted + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local a, o = total("accepted"), total("other")
  local e = summary.errors
  io.write(string.format('{"accepted": %d, "other": %d, "p50_ms": %.2f, "p90_ms": %.2f, ' ..
    '"p99_ms": %.2f, "requests": %d, "duration_s": %.3f, "socket_errors": %d, ' ..
    '"timeouts": %d}\n', a, o, latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, summary.requests, summary.duration / 1e6,
    e.connect + e.read + e.write, e.timeout))
end
