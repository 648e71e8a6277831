#!/usr/bin/env bash
# Runs livecdn's benchmarks and prints a markdown report: the environment, a
# summary table (metric, goal, measured, result, command) and each
# benchmark's details. Progress goes to stderr.
#
#   bench/run.sh                 # everything (about 5.5 minutes)
#   bench/run.sh startup serve   # a subset: startup, delay, sessions, serve, tls
#
# tls is `serve -tls`: HTTPS against HTTP on the edge (docs/BENCHMARKS.md
# section 7).
#
# Everything listens on 127.0.0.0/8, every load is bounded in time and
# requests, and every process started is stopped again. Benchmarks report
# numbers; they do not fail on them. The exit status is non-zero only when a
# benchmark could not run.
set -euo pipefail

cd "$(dirname "$0")/.."

all=(startup delay sessions serve tls)
if (($# > 0)); then
	selected=("$@")
else
	selected=("${all[@]}")
fi
for name in "${selected[@]}"; do
	case "$name" in
	startup | delay | sessions | serve | tls) ;;
	*)
		echo "run.sh: unknown benchmark '$name' (use: ${all[*]})" >&2
		exit 2
		;;
	esac
done

missing=()
for tool in go nginx ffmpeg wrk; do
	command -v "$tool" >/dev/null || missing+=("$tool")
done
[[ -f /usr/lib/nginx/modules/ngx_rtmp_module.so ]] || missing+=(libnginx-mod-rtmp)
if ((${#missing[@]} > 0)); then
	echo "run.sh: missing ${missing[*]}: install the Debian packages (apt-get install wrk nginx libnginx-mod-rtmp ffmpeg) and Go" >&2
	exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/livecdn-bench-XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "run.sh: building" >&2
go build -o "$work/bin/" ./bench/cmd/...

first_line() { "$@" 2>&1 | head -n 1; }

started=$(date +%s)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
failed=()
: >"$work/summary.md"
: >"$work/details.md"
for name in "${selected[@]}"; do
	echo "run.sh: $name" >&2
	cmd=("$work/bin/$name")
	[[ $name == tls ]] && cmd=("$work/bin/serve" -tls)
	if ! "${cmd[@]}" -summary "$work/summary.md" >>"$work/details.md"; then
		failed+=("$name")
		printf '### %s\n\nDID NOT RUN: see the error above (stderr).\n\n' "$name" >>"$work/details.md"
	fi
done
elapsed=$(($(date +%s) - started))
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

valgrind_version="not installed (the serve benchmark skips its instruction counts)"
if command -v valgrind >/dev/null; then
	valgrind_version=$(valgrind --version)
fi

cat <<EOF
# livecdn benchmarks

Run $(date -u +%Y-%m-%dT%H:%MZ) by \`bench/run.sh ${selected[*]}\` in ${elapsed} s.

| environment | |
| --- | --- |
| nginx | $(first_line nginx -v) |
| nginx-rtmp | $(dpkg-query -W -f '${Package} ${Version}' libnginx-mod-rtmp 2>/dev/null || echo unknown) |
| ffmpeg | $(first_line ffmpeg -version | cut -d' ' -f1-3) |
| wrk | $(first_line wrk --version | cut -d' ' -f1-2) |
| valgrind | $valgrind_version |
| go | $(go env GOVERSION) |
| kernel | $(uname -sr) |
| CPUs (nproc) | $(nproc) |
| load average (1/5/15 min) before / after | $load_before / $load_after |

Figures come from a 2-core machine shared with other work: timings move
with its load (see the load averages above); instruction counts do not.

## Summary

| metric | goal | measured | result | command |
| --- | --- | --- | --- | --- |
EOF
cat "$work/summary.md"
printf '\n## Details\n\n'
cat "$work/details.md"

if ((${#failed[@]} > 0)); then
	echo "run.sh: did not run: ${failed[*]}" >&2
	exit 1
fi
