# pagemap-scan: a patch series for Linux 6.1 LTS, and the harness that
# applies, builds, boots and tests it. See README.md.
#
#   make            main job: build the patched kernel, boot it, run the demo
#   make test       everything CI checks; exits 0 only when all of it passes
#   make quick T=x  inner loop: incremental rebuild, boot, run test x only
#   make apply      (re)generate the editing tree build/linux from patches/
#   make export     write build/linux's commits back to patches/

export CACHE ?= /var/cache/pagemap-scan
export BUILD ?= $(CURDIR)/build
export TREE  ?= $(BUILD)/linux

FRAGMENTS := config/kernel.config
OBJ       := $(BUILD)/obj
PROGS     := $(BUILD)/progs
BZIMAGE   := $(OBJ)/arch/x86/boot/bzImage
INITRAMFS := $(BUILD)/initramfs.cpio
LOGS      := $(BUILD)/logs

# The unpatched base, for showing that the tests need the series.
BASE_TREE := $(BUILD)/linux-base
BASE_OBJ  := $(BUILD)/obj-base

.PHONY: all test quick deps apply export check-sync checkpatch bisect \
	kernel progs initramfs demo vm-test test-base clean

all: demo

test: deps $(TREE)/.git check-sync checkpatch bisect vm-test

deps:
	harness/install-deps

$(TREE)/.git:
	harness/apply-series

apply: deps
	harness/apply-series

export:
	harness/export-series

check-sync: $(TREE)/.git
	harness/check-sync

checkpatch: $(TREE)/.git
	harness/check-patches

bisect: $(TREE)/.git
	harness/check-bisect $(OBJ) $(FRAGMENTS)

kernel: deps $(TREE)/.git
	harness/build-kernel $(TREE) $(OBJ) $(FRAGMENTS)

progs: kernel
	harness/build-selftests $(TREE) $(OBJ) $(PROGS)/tests
	mkdir -p $(PROGS)/demo
	cp demo/run $(PROGS)/demo/run
	gcc -static -O2 -Wall -Werror -isystem $(OBJ)/usr/include \
		-o $(PROGS)/demo/uffd-wp-multi-vma demo/uffd-wp-multi-vma.c

initramfs: progs
	harness/make-initramfs $(INITRAMFS) $(PROGS)/tests $(PROGS)/demo

demo: initramfs
	harness/run-vm $(BZIMAGE) $(INITRAMFS) demo $(LOGS)/demo
	harness/parse-results $(LOGS)/demo
	@echo "kernel:  $(BZIMAGE)"
	@echo "headers: $(OBJ)/usr/include"

vm-test: initramfs
	harness/run-vm $(BZIMAGE) $(INITRAMFS) tests $(LOGS)/tests
	harness/parse-results $(LOGS)/tests

quick: initramfs
	@test -n "$(T)" || { echo "usage: make quick T=<name from vm/tests>"; exit 2; }
	harness/run-vm $(BZIMAGE) $(INITRAMFS) $(T) $(LOGS)/quick
	harness/parse-results $(LOGS)/quick

# The same tests on a kernel built from the unpatched base: they must fail.
test-base: initramfs
	test -d $(BASE_TREE) || git -C $(TREE) worktree add -f --detach $(BASE_TREE) base
	harness/build-kernel $(BASE_TREE) $(BASE_OBJ) $(FRAGMENTS)
	harness/run-vm $(BASE_OBJ)/arch/x86/boot/bzImage $(INITRAMFS) tests $(LOGS)/base
	harness/parse-results $(LOGS)/base

clean:
	rm -rf $(BUILD)
