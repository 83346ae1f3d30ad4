-- GET /api/v1/rides/{id} for random ids in FIRST:LAST (args), 1024 random
-- requests built once per thread and replayed in turn.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = dir .. "?.lua;" .. package.path
local report = require("report")
report.install()

local reqs, i = {}, 0

function init(args)
   local lo, hi = report.range(args[1] or "1:10000")
   math.randomseed(2000 + (tid or 0))
   for k = 1, 1024 do
      reqs[k] = wrk.format("GET", "/api/v1/rides/" .. math.random(lo, hi))
   end
end

function request()
   i = i % #reqs + 1
   return reqs[i]
end
