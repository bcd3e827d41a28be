-- wrk script shared by both servers: POSTs one signed pull_request.opened payload with a
-- unique X-GitHub-Delivery per request (thread id + counter), so smallbatch's dedupe never
-- short-circuits and both sides store every request.
-- Reads BENCH_BODY_FILE, BENCH_SIGNATURE and BENCH_RUN (a per-run tag) from the environment.

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local f = assert(io.open(os.getenv("BENCH_BODY_FILE"), "rb"))
  wrk.method = "POST"
  wrk.body = f:read("*a")
  f:close()
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["X-GitHub-Event"] = "pull_request"
  wrk.headers["X-Hub-Signature-256"] = os.getenv("BENCH_SIGNATURE")
  prefix = os.getenv("BENCH_RUN") .. "-" .. tid .. "-"
  counter = 0
end

function request()
  counter = counter + 1
  wrk.headers["X-GitHub-Delivery"] = prefix .. counter
  return wrk.format()
end

-- One machine-readable line for the bench script.
function done(summary, latency, requests)
  local non2xx = summary.errors.status
  local socket = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout
  io.write(string.format(
    "BENCH requests=%d seconds=%.3f rps=%.1f p50_ms=%.3f p99_ms=%.3f non2xx=%d socket_errors=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, non2xx, socket))
end
