# nginx-gamma: make test-asan and make test-valgrind (included by Makefile).
# The suites against stock nginx with the module under a sanitizer; each
# ends with t/sanitize/check-reports, which fails on any report.

.PHONY: test-asan module-asan test-valgrind

SAN_FLAGS    := -fsanitize=address,undefined
ASAN_BUILD   := build-asan
ASAN_MODULE  := $(ASAN_BUILD)/ngx_http_gamma_module.so
ASAN_KEEP    := $(ASAN_BUILD)/ngx_sanitize_keep_module.so
ASAN_SHIM    := $(ASAN_BUILD)/nodlclose.so
ASAN_REPORTS := $(CURDIR)/$(ASAN_BUILD)/reports
# t/000 tests the runner with nginx alone (it clears TEST_NGINX_LOAD_MODULES)
# and t/102 builds and loads a module of its own, without sanitizers
ASAN_TESTS   ?= $(filter-out t/000-% t/102-%,$(wildcard t/*.t))
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

# slow unwinding on malloc: stock nginx has no frame pointers
test-asan: deps module-asan $(ASAN_SHIM) $(ASAN_KEEP)
	rm -rf $(ASAN_REPORTS) && mkdir -m 1777 -p $(ASAN_REPORTS)
	GAMMA_SAN_NGINX=$(NGINX_BIN) GAMMA_SAN_REPORTS=$(ASAN_REPORTS) \
	GAMMA_SAN_PRELOAD="$$($(CC) -print-file-name=libasan.so) \
	    $$($(CC) -print-file-name=libubsan.so) $(CURDIR)/$(ASAN_SHIM)" \
	ASAN_OPTIONS=fast_unwind_on_malloc=0 GAMMA_TEST_SLOW=3 \
	TEST_NGINX_BINARY=$(CURDIR)/t/sanitize/nginx-asan \
	TEST_NGINX_LOAD_MODULES="$(CURDIR)/$(ASAN_MODULE) \
	    $(CURDIR)/$(ASAN_KEEP)" \
	    prove -I t/lib $(ASAN_TESTS); rc=$$?; \
	t/sanitize/check-reports $(ASAN_REPORTS) && exit $$rc
