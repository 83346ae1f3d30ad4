-- GET /api/v1/rides/{id} for random ids in FIRST:LAST (args), 1024 random
-- requests built once per thread and replayed in turn.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = dir .. "?.lua;" .. package.path
local report = require("report")
report.install()

report.replay(2000, function(args)
   local lo, hi = report.range(args[1] or "1:10000")
   return function() return report.ride_get(lo, hi) end
end)
