#!/usr/bin/env bash
# Webhook intake under load, side by side in one run: smallbatch (verify the signature,
# store the delivery durably, acknowledge) while its worker evaluates those same
# deliveries against a fake GitHub that answers, on SQLite and on PostgreSQL; and Probot
# with a no-op `onAny` app. Same signed payloads, same wrk, one server at a time,
# loopback only.
#
#   bash benches/intake_vs_probot.sh
#
# Tunables (environment): THREADS=2 CONNECTIONS=32 DURATION=20s WARMUP=5s PRS=64
# PORT_BASE=18480 (uses PORT_BASE..PORT_BASE+1), STORES="sqlite postgres",
# POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test (a database is created beside it
# and dropped), PROFILE=1 to record a `perf` profile of smallbatch's measured runs.
# Not part of `cargo test` or CI. Needs: cargo, node 20 + npm, wrk, openssl, curl, psql.
#
# The deliveries name PRS different PRs in turn, so the worker (4 jobs at a time, the
# default) is busy for the whole run: the first evaluation of each PR publishes its check,
# comment-free verdict and label, the later ones find nothing changed. The fake GitHub is
# the strict fake of the end-to-end tests (benches/fake_github.rs), a separate process.
set -euo pipefail

THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
DURATION=${DURATION:-20s}
WARMUP=${WARMUP:-5s}
PRS=${PRS:-64}
PORT_BASE=${PORT_BASE:-18480}
STORES=${STORES:-sqlite postgres}
POSTGRES_URL=${POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
PROFILE=${PROFILE:-0}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROBOT_DIR="$ROOT/benches/probot"
LUA="$PROBOT_DIR/signed_delivery.lua"
FIXTURE="$ROOT/fixtures/github/pull_request.opened.json"
KEY="$ROOT/tests/keys/test-app.pem"
SECRET="bench-webhook-secret"
SB_PORT=$PORT_BASE
PROBOT_PORT=$((PORT_BASE + 1))
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"

for tool in cargo node npm wrk openssl curl psql; do
  command -v "$tool" >/dev/null || { echo "missing tool: $tool" >&2; exit 1; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/intake-vs-probot.XXXXXX")
PIDS=()
DROP_DBS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  for db in "${DROP_DBS[@]}"; do
    psql -q "$POSTGRES_URL" -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
  done
  echo "logs kept in $WORK" >&2
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
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }

# Runs wrk twice (warm-up, then measured) and prints the measured BENCH line.
load() {
  local name=$1 url=$2
  BENCH_RUN="$name-warmup" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" -s "$LUA" "$url" \
    >"$WORK/$name.warmup.txt"
  if [ "$PROFILE" = 1 ] && [ -n "${3:-}" ]; then
    (exec perf record -F 499 -g -p "$3" -o "$WORK/$name.perf.data" -- sleep "${DURATION%s}") \
      >"$WORK/$name.perf.log" 2>&1 &
  fi
  BENCH_RUN="$name" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$LUA" "$url" \
    >"$WORK/$name.wrk.txt"
  grep '^BENCH ' "$WORK/$name.wrk.txt"
}

stop() {
  kill -TERM "$1"
  wait "$1" 2>/dev/null || true
}

echo "== preparing" >&2
(cd "$ROOT" && cargo build --release --quiet && cargo build --release --quiet --bench fake_github)
BIN="$TARGET/release/smallbatch"
FAKE=$(ls -t "$TARGET"/release/deps/fake_github-* | grep -v '\.d$' | head -1)
[ -d "$PROBOT_DIR/node_modules" ] || (cd "$PROBOT_DIR" && npm ci --no-audit --no-fund)

# One signed payload per PR, shaped as the fake GitHub's repository and installation.
node -e '
  const fs = require("fs");
  const [fixture, dir, prs] = process.argv.slice(1);
  const base = JSON.parse(fs.readFileSync(fixture, "utf8"));
  for (let n = 1; n <= +prs; n++) {
    const p = structuredClone(base);
    p.repository.full_name = "octo-org/widgets";
    p.installation.id = 4242;
    p.number = n;
    p.pull_request.number = n;
    p.pull_request.head.sha = n.toString(16).padStart(40, "0");
    fs.writeFileSync(`${dir}/body-${n}.json`, JSON.stringify(p));
  }' "$FIXTURE" "$WORK" "$PRS"
: >"$WORK/manifest.txt"
for n in $(seq "$PRS"); do
  sig="sha256=$(openssl dgst -sha256 -hmac "$SECRET" -r "$WORK/body-$n.json" | cut -d' ' -f1)"
  echo "$WORK/body-$n.json $sig" >>"$WORK/manifest.txt"
done
export BENCH_MANIFEST="$WORK/manifest.txt"

# smallbatch on one store, its worker against a fresh fake GitHub. Prints
# "<BENCH line> rss_kib=<peak> done=<jobs done> stored=<jobs stored>".
run_smallbatch() {
  local store=$1 db_url
  case $store in
    sqlite) db_url="sqlite://$WORK/sb.db" ;;
    postgres)
      local name="sb_bench_$$"
      psql -q "$POSTGRES_URL" -c "CREATE DATABASE \"$name\"" >/dev/null
      DROP_DBS+=("$name")
      db_url="${POSTGRES_URL%/*}/$name" ;;
  esac
  coproc FAKE_PROC { exec "$FAKE" "$PRS" 2>"$WORK/fake-$store.log"; }
  local fake_pid=$FAKE_PROC_PID fake_url
  PIDS+=("$fake_pid")
  read -r fake_url <&"${FAKE_PROC[0]}"
  fake_url=${fake_url#FAKE_GITHUB_URL=}
  SMALLBATCH_LISTEN="127.0.0.1:$SB_PORT" \
  SMALLBATCH_DATABASE_URL="$db_url" \
  SMALLBATCH_GITHUB__APP_ID=1 \
  SMALLBATCH_GITHUB__PRIVATE_KEY_PATH="$KEY" \
  SMALLBATCH_GITHUB__WEBHOOK_SECRET="$SECRET" \
  SMALLBATCH_GITHUB__API_URL="$fake_url" \
  SMALLBATCH_WORKER__DRAIN_TIMEOUT_SECS=1 \
  RUST_LOG=warn \
    "$BIN" serve >"$WORK/smallbatch-$store.log" 2>&1 &
  local sb_pid=$!
  PIDS+=("$sb_pid")
  wait_http "http://127.0.0.1:$SB_PORT/healthz" "$sb_pid"
  local line rss
  line=$(load "smallbatch-$store" "http://127.0.0.1:$SB_PORT/webhooks/github" "$sb_pid")
  rss=$(peak_rss_kib "$sb_pid")
  stop "$sb_pid"
  exec {FAKE_PROC[1]}>&-
  wait "$fake_pid" 2>/dev/null || true
  local counts
  case $store in
    sqlite)
      counts=$(cd "$PROBOT_DIR" && node -e '
        const db = new (require("better-sqlite3"))(process.argv[1], { readonly: true });
        const q = (s) => db.prepare(s).get().n;
        console.log(q("SELECT count(*) AS n FROM jobs WHERE state = '"'"'done'"'"'"),
                    q("SELECT count(*) AS n FROM jobs"));' "$WORK/sb.db") ;;
    postgres)
      counts=$(psql -qtA -F' ' "$db_url" -c \
        "SELECT count(*) FILTER (WHERE state = 'done'), count(*) FROM jobs") ;;
  esac
  echo "$line rss_kib=$rss done=${counts% *} stored=${counts#* }"
}

