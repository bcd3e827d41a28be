#!/usr/bin/env bash
# Webhook intake, side by side: smallbatch against Probot doing the same work per delivery
# (verify the HMAC signature, store the delivery durably in SQLite, acknowledge).
# Same signed payload, same wrk settings, one server at a time, loopback only.
#
#   bash benches/intake_vs_probot.sh
#
# Tunables (environment): THREADS=2 CONNECTIONS=32 DURATION=20s WARMUP=5s,
# PORT_BASE=18480 (uses PORT_BASE..PORT_BASE+2), SB_API=blackhole|refused (see below),
# PROFILE=1 to record a `perf` profile of smallbatch during its measured run.
# Not part of `cargo test` or CI. Needs: cargo, node 20 + npm, wrk, openssl, curl.
#
# smallbatch always runs its worker next to the server; there is no switch to turn it
# off. With SB_API=blackhole (default) the GitHub API URL points at a loopback listener
# that accepts connections and never answers, so the one worker slot
# (SMALLBATCH_WORKER__CONCURRENCY=1) claims one job and waits on it: the run measures
# intake alone, like the Probot app, which has no worker. SB_API=refused points it at a
# closed port instead: the worker then claims, fails and reschedules jobs during the run,
# competing with intake for CPU and the SQLite write lock; the first failed call also logs
# octocrab's error with a symbolized backtrace (captured whatever RUST_BACKTRACE says),
# which alone lifts peak RSS from ~19 MiB to ~57 MiB.
set -euo pipefail

THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
DURATION=${DURATION:-20s}
WARMUP=${WARMUP:-5s}
PORT_BASE=${PORT_BASE:-18480}
SB_API=${SB_API:-blackhole}
PROFILE=${PROFILE:-0}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROBOT_DIR="$ROOT/benches/probot"
LUA="$PROBOT_DIR/signed_delivery.lua"
FIXTURE="$ROOT/fixtures/github/pull_request.opened.json"
KEY="$ROOT/tests/keys/test-app.pem"
SECRET="bench-webhook-secret"
SB_PORT=$PORT_BASE
PROBOT_PORT=$((PORT_BASE + 1))
API_PORT=$((PORT_BASE + 2))

for tool in cargo node npm wrk openssl curl; do
  command -v "$tool" >/dev/null || { echo "missing tool: $tool" >&2; exit 1; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/intake-vs-probot.XXXXXX")
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  echo "logs and databases kept in $WORK" >&2
}
trap cleanup EXIT

# Waits until something answers HTTP on a port (any status), for up to 30 s.
wait_http() {
  local url=$1 pid=$2
  for _ in $(seq 300); do
    kill -0 "$pid" 2>/dev/null || { echo "server exited before listening: $url" >&2; return 1; }
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$url" || true)" != "000" ] && return 0
    sleep 0.1
  done
  echo "timed out waiting for $url" >&2
  return 1
}

peak_rss_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# Rows stored by a server, read after it stopped.
stored_rows() {
  (cd "$PROBOT_DIR" && node -e '
    const Database = require("better-sqlite3");
    const db = new Database(process.argv[1], { readonly: true });
    console.log(db.prepare("SELECT count(*) AS n FROM jobs").get().n);' "$1")
}

# Runs wrk twice (warm-up, then measured) and prints the measured BENCH line.
load() {
  local name=$1 url=$2
  BENCH_RUN="$name-warmup" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" -s "$LUA" "$url" \
    >"$WORK/$name.warmup.txt"
  BENCH_RUN="$name" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$LUA" "$url" \
    >"$WORK/$name.wrk.txt"
  grep '^BENCH ' "$WORK/$name.wrk.txt"
}

stop() {
  kill -TERM "$1"
  wait "$1" 2>/dev/null || true
}

field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }

echo "== preparing" >&2
(cd "$ROOT" && cargo build --release --quiet)
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/smallbatch"
[ -d "$PROBOT_DIR/node_modules" ] || (cd "$PROBOT_DIR" && npm ci --no-audit --no-fund)

BODY="$WORK/body.json"
cp "$FIXTURE" "$BODY"
SIGNATURE="sha256=$(openssl dgst -sha256 -hmac "$SECRET" -r "$BODY" | cut -d' ' -f1)"
export BENCH_BODY_FILE="$BODY" BENCH_SIGNATURE="$SIGNATURE"

if [ "$SB_API" = blackhole ]; then
  node -e 'require("net").createServer(() => {}).listen(+process.argv[1], "127.0.0.1")' \
    "$API_PORT" &
  PIDS+=($!)
  # smallbatch must find it listening, or its first call fails fast and is rescheduled.
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$API_PORT") 2>/dev/null && break; sleep 0.1; done
fi

echo "== smallbatch (release, SQLite WAL + synchronous=FULL, worker API: $SB_API)" >&2
SMALLBATCH_LISTEN="127.0.0.1:$SB_PORT" \
SMALLBATCH_DATABASE_URL="sqlite://$WORK/sb.db" \
SMALLBATCH_GITHUB__APP_ID=1 \
SMALLBATCH_GITHUB__PRIVATE_KEY_PATH="$KEY" \
SMALLBATCH_GITHUB__WEBHOOK_SECRET="$SECRET" \
SMALLBATCH_GITHUB__API_URL="http://127.0.0.1:$API_PORT" \
SMALLBATCH_WORKER__CONCURRENCY=1 \
SMALLBATCH_WORKER__DRAIN_TIMEOUT_SECS=1 \
  "$BIN" serve >"$WORK/smallbatch.log" 2>&1 &
