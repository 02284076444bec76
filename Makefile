# airlock: one plain GNU Makefile.  `make run` and `make test` take a fresh Debian 12
# machine to a running service and to a passing test suite.

CC ?= cc
comma := ,
PKGS := libgit2 libmicrohttpd sqlite3 jansson libsodium libcurl libxml-2.0 libidn2 openssl \
	libarchive
BUILD := build

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
	-Wvla -Wpointer-arith -Wundef
HARDEN := -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2 -fstack-protector-strong \
	-fstack-clash-protection -fPIE
OPT ?= -O2 -g
SAN ?=
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) check 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null)
CFLAGS := -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) $(HARDEN) $(SAN) -I. -MMD -MP
LDFLAGS := -pie -Wl,-z,relro,-z,now $(SAN)

LIB_SRC := $(wildcard lib/*.c)
GATES_SRC := $(wildcard gates/*.c)
# The egress proxy's checks and its TLS (egress/egress.h maps the files; OpenSSL lives
# only there).
EGRESS_SRC := $(wildcard egress/*.c)
# What policy validation needs of them (no OpenSSL): linked with gates/.
EGRESS_CHECK_SRC := egress/conf.c egress/rules.c egress/host.c
RUNNER_SRC := $(filter-out runner/main.c runner/front.c,$(wildcard runner/*.c))
# The runner's libgit2 files: the checkout and the server's repository operations.
GIT_SRC := runner/checkout.c runner/apply.c runner/tree.c runner/libgit.c runner/git.c
# What the lean `airlock` front needs: the sandbox and its command line, libc alone (no
# libgit2, no jansson: what needs JSON is in runner/cli-full.c, in airlock-core).
FRONT_SRC := runner/front.c runner/cli.c runner/sandbox.c runner/sandbox-opts.c runner/child.c \
	runner/mounts.c runner/netns.c runner/cgroup.c runner/cgroup-run.c runner/capture.c \
	runner/seccomp.c runner/seccomp-rules.c runner/profile.c \
	$(filter-out lib/runrec.c,$(LIB_SRC))
SERVER_SRC := $(filter-out server/main.c,$(wildcard server/*.c server/store/*.c))
# OCI images (layouts, oci-archives, their layers unpacked): libarchive, in airlock-core.
IMAGE_SRC := $(wildcard image/*.c)
obj = $(patsubst %.c,$(BUILD)/%.o,$(1))

LIB_OBJ := $(call obj,$(LIB_SRC))
GATES_OBJ := $(call obj,$(GATES_SRC) $(EGRESS_CHECK_SRC))
EGRESS_OBJ := $(call obj,$(filter-out $(EGRESS_CHECK_SRC),$(EGRESS_SRC)))
RUNNER_OBJ := $(call obj,$(RUNNER_SRC))
SERVER_OBJ := $(call obj,$(SERVER_SRC))
IMAGE_OBJ := $(call obj,$(IMAGE_SRC))
MAIN_OBJ := $(call obj,server/main.c runner/main.c)
# The front is built with musl where the build host has it (musl-tools), except under the
# sanitizers: glibc's start-up probes the CPU (cpuid, a trap to the hypervisor on a
# virtual machine) for ~0.25 ms, a tenth of a sandbox's start. Its objects are its own,
# under $(BUILD)/musl, with the kernel's headers beside musl's (build/musl/include).
MULTIARCH := $(shell $(CC) -print-multiarch)
MUSL_LIB := /usr/lib/$(MULTIARCH:-gnu=-musl)
MUSL_CC := $(if $(SAN),,$(if $(wildcard $(MUSL_LIB)/rcrt1.o),$(shell command -v musl-gcc 2>/dev/null)))
MUSL_INC := $(BUILD)/musl/include
ifneq ($(MUSL_CC),)
FRONT_CC := $(MUSL_CC)
FRONT_OBJ := $(patsubst %.c,$(BUILD)/musl/%.o,$(FRONT_SRC)) $(BUILD)/musl/seccomp-bpf.o
else
FRONT_CC := $(CC)
FRONT_OBJ = $(call obj,$(FRONT_SRC)) $(SECCOMP_BPF_OBJ)
endif

# The seccomp filter is compiled with libseccomp while airlock is built: runner/gen/
# turns runner/seccomp-rules.c into BPF programs in a generated source, which the
# binaries link and only load (no libseccomp in them).
SECCOMP_LIBS = $(shell pkg-config --libs libseccomp 2>/dev/null)
SECCOMP_GEN_OBJ := $(call obj,runner/gen/main.c runner/gen/filter.c runner/seccomp-rules.c \
	lib/err.c)
SECCOMP_BPF_OBJ := $(BUILD)/gen/runner/seccomp-bpf.o
RUNNER_OBJ += $(SECCOMP_BPF_OBJ)

# Each unit-test binary links only its module and lib/ (and gates/ where the module
# sits above it), which keeps the layering honest.
UNIT := $(patsubst tests/unit/check_%.c,%,$(wildcard tests/unit/check_*.c))
UNIT_BIN := $(addprefix $(BUILD)/check_,$(UNIT))
UNIT_OBJ_lib :=
UNIT_OBJ_gates := $(GATES_OBJ)
UNIT_OBJ_egress := $(call obj,egress/request.c egress/host.c egress/rules.c)
UNIT_OBJ_sandbox := $(call obj,$(addprefix runner/,sandbox.c sandbox-opts.c mounts.c child.c netns.c capture.c \
	profile.c doctor.c seccomp.c seccomp-rules.c gen/filter.c cgroup.c cgroup-run.c confine.c \
	egress.c)) $(SECCOMP_BPF_OBJ)
UNIT_OBJ_checkout := $(call obj,$(GIT_SRC) runner/hunks.c)
UNIT_OBJ_hunks := $(call obj,runner/hunks.c)
UNIT_OBJ_confine := $(call obj,runner/confine.c)
UNIT_OBJ_store := $(call obj,$(wildcard server/store/*.c))
UNIT_OBJ_sign := $(call obj,server/sign.c server/grant.c server/keyring.c)
UNIT_OBJ_config := $(call obj,server/config.c) $(GATES_OBJ)
UNIT_OBJ_intake := $(call obj,server/intake.c) $(GATES_OBJ)
UNIT_OBJ_views := $(call obj,server/views.c)
UNIT_OBJ_conn := $(call obj,server/conn.c)
UNIT_OBJ_report := $(call obj,runner/report.c) $(GATES_OBJ)
UNIT_OBJ_job := $(call obj,server/job.c server/sign.c) $(GATES_OBJ)
UNIT_OBJ_decide := $(call obj,server/decide.c) $(GATES_OBJ)
UNIT_OBJ_promote := $(call obj,server/promote.c) $(GATES_OBJ)
UNIT_OBJ_tls := $(call obj,egress/ca.c egress/tls.c)
UNIT_OBJ_relay := $(call obj,egress/relay.c egress/request.c $(EGRESS_CHECK_SRC))
UNIT_OBJ_image := $(call obj,$(IMAGE_SRC))
UNIT_OBJ_cache := $(call obj,image/cache.c image/cache-gc.c)
UNIT_OBJ_webhook := $(call obj,server/webhook.c runner/pull.c runner/confine.c) $(GATES_OBJ)

FUZZ := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
PROBES := $(patsubst tests/probes/%.c,$(BUILD)/probes/%,$(wildcard tests/probes/*.c))

.PHONY: all deps test check unit e2e run asan fuzz fuzz-replay bench format format-check lint clean probes

# The binaries: ./airlock and ./airlock-core beside it (build-asan/ for the sanitized
# build). `airlock` runs `sandbox` and `doctor` itself and execs airlock-core for the rest.
BIN ?= airlock
CORE := $(dir $(BIN))airlock-core

all: $(BIN) $(CORE)

deps:
	@./deploy/deps.sh

$(CORE): $(LIB_OBJ) $(GATES_OBJ) $(EGRESS_OBJ) $(RUNNER_OBJ) $(SERVER_OBJ) $(IMAGE_OBJ) $(MAIN_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

# Static: no dynamic loader at start-up (about 1.4 ms of `airlock sandbox -- /bin/true`).
# The sanitizers need the dynamic loader, so their build links it normally.
# musl-gcc's specs know no -static-pie: its start files and flags are named here.
ifneq ($(MUSL_CC),)
$(BIN): $(FRONT_OBJ) | $(CORE)
	$(MUSL_CC) -nostartfiles -o $@ $(MUSL_LIB)/rcrt1.o $(MUSL_LIB)/crti.o \
		$(shell $(CC) -print-file-name=crtbeginS.o) $^ \
		-Wl,-static,-pie,--no-dynamic-linker,-z,text,-z,relro,-z,now \
		$(shell $(CC) -print-file-name=crtendS.o) $(MUSL_LIB)/crtn.o
else
FRONT_LINK := $(if $(SAN),-Wl$(comma)--as-needed,-static-pie)
$(BIN): $(FRONT_OBJ) | $(CORE)
	$(CC) $(LDFLAGS) $(FRONT_LINK) -o $@ $^
endif

# musl's headers have no kernel headers: linux/, asm/ and asm-generic/ are the host's.
$(MUSL_INC):
	@mkdir -p $@
	ln -sfn /usr/include/linux $@/linux
	ln -sfn /usr/include/asm-generic $@/asm-generic
	ln -sfn /usr/include/$(MULTIARCH)/asm $@/asm

$(BUILD)/musl/%.o: %.c | $(MUSL_INC)
	@mkdir -p $(dir $@)
	$(MUSL_CC) $(CFLAGS) -isystem $(MUSL_INC) -c -o $@ $<

$(BUILD)/musl/seccomp-bpf.o: $(BUILD)/gen/runner/seccomp-bpf.c | $(MUSL_INC)
	$(MUSL_CC) $(CFLAGS) -isystem $(MUSL_INC) -c -o $@ $<

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -c -o $@ $<

# The page is embedded (server/webui.c): its object follows the files.
$(BUILD)/server/webui.o: $(wildcard webui/*.html webui/*.js webui/*.css)

$(BUILD)/seccomp-gen: $(SECCOMP_GEN_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(SECCOMP_LIBS)

$(BUILD)/gen/runner/seccomp-bpf.c: $(BUILD)/seccomp-gen
	@mkdir -p $(dir $@)
	$(BUILD)/seccomp-gen $@

$(SECCOMP_BPF_OBJ): $(BUILD)/gen/runner/seccomp-bpf.c
	$(CC) $(CFLAGS) -c -o $@ $<

# check_sandbox holds the stored programs against libseccomp's.
$(BUILD)/check_sandbox: PKG_LIBS += $(SECCOMP_LIBS)

# Keep objects of test binaries: no "rm" after the totals line.
.SECONDARY:

.SECONDEXPANSION:
$(BUILD)/check_sandbox: | $(PROBES)
$(BUILD)/check_%: $(BUILD)/tests/unit/check_%.o $$(UNIT_OBJ_$$*) $(LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CHECK_LIBS)

$(BUILD)/probes/%: tests/probes/%.c $(wildcard tests/probes/*.h)
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -static-pie -o $@ $< 2>/dev/null || \
		$(CC) -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -o $@ $<

# Parsers of untrusted input: the diff and policy parsers (gates/), the grant envelope
# and statement (server/sign.c, server/grant.c), the proposal and webhook intake
# (server/intake.c), the test reports (runner/report.c), the egress proxy's request head
# and host names (egress/), an image's index, manifest and config (image/oci.c).
FUZZ_SRC := server/sign.c server/grant.c server/intake.c runner/report.c \
	egress/request.c $(EGRESS_CHECK_SRC) image/oci.c image/archive.c
FUZZ_OBJ := $(GATES_OBJ) $(call obj,$(FUZZ_SRC)) $(LIB_OBJ)
$(BUILD)/fuzz_%: $(BUILD)/tests/fuzz/fuzz_%.o $(BUILD)/tests/fuzz/replay.o $(FUZZ_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

probes: $(PROBES)

# The README's test command.  Installs what is missing (Chromium and playwright-core for
# the browser test too), then runs everything.
test:
	@./deploy/deps.sh --test
	@$(MAKE) --no-print-directory check

check: $(BIN) $(CORE) $(UNIT_BIN) probes $(addprefix $(BUILD)/fuzz_,$(FUZZ))
	@AIRLOCK=$(abspath $(BIN)) BUILD=$(BUILD) ./tests/run-all.sh

unit: $(UNIT_BIN) probes
	@for t in $(UNIT_BIN); do $$t || exit 1; done

e2e: $(BIN) $(CORE)
	@AIRLOCK=$(abspath $(BIN)) ./tests/e2e/run.sh

fuzz-replay: $(addprefix $(BUILD)/fuzz_,$(FUZZ))
	@for f in $(FUZZ); do $(BUILD)/fuzz_$$f tests/fuzz/corpus/$$f || exit 1; done

# libFuzzer builds of the same targets (needs clang), each then run for FUZZ_SECONDS on a
# copy of its corpus in $(BUILD)/fuzz-NAME/, so the checked-in seeds stay as they are.  A
# crash, a leak, undefined behaviour or a failed CHECK fails the target; the input that did
# it is left in $(BUILD)/fuzz-NAME/ (crash-*, leak-*, timeout-*) with the run's log.
FUZZ_SECONDS ?= 60
fuzz:
	@mkdir -p $(BUILD); failed=""; \
	for f in $(FUZZ); do \
		d=$(BUILD)/fuzz-$$f; \
		clang -std=c11 -D_GNU_SOURCE -g -O1 -I. -fsanitize=fuzzer,address,undefined \
			-fno-sanitize-recover=all -DAL_LIBFUZZER $(PKG_CFLAGS) \
			-o $(BUILD)/libfuzzer_$$f tests/fuzz/fuzz_$$f.c $(GATES_SRC) \
			$(FUZZ_SRC) $(LIB_SRC) $(PKG_LIBS) || exit 1; \
		rm -rf $$d && mkdir -p $$d/corpus && cp tests/fuzz/corpus/$$f/* $$d/corpus/ || exit 1; \
		echo "fuzz: $$f for $(FUZZ_SECONDS)s"; \
		if $(BUILD)/libfuzzer_$$f -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
			-print_final_stats=1 -artifact_prefix=$$d/ $$d/corpus >$$d/log 2>&1; then \
			grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss)' $$d/log; \
		else \
			tail -n 40 $$d/log; echo "fuzz: $$f FAILED: the input is in $$d/" >&2; \
			failed="$$failed $$f"; \
		fi; \
	done; \
	[ -z "$$failed" ] || { echo "fuzz: failing targets:$$failed" >&2; exit 1; }

asan:
	@./deploy/deps.sh --test
	@LSAN_OPTIONS=suppressions=$(abspath tests/lsan.supp) ASAN_OPTIONS=fast_unwind_on_malloc=0 \
		$(MAKE) --no-print-directory BUILD=build-asan BIN=build-asan/airlock OPT="-O1 -g" \
		SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
		check

$(BUILD)/bench_policy: $(BUILD)/tests/bench/policy.o $(GATES_OBJ) $(LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

bench: $(BIN) $(CORE) $(BUILD)/bench_policy
	@./deploy/deps.sh --test
	@$(BUILD)/bench_policy
	@./tests/bench/sandbox.sh
	@AIRLOCK=$(abspath $(BIN)) ./tests/bench/workspace.sh
	@AIRLOCK=$(abspath $(BIN)) ./tests/bench/egress.sh
	@./tests/bench/e2e.sh
	@./tests/bench/load.sh

run: deps
	@$(MAKE) --no-print-directory all
	@./examples/setup.sh
	./airlock serve --config examples/airlock.json

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	@clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

# Also: no two files of server/ call into each other, directly or around a loop; no file
# over 900 lines outside tests/, no function over 80.
lint: $(SERVER_OBJ)
	@python3 tests/lint/callgraph.py $(SERVER_OBJ)
	@./tests/lint/sizes.sh
	@! git grep -nwE 'strcpy|sprintf|strtok|atoi|system|gets' -- '*.c' '*.h' \
		':!tests/probes/*' || { echo "lint: banned function above" >&2; exit 1; }

clean:
	rm -rf build build-asan airlock airlock-core

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
