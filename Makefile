# pagemap-scan: a patch series for Linux 6.1 LTS, and the harness that
# applies, builds, boots and tests it. See README.md.
#
#   make            main job: build the patched kernel, boot it, run the demo
#   make test       everything CI checks; exits 0 only when all of it passes
#   make quick T=x  inner loop: incremental rebuild, boot, run test x only
#   make quick-debug T=x  the same on the debug kernel
#   make apply      (re)generate the editing tree build/linux from patches/
#   make export     write build/linux's commits back to patches/
#   make bench      dirty-tracking benchmarks, ours against upstream 6.12
#   make difftest   PAGEMAP_SCAN case by case, ours against upstream 6.12:
#                   every difference deliberate (the spec's **ours**) or not
#   make mutants    the selftests against small bugs in the kernel code
#                   (mutants/*.patch, MUTANTS= a subset): which tests kill each
#   make vm-kselftest  vm's run_vmtests.sh under the kselftest runner, in the VM
#   make vm-test-i386  the selftests (32-bit) on a 32-bit kernel, vm/tests-i386
#   make vm-stress  the stress test on 4 vCPUs (normal kernel)
#   make matrix     the .c files the series changes, W=1, 13 configs (x86_64,
#                   i386, arm64, riscv64, clang, sparse): new warnings vs base
#   make deb        Debian packages of the patched kernel (Debian's config)
#   make deb-test   boot the packaged kernel, run vm/tests
#   make deb-headers  its linux-libc-dev against Debian's, in a chroot
#   make try-versions  which of Debian's linux-source-6.1 versions patches/ applies to

export CACHE ?= /var/cache/pagemap-scan
export BUILD ?= $(CURDIR)/build
export TREE  ?= $(BUILD)/linux

FRAGMENTS := config/kernel.config
OBJ       := $(BUILD)/obj
PROGS     := $(BUILD)/progs
BZIMAGE   := $(OBJ)/arch/x86/boot/bzImage

# The debug kernel (KASAN, lockdep, DEBUG_VM, PAGE_TABLE_CHECK, ...): the
# same tree, config/debug.config on top.
DEBUG_FRAGMENTS := $(FRAGMENTS) config/debug.config
DEBUG_OBJ       := $(BUILD)/obj-debug
DEBUG_BZIMAGE   := $(DEBUG_OBJ)/arch/x86/boot/bzImage
INITRAMFS := $(BUILD)/initramfs.cpio
LOGS      := $(BUILD)/logs

# The unpatched base, for showing that the tests need the series.
BASE_TREE := $(BUILD)/linux-base
BASE_OBJ  := $(BUILD)/obj-base

.PHONY: all test quick quick-debug deps apply export check-sync checkpatch \
	bisect kernel kernel-debug progs initramfs demo vm-test vm-kselftest \
	vm-test-debug vm-stress kernel-i386 vm-test-i386 \
	test-base bench difftest try-versions clean

all: demo

test: deps $(TREE)/.git check-sync checkpatch bisect matrix vm-test \
	vm-stress vm-kselftest debug-and-i386

# The debug kernel's VM run (one busy vCPU most of the time) while the
# 32-bit kernel builds: the two longest steps after the build matrix,
# side by side. Each one's output comes out whole when it ends.
.PHONY: debug-and-i386
debug-and-i386: kernel-debug initramfs
	$(MAKE) -j2 --output-sync=target vm-run-debug vm-test-i386

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

# The build matrix, as the kernel test robot builds a series posted to
# linux-mm (harness/check-matrix, config/matrix.rows): the .c files the
# series changes, with W=1, in 13 configurations, at base and at the tip
# of the series; an error or a warning base does not have fails.
.PHONY: matrix
matrix: deps $(TREE)/.git
	harness/install-deps gcc-aarch64-linux-gnu gcc-riscv64-linux-gnu \
		clang llvm lld sparse
	harness/check-matrix

kernel: deps $(TREE)/.git
	harness/build-kernel $(TREE) $(OBJ) $(FRAGMENTS)

kernel-debug: deps $(TREE)/.git
	harness/build-kernel $(TREE) $(DEBUG_OBJ) $(DEBUG_FRAGMENTS)

