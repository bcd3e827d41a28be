-- wrk script shared by both servers: POSTs signed pull_request.opened payloads, one per PR,
-- in turn, with a unique X-GitHub-Delivery per request (run tag, thread id, counter), so
-- smallbatch's dedupe never short-circuits and its worker evaluates many PRs at once.
-- Reads BENCH_MANIFEST (lines of "<body file> <signature>") and BENCH_RUN (a per-run tag).

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  bodies, signatures = {}, {}
  for line in io.lines(os.getenv("BENCH_MANIFEST")) do
    local path, signature = line:match("^(%S+) (%S+)$")
    local f = assert(io.open(path, "rb"))
    table.insert(bodies, f:read("*a"))
    f:close()
    table.insert(signatures, signature)
  end
  prefix = os.getenv("BENCH_RUN") .. "-" .. tid .. "-"
  counter = tid
end

function request()
  counter = counter + 1
  local i = counter % #bodies + 1
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/json",
    ["X-GitHub-Event"] = "pull_request",
    ["X-Hub-Signature-256"] = signatures[i],
    ["X-GitHub-Delivery"] = prefix .. counter,
  }, bodies[i])
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
