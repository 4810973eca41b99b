#!/bin/bash
# One astside measurement: bench/routing.py (its defaults unless arguments are given) with
# - a loopback capture of the ARI port (kernel tap; counted afterwards by ari_traffic.py),
# - `core show taskprocessors` at the start of each phase and at the end,
# - with PERF=1, perf record on Asterisk per phase (perf-<phase>.data), with PROBE=1 `bridge show all` every 2 s.
# Run under the integration lock:  flock -o /var/tmp/callcontrol/it.lock timeout 400 bench/astside/run.sh LABEL
set -u
label=$1; shift
cd "$(dirname "$0")/../.."
out=bench/results/astside-$label
work=/var/tmp/callcontrol/astside/$label
rm -rf "$work"; mkdir -p "$work"
cli() { chroot /var/cache/callcontrol/asterisk-root asterisk -rx "$1"; }
tcpdump -i lo -s0 -U -w "$work/ari.pcap" 'tcp port 8088' 2>/dev/null &
dump=$!
probe=""
if [ "${PROBE:-0}" = 1 ]; then
  ( while :; do date +%T.%N; cli "bridge show all"; sleep 2; done > "$work/bridges.txt" 2>&1 ) &
  probe=$!
fi
uptime > "$out.load"
.venv/bin/python bench/routing.py "$@" > "$work/bench.out" 2> "$work/bench.err" &
bench=$!
perf=""
phase=""
while kill -0 $bench 2>/dev/null; do
  now=$(grep -o "^routing bench: [a-z]* phase" "$work/bench.err" | tail -1 | cut -d' ' -f3)
  if [ -n "$now" ] && [ "$now" != "$phase" ]; then
    [ -n "$perf" ] && kill -INT "$perf" && wait "$perf" 2>/dev/null
    phase=$now
    cli "core show taskprocessors" > "$work/tps-$phase.txt" 2>&1
    if [ "${PERF:-0}" = 1 ]; then
      perf record ${PERF_ARGS:--F 499 -g} -p "$(cat /var/tmp/callcontrol/asterisk.pid)" -o "$work/perf-$phase.data" \
        > /dev/null 2>&1 &
      perf=$!
    fi
  fi
  sleep 0.2
done
[ -n "$perf" ] && kill -INT "$perf" && wait "$perf" 2>/dev/null
cli "core show taskprocessors" > "$work/tps-end.txt" 2>&1
uptime >> "$out.load"
[ -n "$probe" ] && kill "$probe"
sleep 1; kill "$dump"; sleep 1
tail -12 "$work/bench.out"
cp bench/results/latest.json "$out.json"
git checkout -q bench/results/latest.json 2>/dev/null
git ls-files --others --exclude-standard bench/results/ | grep "/routing-" | xargs -r rm -f
.venv/bin/python bench/astside/ari_traffic.py "$work/ari.pcap" --calls 30 --json "$out-ari.json" 
