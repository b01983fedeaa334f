#!/usr/bin/env bash
# Side-by-side benchmark: reef-server and redis-server 7.0 on this machine, in
# one run, with the same redis-benchmark invocations. Prints throughput
# ratios (reef/redis), p50/p99 latencies, and RSS per key after
# DEBUG POPULATE.
#
#   bench/compare.sh                      # issue-2 set: set,get,incr,mset
#   TESTS=lpush,rpop,sadd bench/compare.sh
#   REQUESTS=200000 ROUNDS=3 bench/compare.sh
#
# Each configuration runs ROUNDS times alternating servers; the best round of
# each is kept, which filters out noise from other processes on a small
# machine.
set -euo pipefail
cd "$(dirname "$0")/.."

TESTS=${TESTS:-set,get,incr,mset}
REQUESTS=${REQUESTS:-300000}
CLIENTS=${CLIENTS:-50}
ROUNDS=${ROUNDS:-2}
PIPELINES=${PIPELINES:-"1 16"}
POPULATE=${POPULATE:-1000000}

. bench/lib.sh

start_server reef "$work/reef-server" --enable-debug-command yes; REEF=$PORT
start_server redis "$(command -v redis-server)" --enable-debug-command yes; REDIS=$PORT
echo "reef-server on $REEF, redis-server $(redis-server --version | awk '{print $3}') on $REDIS, $(nproc) cores"

# bench port pipeline -> CSV lines "test,rps,p50,p99"
bench() {
  redis-benchmark -p "$1" -t "$TESTS" -c "$CLIENTS" -n "$REQUESTS" -P "$2" -r 100000 --csv 2>/dev/null |
    tail -n +2 | tr -d '"' | awk -F, '{print $1","$2","$5","$7}'
}

declare -A best
for P in $PIPELINES; do
  for round in $(seq "$ROUNDS"); do
    for who in reef redis; do
      port=$REEF; [ "$who" = redis ] && port=$REDIS
      redis-cli -p "$port" flushall >/dev/null
      while IFS=, read -r test rps p50 p99; do
        k="$who|$P|$test"
        prev=${best[$k]:-0,0,0}
        if awk -v a="$rps" -v b="${prev%%,*}" 'BEGIN{exit !(a>b)}'; then best[$k]="$rps,$p50,$p99"; fi
      done < <(bench "$port" "$P")
    done
  done
done

printf '\n%-16s %4s %12s %12s %7s %16s %16s\n' test P reef_rps redis_rps ratio "reef p50/p99" "redis p50/p99"
for P in $PIPELINES; do
  for test in $(echo "$TESTS" | tr ',' ' '); do
    # redis-benchmark names tests in upper case, with details (e.g. "MSET (10 keys)").
    for k in "${!best[@]}"; do
      IFS='|' read -r who p name <<<"$k"
      [ "$who" = reef ] && [ "$p" = "$P" ] || continue
      lname=$(echo "$name" | tr 'A-Z' 'a-z' | awk '{print $1}')
      [ "$lname" = "$test" ] || [ "$lname" = "${test%_*}" -a "$test" != "${test%_*}" ] || continue
      r=${best[$k]}; d=${best["redis|$P|$name"]:-0,0,0}
      awk -v t="$name" -v P="$P" -v r="$r" -v d="$d" 'BEGIN{split(r,a,",");split(d,b,",");
        ratio=(b[1]>0)?a[1]/b[1]:0;
        printf "%-16s %4s %12.0f %12.0f %7.2f %16s %16s\n", t, P, a[1], b[1], ratio, a[2]"/"a[3], b[2]"/"b[3]}'
    done
  done
done

rss() { ps -o rss= -p "$1" | tr -d ' '; }
if [ "$POPULATE" -gt 0 ]; then
  echo
  for who in reef redis; do
    port=$REEF; [ "$who" = redis ] && port=$REDIS
    pid=$(redis-cli -p "$port" info server | awk -F: '/^process_id/{print $2}' | tr -d '\r')
    redis-cli -p "$port" flushall >/dev/null
    before=$(rss "$pid")
    redis-cli -p "$port" debug populate "$POPULATE" key 16 >/dev/null
    after=$(rss "$pid")
    echo "$who $after $before" >>"$work/mem"
    printf '%-6s RSS after DEBUG POPULATE %d: %8d KiB (%.1f bytes/key over the empty server)\n' "$who" "$POPULATE" "$after" "$(awk -v a="$after" -v b="$before" -v n="$POPULATE" 'BEGIN{print (a-b)*1024/n}')"
  done
  awk '{rss[$1]=$2} END{printf "memory ratio reef/redis (total RSS): %.2f (target <= 1.5)\n", rss["reef"]/rss["redis"]}' "$work/mem"
fi
