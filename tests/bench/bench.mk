# Benchmarks: small C programs against the release host library; tests/bench/run.sh runs them.
BENCH_BINS := $(BUILD)/bench/bench_ept $(BUILD)/bench/bench_events $(BUILD)/bench/bench_boot

$(BUILD)/bench/%: tests/bench/%.c $(BUILD)/libkvmm.a | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -o $@ $< $(BUILD)/libkvmm.a $(HOST_LIBS)

bench: $(BENCH_BINS)