SB_PID=$!
PIDS+=("$SB_PID")
wait_http "http://127.0.0.1:$SB_PORT/healthz" "$SB_PID"
SB_IDLE=$(rss_kib "$SB_PID")
if [ "$PROFILE" = 1 ]; then
  # Starts with the measured run (after the warm-up) and lasts as long.
  (sleep "${WARMUP%s}" && exec perf record -F 499 -g -p "$SB_PID" -o "$WORK/smallbatch.perf.data" \
    -- sleep "${DURATION%s}") >"$WORK/perf.log" 2>&1 &
  PIDS+=($!)
fi
SB_LINE=$(load smallbatch "http://127.0.0.1:$SB_PORT/webhooks/github")
SB_RSS=$(peak_rss_kib "$SB_PID")
stop "$SB_PID"
SB_ROWS=$(stored_rows "$WORK/sb.db")

echo "== Probot $(cd "$PROBOT_DIR" && node -p 'require("probot/package.json").version') (node $(node --version), better-sqlite3 WAL + synchronous=FULL)" >&2
(
  cd "$PROBOT_DIR"
  # probot-run directly (not `probot run`, whose CLI spawns a child), so $! is the server.
  HOST=127.0.0.1 PORT="$PROBOT_PORT" NODE_ENV=production \
  APP_ID=1 PRIVATE_KEY_PATH="$KEY" WEBHOOK_SECRET="$SECRET" BENCH_DB_PATH="$WORK/probot.db" \
    exec node node_modules/probot/bin/probot-run.js ./app.js
) >"$WORK/probot.log" 2>&1 &
PROBOT_PID=$!
PIDS+=("$PROBOT_PID")
wait_http "http://127.0.0.1:$PROBOT_PORT/" "$PROBOT_PID"
PROBOT_IDLE=$(rss_kib "$PROBOT_PID")
PROBOT_LINE=$(load probot "http://127.0.0.1:$PROBOT_PORT/api/github/webhooks")
PROBOT_RSS=$(peak_rss_kib "$PROBOT_PID")
stop "$PROBOT_PID"
PROBOT_ROWS=$(stored_rows "$WORK/probot.db")

echo "$SB_LINE" >"$WORK/summary.txt"
echo "$PROBOT_LINE" >>"$WORK/summary.txt"

# Every 2xx must be a stored row (warm-up included), or the comparison is void.
for side in smallbatch probot; do
  if [ "$side" = smallbatch ]; then line=$SB_LINE rows=$SB_ROWS; else line=$PROBOT_LINE rows=$PROBOT_ROWS; fi
  warm=$(grep '^BENCH ' "$WORK/$side.warmup.txt")
  acked=$(($(field "$line" requests) - $(field "$line" non2xx) + $(field "$warm" requests) - $(field "$warm" non2xx)))
  if [ "$(field "$line" non2xx)" != 0 ] || [ "$(field "$line" socket_errors)" != 0 ]; then
    echo "warning: $side: $(field "$line" non2xx) non-2xx answers, $(field "$line" socket_errors) socket errors" >&2
  fi
  # Requests in flight when a wrk run ends are stored but not counted: up to one per
  # connection per run.
  if [ "$rows" -lt "$acked" ] || [ "$rows" -gt "$((acked + 2 * CONNECTIONS))" ]; then
    echo "warning: $side acknowledged $acked deliveries but stored $rows" >&2
  fi
done

echo
echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION (after a $WARMUP warm-up), one signed pull_request.opened ($(wc -c <"$BODY") bytes), unique delivery ids, loopback"
awk -v sb="$SB_LINE" -v pb="$PROBOT_LINE" -v sbr="$SB_RSS" -v pbr="$PROBOT_RSS" \
    -v sbrows="$SB_ROWS" -v pbrows="$PROBOT_ROWS" -v sbi="$SB_IDLE" -v pbi="$PROBOT_IDLE" '
  function get(line, key,   re) { re = " " key "="; split(substr(line, index(line, re) + length(re)), a, " "); return a[1] }
  BEGIN {
    printf "%-12s %10s %10s %10s %16s %16s %12s\n", "", "req/s", "p50 (ms)", "p99 (ms)", "peak RSS (MiB)", "idle RSS (MiB)", "rows stored"
    printf "%-12s %10.0f %10.2f %10.2f %16.1f %16.1f %12d\n", "smallbatch", get(sb, "rps"), get(sb, "p50_ms"), get(sb, "p99_ms"), sbr / 1024, sbi / 1024, sbrows
    printf "%-12s %10.0f %10.2f %10.2f %16.1f %16.1f %12d\n", "Probot", get(pb, "rps"), get(pb, "p50_ms"), get(pb, "p99_ms"), pbr / 1024, pbi / 1024, pbrows
    printf "\nthroughput  smallbatch/Probot = %.2fx   (target >= 5x)\n", get(sb, "rps") / get(pb, "rps")
    printf "p99 latency Probot/smallbatch   = %.2fx\n", get(pb, "p99_ms") / get(sb, "p99_ms")
    printf "peak RSS    Probot/smallbatch   = %.2fx   (target >= 5x)\n", pbr / sbr
  }'
if [ "$PROFILE" = 1 ]; then
  echo "perf profile: perf report -i $WORK/smallbatch.perf.data --no-children --sort dso,sym"
fi
