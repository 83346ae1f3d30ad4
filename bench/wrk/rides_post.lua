-- POST /api/v1/rides: created by one of the users bench_load made
-- (args: USER_PREFIX NUSERS), in areas 150..160 -> 170..180 (pairs the
-- listing scenario never queries, so its answers keep their size), a
-- timestamp in 2031.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = dir .. "?.lua;" .. package.path
local report = require("report")
report.install()

local uprefix, nusers, n = "bench_u", 100, 0
local hdrs = {["Content-Type"] = "application/json"}

function init(args)
   uprefix = args[1] or uprefix
   nusers = tonumber(args[2] or "") or nusers
   math.randomseed(3000 + (tid or 0))
end

function request()
   n = n + 1
   local body = string.format(
      '{"created_by": "%s%d", "timestamp": "%02d-%02d-2031:%02d-%02d-%02d",' ..
      ' "source": %d, "destination": %d}',
      uprefix, math.random(0, nusers - 1), math.random(1, 28),
      math.random(1, 12), math.random(0, 59), math.random(0, 59),
      math.random(0, 23), math.random(150, 160), math.random(170, 180))
   return wrk.format("POST", "/api/v1/rides", hdrs, body)
end
