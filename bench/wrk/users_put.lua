-- PUT /api/v1/users with a unique name per request:
-- <PREFIX>_<thread>_<n> (arg 1: PREFIX, unique per run).
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = dir .. "?.lua;" .. package.path
local report = require("report")
report.install()

local prefix, n = "wput", 0
local hdrs = {["Content-Type"] = "application/json"}
local pw = "3d725109c7e7c0bfb9d709836735b56d943d263f"

function init(args)
   prefix = (args[1] or prefix) .. "_" .. (tid or 0) .. "_"
end

function request()
   n = n + 1
   return wrk.format("PUT", "/api/v1/users", hdrs, string.format(
      '{"username": "%s%d", "password": "%s"}', prefix, n, pw))
end
