# patchvet: `make` builds the harness, engines and corpora; `make test` runs
# every suite (plain and ASan+UBSan); `make run` runs the default campaign.
# Everything generated goes under build/ (and reports under out/).

CC       ?= gcc
BUILD    := build
PKGS     := libelf libdw capstone unicorn json-c inih libcrypto
# pkg-config is only asked once deps are known to be installed (see deps).
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2
CFLAGS   ?= -O2 -g
BASE_CFLAGS = -std=c17 -D_GNU_SOURCE $(WARN) -Iinclude $(PKG_CFLAGS)
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
             -fno-omit-frame-pointer

# Internal headers are included by relative path: no -I for harness rooms.
HARNESS_SRC := $(filter-out harness/cli/main.c,$(wildcard harness/*/*.c \
                 emulator/*.c engines/*.c reports/*.c))
TEST_SRC    := $(wildcard tests/test_*.c)

# ---------------------------------------------------------------- harness
OBJ      := $(HARNESS_SRC:%.c=$(BUILD)/obj/%.o)
SAN_OBJ  := $(HARNESS_SRC:%.c=$(BUILD)/asan/obj/%.o)

.PHONY: all deps run test test-unit test-asan clean corpora
all: $(BUILD)/patchvet corpora

deps:
	@bash ci/deps.sh

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/asan/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -O1 -g $(SAN_FLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libpatchvet.a: $(OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/asan/libpatchvet.a: $(SAN_OBJ)
	@mkdir -p $(dir $@)
	@rm -f $@
	ar rcs $@ $^

# Engine plugins (dlopen'ed) call the error helpers of include/patchvet/error.h,
# which the binary must therefore export.
PLUGIN_EXPORTS := -Wl,--export-dynamic-symbol=pv_error_set \
                  -Wl,--export-dynamic-symbol=pv_error_clear \
                  -Wl,--export-dynamic-symbol=pv_strerror

$(BUILD)/patchvet: $(BUILD)/obj/harness/cli/main.o $(BUILD)/libpatchvet.a
	$(CC) $(CFLAGS) $(PLUGIN_EXPORTS) -o $@ $^ $(PKG_LIBS) -ldl -pthread -lm

# The sanitized binary finds the corpora as the plain one does: next to it.
$(BUILD)/asan/patchvet: $(BUILD)/asan/obj/harness/cli/main.o $(BUILD)/asan/libpatchvet.a
	$(CC) $(SAN_FLAGS) $(PLUGIN_EXPORTS) -o $@ $^ $(PKG_LIBS) -ldl -pthread -lm
	ln -sfn ../corpora $(BUILD)/asan/corpora

# ---------------------------------------------------------------- corpora
# Targets: corpora/targets/NAME/*.{c,S} + the native runtime, one binary per
# flavour. fentry objects are compiled with -pg but linked without it, so no
# gmon profiling runtime is pulled in.
FLAVOURS       := plain pad fentry cet
FLAVOUR_plain  := -O2
FLAVOUR_pad    := -O2 -fpatchable-function-entry=16,14
# gcc refuses -mnop-mcount with -fPIC/-fPIE (Debian's default), so fentry
# targets are position-dependent executables, like the kernel that uses it.
FLAVOUR_fentry := -O2 -pg -mfentry -mnop-mcount -fno-pie
FLAVOUR_LD_fentry := -no-pie
FLAVOUR_cet    := -O2 -fcf-protection=full
TARGET_CFLAGS  := -std=gnu17 -g -Wall -Wextra -Werror -Iinclude -fno-omit-frame-pointer

# Per-target, per-flavour extras: TARGET_CFLAGS_<target>_<flavour> and
# TARGET_LDFLAGS_<target>_<flavour> (native and emu builds alike).
# gotcall reaches its own, interposable bump through the GOT: -fPIC -fno-plt
# emit `call *bump@GOTPCREL(%rip)`, and --no-relax keeps the linker from
# turning those back into direct calls (plain flavour only: fentry's
# -mnop-mcount refuses -fPIC).
TARGET_CFLAGS_gotcall_plain  := -fPIC -fno-plt
TARGET_LDFLAGS_gotcall_plain := -Wl,--no-relax

TARGETS  := $(notdir $(wildcard corpora/targets/*))
PATCHES  := $(basename $(notdir $(wildcard corpora/patches/*.c)))
SCENARIO_FILES := $(wildcard corpora/scenarios/*/*)
CORPORA  := $(foreach t,$(TARGETS),$(foreach f,$(FLAVOURS),$(BUILD)/corpora/targets/$(t)-$(f))) \
            $(BUILD)/corpora/targets/counter-static $(BUILD)/corpora/targets/counter-nopie \
            $(BUILD)/corpora/targets/libcount-plain $(BUILD)/corpora/targets/libcount-pad \
            $(PATCHES:%=$(BUILD)/corpora/patches/%.so) \
            $(SCENARIO_FILES:corpora/%=$(BUILD)/corpora/%) $(BUILD)/corpora/expected \
            $(foreach t,$(TARGETS),$(foreach f,$(FLAVOURS),$(BUILD)/corpora/emu/$(t)-$(f)))

corpora: $(CORPORA)

RUNTIME_OBJ := $(BUILD)/corpora/obj/runtime/native.o
$(RUNTIME_OBJ): corpora/runtime/native.c include/patchvet/target.h
	@mkdir -p $(dir $@)
	$(CC) $(TARGET_CFLAGS) -O2 -pthread -c $< -o $@

define target_rules
$(1)_SRC := $(wildcard corpora/targets/$(1)/*.c corpora/targets/$(1)/*.S)
$(foreach f,$(FLAVOURS),$(call flavour_rule,$(1),$(f)))
endef
define flavour_rule
$(2)_$(1)_OBJ := $$(patsubst corpora/targets/$(1)/%,$(BUILD)/corpora/obj/$(2)/$(1)/%.o,$$($(1)_SRC))
$(BUILD)/corpora/obj/$(2)/$(1)/%.o: corpora/targets/$(1)/% include/patchvet/target.h
	@mkdir -p $$(dir $$@)
	$$(CC) $$(TARGET_CFLAGS) $$(FLAVOUR_$(2)) $$(TARGET_CFLAGS_$(1)_$(2)) -c $$< -o $$@
$(BUILD)/corpora/targets/$(1)-$(2): $$($(2)_$(1)_OBJ) $(RUNTIME_OBJ)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(FLAVOUR_LD_$(2)) $$(TARGET_LDFLAGS_$(1)_$(2)) -o $$@ $$^ -pthread

endef
$(foreach t,$(TARGETS),$(eval $(call target_rules,$(t))))

# Emulator builds: the same objects' sources and flavours, freestanding, with
# the emu runtime, whose one `syscall` stub the emu backend serves; no libc,
# no start code (the backend calls pv_worker and pv_verify itself).
EMU_CFLAGS  := -ffreestanding -fno-stack-protector -fno-pie -fno-builtin \
               -fno-tree-loop-distribute-patterns -Iemulator
EMU_LDFLAGS := -nostdlib -static -no-pie -Wl,-e,pv_worker -Wl,--build-id
EMU_RUNTIME_OBJ := $(BUILD)/corpora/obj/runtime/emu.o
$(EMU_RUNTIME_OBJ): corpora/runtime/emu.c include/patchvet/target.h emulator/calls.h
	@mkdir -p $(dir $@)
	$(CC) $(TARGET_CFLAGS) -O2 $(EMU_CFLAGS) -c $< -o $@

define emu_target_rules
$(foreach f,$(FLAVOURS),$(call emu_flavour_rule,$(1),$(f)))
endef
define emu_flavour_rule
emu_$(2)_$(1)_OBJ := $$(patsubst corpora/targets/$(1)/%,$(BUILD)/corpora/obj/emu-$(2)/$(1)/%.o,$$($(1)_SRC))
$(BUILD)/corpora/obj/emu-$(2)/$(1)/%.o: corpora/targets/$(1)/% include/patchvet/target.h
	@mkdir -p $$(dir $$@)
	$$(CC) $$(TARGET_CFLAGS) $$(FLAVOUR_$(2)) $$(EMU_CFLAGS) $$(TARGET_CFLAGS_$(1)_$(2)) -c $$< -o $$@
$(BUILD)/corpora/emu/$(1)-$(2): $$(emu_$(2)_$(1)_OBJ) $(EMU_RUNTIME_OBJ)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(EMU_LDFLAGS) $$(TARGET_LDFLAGS_$(1)_$(2)) -o $$@ $$^

endef
$(foreach t,$(TARGETS),$(eval $(call emu_target_rules,$(t))))

# Other ELF kinds the loader must handle: static ET_EXEC and dynamic ET_EXEC.
$(BUILD)/corpora/targets/counter-static: $(plain_counter_OBJ) $(RUNTIME_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -static -no-pie -o $@ $^ -pthread
$(BUILD)/corpora/targets/counter-nopie: corpora/targets/counter/counter.c $(RUNTIME_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(TARGET_CFLAGS) -O2 -fno-pie -no-pie -o $@ $^ -pthread

# libcount: a program whose replaced function lives in its own shared
# library (libpvcount, padded entries in the pad flavour), next to it with
# an $$ORIGIN run path, plus the library its late thread loads (libpvplug).
SHARED_FLAVOURS := plain pad
define shared_rules
$(BUILD)/corpora/targets/libpvcount-$(1).so: corpora/shared/libcount/lib.c
	@mkdir -p $$(dir $$@)
	$$(CC) $$(TARGET_CFLAGS) $$(FLAVOUR_$(1)) -fPIC -shared -pthread -o $$@ $$<
$(BUILD)/corpora/targets/libpvplug-$(1).so: corpora/shared/libcount/plug.c
	@mkdir -p $$(dir $$@)
	$$(CC) $$(TARGET_CFLAGS) -O2 -fPIC -shared -o $$@ $$<
$(BUILD)/corpora/targets/libcount-$(1): corpora/shared/libcount/main.c $(RUNTIME_OBJ) \
		$(BUILD)/corpora/targets/libpvcount-$(1).so $(BUILD)/corpora/targets/libpvplug-$(1).so
	$$(CC) $$(TARGET_CFLAGS) -O2 -o $$@ $$< $(RUNTIME_OBJ) \
	  -L$(BUILD)/corpora/targets -l:libpvcount-$(1).so -Wl,-rpath,'$$$$ORIGIN' -pthread -ldl

endef
$(foreach f,$(SHARED_FLAVOURS),$(eval $(call shared_rules,$(f))))

$(BUILD)/corpora/patches/%.so: corpora/patches/%.c include/patchvet/patch.h
	@mkdir -p $(dir $@)
	$(CC) $(TARGET_CFLAGS) -O2 -fPIC -shared -nostdlib -o $@ $<

$(BUILD)/corpora/scenarios/%: corpora/scenarios/%
	@mkdir -p $(dir $@)
	cp $< $@
$(BUILD)/corpora/expected: corpora/expected
	@mkdir -p $(dir $@)
	cp $< $@

# ---------------------------------------------------------------- programs
# corpora/programs: unmodified Debian programs as targets (ci/deps.sh installs
# their packages), each scenario with its load driver and oracle. Built into
# $(BUILD)/corpora/programs/ (scenario files, patches, the xz oracle and the
# generated inputs under data/) and run from there:
#   build/patchvet run --engine stw-jmp --backend ptrace \
#     --scenario build/corpora/programs/NAME
# Not installed (the inputs are tens of MB, made by seq). The patches may call
# libc, so they are built without -nostdlib.
PROGRAMS_DIR    := $(BUILD)/corpora/programs
PROGRAM_PATCHES := $(basename $(notdir $(wildcard corpora/programs/patches/*.c)))
PROGRAM_FILES   := $(filter-out corpora/programs/selfcheck/%,$(wildcard corpora/programs/*/scenario.ini corpora/programs/*/*.sh)) \
                   corpora/programs/expected
PROGRAMS := $(PROGRAM_PATCHES:%=$(PROGRAMS_DIR)/patches/%.so) \
            $(PROGRAM_FILES:corpora/programs/%=$(PROGRAMS_DIR)/%) \
            $(PROGRAMS_DIR)/bin/xz-blocks \
            $(PROGRAMS_DIR)/data/seq-5M.txt $(PROGRAMS_DIR)/data/seq-1600k.txt
.PHONY: programs programs-selfcheck
programs: $(PROGRAMS)
all: programs

$(PROGRAMS_DIR)/patches/%.so: corpora/programs/patches/%.c $(wildcard corpora/programs/patches/*.h) \
                             include/patchvet/patch.h
	@mkdir -p $(dir $@)
	$(CC) $(TARGET_CFLAGS) -O2 -fPIC -shared -o $@ $<
$(PROGRAMS_DIR)/bin/xz-blocks: corpora/programs/oracles/xz-blocks.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -o $@ $< -llzma
$(PROGRAMS_DIR)/%: corpora/programs/%
	@mkdir -p $(dir $@)
	cp $< $@
# Inputs: text made by seq, the same bytes on every machine.
$(PROGRAMS_DIR)/data/seq-5M.txt:
	@mkdir -p $(dir $@)
	seq 1 5000000 > $@.tmp && mv $@.tmp $@
$(PROGRAMS_DIR)/data/seq-1600k.txt:
	@mkdir -p $(dir $@)
	seq 1 1600000 > $@.tmp && mv $@.tmp $@

# Every program natively, without patchvet: unpatched, with each patch's
# code preloaded (LD_PRELOAD), with a preloaded mix of old and new calls,
# and with deliberately broken functions that each oracle must reject.
programs-selfcheck: programs
	bash corpora/programs/selfcheck/selfcheck.sh $(PROGRAMS_DIR)

# ---------------------------------------------------------------- tools
# pv-patcher: a standalone patcher built from stw-jmp, driven through
# `--engine exec:FILE` (docs/exec-adapter.md, tests/test_exec.c).
TOOLS := $(BUILD)/tools/pv-patcher
all: $(TOOLS)
$(BUILD)/tools/%: tools/%.c $(BUILD)/libpatchvet.a
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/libpatchvet.a $(PKG_LIBS) -ldl -pthread -lm

# ---------------------------------------------------------------- tests
TEST_LIBS = $(PKG_LIBS) $(shell pkg-config --libs criterion 2>/dev/null) -ldl -pthread -lm
TEST_DEFS  = -DPV_BUILD_DIR='"$(abspath $(BUILD))"' -DPV_SOURCE_DIR='"$(abspath .)"'

$(BUILD)/tests/unit: $(TEST_SRC) tests/helpers.c tests/helpers.h $(BUILD)/libpatchvet.a
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(TEST_DEFS) -DPV_PATCHVET_BIN='"$(abspath $(BUILD))/patchvet"' \
	  -o $@ $(TEST_SRC) tests/helpers.c $(BUILD)/libpatchvet.a $(TEST_LIBS)

$(BUILD)/asan/tests/unit: $(TEST_SRC) tests/helpers.c tests/helpers.h $(BUILD)/asan/libpatchvet.a
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -O1 -g $(SAN_FLAGS) $(TEST_DEFS) \
	  -DPV_PATCHVET_BIN='"$(abspath $(BUILD))/asan/patchvet"' \
	  -o $@ $(TEST_SRC) tests/helpers.c $(BUILD)/asan/libpatchvet.a $(TEST_LIBS)

# The ASan+UBSan suite runs first; the plain suite's Criterion summary ends
# the output.
test: deps
	@bash ci/layers.sh
	@$(MAKE) --no-print-directory all $(BUILD)/tests/unit $(BUILD)/asan/tests/unit $(BUILD)/asan/patchvet
	@echo "== parser harnesses: seeds and regression inputs (ASan+UBSan) =="
	@$(MAKE) --no-print-directory fuzz-smoke
	@echo "== ASan+UBSan build =="
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	  LSAN_OPTIONS=suppressions=$(abspath tests/lsan.supp) \
	  $(BUILD)/asan/tests/unit -j2 --timeout 120
	@echo "== plain build =="
	$(BUILD)/tests/unit -j2 --timeout 120

# ---------------------------------------------------------------- run
run: deps
	@$(MAKE) --no-print-directory all
	./ci/run-default.sh $(BUILD) out

# Schedules per second of the emu backend (perf/emu.c), one core.
$(BUILD)/perf/emu: perf/emu.c $(BUILD)/libpatchvet.a
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/libpatchvet.a $(PKG_LIBS) -ldl -pthread -lm

# `make bench`: the figures DESIGN.md budgets (counter x stw-jmp, 2 threads,
# 40 iterations), measured for 5 s of CPU time; then `patchvet bench`'s
# overhead figures (60 s of A/B pairs each), written into docs/performance.md.
.PHONY: bench
bench: deps
	@$(MAKE) --no-print-directory all $(BUILD)/perf/emu $(BUILD)/perf/ptrace \
	  $(BUILD)/perf/explore
	$(BUILD)/perf/emu $(BUILD)/corpora/emu/counter-plain \
	  $(BUILD)/corpora/patches/counter-fix.so stw-jmp 40 5
	$(BUILD)/perf/ptrace $(BUILD)/corpora/targets/counter-plain \
	  $(BUILD)/corpora/patches/counter-fix.so 200
	$(BUILD)/perf/explore $(BUILD)/patchvet $(BUILD)/corpora/expected 9 20000
	sh perf/overhead.sh $(BUILD) docs/performance.md 60

# How fast each explorer catches each mutant (perf/explore.c).
$(BUILD)/perf/explore: perf/explore.c $(BUILD)/libpatchvet.a
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/libpatchvet.a $(PKG_LIBS) -ldl -pthread -lm

# The longest pause under stw-jmp on the ptrace backend, and what patchvet
# adds to it (perf/ptrace.c).
$(BUILD)/perf/ptrace: perf/ptrace.c $(BUILD)/libpatchvet.a
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/libpatchvet.a $(PKG_LIBS) -ldl -pthread -lm

clean:
	rm -rf $(BUILD) out

# ---------------------------------------------------------------- fuzz
# AFL++ harnesses (fuzz/, docs/fuzzing.md). The schedule harness and the
# objects under it use CLASSIC instrumentation, whose 64 KiB map also holds
# the emulated code's edges (fuzz/afl_edges.c, plain gcc); the parser
# harnesses use AFL's default instrumentation with ASan+UBSan.
AFL_CC      ?= afl-clang-fast
FUZZ        := $(BUILD)/fuzz
AFL_BUILD   := AFL_QUIET=1
FUZZ_LIBS    = $(PKG_LIBS) -ldl -pthread
PARSERS     := image patch scenario execfile repro results
FUZZ_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
CLASSIC_OBJ := $(HARNESS_SRC:%.c=$(FUZZ)/classic/obj/%.o)
FASAN_OBJ   := $(HARNESS_SRC:%.c=$(FUZZ)/asan/obj/%.o)

$(FUZZ)/classic/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(AFL_BUILD) AFL_LLVM_INSTRUMENT=CLASSIC $(AFL_CC) $(BASE_CFLAGS) -O2 -g -MMD -MP -c $< -o $@
$(FUZZ)/asan/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(AFL_BUILD) $(AFL_CC) $(BASE_CFLAGS) -O1 -g $(FUZZ_SAN) -MMD -MP -c $< -o $@
$(FUZZ)/classic/libpatchvet.a: $(CLASSIC_OBJ)
	@rm -f $@
	ar rcs $@ $^
$(FUZZ)/asan/libpatchvet.a: $(FASAN_OBJ)
	@rm -f $@
	ar rcs $@ $^
$(FUZZ)/afl_edges.o: fuzz/afl_edges.c fuzz/afl_edges.h
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -O2 -g -c $< -o $@

# Harnesses find the corpora next to them, as build/patchvet does.
$(FUZZ)/bin/schedule: fuzz/schedule.c $(FUZZ)/afl_edges.o $(FUZZ)/classic/libpatchvet.a
	@mkdir -p $(dir $@)
	$(AFL_BUILD) AFL_LLVM_INSTRUMENT=CLASSIC $(AFL_CC) $(BASE_CFLAGS) -O2 -g -o $@ $^ $(FUZZ_LIBS)
	ln -sfn ../../corpora $(FUZZ)/bin/corpora
$(FUZZ)/bin/seeds: fuzz/seeds.c $(BUILD)/libpatchvet.a
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -o $@ $^ $(FUZZ_LIBS)
	ln -sfn ../../corpora $(FUZZ)/bin/corpora
$(FUZZ)/bin/parse_%: fuzz/parse_%.c fuzz/parser.h fuzz/parser_main.h $(FUZZ)/asan/libpatchvet.a
	@mkdir -p $(dir $@)
	$(AFL_BUILD) $(AFL_CC) $(BASE_CFLAGS) -O1 -g $(FUZZ_SAN) -o $@ $< $(FUZZ)/asan/libpatchvet.a $(FUZZ_LIBS)
	ln -sfn ../../corpora $(FUZZ)/bin/corpora
# The same harnesses without AFL (gcc, ASan+UBSan): each input run once.
$(FUZZ)/smoke/parse_%: fuzz/parse_%.c fuzz/parser.h fuzz/parser_main.h $(BUILD)/asan/libpatchvet.a
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -O1 -g $(SAN_FLAGS) -o $@ $< $(BUILD)/asan/libpatchvet.a $(FUZZ_LIBS)
	ln -sfn ../../corpora $(FUZZ)/smoke/corpora

# Seed corpora of the parser harnesses: the built corpora, the hand-written
# seeds of fuzz/seeds/ and every regression input of tests/data/fuzz/.
$(FUZZ)/seeds/%: corpora FORCE
	@rm -rf $@ && mkdir -p $@
	@for f in fuzz/seeds/$*/* tests/data/fuzz/$*/*; do [ -f "$$f" ] && cp "$$f" $@/; done; true
	@case $* in \
	  image) cp $(BUILD)/corpora/emu/counter-plain $(BUILD)/corpora/emu/hotpatch-pad \
	            $(BUILD)/corpora/emu/nested-cet $(BUILD)/corpora/emu/counter-fentry \
	            $(BUILD)/corpora/patches/counter-fix.so $@/ ;; \
	  patch) cp $(BUILD)/corpora/patches/*.so $@/ ;; \
	  scenario) for d in $(BUILD)/corpora/scenarios/*/; do \
	              cp $$d/scenario.ini $@/$$(basename $$d).ini; done ;; \
	esac
.PHONY: FORCE fuzz fuzz-smoke fuzz-parsers fuzz-parser
FORCE:

# Part of `make test`: every seed and regression input through every parser
# harness built without AFL, under ASan+UBSan.
fuzz-smoke: $(PARSERS:%=$(FUZZ)/smoke/parse_%) $(PARSERS:%=$(FUZZ)/seeds/%)
	@for p in $(PARSERS); do \
	  ASAN_OPTIONS=detect_leaks=1 $(FUZZ)/smoke/parse_$$p $(FUZZ)/seeds/$$p || exit 1; done

fuzz-parsers: $(PARSERS:%=$(FUZZ)/bin/parse_%) $(PARSERS:%=$(FUZZ)/seeds/%)

# make fuzz ENGINE=E SCENARIO=S [TIME=s]: schedule fuzzing on emu, then the
# crashes become reproducers (fuzz/run-schedule.sh).
TIME ?= 60
fuzz: deps
	@test -n "$(ENGINE)" -a -n "$(SCENARIO)" || \
	  { echo "usage: make fuzz ENGINE=E SCENARIO=S [TIME=seconds]" >&2; exit 2; }
	@$(MAKE) --no-print-directory all $(FUZZ)/bin/schedule $(FUZZ)/bin/seeds
	./fuzz/run-schedule.sh $(BUILD) $(ENGINE) $(SCENARIO) $(TIME)

# make fuzz-parser PARSER=image [EXECS=1000000]: one parser harness under
# afl-fuzz until it has run EXECS inputs (fuzz/run-parser.sh).
EXECS ?= 1000000
fuzz-parser: deps
	@test -n "$(PARSER)" || { echo "usage: make fuzz-parser PARSER=image|patch|scenario|execfile|repro|results [EXECS=n]" >&2; exit 2; }
	@$(MAKE) --no-print-directory fuzz-parsers
	./fuzz/run-parser.sh $(BUILD) $(PARSER) $(EXECS)

-include $(OBJ:.o=.d) $(SAN_OBJ:.o=.d) $(CLASSIC_OBJ:.o=.d) $(FASAN_OBJ:.o=.d) $(BUILD)/obj/harness/cli/main.d $(BUILD)/asan/obj/harness/cli/main.d

# One suite alone, for development: make build/tests/test_image
$(BUILD)/tests/test_%: tests/test_%.c tests/helpers.c tests/helpers.h $(BUILD)/libpatchvet.a
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(TEST_DEFS) -DPV_PATCHVET_BIN='"$(abspath $(BUILD))/patchvet"' \
	  -o $@ $< tests/helpers.c $(BUILD)/libpatchvet.a $(TEST_LIBS)

# ---------------------------------------------------------------- install
# `make install PREFIX=/opt/pv [DESTDIR=/stage]`: the binary, the public
# headers, patchvet.pc, the built corpora (what pv_data_dir finds at
# BINDIR/../share/patchvet/corpora), the man page and the docs.
# `make uninstall` with the same PREFIX/DESTDIR removes exactly those files,
# then the directories of patchvet's own that are left empty. Both work from
# the lists below, never from what happens to be under build/.
PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
INCLUDEDIR  ?= $(PREFIX)/include
LIBDIR      ?= $(PREFIX)/lib
DATADIR     ?= $(PREFIX)/share
MANDIR      ?= $(DATADIR)/man
DOCDIR      ?= $(DATADIR)/doc/patchvet
PV_VERSION_STR := $(shell sed -n 's/^\#define PV_VERSION "\(.*\)"/\1/p' harness/model/version.h)

INSTALL_HEADERS := $(wildcard include/patchvet/*.h)
# Docs land flat in DOCDIR: README.md, engines.md, ..., examples/stw-engine/.
INSTALL_DOCS    := README.md $(wildcard docs/*.md) \
                   $(wildcard docs/examples/*/Makefile docs/examples/*/*.[ch])
INSTALL_DOCS_TO  = $(patsubst docs/%,%,$(INSTALL_DOCS))
# Corpora relative to $(BUILD)/corpora; objects are not installed.
INSTALL_CORPORA := $(patsubst $(BUILD)/corpora/%,%,$(CORPORA))

# name, then destination: each installed file once.
INSTALLED := $(BINDIR)/patchvet \
             $(INSTALL_HEADERS:include/%=$(INCLUDEDIR)/%) \
             $(LIBDIR)/pkgconfig/patchvet.pc \
             $(INSTALL_CORPORA:%=$(DATADIR)/patchvet/corpora/%) \
             $(MANDIR)/man1/patchvet.1 \
             $(INSTALL_DOCS_TO:%=$(DOCDIR)/%)
# Directories only patchvet puts files in: uninstall removes them once empty.
# Shared ones (bin, lib/pkgconfig, share/man/man1) stay.
INSTALLED_DIRS = $(DATADIR)/patchvet $(DOCDIR) $(INCLUDEDIR)/patchvet

.PHONY: install uninstall
install: $(BUILD)/patchvet $(CORPORA)
	@[ "$(abspath $(BINDIR)/../share)" = "$(abspath $(DATADIR))" ] || echo "make install: \
warning: DATADIR is not BINDIR/../share, where patchvet looks for its corpora; \
set PATCHVET_DATA=$(DATADIR)/patchvet/corpora when running it" >&2
	install -D -m 0755 $(BUILD)/patchvet $(DESTDIR)$(BINDIR)/patchvet
	install -d $(DESTDIR)$(INCLUDEDIR)/patchvet
	install -m 0644 $(INSTALL_HEADERS) $(DESTDIR)$(INCLUDEDIR)/patchvet/
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	    -e 's|@DATADIR@|$(DATADIR)|' -e 's|@VERSION@|$(PV_VERSION_STR)|' \
	    include/patchvet.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/patchvet.pc
	chmod 0644 $(DESTDIR)$(LIBDIR)/pkgconfig/patchvet.pc
	cd $(BUILD)/corpora && for f in $(INSTALL_CORPORA); do \
	  if [ -x "$$f" ]; then m=0755; else m=0644; fi; \
	  install -D -m $$m "$$f" "$(DESTDIR)$(DATADIR)/patchvet/corpora/$$f" || exit 1; done
	install -D -m 0644 docs/patchvet.1 $(DESTDIR)$(MANDIR)/man1/patchvet.1
	for f in $(INSTALL_DOCS); do \
	  install -D -m 0644 "$$f" "$(DESTDIR)$(DOCDIR)/$${f#docs/}" || exit 1; done

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	for d in $(addprefix $(DESTDIR),$(INSTALLED_DIRS)); do \
	  [ ! -d "$$d" ] || find "$$d" -depth -type d -empty -delete || exit 1; done
