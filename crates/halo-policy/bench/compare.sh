#!/usr/bin/env bash
# Benchmarks `halo sim` against Pacemaker's `crm_simulate` on generated CIBs.
#
#   crates/halo-policy/bench/compare.sh [OUTDIR]
#
# Environment: HALO_RUNS (default 5) and CRM_RUNS (default 3) runs per input;
# SIZES (default "100 1000 10000") resources; NODES (default "4 16 32").
# Needs `crm_simulate` (Debian: apt-get install pacemaker-cli-utils) and GNU time.
#
# For every input it prints one Markdown table row: median wall time (min-max)
# and median peak RSS (MB) of each tool, the speed-up, and whether both printed the
# same Transition Summary (if not, how many summary lines differ).
set -euo pipefail

out=${1:-/tmp/halo-bench}
halo_runs=${HALO_RUNS:-5}
crm_runs=${CRM_RUNS:-3}
sizes=${SIZES:-"100 1000 10000"}
nodes_list=${NODES:-"4 16 32"}
epoch=1900000000            # "now" for both tools: 2030-03-17 17:46:40 UTC
iso=2030-03-17T17:46:40Z

root=$(cd "$(dirname "$0")/../../.." && pwd)
mkdir -p "$out"
(cd "$root" && cargo build --release -q -p halo && cargo build --release -q -p halo-policy --example gen_cib)
halo="$root/target/release/halo"
gen="$root/target/release/examples/gen_cib"

# median, min and max of numbers on stdin
stats() { sort -g | awk '{v[NR]=$1} END {m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; printf "%s %s %s", m, v[1], v[NR]}'; }

# run LABEL RUNS CMD... : times CMD RUNS times, leaves stdout of the last run
# in $out/LABEL.out; sets wall (median min max) and rss (median KB)
run() {
    local label=$1 runs=$2; shift 2
    : > "$out/$label.times"
    for _ in $(seq "$runs"); do
        local t0=$EPOCHREALTIME
        /usr/bin/time -f "%M" -o "$out/$label.time1" "$@" > "$out/$label.out" 2> "$out/$label.err" || true
        local t1=$EPOCHREALTIME
        echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }') $(cat "$out/$label.time1")" >> "$out/$label.times"
    done
    wall=$(cut -d' ' -f1 "$out/$label.times" | stats)
    rss=$(cut -d' ' -f2 "$out/$label.times" | stats | awk '{ printf "%d", $1 / 1024 }')
}

summary() { sed -n '/^Transition Summary:/,/^$/p' "$1" | grep '^  \*' || true; }

echo "| resources | nodes | CIB size | halo sim wall (min-max) | halo peak RSS | crm_simulate wall (min-max) | crm_simulate peak RSS | speed-up | same summary |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|:---|"
for r in $sizes; do
    for n in $nodes_list; do
        cib="$out/cib-$r-$n.xml"
        "$gen" --resources "$r" --nodes "$n" > "$cib"
        size=$(du -h "$cib" | cut -f1)
        run "halo-$r-$n" "$halo_runs" "$halo" sim -x "$cib" --date "$epoch"
        read -r hw hmin hmax <<< "$wall"; hrss=$rss
        run "crm-$r-$n" "$crm_runs" crm_simulate -R -x "$cib" -t "$iso"
        read -r cw cmin cmax <<< "$wall"; crss=$rss
        diffs=$(diff <(summary "$out/halo-$r-$n.out") <(summary "$out/crm-$r-$n.out") | grep -c '^[<>]' || true)
        same=$([ "$diffs" = 0 ] && echo yes || echo "no ($diffs lines differ)")
        speed=$(awk -v c="$cw" -v h="$hw" 'BEGIN { printf "%.1f×", c / (h > 0 ? h : 0.001) }')
        printf "| %s | %s | %s | %.3f s (%.3f-%.3f) | %s MB | %.3f s (%.3f-%.3f) | %s MB | %s | %s |\n" \
            "$r" "$n" "$size" "$hw" "$hmin" "$hmax" "$hrss" "$cw" "$cmin" "$cmax" "$crss" "$speed" "$same"
    done
done
