-- 90/10 read/write mix: of every 10 requests on a thread, 9 reads
-- (alternately GET /api/v1/rides/{id} and the rides listing, as in
-- ride_get.lua and rides_list.lua) and 1 write (PUT /api/v1/users, unique
-- name). Args: FIRST:LAST SRC_LO:SRC_HI DST_LO:DST_HI PREFIX.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = dir .. "?.lua;" .. package.path
local report = require("report")
report.install()

local reads, i, n, prefix = {}, 0, 0, "wmix"
local hdrs = {["Content-Type"] = "application/json"}
local pw = "3d725109c7e7c0bfb9d709836735b56d943d263f"

function init(args)
   local lo, hi = report.range(args[1] or "1:10000")
   local slo, shi = report.range(args[2] or "1:25")
   local dlo, dhi = report.range(args[3] or "101:140")
   prefix = (args[4] or prefix) .. "_" .. (tid or 0) .. "_"
   math.randomseed(4000 + (tid or 0))
   for k = 1, 1024 do
      if k % 2 == 0 then
         reads[k] = report.ride_get(lo, hi)
      else
         reads[k] = report.rides_list(slo, shi, dlo, dhi)
      end
   end
end

function request()
   n = n + 1
   if n % 10 == 0 then
      return wrk.format("PUT", "/api/v1/users", hdrs, string.format(
         '{"username": "%s%d", "password": "%s"}', prefix, n, pw))
   end
   i = i % #reads + 1
   return reads[i]
end
