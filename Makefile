# Skep: eBPF in user space.  make | make test | make bench | make install PREFIX=...
#
# Every .c under src/<layer>/ goes into libskep; every .c under tools/skep/ into the
# skep binary; every tests/unit/*.c is a test program (linked with tests/lib/*.c).
# make test builds and runs the suite twice: optimised (build/) and under
# AddressSanitizer + UndefinedBehaviorSanitizer (build/san/).

CC      ?= cc
PREFIX  ?= /usr/local
VERSION := 0.1.0
O       ?= build

WARN    := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -Iinclude -Isrc -fPIC -g $(WARN)
OPT     ?= -O2
SAN     := -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
CFLAGS  += $(CFLAGS_BASE) $(OPT) $(EXTRA_CFLAGS)
LDLIBS  += $(EXTRA_LDLIBS) -lZydis -lZycore -lpthread  # Zydis: src/attach and `skep disasm --jited` decode x86 code

LIB_SRCS  := $(sort $(wildcard src/*/*.c))
TOOL_SRCS := $(sort $(wildcard tools/skep/*.c))
TLIB_SRCS := $(sort $(wildcard tests/lib/*.c))
TEST_SRCS := $(sort $(wildcard tests/unit/*.c))
HDRS      := $(wildcard include/skep/*.h src/*/*.h src/*/*.def tests/lib/*.h tools/skep/*.h tools/skep/*.def)

LIB_OBJS  := $(LIB_SRCS:%.c=$(O)/obj/%.o)
TOOL_OBJS := $(TOOL_SRCS:%.c=$(O)/obj/%.o)
TLIB_OBJS := $(TLIB_SRCS:%.c=$(O)/obj/%.o)
TEST_BINS := $(TEST_SRCS:tests/unit/%.c=$(O)/tests/%)

.PHONY: all deps lib test test-build san bench install uninstall clean fuzz demo
all: $(O)/libskep.a $(O)/libskep.so $(O)/skep

$(O)/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(O)/libskep.a: $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(O)/libskep.so: $(LIB_OBJS)
	$(CC) $(CFLAGS) -shared -Wl,-soname,libskep.so.0 -o $@ $^ $(LDLIBS)

$(O)/skep: $(TOOL_OBJS) $(O)/libskep.a
	$(CC) $(CFLAGS) -o $@ $(TOOL_OBJS) $(O)/libskep.a $(LDLIBS) -lm

$(O)/tests/%: tests/unit/%.c $(TLIB_OBJS) $(O)/libskep.a $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/lib -o $@ $< $(TLIB_OBJS) $(O)/libskep.a $(LDLIBS) -lm

test-build: all $(TEST_BINS)

san:
	$(MAKE) O=build/san OPT="$(SAN)" test-build

deps:
	@scripts/deps.sh

test: deps
	@$(MAKE) --no-print-directory test-build
	@$(MAKE) --no-print-directory san
	@tests/run.sh build build/san

bench: deps $(O)/libskep.a
	@$(MAKE) -C bench O=$(abspath $(O))

fuzz: objects
	@$(MAKE) -C fuzz run SEEDS=$(abspath $(O))/objects

demo: deps all
	@examples/demo.sh

# The man page comes from tools/skep/help.def through the binary (skep help --man);
# make man refreshes the checked-in docs/skep.8 (tests/cli/help.sh checks it is current).
$(O)/skep.8: $(O)/skep
	$(O)/skep help --man > $@
man: $(O)/skep.8
	cp $(O)/skep.8 docs/skep.8
.PHONY: man

install: all $(O)/skep.8
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/skep $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 $(O)/libskep.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(O)/libskep.so $(DESTDIR)$(PREFIX)/lib/libskep.so.0
	ln -sf libskep.so.0 $(DESTDIR)$(PREFIX)/lib/libskep.so
	install -m 644 include/skep/*.h $(DESTDIR)$(PREFIX)/include/skep/
	install -m 755 $(O)/skep $(DESTDIR)$(PREFIX)/bin/
	install -d $(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 644 $(O)/skep.8 $(DESTDIR)$(PREFIX)/share/man/man8/skep.8
	install -m 644 tools/skep/skep.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/skep
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' skep.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/skep.pc

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/lib/libskep.a $(DESTDIR)$(PREFIX)/lib/libskep.so* \
	      $(DESTDIR)$(PREFIX)/bin/skep $(DESTDIR)$(PREFIX)/lib/pkgconfig/skep.pc \
	      $(DESTDIR)$(PREFIX)/share/man/man8/skep.8 $(DESTDIR)$(PREFIX)/share/bash-completion/completions/skep
	rm -rf $(DESTDIR)$(PREFIX)/include/skep

clean:
	rm -rf build

# ---- BPF test objects for the ELF loader (src/loader): tests/objects/*.bpf.c built by
# clang as a user builds them for the kernel, into $(O)/objects/ (and with clang-19
# -mcpu=v4 into $(O)/objects/v4/ where clang-19 is installed).  Tests find them beside
# their own directory ($(O)/tests/../objects).
BPF_CLANG   ?= clang
BPF_CLANG19 ?= $(shell command -v clang-19 2>/dev/null)
BPF_CFLAGS  := -O2 -g -target bpf -D__TARGET_ARCH_x86 -I/usr/include/$(shell uname -m)-linux-gnu -Wall -Wno-unused-function
BPF_OBJ_SRCS := $(sort $(wildcard tests/objects/*.bpf.c))
BPF_OBJS := $(BPF_OBJ_SRCS:tests/objects/%.bpf.c=$(O)/objects/%.o)
ifneq ($(BPF_CLANG19),)
BPF_OBJS += $(BPF_OBJ_SRCS:tests/objects/%.bpf.c=$(O)/objects/v4/%.o)
endif
$(O)/objects/%.o: tests/objects/%.bpf.c
	@mkdir -p $(dir $@)
	$(BPF_CLANG) $(BPF_CFLAGS) -c $< -o $@
$(O)/objects/v4/%.o: tests/objects/%.bpf.c
	@mkdir -p $(dir $@)
	$(BPF_CLANG19) $(BPF_CFLAGS) -mcpu=v4 -c $< -o $@
test-build: $(BPF_OBJS)
objects: $(BPF_OBJS)
.PHONY: objects

# ---- Example programs (examples/bpf/*.bpf.c), built as tests/objects are: into
# $(O)/examples/ (and with clang-19 -mcpu=v4 into $(O)/examples/v4/); test_examples runs
# them in Skep and in the kernel (through libbpf) and compares.
EX_OBJ_SRCS := $(sort $(wildcard examples/bpf/*.bpf.c))
EX_OBJS := $(EX_OBJ_SRCS:examples/bpf/%.bpf.c=$(O)/examples/%.o)
ifneq ($(BPF_CLANG19),)
EX_OBJS += $(EX_OBJ_SRCS:examples/bpf/%.bpf.c=$(O)/examples/v4/%.o)
endif
$(O)/examples/%.o: examples/bpf/%.bpf.c
	@mkdir -p $(dir $@)
	$(BPF_CLANG) $(BPF_CFLAGS) -c $< -o $@
$(O)/examples/v4/%.o: examples/bpf/%.bpf.c
	@mkdir -p $(dir $@)
	$(BPF_CLANG19) $(BPF_CFLAGS) -mcpu=v4 -c $< -o $@
test-build: $(EX_OBJS)
examples: $(EX_OBJS)
.PHONY: examples

# ---- skep trace: the agent preloaded into traced commands ($(O)/libskep-agent.so: tools/agent/*.c
# with the libskep objects it needs linked in and their symbols hidden, so it does not clash
# with a libskep the traced program may use) and the small programs of ours the tracing
# examples trace (examples/victims/*.c into $(O)/victims/, unoptimised enough that each
# probed function is a real call).
AGENT_SRCS := $(sort $(wildcard tools/agent/*.c))
AGENT_OBJS := $(AGENT_SRCS:%.c=$(O)/obj/%.o)
$(AGENT_OBJS) $(O)/obj/tools/skep/cmd_trace.o: tools/agent/agent_proto.h
$(O)/libskep-agent.so: $(AGENT_OBJS) $(O)/libskep.a
	$(CC) $(CFLAGS) -shared -Wl,--exclude-libs,ALL -Wl,-z,defs -o $@ $(AGENT_OBJS) $(O)/libskep.a $(LDLIBS) -lm
VICTIM_SRCS := $(sort $(wildcard examples/victims/*.c))
VICTIMS := $(VICTIM_SRCS:examples/victims/%.c=$(O)/victims/%)
$(O)/victims/%: examples/victims/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE -O1 -g -fno-inline -fno-omit-frame-pointer $(WARN) -o $@ $< -lpthread
all: $(O)/libskep-agent.so
test-build: $(VICTIMS)
victims: $(VICTIMS)
agent: $(O)/libskep-agent.so
# skep finds the agent beside itself (the build directory) or in ../lib/skep/ (installed)
install: install-agent
install-agent: $(O)/libskep-agent.so
	install -d $(DESTDIR)$(PREFIX)/lib/skep
	install -m 755 $(O)/libskep-agent.so $(DESTDIR)$(PREFIX)/lib/skep/
uninstall: uninstall-agent
uninstall-agent:
	rm -rf $(DESTDIR)$(PREFIX)/lib/skep
.PHONY: victims agent install-agent uninstall-agent
