-- Shared by the bench/wrk scripts: status counting (response()), optional
-- pacing (delay(), env BENCH_DELAY_MS: mean pause in ms between a response
-- and the next request on a connection, stochastically rounded to wrk's
-- 1 ms timer) and a one-line JSON report (done()) that bench/run.sh parses.
local M = {}
local threads = {}

function M.setup(thread)
   thread:set("tid", #threads)
   table.insert(threads, thread)
end

c2xx, c3xx, c4xx, c5xx, cother = 0, 0, 0, 0, 0

function M.response(status, headers, body)
   if status < 300 then
      if status >= 200 then c2xx = c2xx + 1 else cother = cother + 1 end
   elseif status < 400 then c3xx = c3xx + 1
   elseif status < 500 then c4xx = c4xx + 1
   else c5xx = c5xx + 1 end
end

local pace = tonumber(os.getenv("BENCH_DELAY_MS") or "")
if pace and pace > 0 then
   M.delay = function()
      return math.floor(pace + math.random())
   end
end

function M.done(summary, latency, requests)
   local n = {c2xx = 0, c3xx = 0, c4xx = 0, c5xx = 0, cother = 0}
   for _, t in ipairs(threads) do
      for k, _ in pairs(n) do n[k] = n[k] + (t:get(k) or 0) end
   end
   local e = summary.errors
   local secs = summary.duration / 1e6
   io.write(string.format(
      'BENCH_JSON {"requests": %d, "seconds": %.3f, "req_per_s": %.1f, ' ..
      '"status_2xx": %d, "status_3xx": %d, "status_4xx": %d, ' ..
      '"status_5xx": %d, "non2xx": %d, "socket_errors": %d, ' ..
      '"p50_ms": %.3f, "p90_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f, ' ..
      '"mean_ms": %.3f}\n',
      summary.requests, secs, summary.requests / secs,
      n.c2xx, n.c3xx, n.c4xx, n.c5xx,
      n.c3xx + n.c4xx + n.c5xx + n.cother,
      e.connect + e.read + e.write + e.timeout,
      latency:percentile(50) / 1000, latency:percentile(90) / 1000,
      latency:percentile(99) / 1000, latency.max / 1000,
      latency.mean / 1000))
end

-- Installs the hooks as wrk's globals.
function M.install()
   setup = M.setup
   response = M.response
   done = M.done
   if M.delay then delay = M.delay end
end

-- Area numbers: "LO:HI" -> lo, hi.
function M.range(s)
   local lo, hi = string.match(s or "", "^(%d+):(%d+)$")
   return tonumber(lo), tonumber(hi)
end

-- GET /api/v1/rides/{id} for a random id in lo..hi.
function M.ride_get(lo, hi)
   return wrk.format("GET", "/api/v1/rides/" .. math.random(lo, hi))
end

-- GET /api/v1/rides?source=S&destination=D, S random in slo..shi and D
-- in dlo..dhi.
function M.rides_list(slo, shi, dlo, dhi)
   return wrk.format("GET", string.format(
      "/api/v1/rides?source=%d&destination=%d",
      math.random(slo, shi), math.random(dlo, dhi)))
end

-- Installs wrk's init and request for a script that replays 1024 requests
-- built once per thread (no Lua work per request): make(args) returns the
-- function that builds one; the random numbers are seeded with seed plus
-- the thread's number.
function M.replay(seed, make)
   local reqs, i = {}, 0
   init = function(args)
      local one = make(args)
      math.randomseed(seed + (tid or 0))
      for k = 1, 1024 do
         reqs[k] = one()
      end
   end
   request = function()
      i = i % #reqs + 1
      return reqs[i]
   end
end

return M
