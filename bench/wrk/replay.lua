-- Replays pre-built raw HTTP requests (bench/bench_http.py write_pool) with wrk.
--
--   wrk -t2 -c8 -d10s -s bench/wrk/replay.lua http://127.0.0.1:PORT -- POOL_FILE THREADS
--
-- POOL_FILE holds requests as "<length>\n<bytes>". Thread k of THREADS sends requests k, k+THREADS,
-- k+2*THREADS... in order, so no two threads send the same one: signed API requests each carry
-- their own nonce and may be sent once. A pool of one request (an unsigned page) is sent over and
-- over. done() prints one line "BENCH_JSON {...}" for bench.py: counts, errors and latency
-- percentiles (microseconds), and how often a pool of several requests ran out and started over
-- (then nonces were replayed and the server refused them: bench.py sizes pools to avoid it).

local threads = {}
local pool, count, position = {}, 0, 0
wraps, pool_size = 0, 0  -- globals: done() reads them with thread:get()

function setup(thread)
   thread:set("tid", #threads)
   table.insert(threads, thread)
end

function init(args)
   local path, nthreads = args[1], tonumber(args[2])
   local file = assert(io.open(path, "rb"))
   local all = {}
   while true do
      local header = file:read("*l")
      if not header then break end
      all[#all + 1] = file:read(tonumber(header))
   end
   file:close()
   for index, raw in ipairs(all) do
      -- A pool of one request (an unsigned page) is every thread's; a larger one is shared out.
      if #all == 1 or (index - 1) % nthreads == tid then
         count = count + 1
         pool[count] = raw
      end
   end
   pool_size = count
end

function request()
   position = position + 1
   if position > count then
      position = 1
      wraps = wraps + 1
   end
   return pool[position]
end

function done(summary, latency, requests)
   local reused, pool_total = 0, 0
   for _, thread in ipairs(threads) do
      local size = tonumber(thread:get("pool_size")) or 0
      pool_total = pool_total + size
      if size > 1 then
         reused = reused + (tonumber(thread:get("wraps")) or 0)
      end
   end
   local errors = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
      '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
      '"latency_us": {"mean": %.1f, "p50": %d, "p90": %d, "p99": %d, "max": %d}, ' ..
      '"pool": %d, "pool_wraps": %d}\n',
      summary.requests, summary.duration, summary.bytes,
      errors.connect, errors.read, errors.write, errors.status, errors.timeout,
      latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
      pool_total, reused))
end
