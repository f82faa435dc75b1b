#!/usr/bin/env bash
# Redis CPU of classic PUBLISH against sharded SPUBLISH on a 3-master Redis Cluster on loopback (docs/BENCHMARKS.md,
# "Sharded pub/sub"). One subscriber per kind: a classic SUBSCRIBE on a node that does not own the channel's slot (a
# classic publish reaches it over the cluster bus) and an SSUBSCRIBE on the owner. Rounds alternate the two commands;
# each prints the CPU (user + sys, s) all three nodes spent on N publishes of a 200-byte event, and the load average.
# Usage: ./scripts/bench-sharded-pubsub.sh [publishes per round, default 50000] [rounds, default 3]
set -euo pipefail
n=${1:-50000}; rounds=${2:-3}
command -v redis-benchmark > /dev/null || { echo "redis-benchmark is missing: ./scripts/install-deps.sh" >&2; exit 1; }
dir=$(mktemp -d); ports=(17101 17102 17103); pids=()
cleanup() { for p in "${ports[@]}"; do redis-cli -p "$p" shutdown nosave > /dev/null 2>&1 || true; done; kill "${pids[@]}" 2> /dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
for p in "${ports[@]}"; do
  mkdir -p "$dir/$p"
  (cd "$dir/$p" && redis-server --port "$p" --bind 127.0.0.1 --cluster-enabled yes --cluster-config-file nodes.conf \
    --save "" --appendonly no --daemonize yes --logfile log.txt)
done
sleep 1
redis-cli --cluster create "${ports[@]/#/127.0.0.1:}" --cluster-replicas 0 --cluster-yes > /dev/null
until redis-cli -p "${ports[0]}" cluster info | grep -q cluster_state:ok; do sleep 0.2; done
channel='ais:{conv:bench}'
slot=$(redis-cli -p "${ports[0]}" cluster keyslot "$channel")
# The master whose slot ranges (fields 9 and on of CLUSTER NODES, "lo-hi") hold the channel's slot.
owner=$(redis-cli -p "${ports[0]}" cluster nodes | awk -v s="$slot" '{for (i = 9; i <= NF; i++) { split($i, r, "-"); if (s >= r[1] && s <= (r[2] == "" ? r[1] : r[2])) print $2 } }' | cut -d@ -f1 | cut -d: -f2)
other=${ports[0]}; [ "$other" = "$owner" ] && other=${ports[1]}
redis-cli -p "$other" subscribe "$channel" > /dev/null 2>&1 & pids+=($!)
redis-cli -p "$owner" ssubscribe "$channel" > /dev/null 2>&1 & pids+=($!)
sleep 0.5
cpu() { for p in "${ports[@]}"; do redis-cli -p "$p" info cpu; done | awk -F: '/^used_cpu_(sys|user):/{s+=$2} END{printf "%.3f", s}'; }
payload=$(head -c 200 /dev/zero | tr '\0' 'x')
echo "slot $slot owned by :$owner; classic subscriber on :$other; $n publishes per round"
for round in $(seq 1 "$rounds"); do
  for cmd in PUBLISH SPUBLISH; do
    before=$(cpu)
    redis-benchmark -p "$owner" -c 20 -n "$n" -q "$cmd" "$channel" "$payload" > /dev/null 2>&1
    after=$(cpu)
    echo "round $round $cmd: Redis CPU $(awk -v a="$after" -v b="$before" 'BEGIN { printf "%.3f", a - b }') s, load $(cut -d' ' -f1 /proc/loadavg)"
  done
done
