# nginx-gamma: the libFuzzer targets besides the manifest one (included by
# Makefile).  "make fuzz" runs each for FUZZ_TIME seconds from its seed
# corpus in t/unit/fuzz-<name>/; "make fuzz-watch FUZZ_TIME=600" runs one.
# New inputs go to build/fuzz-<name>-corpus, crashes to build/.

FUZZ_MORE     := watch match values operator
FUZZ_FLAGS    := -g -O1 -fsanitize=fuzzer,address,undefined \
                 -fno-sanitize-recover=undefined -Imodule/core -Imodule/source
FUZZ_LIBS     := -ljansson -lyaml -lpcre2-8

.PHONY: $(addprefix fuzz-,$(FUZZ_MORE))

fuzz: $(addprefix fuzz-,$(FUZZ_MORE))

# the watch target includes gm_kube_client.c for its static line splitter
$(BUILD)/fuzz_watch: t/unit/fuzz_watch.c $(CORE_SRCS) $(CORE_HDRS) \
        $(SOURCE_SRCS) $(SOURCE_HDRS)
	@mkdir -p $(BUILD)
	clang $(FUZZ_FLAGS) -o $@ $< $(CORE_SRCS) \
	    $(filter-out %/gm_kube_client.c,$(SOURCE_SRCS)) $(FUZZ_LIBS) \
	    -lpthread -ldl

$(BUILD)/fuzz_%: t/unit/fuzz_%.c $(CORE_SRCS) $(CORE_HDRS)
	@mkdir -p $(BUILD)
	clang $(FUZZ_FLAGS) -o $@ $< $(CORE_SRCS) $(FUZZ_LIBS)

$(addprefix fuzz-,$(FUZZ_MORE)): fuzz-%: $(BUILD)/fuzz_%
	@rm -rf $(BUILD)/fuzz-$*-corpus && mkdir -p $(BUILD)/fuzz-$*-corpus
	$(BUILD)/fuzz_$* -max_total_time=$(FUZZ_TIME) -max_len=8192 \
	    -artifact_prefix=$(BUILD)/ -print_final_stats=1 \
	    $(BUILD)/fuzz-$*-corpus t/unit/fuzz-$* \
	    2>$(BUILD)/fuzz-$*.log || { tail -40 $(BUILD)/fuzz-$*.log; exit 1; }
	@grep -E "^stat::number_of_executed_units|#[0-9]+.*DONE" \
	    $(BUILD)/fuzz-$*.log | tail -2 | tr '\n' ' '; echo "($*)"
