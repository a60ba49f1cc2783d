-- wrk.lua: bench code, not calsync.  Sends pre-signed Cal.com deliveries
-- (bench/gen's lines: uid TAB signature TAB body), each exactly once, over
-- keep-alive connections:
--
--	wrk -t T -c C -d D -s bench/wrk.lua URL -- FILE T LOGPREFIX
--
-- Thread k of T takes lines k, k+T, k+2T ...  Each response is logged to
-- LOGPREFIX.k.log as "uid status outcome start_us end_us", so bench/run
-- computes rates and latencies itself (wrk's own percentiles add synthetic
-- samples for coordinated omission) and checks the database against the
-- uids that were answered 2xx.  A thread that has had every answer writes
-- LOGPREFIX.k.done and stops; bench/run then ends wrk's fixed sleep.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int, bench_timespec *);
]]
local CLOCK_MONOTONIC = 1
local ts = ffi.new("bench_timespec")

-- LuaJIT's os.clock is CPU time and os.time whole seconds.
local function now_us()
	ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
	return tonumber(ts.tv_sec) * 1000000 + math.floor(tonumber(ts.tv_nsec) / 1000)
end

-- The main Lua state: number the threads, keep them for done().
local threads = {}

function setup(thread)
	thread:set("id", #threads)
	table.insert(threads, thread)
end

-- Each thread's own Lua state from here on.  sent is global so that
-- done() can read it with thread:get().
local reqs, uids, sent_at = {}, {}, {}
local claimed, answered = 0, 0
local log, prefix
sent = 0

function init(args)
	local file, nthreads = args[1], tonumber(args[2])
	prefix = args[3]
	local k = 0
	for line in io.lines(file) do
		if k % nthreads == id then
			local uid, sig, body = line:match("^([^\t]+)\t([^\t]+)\t(.*)$")
			assert(uid, file .. ": bad line " .. (k + 1))
			-- Exactly Cal.com's headers; wrk.format adds Host and
			-- Content-Length.
			reqs[#reqs + 1] = wrk.format("POST", nil, {
				["Content-Type"] = "application/json",
				["X-Cal-Signature-256"] = sig,
			}, body)
			uids[#uids + 1] = uid
		end
		k = k + 1
	end
	log = assert(io.open(prefix .. "." .. id .. ".log", "w"))
end

-- wrk calls delay() before each request() once a script defines it: a
-- connection claims its delivery here, and when none are left it waits
-- out the run (an hour) instead of sending anything.
function delay()
	if claimed >= #reqs then
		return 3600000
	end
	claimed = claimed + 1
	return 0
end

-- A delivery is sent only when delay() claimed it.  wrk also calls
-- request() once at start-up just to check it parses, and again without
-- delay() when it reconnects after a socket error: both get something
-- nginx refuses by itself, so no delivery is lost or sent twice (after a
-- socket error it counts as an error, as it should).
function request()
	if sent >= claimed then
		return wrk.format("GET", "/bench-nothing-left")
	end
	sent = sent + 1
	sent_at[uids[sent]] = now_us()
	return reqs[sent]
end

function response(status, headers, body)
	local t1 = now_us()
	local uid = body:match('"uid":"([^"]*)"') or "-"
	local outcome = body:match('"status":"([^"]*)"') or
	    body:match('"outcome":"([^"]*)"') or "-"
	local t0 = sent_at[uid] or t1
	sent_at[uid] = nil
	log:write(uid, " ", status, " ", outcome, " ", t0, " ", t1, "\n")
	answered = answered + 1
	if answered >= #reqs then
		log:flush()
		io.open(prefix .. "." .. id .. ".done", "w"):close()
		wrk.thread:stop()
	end
end

function done(summary, latency, requests)
	local e = summary.errors
	local sent_all = 0
	for _, t in ipairs(threads) do
		sent_all = sent_all + (t:get("sent") or 0)
	end
	io.write(string.format("wrk sent=%d responses=%d connect=%d read=%d " ..
	    "write=%d timeout=%d status=%d\n", sent_all, summary.requests,
	    e.connect, e.read, e.write, e.timeout, e.status))
end
