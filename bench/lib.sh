# Shared pieces of the bench/*.sh scripts; source it from the repository
# root. It makes $work (removed at exit, with every server in $pids killed)
# and builds $work/reef-server.

command -v redis-server >/dev/null || { echo "redis-server missing: apt-get install -y redis-server redis-tools"; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work" 2>/dev/null || true; }
trap cleanup EXIT
go build -o "$work/reef-server" ./cmd/reef-server

# free_ports N: N ports p (below 22768) with p and p+10000 free, so that a
# cluster node's bus port is free too and neither collides with the
# kernel's ephemeral client ports.
free_ports() {
  python3 - "$1" <<'PY'
import socket, random, sys
n, out = int(sys.argv[1]), []
def free(p):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); return True
    except OSError:
        return False
    finally:
        s.close()
while len(out) < n:
    p = random.randint(12000, 22700)
    if p not in out and p + 10000 not in out and p - 10000 not in out and free(p) and free(p + 10000):
        out.append(p)
print(" ".join(map(str, out)))
PY
}

# start_server NAME BINARY [ARGS...]: starts a standalone server on a free
# port, files in $work/NAME, log in $work/NAME.log, waits until it answers
# PING, and sets PORT and PID (the server is a child of this shell, in
# $pids, so cleanup can wait for it).
start_server() {
  local name=$1 bin=$2
  shift 2
  PORT=$(free_ports 1)
  mkdir -p "$work/$name"
  (cd "$work/$name" && exec "$bin" --port "$PORT" --bind 127.0.0.1 --save "" --appendonly no --logfile "$work/$name.log" "$@") >/dev/null 2>&1 &
  PID=$!
  pids+=("$PID")
  for _ in $(seq 100); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && return 0; sleep 0.05; done
  echo "$name did not answer PING on port $PORT; its log:" >&2
  tail -20 "$work/$name.log" >&2
  exit 1
}
