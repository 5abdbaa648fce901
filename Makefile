SHELL := /bin/bash

# nginx-gamma: build the dynamic module against Debian's nginx source tree,
# run the demo mesh, run the tests.

NGINX_SRC   ?= /usr/share/nginx/src
NGINX_BIN   ?= /usr/sbin/nginx
BUILD       ?= build
NGX_BUILD   := $(BUILD)/nginx
MODULE      := $(BUILD)/ngx_http_gamma_module.so

CC          ?= cc
WARN        := -Wall -Wextra -Werror
# the flags Debian's nginx was built with (nginx -V)
DEB_CC_OPT  := -g -O2 -fstack-protector-strong -Wformat \
               -Werror=format-security -fPIC -Wdate-time -D_FORTIFY_SOURCE=2
DEB_LD_OPT  := -Wl,-z,relro -Wl,-z,now -fPIC
# extra flags for the module alone (make test-asan builds in its own BUILD)
MODULE_CC_OPT ?=
MODULE_LD_OPT ?=

CORE_SRCS   := $(wildcard module/core/*.c)
CORE_HDRS   := $(wildcard module/core/*.h)
SOURCE_SRCS := $(wildcard module/source/*.c)
SOURCE_HDRS := $(wildcard module/source/*.h)
MOD_SRCS    := $(wildcard module/*/*.c)
MOD_HDRS    := $(wildcard module/*/*.h)
UNIT_SRCS   := $(wildcard t/unit/test_*.c)
UNIT_BINS   := $(patsubst t/unit/%.c,$(BUILD)/unit/%,$(UNIT_SRCS))
UNIT_LIBS   := -ljansson -lyaml -lpcre2-8 -lpthread -ldl
UNIT_CFLAGS := $(WARN) -g -O1 -fsanitize=address,undefined \
               -fno-omit-frame-pointer -Imodule/core -Imodule/source -It/unit

DEB_PACKAGES := nginx nginx-dev build-essential libpcre2-dev \
                libjansson-dev libcurl4-openssl-dev libyaml-dev libssl-dev \
                zlib1g-dev clang libclang-rt-14-dev valgrind perl \
                libtest-base-perl libtest-longstring-perl \
                libhttp-message-perl liblist-moreutils-perl curl iproute2 \
                iptables libmojolicious-perl libio-socket-ssl-perl \
                libyaml-libyaml-perl openssl
# observability: promtool and a Prometheus server, a browser for the page
DEB_PACKAGES += prometheus chromium
# the gRPC suites (t/07x): a real gRPC client and server, no codegen
DEB_PACKAGES += python3-grpcio
# the benchmarks (bench/)
DEB_PACKAGES += wrk haproxy gnuplot-nox strace
# kubectl for the Kubernetes API source tests: any on the PATH will do
KUBECTL_PACKAGE := kubernetes-client

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all module deps run test unit check-style fuzz clean fake-apiserver

all: module

module: $(MODULE)

# the module's files as a list that changes only when a file comes or goes:
# config globs each layer, so a new file means configure again
SRC_LIST    := $(BUILD)/sources.list
$(shell mkdir -p $(BUILD); echo $(MOD_SRCS) | cmp -s - $(SRC_LIST) || \
        echo $(MOD_SRCS) > $(SRC_LIST))

# configure once per change of the addon script or of the list of files;
# then only the module builds
$(NGX_BUILD)/objs/Makefile: config module/exports.map $(SRC_LIST)
	@[ -f $(NGINX_SRC)/configure ] || { \
	    echo "nginx-dev is missing: run 'make deps'" >&2; exit 1; }
	rm -rf $(NGX_BUILD)
	mkdir -p $(BUILD)
	cp -r $(NGINX_SRC) $(NGX_BUILD)
	. $(NGX_BUILD)/conf_flags && cd $(NGX_BUILD) && \
	    ./configure "$${NGX_CONF_FLAGS[@]}" \
	        --with-cc-opt='$(DEB_CC_OPT) $(WARN) $(MODULE_CC_OPT)' \
	        --with-ld-opt='$(DEB_LD_OPT) $(MODULE_LD_OPT)' \
	        --add-dynamic-module=$(CURDIR) > configure.log 2>&1 || \
	    { tail -20 configure.log; exit 1; }

$(MODULE): $(NGX_BUILD)/objs/Makefile $(MOD_SRCS) $(MOD_HDRS)
	$(MAKE) -s -C $(NGX_BUILD) -f objs/Makefile modules
	cp $(NGX_BUILD)/objs/ngx_http_gamma_module.so $@

deps:
	@missing=$$(for p in $(DEB_PACKAGES); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | \
	        grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    echo "installing:" $$missing; \
	    $(SUDO) apt-get update -q && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q \
	        --no-install-recommends $$missing; \
	fi
	@command -v kubectl >/dev/null || { \
	    $(SUDO) apt-get update -q && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q \
	        --no-install-recommends $(KUBECTL_PACKAGE); }

# core and source compiled once with the sanitizers, in one archive that
# every unit test links (not once per test)
UNIT_OBJS   := $(patsubst %.c,$(BUILD)/unit-obj/%.o,$(CORE_SRCS) $(SOURCE_SRCS))
UNIT_AR     := $(BUILD)/unit-obj/libgamma-unit.a

$(BUILD)/unit-obj/%.o: %.c $(CORE_HDRS) $(SOURCE_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_CFLAGS) -c -o $@ $<

$(UNIT_AR): $(UNIT_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/unit/%: t/unit/%.c $(UNIT_AR) $(CORE_HDRS) $(SOURCE_HDRS) \
        t/unit/tap.h t/unit/tap_parse.h $(wildcard t/unit/fixture.[ch])
	@mkdir -p $(BUILD)/unit
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(wildcard t/unit/fixture.c) \
	    $(UNIT_AR) $(UNIT_LIBS)

# test_curl loads a libcurl too old for the Kubernetes source
FAKE_CURL   := $(BUILD)/unit/fake-libcurl.so

$(FAKE_CURL): t/unit/fake_curl.c
	@mkdir -p $(BUILD)/unit
	$(CC) $(WARN) -shared -fPIC -o $@ $<

$(BUILD)/unit/test_curl: $(FAKE_CURL)

# the calls through gm_curl.h compiled once more against curl.h's own
# macros, whose type checks (typecheck-gcc.h) need an optimising build
CURL_USERS  := $(shell grep -l '"gm_curl.h"' $(SOURCE_SRCS))

.PHONY: curl-typecheck

curl-typecheck:
	@for f in $(CURL_USERS); do \
	    $(CC) $(WARN) -O2 -DGM_CURL_TYPECHECK -Imodule/core -Imodule/source \
	        -c -o /dev/null $$f || exit 1; \
	done

unit: $(UNIT_BINS) curl-typecheck

FUZZ_BIN  := $(BUILD)/fuzz_manifest
FUZZ_TIME ?= 10

$(FUZZ_BIN): t/unit/fuzz_manifest.c $(CORE_SRCS) $(CORE_HDRS)
	@mkdir -p $(BUILD)
	clang -g -O1 -fsanitize=fuzzer,address,undefined -Imodule/core \
	    -o $@ $< $(CORE_SRCS) -ljansson -lyaml -lpcre2-8

# a short run in "make test"; "make fuzz FUZZ_TIME=600" for a real one
fuzz: $(FUZZ_BIN)
	@rm -rf $(BUILD)/fuzz-corpus && mkdir -p $(BUILD)/fuzz-corpus
	$(FUZZ_BIN) -max_total_time=$(FUZZ_TIME) -max_len=8192 \
	    -print_final_stats=0 $(BUILD)/fuzz-corpus t/unit/fuzz-corpus \
	    2>$(BUILD)/fuzz.log || { tail -40 $(BUILD)/fuzz.log; exit 1; }
	@grep -E "^Done|#[0-9]+.*DONE" $(BUILD)/fuzz.log | tail -1

include t/unit/fuzz.mk

check-style:
	@./tools/check-style

# the benchmark smoke run goes first, so that prove's summary ends the output
test: deps module unit check-style fuzz
	$(MAKE) --no-print-directory bench-smoke
	TEST_NGINX_BINARY=$(NGINX_BIN) \
	TEST_NGINX_LOAD_MODULES=$(CURDIR)/$(MODULE) \
	    prove -I t/lib -r t $(UNIT_BINS)

# the suites under upstream Test::Nginx (a local check, CI has no copy):
# make test-upstream UPSTREAM_TEST_NGINX=/path/to/openresty/test-nginx
.PHONY: test-upstream
test-upstream: module
	@[ -f "$(UPSTREAM_TEST_NGINX)/lib/Test/Nginx/Socket.pm" ] || { \
	    echo "test-upstream: set UPSTREAM_TEST_NGINX to a checkout of" \
	         "openresty/test-nginx (it needs lib/Test/Nginx/Socket.pm)" >&2; \
	    exit 1; }
	PERL5LIB=$(UPSTREAM_TEST_NGINX)/lib TEST_NGINX_BINARY=$(NGINX_BIN) \
	TEST_NGINX_LOAD_MODULES=$(CURDIR)/$(MODULE) \
	    prove $(filter-out t/000-runner.t,$(wildcard t/*.t))

include t/sanitize/sanitize.mk

# benchmarks, not tests: "bench" measures for about 10 minutes and writes
# bench/results.md and its plots; "bench-smoke" (seconds, part of "test")
# fails only when a benchmarked configuration answers wrongly
.PHONY: bench bench-smoke

bench: deps module
	perl bench/bench.pl

bench-smoke: deps module
	perl bench/bench.pl --smoke

DEMO := $(BUILD)/demo
# as root, the workers and the source process run as the checkout's owner:
# nginx's default user, nobody, cannot read a checkout in a 0700 home
# directory or in /root (the demo would never get its mesh)
DEMO_USER = $(shell [ "$$(id -u)" = 0 ] && stat -c '%U %G' $(CURDIR) | \
                    grep -v UNKNOWN)
DEMO_GLOBALS = daemon off; pid $(CURDIR)/$(DEMO)/logs/nginx.pid; \
               load_module $(CURDIR)/$(MODULE); \
               $(if $(DEMO_USER),user $(DEMO_USER);)

run: deps module
	@mkdir -p $(DEMO)/logs $(DEMO)/temp
	@tools/demo-help
	exec $(NGINX_BIN) -p $(CURDIR)/$(DEMO)/ -c $(CURDIR)/conf/demo/nginx.conf \
	    -e stderr -g '$(DEMO_GLOBALS)'

clean:
	rm -rf $(BUILD) t/servroot*

# the tests' fake Kubernetes API server, by hand: kubectl against it, and
# "gamma_source kubernetes https://127.0.0.1:19840" with the printed files
FAKE_KUBE_DIR  ?= $(BUILD)/fake-apiserver
FAKE_KUBE_PORT ?= 19840

fake-apiserver: deps
	@mkdir -p $(FAKE_KUBE_DIR)
	exec perl t/lib/fake-kube-apiserver --dir $(abspath $(FAKE_KUBE_DIR)) \
	    --port $(FAKE_KUBE_PORT)

# The release check, by hand (CI cannot fetch nginx): the suite against an
# nginx source tree (a release tarball or a checkout of the nginx
# repository), the module loaded dynamically or built in:
#   make test-nginx-release NGINX_TREE=/tmp/nginx-1.30 [NGINX_LINK=static]
# t/002-symbols.t is about the .so and is left out of a static run.
.PHONY: nginx-release test-nginx-release

NGINX_LINK   ?= dynamic
RELEASE_CONF := --with-http_ssl_module --with-http_v2_module --with-stream \
                --with-threads --with-debug
RELEASE_STATIC = $(filter static,$(NGINX_LINK))
RELEASE_NAME  = $(notdir $(abspath $(NGINX_TREE)))-$(NGINX_LINK)
RELEASE_DIR   = $(BUILD)/release/$(RELEASE_NAME)
RELEASE_ABS   = $(CURDIR)/$(RELEASE_DIR)
RELEASE_SO    = $(if $(RELEASE_STATIC),,$(RELEASE_ABS)/$(notdir $(MODULE)))
RELEASE_TESTS = $(if $(RELEASE_STATIC), \
                    $(filter-out t/002-symbols.t,$(wildcard t/*.t)), -r t)

$(RELEASE_DIR)/.built: config module/exports.map $(MOD_SRCS) $(MOD_HDRS) \
        docker/build-module.sh
	@[ -n "$(NGINX_TREE)" ] || { echo "usage: make $(MAKECMDGOALS)" \
	    "NGINX_TREE=/path/to/nginx [NGINX_LINK=dynamic|static]" >&2; \
	    exit 2; }
	docker/build-module.sh $(if $(filter static,$(NGINX_LINK)), \
	    --static,--binary) --out $(RELEASE_DIR) $(NGINX_TREE) \
	    $(RELEASE_CONF) --with-cc-opt='$(WARN)'
	@touch $@

nginx-release: $(RELEASE_DIR)/.built

test-nginx-release: nginx-release
	$(RELEASE_DIR)/nginx -V 2>&1 | head -1
	TEST_NGINX_BINARY=$(RELEASE_ABS)/nginx \
	TEST_NGINX_LOAD_MODULES=$(RELEASE_SO) prove -I t/lib $(RELEASE_TESTS)

# The sidecar image (docker/), with podman or buildah:
#   make image [FLAVOUR=debian|nginx] [NGINX_IMAGE_VERSION=1.30.4]
#              [BASE=debootstrap] [IMAGE=nginx-gamma]
# Fails with a message when no base image can be had (no registry access);
# BASE=debootstrap makes the Debian flavour's base from Debian's packages.
.PHONY: image

image:
	FLAVOUR=$(FLAVOUR) BASE=$(BASE) IMAGE=$(IMAGE) \
	NGINX_IMAGE_VERSION=$(NGINX_IMAGE_VERSION) docker/build-image.sh
