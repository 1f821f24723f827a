# Fuzz targets (clang + libFuzzer), included by the top-level Makefile.
#
#   make fuzz                 run fuzz_consumer for FUZZ_SECONDS (default 60)
#   make fuzz-corpus          regenerate the committed seed corpus
#   tests/integration/test_fuzz_consumer.sh   the short run `make test` includes

FUZZ_SECONDS ?= 60
FUZZ_CC      := clang
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE $(WARN) -g -O1 -I. \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
# The consumer alone: it needs only shadow/event.h, no other object.
FUZZ_CONSUMER_SRCS := paravirt/consumer.c paravirt/command.c paravirt/drain.c \
		      paravirt/decode.c tests/fuzz/fuzz_consumer.c
FUZZ_CONSUMER_HDRS := $(wildcard paravirt/*.h) shadow/event.h tests/fuzz/fuzz_input.h \
		      tests/unit/kv_fake_guest.h
FUZZ_CORPUS  := tests/fuzz/corpus/consumer
FUZZ_MAX_LEN := 16384

$(BUILD)/fuzz/fuzz_consumer: $(FUZZ_CONSUMER_SRCS) $(FUZZ_CONSUMER_HDRS) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(FUZZ_CONSUMER_SRCS) -lpthread

$(BUILD)/fuzz/gen_consumer_corpus: tests/fuzz/gen_consumer_corpus.c $(FUZZ_CONSUMER_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -o $@ $<

fuzz-corpus: $(BUILD)/fuzz/gen_consumer_corpus
	@mkdir -p $(FUZZ_CORPUS)
	$< $(FUZZ_CORPUS)

# New inputs go to build/, the committed seeds stay as they are.
fuzz: $(BUILD)/fuzz/fuzz_consumer
	@mkdir -p $(BUILD)/fuzz/corpus-consumer
	$< -max_total_time=$(FUZZ_SECONDS) -max_len=$(FUZZ_MAX_LEN) \
		-artifact_prefix=$(BUILD)/fuzz/ -print_final_stats=1 \
		$(BUILD)/fuzz/corpus-consumer $(FUZZ_CORPUS)

.PHONY: fuzz-corpus
