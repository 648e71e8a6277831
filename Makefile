# livecdn: `make lab` runs the whole CDN locally, `make test` proves it.
# Both install what they need on Debian 12 first (see `deps`).

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

GO ?= go
CACHE := .cache

# Debian packages the lab and the tests run: the same nginx, rtmp and stream
# modules (the stream module terminates RTMPS) and ffmpeg the droplets
# install, the validators of what we render (systemd for systemd-analyze),
# wrk for the benchmarks and chromium for the browser test.
APT_PACKAGES := nginx libnginx-mod-rtmp libnginx-mod-stream ffmpeg cloud-init shellcheck systemd wrk chromium
# The rehearsal (rehearsal/, tests/machines): mmdebstrap, e2fsprogs and
# dpkg-dev build the Debian 12 image and its offline apt repository; QEMU
# boots it (qemu-utils for the overlays, genisoimage for the NoCloud seeds);
# iproute2, nftables and dnsmasq-base make the namespace, its firewall and
# its DNS; openssh-client logs in as the operator.
APT_PACKAGES += mmdebstrap e2fsprogs dpkg-dev debian-archive-keyring qemu-system-x86 qemu-utils \
	genisoimage iproute2 nftables dnsmasq-base openssh-client
# `livecdn cert` is tested against Pebble, Let's Encrypt's test CA, and its
# pebble-challtestsrv DNS (acme/acmetest).
APT_PACKAGES += pebble
# The origin's recordings uploader and `livecdn recordings` (the lab's
# --record and its tests run them); curl runs the destroy guard's script.
APT_PACKAGES += rclone curl
# `livecdn status` reads the exporters the edges run; the lab runs the
# nginx exporter beside each edge and the tests run the node exporter.
APT_PACKAGES += prometheus-node-exporter prometheus-nginx-exporter

# hls.js for the player page, pinned; its SRI hash lives in nginx/player.go.
HLSJS_VERSION := 1.7.4
HLSJS := $(CACHE)/hlsjs/hls.min.js

.PHONY: help
help:
	@echo "make lab     run origin + 2 edges locally with a test pattern (Ctrl-C stops)"
	@echo "make test    install what is missing, then run every check and test"
	@echo "make test-machines   only the tests that boot the stacks on local VMs"
	@echo "make rehearse STACK=dev   boot a stack on local VMs until Ctrl-C"
	@echo "make bench   run the benchmarks (figures go in docs/BENCHMARKS.md)"
	@echo "make golden  regenerate the golden files after an intended change"
	@echo "make deps    install the Debian packages the lab and tests need"

.PHONY: deps
deps:
	@missing=$$(for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:" $$missing; \
		sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$sudo apt-get update -qq; \
		DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

$(HLSJS):
	@command -v npm >/dev/null || { \
		echo "installing Debian's npm to fetch hls.js"; \
		sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$sudo apt-get update -qq; \
		DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends npm >/dev/null; }
	@mkdir -p $(CACHE)/hlsjs
	@cd $(CACHE)/hlsjs && { npm pack --silent hls.js@$(HLSJS_VERSION) >/dev/null 2>npm.log \
		|| { cat npm.log; echo "could not fetch hls.js $(HLSJS_VERSION) from npm"; exit 1; }; } \
		&& tar -xzf hls.js-$(HLSJS_VERSION).tgz --strip-components=2 package/dist/hls.min.js \
		&& rm hls.js-$(HLSJS_VERSION).tgz npm.log
	@echo "fetched hls.js $(HLSJS_VERSION) to $(HLSJS)"

.PHONY: hlsjs
hlsjs: $(HLSJS)

.PHONY: lab
lab: deps hlsjs
	$(GO) run ./cmd/livecdn lab

# The packages that boot VMs run after the rest, one at a time: emulated
# machines need both cores, and the other tests' timing needs them too.
MACHINE_PACKAGES := ./rehearsal/... ./tests/machines/...

.PHONY: test
test: deps hlsjs check engine-tools
	LIVECDN_HLSJS=$(abspath $(HLSJS)) $(GO) test -count=1 -timeout 30m \
		$$($(GO) list ./... | grep -v -e /rehearsal -e /tests/machines)
	$(MAKE) --no-print-directory test-machines

# Boots the committed stacks' shipped user data on local VMs (docs/REHEARSAL.md).
.PHONY: test-machines
test-machines: deps hlsjs
	LIVECDN_HLSJS=$(abspath $(HLSJS)) $(GO) test -count=1 -p 1 -timeout 45m -v $(MACHINE_PACKAGES) \
		| grep -v -e '^=== \(RUN\|PAUSE\|CONT\)' 

# Boots a stack on local VMs and keeps it running until Ctrl-C, e.g.
# `make rehearse STACK=dev`, or with flags:
# `make rehearse STACK=animecon ARGS="--max-edges-per-region 1"` (docs/REHEARSAL.md).
STACK ?= dev
ARGS ?=
.PHONY: rehearse
rehearse: deps hlsjs
	$(GO) run ./cmd/livecdn rehearse --stack $(STACK) $(ARGS)

# Static checks: formatting, vet, staticcheck, and actionlint on .github/workflows
# (it runs shellcheck on their scripts). The linters are pinned in modules of
# their own, tools/NAME/go.mod with its go.sum, so livecdn's go.mod stays clean;
# `go tool` builds them once into the Go build cache.
.PHONY: check
check:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.cache/*')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:" $$unformatted; exit 1; fi
	$(GO) vet ./...
	$(GO) tool -modfile=tools/staticcheck/go.mod staticcheck ./...
	@command -v shellcheck >/dev/null || { echo "actionlint needs shellcheck to check the workflows' scripts: make deps"; exit 1; }
	$(GO) tool -modfile=tools/actionlint/go.mod actionlint

.PHONY: golden
golden:
	UPDATE_GOLDEN=1 $(GO) test ./nginx/... ./cmd/... ./rehearsal/

.PHONY: bench
bench: deps hlsjs
	bash bench/run.sh

# The engine test (tests/engine, docs/ENGINE_TEST.md) drives the real Pulumi CLI and Go language host,
# built from the module proxy at the versions tools/*/go.mod pin: about 5.5 minutes the first time, then
# nothing until a pin changes.
.PHONY: engine-tools
engine-tools:
	bash tools/engine-tools.sh

.PHONY: test-engine
test-engine: engine-tools
	$(GO) test -count=1 -timeout 30m -v ./tests/engine/...
