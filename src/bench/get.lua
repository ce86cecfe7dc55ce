-- wrk script: GET /runs/{id} over the run ids listed in a file (one a
-- line, written by "runs-bench fill --ids"), each thread starting at its
-- own offset.
--   wrk -t2 -c50 -d10s -s get.lua http://127.0.0.1:18765 -- ids.txt [prefix]
-- The ceiling is measured with this same script against "return 200".

local nthreads = 0
local ids = {}
local i = 0

function setup(thread)
   nthreads = nthreads + 1
   thread:set("tid", nthreads)
end

function init(args)
   -- args[2]: the path before the id, "/runs/" unless given
   local prefix = args[2] or "/runs/"
   for line in io.lines(args[1]) do
      ids[#ids + 1] = prefix .. line
   end
   if #ids == 0 then
      error("no run ids in " .. tostring(args[1]))
   end
   i = (tid * 7919) % #ids
end

function request()
   i = i % #ids + 1
   return wrk.format("GET", ids[i])
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'BENCHJSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
      '"rps":%.1f,"errors":{"connect":%d,"read":%d,"write":%d,' ..
      '"status":%d,"timeout":%d},"latency_us":{"p50":%d,"p99":%d,' ..
      '"mean":%.1f,"max":%d}}\n',
      summary.requests, summary.duration, summary.bytes,
      summary.requests / (summary.duration / 1e6),
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(99), latency.mean,
      latency.max))
end
