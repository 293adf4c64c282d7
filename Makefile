# xdpvs: `make demo` and `make test` set everything up themselves.
SHELL := /bin/bash
.DEFAULT_GOAL := build

NODE_GYP_FLAGS := $(if $(wildcard /usr/include/node/node_api.h),--nodedir=/usr,)
TS_SOURCES := $(shell find native agent test bench -name '*.ts' -not -path '*/node_modules/*' 2>/dev/null)
BPF_SOURCES := $(wildcard bpf/*.c bpf/*.h bpf/include/*.h)
ADDON := native/build/Release/xdpvs_bridge.node
TS_STAMP := dist/.built
SETUP_STAMP := node_modules/.package-lock.json

NODE_TEST := node --test --test-reporter=spec

.PHONY: setup build bpf native ts deb test test-unit test-packet test-netns test-vm test-fresh soak demo bench clean

setup:
	@scripts/setup.sh

$(SETUP_STAMP): package-lock.json
	@scripts/setup.sh

bpf: setup
	@$(MAKE) -s -C bpf

$(ADDON): native/src/bridge.cc native/binding.gyp $(SETUP_STAMP)
	npx node-gyp rebuild --directory native $(NODE_GYP_FLAGS) --loglevel=error

native: setup $(ADDON)

$(TS_STAMP): $(TS_SOURCES) tsconfig.json $(SETUP_STAMP)
	npx tsc -p tsconfig.json
	@touch $@

ts: setup $(TS_STAMP)

build: bpf native ts

# the Debian package of a director, in build/
deb: build
	@scripts/build-deb.sh build

# one runner over all layers, so its closing line counts every test
test: build
	$(NODE_TEST) --test-concurrency=1 dist/test/unit/ dist/test/packet/ dist/test/netns/ dist/test/soak/ dist/test/vm/ dist/test/fresh/

test-unit: build
	$(NODE_TEST) dist/test/unit/

test-packet: build
	$(NODE_TEST) dist/test/packet/

test-netns: build
	$(NODE_TEST) --test-concurrency=1 dist/test/netns/

# the packet tests and a bench smoke run on Debian 12's kernel, in qemu
test-vm: build
	$(NODE_TEST) dist/test/vm/

# from nothing: set-up, build and unit tests in a fresh Debian 12 root; the
# package installed into another and run in the VM (see README)
test-fresh: build
	$(NODE_TEST) dist/test/fresh/

# the soak: a compressed day of reloads, health flaps, weights and hitless
# restarts under traffic (SOAK=long: 1,000 reloads; the default is the short
# day make test runs)
soak: build
	$(NODE_TEST) dist/test/soak/

demo: build
	bin/xdpvs demo

# BENCH_ARGS: e.g. --on host,hosts --hosts-file bench/vagrant-hosts.json (see README)
bench: build
	node dist/bench/run.js $(BENCH_ARGS)

clean:
	rm -rf dist native/build build
	$(MAKE) -s -C bpf clean
