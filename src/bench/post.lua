-- wrk script: POST /runs, a start_session run with a 100-byte prompt and a
-- session name unique per request (per thread counter, thread number and a
-- prefix given after "--" so that repetitions never collide).
--   wrk -t2 -c50 -d10s -s post.lua http://127.0.0.1:18765 -- r1
-- The ceiling is measured with this same script against "return 200".

local nthreads = 0
local prefix = "b"
local counter = 0
local prompt = "Refactor the login handler so that expired sessions redirect " ..
               "to the sign-in page; add a test for it."
local headers = { ["Content-Type"] = "application/json" }

function setup(thread)
   nthreads = nthreads + 1
   thread:set("tid", nthreads)
end

function init(args)
   prefix = (args[1] or "b") .. "t" .. tostring(tid) .. "n"
end

function request()
   counter = counter + 1
   local body = '{"type":"start_session","session_name":"' .. prefix ..
                counter .. '","prompt":"' .. prompt .. '"}'
   return wrk.format("POST", "/runs", headers, body)
end

-- one JSON line for build.sh bench
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
