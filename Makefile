# Vireo — one non-recursive Makefile (kvmtool-simple).
#   make [O=build] [SAN=address,undefined] [V=1] [CC=clang] [STRICT=1] [FUZZ_SECONDS_TEST=5]
#   targets: all test run fuzz install format format-check freestanding-check layering-check
#            conformance conformance-check clean
O ?= build
SAN ?=
V ?= 0
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
FUZZ_SECONDS ?= 60
# Seconds of real fuzzing per libFuzzer target inside `make test` (0: none).
FUZZ_SECONDS_TEST ?= 5
# STRICT=1 (or CI=true): a skip fails `make test`, except SKIP(hardware) (scripts/run-tests.sh).
STRICT ?=
VERSION := 0.1.0

ifeq ($(V),1)
Q :=
else
Q := @
endif

WARNINGS := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wformat=2 -Wundef -Wvla -Wimplicit-fallthrough -Wwrite-strings
# ring/ and core/ handle peer-controlled integers: no silent narrowing there.
STRICT_WARNINGS := -Wconversion
CPPFLAGS := -D_GNU_SOURCE -Iinclude -I.
CFLAGS ?= -O2 -g
CFLAGS += -std=c11 $(WARNINGS) -fPIC -MMD -MP
# What libvireo links, also written into vireo.pc for `pkg-config --static` (a consumer of
# libvireo.a links these itself). liburing by its pkg-config module; libslirp by its -l flag:
# Debian's slirp.pc Requires glib-2.0, yet libslirp-dev does not pull libglib2.0-dev in, so a
# Requires.private on slirp would make every `pkg-config vireo` fail there (pkg-config reads
# Requires.private for --cflags too). tests/cli/test_install.sh checks that every library
# libvireo.so needs is named by `pkg-config --static --libs vireo`.
LIB_REQUIRES_PRIVATE := liburing
LIB_LIBS_PRIVATE := -lslirp -lpthread
LDLIBS := -luring -lslirp -lpthread
# Only the vireo command links libseccomp (tools/sandbox.c), and the test of its filter.
TOOL_LDLIBS := -lseccomp
ifneq ($(SAN),)
# VIREO_SANITIZED: tools/sandbox.c allows what the sanitizers' runtime calls, in this build only.
CPPFLAGS += -DVIREO_SANITIZED
CFLAGS += -fsanitize=$(SAN) -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS += -fsanitize=$(SAN)
endif

