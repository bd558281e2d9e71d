#!/usr/bin/env bash
# Side-by-side: `devgate check` against `kyverno apply` with equivalent policies
# (hack/bench/kyverno) on the same generated objects, 1,000 and 10,000 of them.
# Prints wall time and peak RSS of each run (GNU time) and the ratios.
#
# The kyverno CLI is built from the Go module proxy into bin/ on first use. Its
# go.mod has replace directives, so `go install module@version` refuses it: the
# module is downloaded and built inside its own tree instead. That build is
# large (about as long as kube-apiserver's); set PEERS_BUILD_ONLY=1 to stop after it.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
GO=${GO:-go}
KYVERNO_VERSION=${KYVERNO_VERSION:-v1.19.1}
KYVERNO=${KYVERNO:-$ROOT/bin/kyverno-$KYVERNO_VERSION/kyverno}
POLICIES=${POLICIES:-$ROOT/hack/bench/kyverno}
RUNS=${RUNS:-3}
SIZES=${SIZES:-1000 10000}

build_kyverno() {
	[[ -x $KYVERNO ]] && return
	echo "bench-peers: building the kyverno CLI $KYVERNO_VERSION (first run only; large build)" >&2
	local src work
	src=$($GO mod download -json "github.com/kyverno/kyverno@$KYVERNO_VERSION" |
		awk -F'"' '$2 == "Dir" {print $4}')
	work=$(mktemp -d)
	trap 'chmod -R u+w "$work"; rm -rf "$work"' RETURN
	# The module cache is read-only; the build needs a writable tree.
	cp -r "$src/." "$work/"
	chmod -R u+w "$work"
	mkdir -p "$(dirname "$KYVERNO")"
	(cd "$work" && GOFLAGS=-mod=mod $GO build -trimpath -ldflags='-s -w' -o "$KYVERNO" ./cmd/cli/kubectl-kyverno)
}

build_kyverno
[[ ${PEERS_BUILD_ONLY:-} == 1 ]] && exit 0

[[ -d $POLICIES ]] || { echo "bench-peers: no peer policies in $POLICIES (set POLICIES)" >&2; exit 1; }
$GO build -o "$ROOT/bin/devgate" ./cmd/devgate
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# measure NAME CMD...: RUNS runs; prints the median wall seconds and peak RSS KiB.
measure() {
	local name=$1
	shift
	local i
	for ((i = 0; i < RUNS; i++)); do
		# Exit status 1 means "some object denied", which is expected here.
		/usr/bin/time -f '%e %M' -o "$work/time" "$@" >/dev/null 2>"$work/stderr" || true
		# GNU time puts "Command exited with non-zero status" before the figures.
		tail -n 1 "$work/time"
	done | sort -n | awk -v name="$name" -v runs="$RUNS" '
		{ wall[NR] = $1; rss[NR] = $2 }
		END { m = int((NR + 1) / 2); printf "%s %s %s\n", name, wall[m], rss[m] }'
}

echo "# $(date -u +%FT%TZ) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $RUNS runs each, medians"
printf '%-8s %-8s %10s %12s\n' objects tool wall_s peak_rss_MiB
for n in $SIZES; do
	$GO run ./test/bench/cmd/objects -n "$n" >"$work/objects-$n.yaml"
	d=$(measure devgate "$ROOT/bin/devgate" check -f "$work/objects-$n.yaml")
	k=$(measure kyverno "$KYVERNO" apply "$POLICIES"/*.yaml --resource "$work/objects-$n.yaml")
	read -r _ dw dr <<<"$d"
	read -r _ kw kr <<<"$k"
	printf '%-8s %-8s %10s %12.1f\n' "$n" devgate "$dw" "$(echo "$dr / 1024" | bc -l)"
	printf '%-8s %-8s %10s %12.1f\n' "$n" kyverno "$kw" "$(echo "$kr / 1024" | bc -l)"
	# GNU time reports wall time in hundredths: a run under 5 ms reads 0.00.
	awk -v n="$n" -v kw="$kw" -v dw="$dw" -v kr="$kr" -v dr="$dr" \
		'BEGIN { printf "%-8s %-8s %10.1fx %11.1fx\n", n, "ratio", (dw > 0 ? kw / dw : 0), kr / dr }'
done
