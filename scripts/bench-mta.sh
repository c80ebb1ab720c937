#!/usr/bin/env bash
# bench-mta.sh — end-to-end throughput of scripts/mta.lua.
#
#   scripts/bench-mta.sh [--messages N] [--sessions N] [--bytes N]
#                        [--modes "reuse conn"] [--storages "disk redis"]
#
# For each storage (the durable spool, then Redis) and each mode it starts a
# fresh Postfix smtp-sink and a fresh mta.lua relaying into it, drives
# mta.lua with Postfix's smtp-source (SESSIONS parallel sessions,
# MSG_BYTES-byte bodies, one recipient) and reports:
#
#   acked_per_s      messages acknowledged with 250 (i.e. safely queued)
#                    per second of the smtp-source run
#   delivered_per_s  messages that reached smtp-sink per second, from the
#                    start of the run until the sink had them all
#
# Modes as in shared/bench/smtp-load.sh: "conn" = a new connection per
# message, "reuse" = smtp-source -d (many messages per connection). A short
# warm-up run precedes each measurement. Everything listens on 127.0.0.1 on
# free ports; each run is bounded by TIMEOUT seconds (default 300).
#
# Needs: go (to build the CLI, or set SLIMTA_LUA to a built binary),
# /usr/sbin/smtp-sink and smtp-source (Debian package postfix; the postfix
# daemon is never started), redis-server for the Redis rows.
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD

MESSAGES=20000 SESSIONS=16 MSG_BYTES=500 WARMUP=2000
MODES="reuse conn" STORAGES="disk redis"
TIMEOUT=${TIMEOUT:-300}
while [ $# -gt 0 ]; do
    case "$1" in
    --messages) MESSAGES=$2; shift 2 ;;
    --sessions) SESSIONS=$2; shift 2 ;;
    --bytes) MSG_BYTES=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --modes) MODES=$2; shift 2 ;;
    --storages) STORAGES=$2; shift 2 ;;
    -h|--help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-mta: unknown option $1" >&2; exit 64 ;;
    esac
done

SINK=/usr/sbin/smtp-sink SOURCE=/usr/sbin/smtp-source
[ -x "$SINK" ] && [ -x "$SOURCE" ] || { echo "bench-mta: needs smtp-sink and smtp-source (apt-get install postfix)" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/bench-mta.XXXXXX")
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    sleep 0.2
    for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null; done
    rm -rf "$WORK"
}
trap cleanup EXIT

BIN=${SLIMTA_LUA:-}
if [ -z "$BIN" ]; then
    BIN=$WORK/slimta-lua
    go build -o "$BIN" ./cmd/slimta-lua || exit 1
fi

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_greeting() { # port
    local i
    for i in $(seq 1 200); do
        if { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null; then
            local line=""
            read -r -t 2 line <&3
            exec 3<&- 3>&-
            case "$line" in 220*) return 0 ;; esac
        fi
        sleep 0.05
    done
    return 1
}

now_ns() { date +%s%N; }

USER_OPT=()
[ "$(id -u)" = 0 ] && USER_OPT=(-u nobody)

# run_one STORAGE MODE: prints one RESULT line.
run_one() {
    local storage=$1 mode=$2
    local total=$((WARMUP + MESSAGES))
    local sport mport rport="" spool="$WORK/spool.$storage.$mode"
    sport=$(free_port)
    # -M: the sink exits once it has every message, which marks the drain.
    "$SINK" "${USER_OPT[@]}" -m 1000 -M "$total" "127.0.0.1:$sport" 1024 >/dev/null 2>&1 &
    local sink_pid=$!
    PIDS+=("$sink_pid")
    wait_greeting "$sport" || { echo "bench-mta: smtp-sink did not start" >&2; return 1; }

    local store_opt=(--spool "$spool")
    if [ "$storage" = redis ]; then
        command -v redis-server >/dev/null || { echo "RESULT storage=redis mode=$mode skipped=no-redis-server"; kill "$sink_pid"; return 0; }
        rport=$(free_port)
        redis-server --port "$rport" --bind 127.0.0.1 --save "" --appendonly no --dir "$WORK" >/dev/null 2>&1 &
        PIDS+=("$!")
        local redis_pid=$!
        sleep 0.3
        store_opt=(--redis "127.0.0.1:$rport")
    fi
    mport=$(free_port)
    "$BIN" scripts/mta.lua --port "$mport" "${store_opt[@]}" --smarthost "127.0.0.1:$sport" \
        --hostname bench.test --quiet >"$WORK/mta.$storage.$mode.log" 2>&1 &
    local mta_pid=$!
    PIDS+=("$mta_pid")
    wait_greeting "$mport" || { echo "bench-mta: mta.lua did not start" >&2; cat "$WORK/mta.$storage.$mode.log" >&2; return 1; }

    local flag=()
    [ "$mode" = reuse ] && flag=(-d)
    src() { # count
        timeout -k 5 "$TIMEOUT" "$SOURCE" -4 "${flag[@]}" -s "$SESSIONS" -m "$1" -l "$MSG_BYTES" -r 1 \
            -M bench.example -f sender@bench.example -t rcpt@bench.example "inet:127.0.0.1:$mport" \
            >/dev/null 2>"$WORK/source.err"
    }
    src "$WARMUP" || { echo "bench-mta: warm-up failed" >&2; tail -3 "$WORK/source.err" >&2; }
    local t0 t1 t2 rc
    t0=$(now_ns)
    src "$MESSAGES"
    rc=$?
    t1=$(now_ns)
    # Wait for the sink to exit (it has everything) or give up.
    local waited=0
    while kill -0 "$sink_pid" 2>/dev/null && [ $waited -lt $((TIMEOUT * 10)) ]; do
        sleep 0.1; waited=$((waited + 1))
    done
    t2=$(now_ns)
    local drained=yes
    kill -0 "$sink_pid" 2>/dev/null && drained=no
    local cpu
    cpu=$(awk '{ printf "%.2f", ($14 + $15 + $16 + $17) / 100 }' "/proc/$mta_pid/stat" 2>/dev/null || echo NA)
    awk -v st="$storage" -v mo="$mode" -v m="$MESSAGES" -v s="$SESSIONS" -v b="$MSG_BYTES" \
        -v a="$((t1 - t0))" -v d="$((t2 - t0))" -v rc="$rc" -v dr="$drained" -v cpu="$cpu" 'BEGIN {
        printf "RESULT storage=%s mode=%s sessions=%d msg_bytes=%d messages=%d acked_s=%.2f acked_per_s=%.1f delivered_s=%.2f delivered_per_s=%s drained=%s mta_cpu_s=%s rc=%d\n",
            st, mo, s, b, m, a / 1e9, m * 1e9 / a, d / 1e9, (dr == "yes" ? sprintf("%.1f", m * 1e9 / d) : "NA"), dr, cpu, rc }'
    kill "$mta_pid" "$sink_pid" ${redis_pid:+"$redis_pid"} 2>/dev/null
    wait "$mta_pid" 2>/dev/null
}

echo "bench-mta: $(nproc) CPUs, $MESSAGES messages (+$WARMUP warm-up), $SESSIONS sessions, $MSG_BYTES-byte bodies"
for storage in $STORAGES; do
    for mode in $MODES; do
        run_one "$storage" "$mode"
    done
done