LINES=()
for store in $STORES; do
  echo "== smallbatch (release, $store, worker against the fake GitHub)" >&2
  run_smallbatch "$store" >"$WORK/result-$store.txt"
  LINES+=("$store $(cat "$WORK/result-$store.txt")")
done

echo "== Probot $(cd "$PROBOT_DIR" && node -p 'require("probot/package.json").version') (node $(node --version)), no-op onAny app" >&2
(
  cd "$PROBOT_DIR"
  # probot-run directly (not `probot run`, whose CLI spawns a child), so $! is the server.
  HOST=127.0.0.1 PORT="$PROBOT_PORT" NODE_ENV=production LOG_LEVEL=warn \
  APP_ID=1 PRIVATE_KEY_PATH="$KEY" WEBHOOK_SECRET="$SECRET" \
    exec node node_modules/probot/bin/probot-run.js ./noop.js
) >"$WORK/probot.log" 2>&1 &
PROBOT_PID=$!
PIDS+=("$PROBOT_PID")
wait_http "http://127.0.0.1:$PROBOT_PORT/" "$PROBOT_PID"
PROBOT_LINE=$(load probot "http://127.0.0.1:$PROBOT_PORT/api/github/webhooks" "$PROBOT_PID")
PROBOT_RSS=$(peak_rss_kib "$PROBOT_PID")
stop "$PROBOT_PID"