LIB_SRCS := $(sort $(wildcard ring/*.c core/*.c devices/*/*.c transport/*.c drivers/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(O)/%.o)
TOOL_SRCS := $(sort $(wildcard tools/*.c))
TOOL_OBJS := $(TOOL_SRCS:%.c=$(O)/%.o)
TEST_SRCS := $(sort $(wildcard tests/unit/test_*.c))
TEST_BINS := $(TEST_SRCS:tests/unit/%.c=$(O)/tests/%)
TEST_LIB_OBJS := $(patsubst %.c,$(O)/%.o,$(sort $(wildcard tests/lib/*.c)))
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_REPLAYS := $(FUZZ_SRCS:tests/fuzz/%.c=$(O)/fuzz-replay/%)
RING_SRCS := $(sort $(wildcard ring/*.c))
EXAMPLE_SRCS := $(sort $(wildcard examples/*.c))
EXAMPLE_BINS := $(EXAMPLE_SRCS:examples/%.c=$(O)/examples/%)

.PHONY: all tests test run guest fuzz install format format-check freestanding-check \
	layering-check conformance conformance-check deps clean FORCE
all: $(O)/libvireo.a $(O)/libvireo.so $(O)/vireo $(O)/vireo.pc $(EXAMPLE_BINS)

$(O)/ring/%.o $(O)/core/%.o: CFLAGS += $(STRICT_WARNINGS)
# libvireo exports what its headers mark VIREO_API (include/vireo/api.h), nothing else.
$(LIB_OBJS): CFLAGS += -fvisibility=hidden
$(O)/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(O)/libvireo.a: $(LIB_OBJS)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(O)/libvireo.so: $(LIB_OBJS) libvireo.map
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -shared $(LDFLAGS) -Wl,-soname,libvireo.so.0 -Wl,--version-script=libvireo.map \
		-o $@ $(LIB_OBJS) $(LDLIBS)

$(O)/vireo: $(TOOL_OBJS) $(O)/libvireo.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(TOOL_OBJS) $(O)/libvireo.a $(LDLIBS) $(TOOL_LDLIBS)

# Rewritten (when its text changes) on every run, so that `make install PREFIX=x` after a plain
# `make` installs a vireo.pc naming x, not the PREFIX of the first build.
pc_path = $(patsubst $(PREFIX)/%,$${prefix}/%,$(1))
$(O)/vireo.pc: FORCE
	@mkdir -p $(@D)
	$(Q)printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(call pc_path,$(LIBDIR))' \
		'includedir=$(call pc_path,$(INCLUDEDIR))' \
		'' 'Name: vireo' 'Description: virtio rings, device models and drivers' \
		'Version: $(VERSION)' 'Requires.private: $(LIB_REQUIRES_PRIVATE)' \
		'Libs: -L$${libdir} -lvireo' 'Libs.private: $(LIB_LIBS_PRIVATE)' \
		'Cflags: -I$${includedir}' > $@.tmp
	$(Q)if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi

# Examples see what an installed libvireo offers: the public headers (no -I.) and the library.
$(O)/examples/%: examples/%.c $(O)/libvireo.a
	@mkdir -p $(@D)
	@$(if $(Q),echo "  EXAMPLE $@")
	$(Q)$(CC) -Iinclude $(CFLAGS) $(LDFLAGS) -o $@ $< $(O)/libvireo.a $(LDLIBS)

# Named only as a pattern rule's prerequisites, the fixtures' objects would be intermediate
# files on a first build (deleted at its end, so the next make relinks every test): kept.
.SECONDARY: $(TEST_LIB_OBJS)

# A test of a tools/ module links that module: TEST_TOOL_OBJS_<test> (and TOOL_LDLIBS).
TEST_TOOL_OBJS_test_sandbox := $(O)/tools/sandbox.o
$(O)/tests/test_sandbox: $(O)/tools/sandbox.o
$(O)/tests/%: tests/unit/%.c $(TEST_LIB_OBJS) $(O)/libvireo.a
	@mkdir -p $(@D)
	@$(if $(Q),echo "  TEST    $@")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -Wno-missing-prototypes $(LDFLAGS) -o $@ $< \
		$(TEST_LIB_OBJS) $(TEST_TOOL_OBJS_$*) $(O)/libvireo.a -lcmocka $(LDLIBS) \
		$(if $(TEST_TOOL_OBJS_$*),$(TOOL_LDLIBS))

# A fuzz target built without libFuzzer, to replay its regression inputs in `make test`.
$(O)/fuzz-replay/%: tests/fuzz/%.c tests/fuzz/replay_main.c $(wildcard tests/fuzz/*.h) \
		$(O)/libvireo.a
	@mkdir -p $(@D)
	@$(if $(Q),echo "  REPLAY  $@")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -Wno-missing-prototypes $(LDFLAGS) -o $@ $< \
		tests/fuzz/replay_main.c $(O)/libvireo.a $(LDLIBS)

tests: all $(TEST_BINS) $(FUZZ_REPLAYS)

# The threaded ring tests alone under ThreadSanitizer (`make test` builds them in $(O)-tsan
# with CC=clang SAN=thread: GCC 12's TSan rejects atomic_thread_fence under -Werror). Only
# ring/ and the fixtures: an acquire/release weakened to relaxed shows as a data race.
TSAN_TESTS := test_ring_threads test_ring_sleep
TSAN_OBJS = $(RING_SRCS:%.c=$(O)/%.o) $(O)/tests/lib/ring_pair.o \
	$(O)/tests/lib/sleep_wake.o $(O)/tests/lib/xorshift.o
$(O)/tsan/%: tests/unit/%.c $(TSAN_OBJS)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  TSAN    $@")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -Wno-missing-prototypes $(LDFLAGS) -o $@ $< $(TSAN_OBJS) \
		-lcmocka -lpthread
# The threaded transport tests too, linked with the whole library built under TSan (the
# in-process PCI/MMIO buses' and loopback's device threads, the IOTLB's queue threads, loopback
# and vhost-user negotiating feature bits 64-127).
TSAN_LIB_TESTS := test_virtio_pci_bus test_virtio_pci_bus_net test_virtio_mmio_driver \
	test_vhost_user_iotlb test_vhost_user_iotlb_retry test_loopback test_feature_bits_high \
	test_virtio_pci_busmaster
$(TSAN_LIB_TESTS:%=$(O)/tsan/%): $(O)/tsan/%: $(O)/tests/%
	@mkdir -p $(@D)
	$(Q)cp $< $@
.PHONY: tsan-tests
tsan-tests: $(TSAN_TESTS:%=$(O)/tsan/%) $(TSAN_LIB_TESTS:%=$(O)/tsan/%)

deps:
	$(Q)scripts/install-deps.sh

# Both builds, then every test program, fuzz regression and CLI test in each, then
# FUZZ_SECONDS_TEST of libFuzzer per target. A guest that does not build makes the guest
# tests skip, which STRICT=1 / CI=true count as failures (and the build failure too).
test: deps
	$(Q)$(MAKE) --no-print-directory O=$(O) tests
	$(Q)$(MAKE) --no-print-directory O=$(O)-asan SAN=address,undefined tests
	$(Q)$(MAKE) --no-print-directory O=$(O)-tsan CC=clang SAN=thread tsan-tests
	$(Q)$(MAKE) --no-print-directory O=$(O) freestanding-check layering-check format-check \
		conformance-check
	$(Q)guest_build=ok; tests/guest/build.sh $(O)/guest || guest_build=failed; \
	VIREO_GUEST_BUILD=$$guest_build VIREO_GUEST_DIR=$(CURDIR)/$(O)/guest STRICT=$(STRICT) \
		FUZZ_SECONDS_TEST=$(FUZZ_SECONDS_TEST) TSAN_DIR=$(O)-tsan scripts/run-tests.sh $(O) $(O)-asan

# Boots a QEMU guest whose disk and rng are `vireo serve blk|rng` over vhost-user.
run: deps
	$(Q)$(MAKE) --no-print-directory O=$(O) all
	$(Q)tests/guest/demo.sh $(O)

# The test guest: a Debian cloud kernel and a busybox initramfs (downloaded, never installed).
guest: deps
	$(Q)tests/guest/build.sh $(O)/guest

# libFuzzer needs clang; crashes land in the regressions folder, replayed by `make test`.
fuzz: deps
	$(Q)scripts/fuzz.sh $(O)/fuzz $(FUZZ_SECONDS) $(FUZZ_SRCS)

# DESTDIR (staging, as Debian's packaging uses it) prefixes every path written; vireo.pc names
# the final paths, without DESTDIR.
install: all
	install -d $(DESTDIR)$(INCLUDEDIR)/vireo $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(BINDIR) \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3
	install -m 644 include/vireo/*.h $(DESTDIR)$(INCLUDEDIR)/vireo/
	install -m 644 $(O)/libvireo.a $(DESTDIR)$(LIBDIR)/
	install -m 755 $(O)/libvireo.so $(DESTDIR)$(LIBDIR)/libvireo.so.$(VERSION)
	ln -sf libvireo.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libvireo.so.0
	ln -sf libvireo.so.0 $(DESTDIR)$(LIBDIR)/libvireo.so
	install -m 644 $(O)/vireo.pc $(DESTDIR)$(LIBDIR)/pkgconfig/
	install -m 755 $(O)/vireo $(DESTDIR)$(BINDIR)/
	install -m 644 man/vireo.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 man/libvireo.3 $(DESTDIR)$(MANDIR)/man3/

FORMAT_FILES = $(sort $(wildcard include/vireo/*.h ring/*.[ch] core/*.[ch] devices/*/*.[ch] \
	transport/*.[ch] drivers/*.[ch] tools/*.[ch] tests/*/*.[ch] examples/*.c))
format:
	$(Q)clang-format -i $(FORMAT_FILES)

format-check:
	$(Q)clang-format --dry-run --Werror $(FORMAT_FILES)
	@echo "format-check: ok"

# ring/ must build free-standing and call nothing: no undefined symbols at all.
freestanding-check:
	$(Q)scripts/freestanding-check.sh $(O)/freestanding $(RING_SRCS)

layering-check:
	$(Q)scripts/layering-check.sh

# docs/conformance.md: every spec-checklist rule with the tests citing it or a reason
# (docs/conformance/README.md); README.md carries the totals line.
conformance:
	$(Q)scripts/conformance.pl matrix > docs/conformance.md.new || { rm -f docs/conformance.md.new; exit 1; }
	$(Q)mv docs/conformance.md.new docs/conformance.md
	$(Q)line=$$(scripts/conformance.pl summary) && CONFORMANCE_LINE="$$line" \
		perl -i -pe 's/^Spec conformance \(.*/$$ENV{CONFORMANCE_LINE}/' README.md

conformance-check:
	$(Q)mkdir -p $(O)
	$(Q)scripts/conformance.pl matrix > $(O)/conformance.md
	$(Q)cmp -s $(O)/conformance.md docs/conformance.md || { \
		diff -u docs/conformance.md $(O)/conformance.md | head -20; \
		echo "conformance-check: docs/conformance.md is stale: run make conformance" >&2; \
		exit 1; }
	$(Q)grep -qxF "$$(scripts/conformance.pl summary)" README.md || { \
		echo "conformance-check: README.md's totals line differs: run make conformance" >&2; \
		exit 1; }
	@echo "conformance-check: ok"

clean:
	rm -rf $(O) $(O)-asan $(O)-tsan

-include $(shell find $(O) -name '*.d' 2>/dev/null)
