-- GET <url path> against civet_floor: only the report hooks.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = dir .. "?.lua;" .. package.path
local report = require("report")
report.install()
