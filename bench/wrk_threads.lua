-- The threads of a wrk run, shared by bench/api_ingest.lua and bench/reports.lua (each loads it
-- with dofile from its own folder). setup() numbers each thread (its global `id`: 1, 2, …) and
-- keeps it; total(name) sums a global counter of every thread, for done()'s JSON line.

local threads = {}
local counter = 1

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function total(name)
  local sum = 0
  for _, thread in ipairs(threads) do
    sum = sum + thread:get(name)
  end
  return sum
end
