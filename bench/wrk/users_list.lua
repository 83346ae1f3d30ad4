-- GET /api/v1/users (the URL's path; the list holds the users bench_load
-- created). Only the report hooks: wrk sends its static request.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = dir .. "?.lua;" .. package.path
local report = require("report")
report.install()
wrk.method = "GET"
wrk.path = "/api/v1/users"
