# nginx-gamma: make test-asan and make test-valgrind (included by Makefile).
# The suites against stock nginx with the module under a sanitizer; each
# ends with t/sanitize/check-reports, which fails on any report.  One prove
# per file: a file that bails out stops only itself.  Each has
# its own server root, so that make test may run at the same time.

.PHONY: test-asan module-asan test-valgrind

SAN_FLAGS    := -fsanitize=address,undefined
ASAN_BUILD   := build-asan
ASAN_MODULE  := $(ASAN_BUILD)/ngx_http_gamma_module.so
ASAN_KEEP    := $(ASAN_BUILD)/ngx_sanitize_keep_module.so
ASAN_SHIM    := $(ASAN_BUILD)/nodlclose.so
ASAN_REPORTS := $(CURDIR)/$(ASAN_BUILD)/reports
# t/000 tests the runner with nginx alone (it clears TEST_NGINX_LOAD_MODULES)
# and t/102 builds and loads a module of its own, without sanitizers; the
# slow files run with the slow unwinder, whole stacks (t/sanitize/lsan.supp)
ASAN_SLOW    ?= t/055-kube-http2.t
# t/018 measures memory, which ASan's allocator keeps in quarantine
ASAN_SKIP    := t/000-% t/018-% t/102-% $(ASAN_SLOW)
ASAN_TESTS   ?= $(filter-out $(ASAN_SKIP),$(wildcard t/*.t))
ASAN_NGX_INC := $(addprefix -I$(ASAN_BUILD)/nginx/, src/core src/event \
                src/event/modules src/os/unix objs)

module-asan:
	$(MAKE) --no-print-directory module BUILD=$(ASAN_BUILD) \
	    MODULE_CC_OPT='$(SAN_FLAGS) -fno-omit-frame-pointer' \
	    MODULE_LD_OPT='$(SAN_FLAGS)'

$(ASAN_SHIM): t/sanitize/nodlclose.c
	$(CC) -shared -fPIC -O2 $(WARN) -o $@ $<

# after module-asan: it needs the configured tree
$(ASAN_KEEP): t/sanitize/ngx_sanitize_keep_module.c
	$(CC) -shared -fPIC -O1 -g $(WARN) $(ASAN_NGX_INC) -o $@ $<

ASAN_ENV = GAMMA_SAN_NGINX=$(NGINX_BIN) GAMMA_SAN_REPORTS=$(ASAN_REPORTS) \
    GAMMA_SAN_PRELOAD="$$($(CC) -print-file-name=libasan.so) \
        $$($(CC) -print-file-name=libubsan.so) $(CURDIR)/$(ASAN_SHIM)" \
    GAMMA_TEST_SLOW=3 TEST_NGINX_BINARY=$(CURDIR)/t/sanitize/nginx-asan \
    TEST_NGINX_SERVROOT=$(CURDIR)/$(ASAN_BUILD)/servroot \
    TEST_NGINX_LOAD_MODULES="$(CURDIR)/$(ASAN_MODULE) $(CURDIR)/$(ASAN_KEEP)"

# whole stacks through stock nginx (no frame pointers) need the slow
# unwinder: make test-asan ASAN_OPTIONS=fast_unwind_on_malloc=0.
# ASAN_VERDICT=reports (CI): only the sanitizers' reports fail the target,
# the tests' own verdicts are make test's (timings differ under ASan: t/055
# fails its own under the slow unwinder)
ASAN_VERDICT ?= all

test-asan: deps module-asan $(ASAN_SHIM) $(ASAN_KEEP)
	rm -rf $(ASAN_REPORTS) && mkdir -m 1777 -p $(ASAN_REPORTS)
	rc=0; for f in $(ASAN_TESTS); do \
	    $(ASAN_ENV) prove -I t/lib $$f || rc=1; \
	done; \
	$(ASAN_ENV) ASAN_OPTIONS=fast_unwind_on_malloc=0 \
	    prove -I t/lib $(ASAN_SLOW) || rc=1; \
	if [ $$rc != 0 ] && [ "$(ASAN_VERDICT)" = reports ]; then \
	    echo "test-asan: tests failed under ASan (not counted)" >&2; \
	    rc=0; \
	fi; \
	t/sanitize/check-reports $(ASAN_REPORTS) && exit $$rc

# the runner's valgrind mode (TEST_NGINX_USE_VALGRIND, upstream's form with
# valgrind's own options); master_process off, as the runner's default,
# GammaTest then keeps nginx one process (README, "Sanitizers")
VG_REPORTS := $(CURDIR)/$(BUILD)/valgrind-reports
VG_OPTS    := --tool=memcheck --leak-check=full --show-possibly-lost=no \
              --keep-debuginfo=yes --num-callers=40 \
              --suppressions=$(CURDIR)/t/sanitize/valgrind.supp \
              --gen-suppressions=all --log-file=$(VG_REPORTS)/vg.%p
# left out: the runner's own tests, those that need a master (several
# workers, the source process, nginx instances started by the test), and
# those about time or memory themselves (015's latencies, 018's memory,
# 059's log rate per second)
VG_SKIP    := t/000-% t/003-% t/004-% t/012-% t/013-% t/014-% t/015-% \
              t/018-% t/057-% t/059-% t/092-%
VG_TESTS   ?= $(filter-out $(VG_SKIP),$(wildcard t/0*.t))


# only valgrind's reports count by default: under it nginx is 20 to 50
# times slower and timing checks fail (t/040); VG_VERDICT=all counts both
VG_VERDICT ?= reports

test-valgrind: deps module
	rm -rf $(VG_REPORTS) && mkdir -m 1777 -p $(VG_REPORTS)
	GAMMA_TEST_SLOW=10 TEST_NGINX_TIMEOUT=10 \
	TEST_NGINX_USE_VALGRIND="$(VG_OPTS)" TEST_NGINX_MASTER_PROCESS=off \
	TEST_NGINX_SERVROOT=$(CURDIR)/$(BUILD)/valgrind-servroot \
	TEST_NGINX_BINARY=$(NGINX_BIN) \
	TEST_NGINX_LOAD_MODULES=$(CURDIR)/$(MODULE) \
	    sh -c 'rc=0; for f; do prove -I t/lib $$f || rc=1; done; \
	           exit $$rc' sh $(VG_TESTS); rc=$$?; \
	if [ $$rc != 0 ] && [ "$(VG_VERDICT)" = reports ]; then \
	    echo "test-valgrind: tests failed under valgrind (not counted)" >&2; \
	    rc=0; \
	fi; \
	t/sanitize/check-reports $(VG_REPORTS) && exit $$rc
