# Shared by the wrk benchmarks (sourced): `run NAME PATH [wrk args…]` loads http://127.0.0.1:$PORT
# PATH for $DURATION seconds with $CONNS connections and prints "NAME req/s p99 non-2xx p50"
# (the full wrk output stays in $WORK/NAME.txt).
run() {
  local name=$1 path=$2; shift 2
  wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency "$@" "http://127.0.0.1:$PORT$path" >"$WORK/$name.txt"
  local rps p50 p99 bad
  rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/$name.txt")
  p50=$(awk '$1=="50%" {print $2}' "$WORK/$name.txt")
  p99=$(awk '$1=="99%" {print $2}' "$WORK/$name.txt")
  bad=$(awk '/Non-2xx/ {print $NF}' "$WORK/$name.txt")
  echo "$name $rps $p99 ${bad:-0} $p50"
}
