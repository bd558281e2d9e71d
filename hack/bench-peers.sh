#!/usr/bin/env bash
# Side-by-side comparisons with peers, each selected in PEERS (default both):
#
# kyverno: `devgate check` against `kyverno apply` with equivalent policies
# (hack/bench/kyverno) on the same generated objects, 1,000 and 10,000 of them.
# Prints wall time and peak RSS of each run (GNU time) and the ratios.
#
# oauth2-proxy: the Go benchmarks of test/bench/verify_*_bench_test.go, one run:
# devgate's /auth/verify against oauth2-proxy's /oauth2/auth, both signed in
# through the same Dex, and a private endpoint through nginx against the same
# endpoint public. VERIFY_REQUESTS requests per side and concurrency. They
# need bin/dex-* and the control plane (`make tools`) and nginx (`make nginx`).
#
# The peers are built from the Go module proxy into bin/ on first use. The
# kyverno CLI's go.mod has replace directives, so `go install module@version`
# refuses it: the module is downloaded and built inside its own tree instead.
# That build is large (about as long as kube-apiserver's); oauth2-proxy's is a
# plain `go install`. Set PEERS_BUILD_ONLY=1 to stop after the builds.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
GO=${GO:-go}
KYVERNO_VERSION=${KYVERNO_VERSION:-v1.19.1}
KYVERNO=${KYVERNO:-$ROOT/bin/kyverno-$KYVERNO_VERSION/kyverno}
POLICIES=${POLICIES:-$ROOT/hack/bench/kyverno}
RUNS=${RUNS:-3}
SIZES=${SIZES:-1000 10000}
OAUTH2_PROXY_VERSION=${OAUTH2_PROXY_VERSION:-v7.15.6}
OAUTH2_PROXY=${OAUTH2_PROXY:-$ROOT/bin/oauth2-proxy-$OAUTH2_PROXY_VERSION/oauth2-proxy}
VERIFY_REQUESTS=${VERIFY_REQUESTS:-20000}
PEERS=${PEERS:-kyverno oauth2-proxy}

peer() { [[ " $PEERS " == *" $1 "* ]]; }

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

build_oauth2_proxy() {
	[[ -x $OAUTH2_PROXY ]] && return
	echo "bench-peers: building oauth2-proxy $OAUTH2_PROXY_VERSION (first run only, about 2 minutes)" >&2
	local dir
	mkdir -p "$(dirname "$OAUTH2_PROXY")"
	# GOBIN must be absolute; go install names the binary after the module.
	dir=$(cd "$(dirname "$OAUTH2_PROXY")" && pwd)
	GOBIN=$dir $GO install -trimpath -ldflags='-s -w' "github.com/oauth2-proxy/oauth2-proxy/v7@$OAUTH2_PROXY_VERSION"
	[[ $dir/oauth2-proxy == "$OAUTH2_PROXY" ]] || mv "$dir/oauth2-proxy" "$OAUTH2_PROXY"
}

if peer kyverno; then build_kyverno; fi
if peer oauth2-proxy; then build_oauth2_proxy; fi
[[ ${PEERS_BUILD_ONLY:-} == 1 ]] && exit 0

if peer oauth2-proxy; then
	echo "# $(date -u +%FT%TZ) $(nproc) cores, $($GO env GOVERSION), load $(cut -d' ' -f1-3 /proc/loadavg)"
	DEVGATE_OAUTH2_PROXY=$OAUTH2_PROXY $GO test -run='^$' -count=1 -timeout=30m \
		-bench='VerifyVsOAuth2Proxy|PrivateEndpointVsPublic' -benchtime="${VERIFY_REQUESTS}x" ./test/bench/
	echo "# after: load $(cut -d' ' -f1-3 /proc/loadavg)"
fi
peer kyverno || exit 0

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
