# Fuzz targets (clang + libFuzzer), included by the top-level Makefile.
#
#   make fuzz                 run every target for FUZZ_SECONDS (default 60) each
#   make fuzz-corpus, fuzz-corpus-boot   regenerate the committed consumer / boot seeds
#   tests/integration/test_fuzz_consumer.sh, test_fuzz.sh   the short runs `make test` includes
#
# Targets: fuzz_consumer (the paravirt ABI decoder), fuzz_config_cli (argv),
# fuzz_config_ini (--config files), fuzz_boot (bzImage and PVH ELF loaders),
# fuzz_libvirt_xml (domain XML). Seeds: tests/fuzz/corpus/<target without
# fuzz_>/, crash inputs that were fixed stay there as regression inputs.

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
fuzz-corpus-boot: $(BUILD)/fuzz/gen_boot_corpus
	@mkdir -p tests/fuzz/corpus/boot
	$< tests/fuzz/corpus/boot

# The parsers and loaders: each target with the few vmm/ files it exercises.
FUZZ_BOOT_SRCS := vmm/boot.c vmm/boot_bzimage.c vmm/boot_pvh.c vmm/log.c
FUZZ_CONFIG_SRCS := vmm/config.c $(FUZZ_BOOT_SRCS) tests/fuzz/fuzz_stubs.c
FUZZ_VMM_HDRS := $(wildcard vmm/*.h) tests/fixtures/tiny_pvh_elf.h
FUZZ_TARGETS := consumer config_cli config_ini boot libvirt_xml

$(BUILD)/fuzz/fuzz_boot: tests/fuzz/fuzz_boot.c $(FUZZ_BOOT_SRCS) $(FUZZ_VMM_HDRS) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_BOOT_SRCS) -lpthread
$(BUILD)/fuzz/fuzz_config_%: tests/fuzz/fuzz_config_%.c $(FUZZ_CONFIG_SRCS) $(FUZZ_VMM_HDRS) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_CONFIG_SRCS) -linih -lpthread
$(BUILD)/fuzz/fuzz_libvirt_xml: tests/fuzz/fuzz_libvirt_xml.c vmm/libvirt_xml.c $(FUZZ_CONFIG_SRCS) \
		$(FUZZ_VMM_HDRS) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $$(pkg-config --cflags libxml-2.0) -o $@ $< vmm/libvirt_xml.c \
		$(FUZZ_CONFIG_SRCS) $$(pkg-config --libs libxml-2.0) -linih -lpthread

$(BUILD)/fuzz/gen_boot_corpus: tests/fuzz/gen_boot_corpus.c tests/fixtures/tiny_pvh_elf.h
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -o $@ $<

fuzz-targets: $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)

# New inputs go to build/, the committed seeds stay as they are. Output of
# the code under test (its one-line errors) is closed: -close_fd_mask=2.
fuzz: fuzz-targets
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p $(BUILD)/fuzz/corpus-$$t; \
		echo "== fuzz_$$t for $(FUZZ_SECONDS) s"; \
		$(BUILD)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=$(FUZZ_MAX_LEN) \
			-close_fd_mask=2 -artifact_prefix=$(BUILD)/fuzz/$$t- -print_final_stats=1 \
			$(BUILD)/fuzz/corpus-$$t tests/fuzz/corpus/$$t || exit 1; \
	done

.PHONY: fuzz-corpus fuzz-corpus-boot fuzz-targets