progs: kernel
	harness/build-selftests $(TREE) $(OBJ) $(PROGS)/tests
	mkdir -p $(PROGS)/demo
	cp demo/run $(PROGS)/demo/run
	for src in demo/*.c; do \
		gcc -static -O2 -Wall -Werror -isystem $(OBJ)/usr/include \
			-o $(PROGS)/demo/$$(basename $$src .c) $$src || exit 1; \
	done

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

# The kselftest route: `make -C tools/testing/selftests TARGETS=vm install`
# (static), booted with run_kselftest.sh running vm's run_vmtests.sh, 6.1's
# whole vm suite with ours in it. parse-results judges ours (uffd-wp-*,
# pagemap_scan* of vm/tests) and counts 6.1's own. vm/settings gives the
# whole script 45 s, for real hardware; under TCG (10x slower or more, and
# more on a loaded machine) it takes 8 to 15 minutes, so the installed copy
# gets KSFT_TIMEOUT.
KSFT           := $(PROGS)/kselftest
KSFT_INITRAMFS := $(BUILD)/initramfs-kselftest.cpio
KSFT_TIMEOUT   ?= 1800

vm-kselftest: kernel
	harness/install-deps bash-static libnuma-dev libcap-dev
	KSFT_TIMEOUT=$(KSFT_TIMEOUT) harness/build-kselftests $(TREE) $(OBJ) $(KSFT)
	mkdir -p $(PROGS)/none
	harness/make-initramfs $(KSFT_INITRAMFS) $(PROGS)/none $(PROGS)/none $(KSFT)
	harness/run-vm $(BZIMAGE) $(KSFT_INITRAMFS) kselftest $(LOGS)/kselftest
	harness/parse-results $(LOGS)/kselftest

# The whole suite, the debug-only tests (vm/tests-debug) and a leak scan;
# vm-run-debug runs it on the kernel and initramfs as they are.
vm-test-debug: kernel-debug initramfs
	$(MAKE) vm-run-debug

.PHONY: vm-run-debug
vm-run-debug:
	VM_CPUS=4 harness/run-vm $(DEBUG_BZIMAGE) $(INITRAMFS) debug $(LOGS)/debug
	harness/parse-results $(LOGS)/debug

# The stress test (vm/tests-debug) on the normal kernel too, both with 4
# vCPUs: its writers and trackers run on different CPUs, so that a
# protection that does not reach another CPU's TLB loses writes (removing
# the flush of the pte path loses some in a 180 s run; see README.md).
vm-stress: initramfs
	VM_CPUS=4 harness/run-vm $(BZIMAGE) $(INITRAMFS) pagemap-scan-stress \
		$(LOGS)/stress
	harness/parse-results $(LOGS)/stress

# The 32-bit kernel: PAGEMAP_SCAN's __u64 arguments meet a 32-bit unsigned
# long. ARCH=i386 with config/i386.config (PAE, highmem, ACPI for both
# vCPUs; no uffd-wp or soft-dirty on 6.1 i386), the selftests as static
# 32-bit programs against its headers, the skip-free ones of
# vm/tests-i386 in qemu-system-i386 with 2 vCPUs and 2 GiB (about 1.1 GiB
# of it highmem), Debian's i386 busybox-static as the VM's busybox.
I386_OBJ       := $(BUILD)/obj-i386
I386_BZIMAGE   := $(I386_OBJ)/arch/x86/boot/bzImage
I386_PROGS     := $(BUILD)/progs-i386
I386_INITRAMFS := $(BUILD)/initramfs-i386.cpio
# qemu-system-i386's -cpu max is an AMD family 6 (K7) without the MP bit:
# a K7 kernel warns that it is "not suitable for SMP". The family, model
# and stepping of qemu-system-x86_64's -cpu max (K8) instead.
I386_CPU       := max,family=15,model=107,stepping=1
# The run takes seconds. A kernel that truncates max_pages 2^32 to 0
# loops in the ioctl, killable only by SIGKILL: give up after 10 minutes.
I386_TIMEOUT   := 600

kernel-i386: deps $(TREE)/.git
	ARCH=i386 harness/build-kernel $(TREE) $(I386_OBJ) config/i386.config

vm-test-i386: kernel-i386
	PROG_CFLAGS=-m32 harness/build-selftests $(TREE) $(I386_OBJ) \
		$(I386_PROGS)/tests
	mkdir -p $(I386_PROGS)/none
	harness/fetch-busybox i386
	BUSYBOX=$(CACHE)/busybox-i386/busybox TEST_LIST=vm/tests-i386 \
		harness/make-initramfs $(I386_INITRAMFS) $(I386_PROGS)/tests \
		$(I386_PROGS)/none
	VM_QEMU=qemu-system-i386 VM_CPU_MODEL=$(I386_CPU) VM_CPUS=2 VM_MEM=2G \
		VM_HUGETLB= VM_TIMEOUT=$(I386_TIMEOUT) harness/run-vm \
		$(I386_BZIMAGE) $(I386_INITRAMFS) tests $(LOGS)/i386
	harness/parse-results $(LOGS)/i386

quick: initramfs
	@test -n "$(T)" || { echo "usage: make quick T=<name from vm/tests>"; exit 2; }
	harness/run-vm $(BZIMAGE) $(INITRAMFS) $(T) $(LOGS)/quick
	harness/parse-results $(LOGS)/quick

quick-debug: kernel-debug initramfs
	@test -n "$(T)" || { echo "usage: make quick-debug T=<test name>"; exit 2; }
	harness/run-vm $(DEBUG_BZIMAGE) $(INITRAMFS) $(T) $(LOGS)/quick-debug
	harness/parse-results $(LOGS)/quick-debug

# The same tests on a kernel built from the unpatched base: they must fail.
test-base: initramfs
	test -d $(BASE_TREE) || git -C $(TREE) worktree add -f --detach $(BASE_TREE) base
	harness/build-kernel $(BASE_TREE) $(BASE_OBJ) $(FRAGMENTS)
	harness/run-vm $(BASE_OBJ)/arch/x86/boot/bzImage $(INITRAMFS) tests $(LOGS)/base
	harness/parse-results $(LOGS)/base

# Benchmarks (bench/pmscan-bench.c) on our kernel and on upstream 6.12 from
# Debian's linux-source-6.12, built with the same fragment. ALLOW_UNKNOWN=1
# lets go only the symbols 6.12 does not define (the series' own KUnit
# test); every other line must stick there too. BENCH_QUICK=1: small sizes,
# one round, results not copied; a full run copies them to bench/results/
# and puts the table into README.md.
UP_TREE     := $(BUILD)/linux-6.12
UP_OBJ      := $(BUILD)/obj-6.12
UP_BZIMAGE  := $(UP_OBJ)/arch/x86/boot/bzImage
BENCH_OUT   := $(BUILD)/bench
BENCH_QUICK ?= 0

bench: kernel
	harness/install-deps gnuplot-nox
	harness/fetch-upstream $(UP_TREE)
	ALLOW_UNKNOWN=1 harness/build-kernel $(UP_TREE) $(UP_OBJ) $(FRAGMENTS)
	rm -rf $(BENCH_OUT)/prog $(BENCH_OUT)/none
	mkdir -p $(BENCH_OUT)/prog $(BENCH_OUT)/none
	gcc -static -O2 -Wall -Werror -isystem $(OBJ)/usr/include \
		-o $(BENCH_OUT)/prog/pmscan-bench bench/pmscan-bench.c -lpthread
	printf '#!/bin/sh\nexec ./pmscan-bench%s\n' \
		"$(if $(filter 1,$(BENCH_QUICK)), -q)" >$(BENCH_OUT)/prog/run
	chmod +x $(BENCH_OUT)/prog/run
	harness/make-initramfs $(BENCH_OUT)/initramfs.cpio $(BENCH_OUT)/none \
		$(BENCH_OUT)/prog
	BENCH_QUICK=$(BENCH_QUICK) harness/run-bench $(BZIMAGE) $(UP_BZIMAGE) \
		$(BENCH_OUT)/initramfs.cpio $(BENCH_OUT)
	test "$(BENCH_QUICK)" = 1 || { \
		cp $(BENCH_OUT)/table.md $(BENCH_OUT)/chart.png \
			$(BENCH_OUT)/results.json bench/results/ && \
		bench/report readme bench/results/table.md README.md; }

# The differential test (difftest/pmscan-difftest.c, harness/run-difftest):
# the same seeded PAGEMAP_SCAN cases on our kernel and on upstream 6.12
# (built as for bench), the outputs compared case by case by
# difftest/compare, which fails on a difference that is not one of the
# spec's deliberate ones. Our kernel boots twice (byte-identical output
# required) unless DIFFTEST_TWICE=0. Not part of `make test`.
DIFF_OUT      := $(BUILD)/difftest
DIFFTEST_SEED ?= 20261207
DIFFTEST_N    ?= 5000
export DIFFTEST_SEED DIFFTEST_N

difftest: kernel
	harness/fetch-upstream $(UP_TREE)
	ALLOW_UNKNOWN=1 harness/build-kernel $(UP_TREE) $(UP_OBJ) $(FRAGMENTS)
	mkdir -p $(DIFF_OUT)
	gcc -static -O2 -Wall -Werror -o $(DIFF_OUT)/pmscan-difftest \
		difftest/pmscan-difftest.c
	harness/run-difftest $(BZIMAGE) $(UP_BZIMAGE) \
		$(DIFF_OUT)/pmscan-difftest $(DIFF_OUT)

# The mutation check (harness/run-mutants): each of mutants/*.patch (or
# MUTANTS=) applied to the series, built incrementally and booted with our
# selftests; long (a build and a run per mutant), not part of `make test`.
MUTANTS ?=
.PHONY: mutants
mutants: progs
	harness/run-mutants $(TREE) $(PROGS)/tests $(BUILD)/mutants $(MUTANTS)

# patches/ on every linux-source-6.1 version Debian 12 offers (git am, then
# patch(1) for offsets and fuzz); not part of `make test`, nothing is built.
try-versions:
	harness/try-versions

# Installable Debian packages of the patched kernel, with Debian 12's config
# + config/distro.config, reduced to the modules of config/deb-modules.lsmod
# (harness/build-deb). Not part of `make test`.
.PHONY: deb deb-test deb-headers
DEB_OBJ := $(BUILD)/obj-deb

deb: deps $(TREE)/.git
	harness/build-deb $(TREE) $(DEB_OBJ)

# Boots the packaged kernel (vmlinuz and modules from the linux-image .deb)
# and runs vm/tests; make deb first.
deb-test: deps
	harness/test-deb $(DEB_OBJ) $(LOGS)/deb

# Debian 12 chroot: a PAGEMAP_SCAN program fails against Debian's
# linux-libc-dev and builds against the one make deb made.
deb-headers: deps
	harness/check-deb-headers $(BUILD)

clean:
	rm -rf $(BUILD)
