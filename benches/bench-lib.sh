# Shared by the bench scripts: the idle-CPU wait and the conditions log.
# Source it after setting OUT (the results folder).

cpu_busy() { # percent busy over 2 s, from /proc/stat
    read -r _ a b c d e f g _ < /proc/stat; local t1=$((a+b+c+d+e+f+g)) i1=$((d+e))
    sleep 2
    read -r _ a b c d e f g _ < /proc/stat; local t2=$((a+b+c+d+e+f+g)) i2=$((d+e))
    echo $(( 100 * ((t2-t1) - (i2-i1)) / ((t2-t1) > 0 ? (t2-t1) : 1) ))
}

# Waits (at most 180 s) until the CPU is less than 15 % busy, unless BENCH_NO_WAIT is set,
# and logs the phase's conditions to $OUT/conditions.txt.
wait_idle() {
    local start=$SECONDS busy=unmeasured
    while [[ -z "${BENCH_NO_WAIT:-}" ]]; do
        busy=$(cpu_busy)
        if (( busy < 15 )) || (( SECONDS - start > 180 )); then break; fi
    done
    echo "== $1: $(date -u +%H:%M:%S) loadavg $(cut -d' ' -f1-3 /proc/loadavg), cpu busy before start ${busy}%" | tee -a "$OUT/conditions.txt"
}
