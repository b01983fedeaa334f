#!/usr/bin/env bash
# Data-model benchmark: reef-server next to redis-server 7.0 on this machine.
#
#  1. Throughput of collection commands with redis-benchmark (through
#     bench/compare.sh): lpush,rpop,sadd,hset,zadd,lrange_100 at -P 1 and
#     -P 16, 50 clients, ratios reef/redis (target >= 1.0).
#  2. Memory of one 1M-element hash, set, sorted set and list on each
#     server: RSS after filling, and the ratio (target <= 1.5).
#
#   bench/data-model.sh
#   ELEMENTS=200000 SKIP_THROUGHPUT=1 bench/data-model.sh
set -euo pipefail
cd "$(dirname "$0")/.."

ELEMENTS=${ELEMENTS:-1000000}

if [ -z "${SKIP_THROUGHPUT:-}" ]; then
  TESTS=${TESTS:-lpush,rpop,sadd,hset,zadd,lrange_100} POPULATE=0 bench/compare.sh
fi

. bench/lib.sh

# gen TYPE N: the RESP stream that builds one N-element collection "c",
# 1000 elements per command.
gen() {
  python3 - "$1" "$2" <<'PY'
import sys
typ, n = sys.argv[1], int(sys.argv[2])
out = sys.stdout.buffer
def cmd(args):
    b = [b"*%d\r\n" % len(args)]
    for a in args:
        b.append(b"$%d\r\n%s\r\n" % (len(a), a))
    out.write(b"".join(b))
for start in range(0, n, 1000):
    rng = range(start, min(n, start + 1000))
    if typ == "hash":
        args = [b"HSET", b"c"]
        for i in rng: args += [b"field:%d" % i, b"value:%d" % i]
    elif typ == "set":
        args = [b"SADD", b"c"] + [b"member:%d" % i for i in rng]
    elif typ == "zset":
        args = [b"ZADD", b"c"]
        for i in rng: args += [b"%d" % (i * 7919 % n), b"member:%d" % i]
    else:
        args = [b"RPUSH", b"c"] + [b"element:%d" % i for i in rng]
    cmd(args)
PY
}

rss() { ps -o rss= -p "$1" | tr -d ' '; }

printf '\n%-6s %10s %14s %14s %7s\n' type elements "reef RSS KiB" "redis RSS KiB" ratio
for typ in hash set zset list; do
  gen "$typ" "$ELEMENTS" >"$work/$typ.resp"
  declare -A early=() settled=() purged=()
  for who in reef redis; do
    bin="$work/reef-server"; [ "$who" = redis ] && bin=$(command -v redis-server)
    start_server "$who-$typ" "$bin"; port=$PORT pid=$PID
    redis-cli -p "$port" --pipe <"$work/$typ.resp" >/dev/null
    n=$(redis-cli -p "$port" eval "return 1" 0 >/dev/null 2>&1; case $typ in hash) redis-cli -p "$port" hlen c;; set) redis-cli -p "$port" scard c;; zset) redis-cli -p "$port" zcard c;; list) redis-cli -p "$port" llen c;; esac)
    [ "$n" = "$ELEMENTS" ] || { echo "$who $typ: $n elements, want $ELEMENTS"; exit 1; }
    sleep 1
    early[$who]=$(rss "$pid")
    # Reef's cron returns freed heap to the OS once the server is quiet
    # (internal/server/memory.go); jemalloc purges on its own schedule.
    sleep 6
    settled[$who]=$(rss "$pid")
    # MEMORY PURGE returns freed pages on both (jemalloc's dirty pages, Go's
    # collected heap): what the data itself holds.
    redis-cli -p "$port" memory purge >/dev/null
    sleep 0.5
    purged[$who]=$(rss "$pid")
    kill "$pid"; wait "$pid" 2>/dev/null || true
  done
  awk -v t="$typ" -v n="$ELEMENTS" -v a="${settled[reef]}" -v b="${settled[redis]}" \
    -v ea="${early[reef]}" -v eb="${early[redis]}" -v pa="${purged[reef]}" -v pb="${purged[redis]}" \
    'BEGIN{printf "%-6s %10d %14d %14d %7.2f   (1 s after filling: %.2f; after MEMORY PURGE: %d / %d KiB, %.2f)\n", t, n, a, b, a/b, ea/eb, pa, pb, pa/pb}'
done
echo "(target: memory ratio <= 1.5; RSS of the whole process 7 s after filling one collection)"