# Every acknowledged delivery must be stored, or the comparison is void.
for entry in "${LINES[@]}"; do
  store=${entry%% *} line=${entry#* }
  warm=$(grep '^BENCH ' "$WORK/smallbatch-$store.warmup.txt")
  acked=$(($(field "$line" requests) - $(field "$line" non2xx) + $(field "$warm" requests) - $(field "$warm" non2xx)))
  stored=$(field "$line" stored)
  if [ "$(field "$line" non2xx)" != 0 ] || [ "$(field "$line" socket_errors)" != 0 ]; then
    echo "warning: $store: $(field "$line" non2xx) non-2xx answers, $(field "$line" socket_errors) socket errors" >&2
  fi
  # Requests in flight when a wrk run ends are stored but not counted.
  if [ "$stored" -lt "$acked" ] || [ "$stored" -gt "$((acked + 2 * CONNECTIONS))" ]; then
    echo "warning: $store acknowledged $acked deliveries but stored $stored" >&2
  fi
done

echo
echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION (after a $WARMUP warm-up), signed pull_request.opened for $PRS PRs in turn, unique delivery ids, loopback, $(nproc) cores"
{
  for entry in "${LINES[@]}"; do echo "smallbatch/${entry%% *} ${entry#* }"; done
  echo "probot $PROBOT_LINE rss_kib=$PROBOT_RSS done=- stored=-"
} | awk '
  function get(line, key,   re, a) { re = " " key "="; if (!index(line, re)) return "-"; split(substr(line, index(line, re) + length(re)), a, " "); return a[1] }
  { name[NR] = $1; line[NR] = $0 }
  END {
    printf "%-20s %9s %9s %9s %10s %14s\n", "", "req/s", "p50 ms", "p99 ms", "peak MiB", "jobs done"
    for (i = 1; i <= NR; i++)
      printf "%-20s %9.0f %9.2f %9.2f %10.1f %14s\n", name[i], get(line[i], "rps"), get(line[i], "p50_ms"), get(line[i], "p99_ms"), get(line[i], "rss_kib") / 1024, get(line[i], "done")
    p = line[NR]
    print ""
    for (i = 1; i < NR; i++)
      printf "%-20s throughput %.2fx Probot, p99 %.2fx lower, peak RSS %.2fx smaller\n", name[i], get(line[i], "rps") / get(p, "rps"), get(p, "p99_ms") / get(line[i], "p99_ms"), get(p, "rss_kib") / get(line[i], "rss_kib")
  }'
if [ "$PROFILE" = 1 ]; then
  echo "perf profiles: perf report -i $WORK/smallbatch-<store>.perf.data --no-children --sort dso,sym"
fi
