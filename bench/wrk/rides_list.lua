-- GET /api/v1/rides?source=S&destination=D over the pairs bench_load
-- filled (args: SRC_LO:SRC_HI DST_LO:DST_HI). 1024 random requests are
-- built once per thread and replayed in turn (no Lua work per request).
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = dir .. "?.lua;" .. package.path
local report = require("report")
report.install()

local reqs, i = {}, 0

function init(args)
   local slo, shi = report.range(args[1] or "1:25")
   local dlo, dhi = report.range(args[2] or "101:140")
   math.randomseed(1000 + (tid or 0))
   for k = 1, 1024 do
      reqs[k] = wrk.format("GET", string.format(
         "/api/v1/rides?source=%d&destination=%d",
         math.random(slo, shi), math.random(dlo, dhi)))
   end
end

function request()
   i = i % #reqs + 1
   return reqs[i]
end
