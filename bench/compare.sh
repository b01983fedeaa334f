#!/usr/bin/env bash
# Side-by-side benchmark: reef-server and redis-server 7.0 on this machine, in
# one run, with the same redis-benchmark invocations. Prints throughput
# ratios (reef/redis), p50/p99 latencies, and RSS per key after
# DEBUG POPULATE.
#
#   bench/compare.sh                      # issue-2 set: set,get,incr,mset
#   TESTS=lpush,rpop,sadd bench/compare.sh
#   REQUESTS=200000 ROUNDS=3 bench/compare.sh   # -P 16 runs get 5x REQUESTS
#
# Each configuration runs ROUNDS times, the two servers back to back in
# each round (which goes first alternates). Printed per test: the best
# round of each server and their ratio, and the median and range of the
# per-round ratios. On a small shared machine throughput moves by 10-20%
# from one minute to the next; the paired ratio of one round compares two
# runs made seconds apart, and the median of those is the figure that
# least depends on the machine's moods.
set -euo pipefail
cd "$(dirname "$0")/.."

TESTS=${TESTS:-set,get,incr,mset}
REQUESTS=${REQUESTS:-300000}
# Pipelined runs get more requests: 300 000 SETs at -P 16 last a third of
# a second, too short to measure (and mostly the first 100 ms, before the
# node has sized its scheduler to the load: docs/SERVER.md).
REQUESTS_PIPELINED=${REQUESTS_PIPELINED:-$((REQUESTS * 5))}
CLIENTS=${CLIENTS:-50}
ROUNDS=${ROUNDS:-5}
PIPELINES=${PIPELINES:-"1 16"}
POPULATE=${POPULATE:-1000000}

. bench/lib.sh

start_server reef "$work/reef-server" --enable-debug-command yes; REEF=$PORT
start_server redis "$(command -v redis-server)" --enable-debug-command yes; REDIS=$PORT
echo "reef-server on $REEF, redis-server $(redis-server --version | awk '{print $3}') on $REDIS, $(nproc) cores"

# bench port pipeline -> CSV lines "test,rps,p50,p99"
bench() {
  local n=$REQUESTS; [ "$2" = 1 ] || n=$REQUESTS_PIPELINED
  redis-benchmark -p "$1" -t "$TESTS" -c "$CLIENTS" -n "$n" -P "$2" -r 100000 --csv 2>/dev/null |
    tail -n +2 | tr -d '"' | awk -F, '{print $1","$2","$5","$7}'
}

declare -A lat
declare -A runs # "who|P|test name" -> the rps of each round, space-separated
for P in $PIPELINES; do
  for round in $(seq "$ROUNDS"); do
    order="reef redis"; [ $((round % 2)) = 0 ] && order="redis reef"
    for who in $order; do
      port=$REEF; [ "$who" = redis ] && port=$REDIS
      redis-cli -p "$port" flushall >/dev/null
      # A failed run stops the script, saying so: a round missing from
      # one server would pair the other's rounds wrongly.
      out=$(bench "$port" "$P") || true
      [ -n "$out" ] || { echo "redis-benchmark failed or gave no figures on $who ($port), -P $P" >&2; exit 1; }
      while IFS=, read -r test rps p50 p99; do
        runs["$who|$P|$test"]="${runs["$who|$P|$test"]:-} $rps"
        lat["$who|$P|$test|$rps"]="$p50/$p99"
      done <<<"$out"
    done
  done
done

printf '\n%-16s %4s %11s %11s %6s %7s %13s %16s %16s\n' test P reef_best redis_best ratio median "range" "reef p50/p99" "redis p50/p99"
for P in $PIPELINES; do
  for test in $(echo "$TESTS" | tr ',' ' '); do
    # redis-benchmark names tests in upper case, with details (e.g. "MSET (10 keys)").
    for k in "${!runs[@]}"; do
      IFS='|' read -r who p name <<<"$k"
      [ "$who" = reef ] && [ "$p" = "$P" ] || continue
      lname=$(echo "$name" | tr 'A-Z' 'a-z' | awk '{print $1}')
      [ "$lname" = "$test" ] || [ "$lname" = "${test%_*}" -a "$test" != "${test%_*}" ] || continue
      a=${runs[$k]}; b=${runs["redis|$P|$name"]:-}
      ab=$(echo $a | tr ' ' '\n' | sort -g | tail -1); bb=$(echo $b | tr ' ' '\n' | sort -g | tail -1)
      awk -v t="$name" -v P="$P" -v a="$a" -v b="$b" -v la="${lat["reef|$P|$name|$ab"]}" -v lb="${lat["redis|$P|$name|$bb"]:-}" 'BEGIN{
        n=split(a,x," "); m=split(b,y," "); if (m<n) n=m
        ba=0; bb=0
        for (i=1;i<=n;i++) { r[i]=(y[i]>0)?x[i]/y[i]:0; if (x[i]>ba) ba=x[i]; if (y[i]>bb) bb=y[i] }
        for (i=1;i<=n;i++) for (j=i+1;j<=n;j++) if (r[j]<r[i]) { t2=r[i]; r[i]=r[j]; r[j]=t2 }
        med=(n%2)?r[(n+1)/2]:(r[n/2]+r[n/2+1])/2
        printf "%-16s %4s %11.0f %11.0f %6.2f %7.2f %6.2f-%-6.2f %16s %16s\n", t, P, ba, bb, (bb>0)?ba/bb:0, med, r[1], r[n], la, lb}'
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
