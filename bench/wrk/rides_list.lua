-- GET /api/v1/rides?source=S&destination=D over the pairs bench_load
-- filled (args: SRC_LO:SRC_HI DST_LO:DST_HI). 1024 random requests are
-- built once per thread and replayed in turn (no Lua work per request).
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = dir .. "?.lua;" .. package.path
local report = require("report")
report.install()

report.replay(1000, function(args)
   local slo, shi = report.range(args[1] or "1:25")
   local dlo, dhi = report.range(args[2] or "101:140")
   return function() return report.rides_list(slo, shi, dlo, dhi) end
end)
