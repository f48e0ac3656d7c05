# eidgate - see README.md. `make` builds bin/, `make test` runs every test with
# AddressSanitizer and UndefinedBehaviorSanitizer, `make run` starts the demo.

CC      ?= cc
BUILD   ?= build/release
BIN     ?= bin
SAN     ?=
CFLAGS_BASE = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-truncation \
              -Wno-deprecated-declarations -Iinclude -I. -MMD -MP
ifeq ($(SAN),1)
CFLAGS_OPT  = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDFLAGS_SAN = -fsanitize=address,undefined
else
CFLAGS_OPT  = -O2 -g -fstack-protector-strong -D_FORTIFY_SOURCE=2
LDFLAGS_SAN =
endif
CFLAGS  += $(CFLAGS_BASE) $(CFLAGS_OPT)
LDFLAGS += $(LDFLAGS_SAN)
LIBS    = -lmicrohttpd -lgnutls -lldap -llber -llmdb -lcurl -ljansson -lssl -lcrypto -lpthread

# The stages of a request, each in its folder (README, "Where each stage lives").
STAGES   = keys auth directory policy record audit request forward pages api server
CORE_SRC = $(wildcard core/*.c)
LIB_SRC  = $(CORE_SRC) $(foreach d,$(STAGES),$(wildcard $(d)/*.c))
LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/%.o)
CORE_OBJ = $(CORE_SRC:%.c=$(BUILD)/%.o)
CMD_OBJ  = $(patsubst %.c,$(BUILD)/%.o,$(wildcard cmd/*.c))
CLI_OBJ  = $(filter-out $(BUILD)/cmd/eidgate.o,$(CMD_OBJ))
DEMO_PROGS = modules dossiers
DEMO_COMMON = $(patsubst %.c,$(BUILD)/%.o,$(filter-out $(DEMO_PROGS:%=demo/%.c),$(wildcard demo/*.c)))
UNIT_SRC = $(wildcard tests/unit/*_test.c)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/unit/%)
TOOL_SRC = $(wildcard tests/tools/*.c)
TOOL_BIN = $(TOOL_SRC:tests/tools/%.c=$(BIN)/%)

PROGS = $(BIN)/eidgate $(BIN)/eidgate-login $(BIN)/eidgate-demo-modules $(BIN)/eidgate-demo-dossiers

# `make install` (README, "Installing"): PREFIX and DESTDIR as usual; configuration and
# state go where Debian has them whatever PREFIX is.
PREFIX        ?= /usr/local
sbindir       ?= $(PREFIX)/sbin
bindir        ?= $(PREFIX)/bin
pkgdatadir    ?= $(PREFIX)/share/eidgate
mandir        ?= $(PREFIX)/share/man
sysconfdir    ?= /etc
localstatedir ?= /var
unitdir       ?= $(if $(filter /usr,$(PREFIX)),/lib,$(PREFIX)/lib)/systemd/system
WEB_FILES     = $(shell find web -type f ! -name '.*')
SCHEMA_FILES  = $(wildcard directory/schema/*)

.PHONY: all deps test unit e2e browser run cluster clean cppcheck bench programs install fuzz fuzz-build fuzz-test
all: $(PROGS) $(TOOL_BIN)

# What the packages ship: the gateway and the user-side client.
programs: $(BIN)/eidgate $(BIN)/eidgate-login

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(BIN)/eidgate: $(CMD_OBJ) $(LIB_OBJ)
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# The PKCS#11 client runs on users' machines: it links only core/ and login/.
LOGIN_OBJ = $(patsubst %.c,$(BUILD)/%.o,$(wildcard login/*.c))
$(BUILD)/login/%.o: login/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -I/usr/include/p11-kit-1 -c $< -o $@

$(BIN)/eidgate-login: $(LOGIN_OBJ) $(CORE_OBJ)
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) -o $@ $^ -lcurl -ljansson -lssl -lcrypto -ldl

$(BIN)/eidgate-demo-%: $(BUILD)/demo/%.o $(DEMO_COMMON) $(CORE_OBJ)
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) -o $@ $^ -lmicrohttpd -ljansson -lssl -lcrypto -lpthread

$(BIN)/%: $(BUILD)/tests/tools/%.o $(LIB_OBJ)
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/unit/%: $(BUILD)/tests/unit/%.o $(LIB_OBJ) $(CLI_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

deps:
	bash scripts/deps.sh

# The paths in the unit and the example configuration follow sbindir, pkgdatadir,
# sysconfdir and localstatedir. An existing configuration or policy is never replaced.
install: programs
	install -d $(DESTDIR)$(sbindir) $(DESTDIR)$(bindir) $(DESTDIR)$(unitdir) \
	  $(DESTDIR)$(pkgdatadir)/schema $(DESTDIR)$(mandir)/man1 $(DESTDIR)$(mandir)/man5 \
	  $(DESTDIR)$(mandir)/man8 $(DESTDIR)$(sysconfdir)/eidgate/eid/roots \
	  $(DESTDIR)$(sysconfdir)/eidgate/eid/intermediates
	install -d -m 0750 $(DESTDIR)$(localstatedir)/lib/eidgate
	install -m 0755 $(BIN)/eidgate $(DESTDIR)$(sbindir)/eidgate
	install -m 0755 $(BIN)/eidgate-login $(DESTDIR)$(bindir)/eidgate-login
	for f in $(WEB_FILES); do install -D -m 0644 $$f $(DESTDIR)$(pkgdatadir)/$$f || exit 1; done
	install -m 0644 $(SCHEMA_FILES) $(DESTDIR)$(pkgdatadir)/schema/
	install -m 0644 man/eidgate-login.1 $(DESTDIR)$(mandir)/man1/
	install -m 0644 man/eidgate.conf.5 man/eidgate.policy.5 $(DESTDIR)$(mandir)/man5/
	install -m 0644 man/eidgate.8 $(DESTDIR)$(mandir)/man8/
	sed -e 's|/usr/sbin/eidgate|$(sbindir)/eidgate|g' -e 's|/etc/eidgate|$(sysconfdir)/eidgate|g' \
	  -e 's|/var/lib/eidgate|$(localstatedir)/lib/eidgate|g' dist/eidgate.service \
	  > $(DESTDIR)$(unitdir)/eidgate.service
	chmod 0644 $(DESTDIR)$(unitdir)/eidgate.service
	test -e $(DESTDIR)$(sysconfdir)/eidgate/eidgate.conf || \
	  sed -e 's|/usr/share/eidgate|$(pkgdatadir)|g' -e 's|/etc/eidgate|$(sysconfdir)/eidgate|g' \
	  -e 's|/var/lib/eidgate|$(localstatedir)/lib/eidgate|g' dist/eidgate.conf \
	  > $(DESTDIR)$(sysconfdir)/eidgate/eidgate.conf && \
	  chmod 0644 $(DESTDIR)$(sysconfdir)/eidgate/eidgate.conf
	test -e $(DESTDIR)$(sysconfdir)/eidgate/jeugdhulp.policy || \
	  install -m 0644 dist/jeugdhulp.policy $(DESTDIR)$(sysconfdir)/eidgate/jeugdhulp.policy

# Every test, built with the sanitizers, on a machine set up from nothing.
test: deps
	$(MAKE) BUILD=build/asan BIN=build/asan/bin SAN=1 all asan-unit
	bash tests/run.sh build/asan/bin build/asan/unit

asan-unit: $(UNIT_BIN)
unit: $(UNIT_BIN)

run: deps all
	bash scripts/run-demo.sh

# Several instances behind HAProxy (scripts/cluster.py says what runs where).
cluster: deps all
	python3 scripts/cluster.py bin

bench: all
	for b in bench/*.sh; do bash "$$b" || exit 1; done

cppcheck:
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
	  --std=c11 --inline-suppr -Iinclude -D__GNUC__ \
	  --suppress=missingIncludeSystem core $(STAGES) cmd login demo tests/unit tests/fuzz

# Fuzzing (tests/fuzz/README.md): one libFuzzer target per parser that takes outside
# input, built with Debian's clang into build/fuzz: the library instrumented for coverage
# (fuzzer-no-link) with AddressSanitizer and UndefinedBehaviorSanitizer, each target
# linked with libFuzzer. `make fuzz` runs each for FUZZ_SECONDS from its seed corpus
# (tests/fuzz/corpus/<target>/), keeping what it finds in run/fuzz/<target>/; `make test`
# runs each for 10 s (tests/run.sh). clang reads -Wformat=2 more strictly than gcc on
# va_list wrappers (log.c): that one is left to gcc.
FUZZ_CC      ?= clang
FUZZ_BUILD   ?= build/fuzz
FUZZ_SECONDS ?= 60
FUZZ_SAN     = -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS  = $(filter-out -Wno-format-truncation,$(CFLAGS_BASE)) -Wno-format-nonliteral \
               -O1 -g -fno-omit-frame-pointer $(FUZZ_SAN)
FUZZ_SRC     = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN     = $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_BUILD)/bin/%)
FUZZ_LIB_OBJ = $(LIB_SRC:%.c=$(FUZZ_BUILD)/%.o)

$(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_BUILD)/bin/%: $(FUZZ_BUILD)/tests/fuzz/%.o $(FUZZ_LIB_OBJ)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $^ $(LIBS)

fuzz-build: $(FUZZ_BIN)

fuzz: fuzz-build
	bash tests/fuzz/run.sh $(FUZZ_BUILD)/bin $(FUZZ_SECONDS)

# The fuzz suite of `make test` (tests/run.sh): every target for 10 s.
fuzz-test: fuzz-build
	bash tests/fuzz/run.sh $(FUZZ_BUILD)/bin 10

clean:
	rm -rf build bin

-include $(shell find build -name '*.d' 2>/dev/null)
