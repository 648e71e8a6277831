#!/usr/bin/env bash
# Builds the Pulumi CLI and the Go language host the engine test drives
# (tests/engine, docs/ENGINE_TEST.md) into .cache/pulumi/bin, from the module
# proxy, at the versions pinned in tools/pulumi-cli/go.mod and
# tools/pulumi-language-go/go.mod. A tool already built at its pinned version
# is skipped, so only the first run is slow (about 7 minutes for the CLI).
#
# The CLI's release binaries cannot be downloaded here and `go install
# pkg@version` refuses modules with replace directives, so each tool is built
# from a wrapper module of its own that requires it (a `tool` directive);
# its go.sum pins every dependency.
set -euo pipefail
cd "$(dirname "$0")/.."

bin="$PWD/.cache/pulumi/bin"
mkdir -p "$bin"

# The proxy serves the pulumi modules, but the checksum database does not
# know every version of them: go.sum is the record.
export GONOSUMDB=github.com/pulumi
export GOFLAGS=-mod=readonly

# pinned MODULE_DIR MODULE prints the version MODULE_DIR/go.mod requires.
pinned() {
	awk -v m="$2" '$1 == m { print $2; exit }' "$1/go.mod"
}

# build NAME MODULE_DIR VERSION PACKAGE builds PACKAGE as bin/NAME and
# records VERSION in bin/NAME.version, unless that version is there already.
build() {
	local name=$1 dir=$2 version=$3 pkg=$4
	if [[ -x "$bin/$name" && "$(cat "$bin/$name.version" 2>/dev/null)" == "$version" ]]; then
		echo "$name $version: already built"
		return
	fi
	echo "$name $version: building (minutes the first time)"
	local start=$SECONDS
	rm -f "$bin/$name.version"
	(cd "$dir" && go build -o "$bin/$name" \
		-ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$version" "$pkg")
	echo "$version" >"$bin/$name.version"
	echo "$name $version: built in $((SECONDS - start)) s"
}

build pulumi tools/pulumi-cli \
	"$(pinned tools/pulumi-cli github.com/pulumi/pulumi/pkg/v3)" \
	github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
# The CLI looks for its language hosts next to its own executable first.
build pulumi-language-go tools/pulumi-language-go \
	"$(pinned tools/pulumi-language-go github.com/pulumi/pulumi/sdk/v3)" \
	github.com/pulumi/pulumi/sdk/v3/go/pulumi-language-go
