// SPDX-License-Identifier: GPL-2.0
/*
 * pmscan-bench: what dirty tracking costs with PAGEMAP_SCAN on async
 * uffd-wp, against the mechanisms 6.1 already has (soft-dirty, sync uffd-wp,
 * mprotect+SIGSEGV), how it scales with the tracked size, and how it does on
 * a sparse reservation.
 *
 *   pmscan-bench [-q|-p]   -q: quick mode (small sizes, few repetitions)
 *                          -p: the probe case alone
 *
 * Every measurement is one JSON object on a line of its own (bench/report
 * turns the lines of several boots into tables and a chart); lines starting
 * with '#' are for people. Times are medians over repetitions, in ns, from
 * CLOCK_MONOTONIC. The benchmark checks that every mechanism collects the
 * pages that were written ("ok"), but never judges a time.
 *
 * Cases:
 *  cycle   N pages tracked (all populated, 4 KiB PTEs), a fraction f of them
 *          written, then collected and re-armed: write_ns is the time of the
 *          writes (the tracking fault included), collect_ns the time to get
 *          the list of written pages and re-arm. Mechanisms:
 *            scan      PAGEMAP_SCAN GET+WP on async uffd-wp
 *            softdirty pread of /proc/self/pagemap, then clear_refs "4"
 *            uffdwp    sync uffd-wp: a monitor thread un-protects each
 *                      faulting page; re-arm with UFFDIO_WRITEPROTECT
 *            mprotect  PROT_READ, SIGSEGV handler makes the page writable;
 *                      re-arm with mprotect(PROT_READ)
 *            plain     baseline: writes to writable pages, no tracking
 *            fresh     baseline: first writes to unpopulated pages
 *                      (collect_ns is then MADV_DONTNEED of the range;
 *                      N up to 64 MiB only)
 *  scale   PAGEMAP_SCAN alone, on an async-armed area with f written:
 *            get       GET of the written pages (no WP)
 *            getwp     GET+WP
 *            reset     WP of the written pages without an output buffer
 *                      (Wine's ResetWriteWatch)
 *            arm       UFFDIO_WRITEPROTECT of an unpopulated area
 *  sparse  a 64 GiB MAP_NORESERVE reservation with 1% of its 2 MiB chunks
 *          populated (4 KiB pages):
 *            read      pread of the pagemap entries of the whole range
 *            get       PAGEMAP_SCAN GET of the present pages (CRIU's query)
 *            arm       UFFDIO_WRITEPROTECT of the whole reservation
 *            reset     PAGEMAP_SCAN WP without output buffer after arming,
 *                      one page of each populated chunk written
 *  probe   where the time of one PAGEMAP_SCAN goes, per page of a populated,
 *          async-armed 64 MiB area (what differs between two kernels):
 *            none      GET of written pages when none is: the walk alone
 *            all       GET of every page, return_mask 0: one region
 *            allcat    GET of every page, every category returned
 *            wpnone    WP, no output, nothing written
 *            wpall     WP, no output, every page written
 *            wpsome    WP, no output, every 100th page written (a run
 *                      boundary every 100 pages)
 *            getwpall  GET+WP, every page written
 *            getwpsome GET+WP, every 10th page written (one region each)
 *            read      pread of the pagemap entries, for reference
 *  calib   a fixed CPU loop, to tell a slow boot from a slow kernel
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <linux/fs.h>
#include <linux/userfaultfd.h>

#define PS		4096UL
#define MIB		(1UL << 20)
#define GIB		(1UL << 30)
#define MAX_REPS	16
#define VEC_LEN		65536		/* regions per PAGEMAP_SCAN call */
#define PM_CHUNK	65536		/* pagemap entries per pread */
#define PM_SOFT_DIRTY	(1ULL << 55)
#define PM_PRESENT	(1ULL << 63)
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static int quick;
/* Whether the kernel has async uffd-wp (and so PAGEMAP_SCAN) */
static int have_async = 1;

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("# FATAL: ");
	vprintf(fmt, ap);
	printf(" (errno %d: %s)\n", errno, strerror(errno));
	va_end(ap);
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t median(uint64_t *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static char *map_anon(size_t len, int flags)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);

	if (p == MAP_FAILED)
		die("mmap %zu bytes", len);
	/* Track at 4 KiB everywhere (as Wine does): no THP in the areas. */
	if (madvise(p, len, MADV_NOHUGEPAGE))
		die("MADV_NOHUGEPAGE");
	return p;
}

static void populate(char *p, size_t len)
{
	for (size_t off = 0; off < len; off += PS)
		p[off] = 1;
}

/* Writes one byte in each of @w pages, @stride pages apart. */
static uint64_t write_pages(char *p, size_t w, size_t stride, char val)
{
	volatile char *v = p;
	uint64_t t0 = now_ns();

	for (size_t i = 0; i < w; i++)
		v[i * stride * PS] = val;
	return now_ns() - t0;
}

/* userfaultfd */

static int uffd_open(uint64_t features)
{
	struct uffdio_api api = { .api = UFFD_API, .features = features };
	int fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		die("userfaultfd");
	if (ioctl(fd, UFFDIO_API, &api))
		die("UFFDIO_API features %#llx", (unsigned long long)features);
	return fd;
}

static void uffd_register_wp(int fd, char *p, size_t len)
{
	struct uffdio_register reg = {
		.range = { .start = (uintptr_t)p, .len = len },
		.mode = UFFDIO_REGISTER_MODE_WP,
	};

	if (ioctl(fd, UFFDIO_REGISTER, &reg))
		die("UFFDIO_REGISTER");
}

static void uffd_wp(int fd, char *p, size_t len, int protect)
{
	struct uffdio_writeprotect wp = {
		.range = { .start = (uintptr_t)p, .len = len },
		.mode = protect ? UFFDIO_WRITEPROTECT_MODE_WP : 0,
	};

	if (ioctl(fd, UFFDIO_WRITEPROTECT, &wp))
		die("UFFDIO_WRITEPROTECT");
}

/* PAGEMAP_SCAN */

static int pagemap_fd;
static struct page_region *vec;

/*
 * Scans [p, p + len) for pages with all of @mask (and one of @anyof),
 * reporting @ret, with @flags. @vec_len 0 scans without output buffer.
 * Returns the number of pages in the reported regions.
 *
 * Resumes where the last call stopped: at walk_end, or after the last
 * region it reported if that lies further. Upstream 6.12 (and 6.18) leaves
 * walk_end short of the regions it reported once a call reports more than
 * 512 regions (its bounce buffer), so resuming at walk_end alone would
 * report pages twice there and walk part of the range again.
 */
static uint64_t scan(char *p, size_t len, uint64_t flags, uint64_t mask,
		     uint64_t anyof, uint64_t ret, uint64_t vec_len)
{
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.flags = flags,
		.end = (uintptr_t)p + len,
		.vec = vec_len ? (uintptr_t)vec : 0,
		.vec_len = vec_len,
		.category_mask = mask,
		.category_anyof_mask = anyof,
		.return_mask = ret,
	};
	uint64_t pages = 0;

	for (uint64_t start = (uintptr_t)p; start < arg.end;
	     start = arg.walk_end) {
		long n;

		arg.start = start;
		n = ioctl(pagemap_fd, PAGEMAP_SCAN, &arg);
		if (n < 0)
			die("PAGEMAP_SCAN");
		for (long i = 0; i < n; i++)
			pages += (vec[i].end - vec[i].start) / PS;
		if (!vec_len)
			break;
		if (n > 0 && vec[n - 1].end > arg.walk_end)
			arg.walk_end = vec[n - 1].end;
	}
	return pages;
}

/* Reads the pagemap entries of [p, p + len); counts those with @bit. */
static uint64_t pagemap_count(char *p, size_t len, uint64_t bit)
{
	static uint64_t buf[PM_CHUNK];
	uint64_t first = (uintptr_t)p / PS, n = len / PS, count = 0;

	for (uint64_t i = 0; i < n; i += PM_CHUNK) {
		size_t todo = n - i < PM_CHUNK ? n - i : PM_CHUNK;
		ssize_t got = pread(pagemap_fd, buf, todo * 8, (first + i) * 8);

		if (got != (ssize_t)(todo * 8))
			die("pread pagemap");
		for (size_t j = 0; j < todo; j++)
			count += !!(buf[j] & bit);
	}
	return count;
}

/* The tracking mechanisms of the cycle case */

struct tracker {
	char *area;
	size_t len;
	int uffd;
	int clear_refs;
	int stop[2];
	pthread_t monitor;
	uint64_t *dirty;		/* pages the fault handlers saw */
	uint64_t ndirty;
};

struct mech {
	const char *name;
	int populated;			/* area populated before arming */
	size_t max_mib;			/* 0, or the largest N worth timing */
	void (*arm)(struct tracker *t);
	uint64_t (*collect)(struct tracker *t);	/* and re-arm */
	void (*disarm)(struct tracker *t);
};

static void scan_arm(struct tracker *t)
{
	t->uffd = uffd_open(UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED);
	uffd_register_wp(t->uffd, t->area, t->len);
	uffd_wp(t->uffd, t->area, t->len, 1);
}

static uint64_t scan_collect(struct tracker *t)
{
	return scan(t->area, t->len, PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
		    PAGE_IS_WRITTEN, 0, PAGE_IS_WRITTEN, VEC_LEN);
}

static void uffd_disarm(struct tracker *t)
{
	close(t->uffd);
}

static void clear_soft_dirty(struct tracker *t)
{
	if (write(t->clear_refs, "4", 1) != 1)
		die("clear_refs 4");
}

static void softdirty_arm(struct tracker *t)
{
	t->clear_refs = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
	if (t->clear_refs < 0)
		die("open clear_refs");
	clear_soft_dirty(t);
}

static uint64_t softdirty_collect(struct tracker *t)
{
	uint64_t n = pagemap_count(t->area, t->len, PM_SOFT_DIRTY);

	clear_soft_dirty(t);
	return n;
}

static void softdirty_disarm(struct tracker *t)
{
	close(t->clear_refs);
}

static void record_dirty(struct tracker *t, uintptr_t addr)
{
	uint64_t i = __atomic_load_n(&t->ndirty, __ATOMIC_RELAXED);

	t->dirty[i] = addr & ~(PS - 1);
	__atomic_store_n(&t->ndirty, i + 1, __ATOMIC_RELEASE);
}

static uint64_t take_dirty(struct tracker *t)
{
	uint64_t n = __atomic_load_n(&t->ndirty, __ATOMIC_ACQUIRE);

	t->ndirty = 0;
	return n;
}

static void *uffdwp_monitor(void *arg)
{
	struct tracker *t = arg;
	struct pollfd pfd[2] = {
		{ .fd = t->uffd, .events = POLLIN },
		{ .fd = t->stop[0], .events = POLLIN },
	};
	struct uffd_msg msg[16];

	for (;;) {
		ssize_t n;

		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			die("poll");
		if (pfd[1].revents)
			return NULL;
		n = read(t->uffd, msg, sizeof(msg));
		if (n < 0 && errno == EAGAIN)
			continue;
		if (n < 0)
			die("read uffd");
		for (int i = 0; i < n / (ssize_t)sizeof(msg[0]); i++) {
			uintptr_t addr = msg[i].arg.pagefault.address & ~(PS - 1);

			if (msg[i].event != UFFD_EVENT_PAGEFAULT ||
			    !(msg[i].arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP))
				die("unexpected uffd message %d", msg[i].event);
			record_dirty(t, addr);
			uffd_wp(t->uffd, (char *)addr, PS, 0);	/* and wake */
		}
	}
}

static void uffdwp_arm(struct tracker *t)
{
	t->uffd = uffd_open(0);
	uffd_register_wp(t->uffd, t->area, t->len);
	uffd_wp(t->uffd, t->area, t->len, 1);
	if (pipe(t->stop))
		die("pipe");
	if (pthread_create(&t->monitor, NULL, uffdwp_monitor, t))
		die("pthread_create");
}

static uint64_t uffdwp_collect(struct tracker *t)
{
	uint64_t n = take_dirty(t);

	uffd_wp(t->uffd, t->area, t->len, 1);
	return n;
}

static void uffdwp_disarm(struct tracker *t)
{
	if (write(t->stop[1], "", 1) != 1)
		die("stop monitor");
	pthread_join(t->monitor, NULL);
	close(t->stop[0]);
	close(t->stop[1]);
	close(t->uffd);
}

static struct tracker *segv_tracker;

static void segv_handler(int sig, siginfo_t *si, void *uc)
{
	struct tracker *t = segv_tracker;
	uintptr_t addr = (uintptr_t)si->si_addr & ~(PS - 1);

	if (!t || addr < (uintptr_t)t->area ||
	    addr >= (uintptr_t)t->area + t->len ||
	    mprotect((void *)addr, PS, PROT_READ | PROT_WRITE)) {
		signal(SIGSEGV, SIG_DFL);
		return;
	}
	record_dirty(t, addr);
}

static void mprotect_arm(struct tracker *t)
{
	struct sigaction sa = {
		.sa_sigaction = segv_handler,
		.sa_flags = SA_SIGINFO,
	};

	segv_tracker = t;
	if (sigaction(SIGSEGV, &sa, NULL))
		die("sigaction");
	if (mprotect(t->area, t->len, PROT_READ))
		die("mprotect");
}

static uint64_t mprotect_collect(struct tracker *t)
{
	uint64_t n = take_dirty(t);

	if (mprotect(t->area, t->len, PROT_READ))
		die("mprotect");
	return n;
}

static void mprotect_disarm(struct tracker *t)
{
	signal(SIGSEGV, SIG_DFL);
	segv_tracker = NULL;
}

static void nothing(struct tracker *t)
{
}

static uint64_t plain_collect(struct tracker *t)
{
	return 0;
}

static uint64_t fresh_collect(struct tracker *t)
{
	if (madvise(t->area, t->len, MADV_DONTNEED))
		die("MADV_DONTNEED");
	return 0;
}

static const struct mech mechs[] = {
	{ "scan", 1, 0, scan_arm, scan_collect, uffd_disarm },
	{ "softdirty", 1, 0, softdirty_arm, softdirty_collect, softdirty_disarm },
	{ "uffdwp", 1, 0, uffdwp_arm, uffdwp_collect, uffdwp_disarm },
	{ "mprotect", 1, 0, mprotect_arm, mprotect_collect, mprotect_disarm },
	{ "plain", 1, 0, nothing, plain_collect, nothing },
	{ "fresh", 0, 64, nothing, fresh_collect, nothing },
};

static const double fractions[] = { 0.001, 0.1, 1.0 };

/* Pages written for fraction @f of @pages (at least one), and their stride. */
static size_t nwritten(size_t pages, double f)
{
	size_t w = pages * f + 0.5;

	return w ? w : 1;
}

/* Repetitions per size: enough for a median, within TCG's budget. */
static int reps_for(size_t mib)
{
	if (quick)
		return 2;
	return mib <= 4 ? 9 : mib <= 16 ? 7 : mib <= 64 ? 3 : 2;
}

/*
 * An untimed cycle first, while the sizes are small: it warms the code
 * paths (and QEMU's translations of them). Larger sizes come warm.
 */
static int warmup_for(size_t mib)
{
	return mib <= 64;
}

static void bench_cycles(size_t mib)
{
	size_t len = mib * MIB, pages = len / PS;
	int reps = reps_for(mib);

	for (size_t m = 0; m < ARRAY_SIZE(mechs); m++) {
		const struct mech *mech = &mechs[m];
		struct tracker t = { .len = len };

		if (mech->max_mib && mib > mech->max_mib)
			continue;
		if (!have_async && mech->arm == scan_arm)
			continue;
		t.area = map_anon(len, 0);
		t.dirty = calloc(pages, sizeof(*t.dirty));
		if (!t.dirty)
			die("calloc");
		if (mech->populated)
			populate(t.area, len);
		mech->arm(&t);
		for (size_t fi = 0; fi < ARRAY_SIZE(fractions); fi++) {
			size_t w = nwritten(pages, fractions[fi]);
			size_t stride = pages / w;
			uint64_t wr[MAX_REPS], co[MAX_REPS], got = 0;
			int ok = 1;

			for (int r = -warmup_for(mib); r < reps; r++) {
				uint64_t t0, wns;

				wns = write_pages(t.area, w, stride, r + 2);
				t0 = now_ns();
				got = mech->collect(&t);
				if (r < 0)
					continue;
				co[r] = now_ns() - t0;
				wr[r] = wns;
				if (mech->collect != plain_collect &&
				    mech->collect != fresh_collect && got != w)
					ok = 0;
			}
			printf("{\"case\":\"cycle\",\"mech\":\"%s\",\"mib\":%zu,\"f\":%g,"
			       "\"pages\":%zu,\"written\":%zu,\"collected\":%llu,"
			       "\"reps\":%d,\"write_ns\":%llu,\"collect_ns\":%llu,"
			       "\"ok\":%s}\n",
			       mech->name, mib, fractions[fi], pages, w,
			       (unsigned long long)got, reps,
			       (unsigned long long)median(wr, reps),
			       (unsigned long long)median(co, reps),
			       ok ? "true" : "false");
			fflush(stdout);
		}
		mech->disarm(&t);
		munmap(t.area, len);
		free(t.dirty);
	}
}

static void print_scale(const char *op, size_t mib, double f, size_t pages,
			int reps, uint64_t *ns, int ok)
{
	printf("{\"case\":\"scale\",\"op\":\"%s\",\"mib\":%zu,\"f\":%g,"
	       "\"pages\":%zu,\"reps\":%d,\"ns\":%llu,\"ok\":%s}\n",
	       op, mib, f, pages, reps, (unsigned long long)median(ns, reps),
	       ok ? "true" : "false");
	fflush(stdout);
}

static void bench_scale(size_t mib)
{
	static const double scale_fractions[] = { 0.01, 1.0 };
	size_t len = mib * MIB, pages = len / PS;
	int reps = reps_for(mib) + 1;
	struct tracker t = { .area = map_anon(len, 0), .len = len };
	uint64_t ns[MAX_REPS];
	int ok = 1;

	populate(t.area, len);
	scan_arm(&t);
	for (size_t fi = 0; fi < 2; fi++) {
		double f = scale_fractions[fi];
		size_t w = nwritten(pages, f), stride = pages / w;
		uint64_t t0;

		write_pages(t.area, w, stride, 3);
		for (int r = 0; r < reps; r++) {
			t0 = now_ns();
			ok &= scan(t.area, len, 0, PAGE_IS_WRITTEN, 0,
				   PAGE_IS_WRITTEN, VEC_LEN) == w;
			ns[r] = now_ns() - t0;
		}
		print_scale("get", mib, f, pages, reps, ns, ok);
		ok = 1;

		for (int r = 0; r < reps; r++) {
			write_pages(t.area, w, stride, r);
			t0 = now_ns();
			ok &= scan_collect(&t) == w;
			ns[r] = now_ns() - t0;
		}
		print_scale("getwp", mib, f, pages, reps, ns, ok);
		ok = 1;

		for (int r = 0; r < reps; r++) {
			write_pages(t.area, w, stride, r);
			t0 = now_ns();
			scan(t.area, len, PM_SCAN_WP_MATCHING, PAGE_IS_WRITTEN,
			     0, PAGE_IS_WRITTEN, 0);
			ns[r] = now_ns() - t0;
			ok &= scan(t.area, len, 0, PAGE_IS_WRITTEN, 0,
				   PAGE_IS_WRITTEN, VEC_LEN) == 0;
		}
		print_scale("reset", mib, f, pages, reps, ns, ok);
		ok = 1;
	}
	uffd_disarm(&t);
	munmap(t.area, len);

	/* Arming unpopulated memory: page tables and markers are created. */
	for (int r = 0; r < reps; r++) {
		uint64_t t0;

		t.area = map_anon(len, 0);
		t.uffd = uffd_open(UFFD_FEATURE_WP_ASYNC |
				   UFFD_FEATURE_WP_UNPOPULATED);
		uffd_register_wp(t.uffd, t.area, len);
		t0 = now_ns();
		uffd_wp(t.uffd, t.area, len, 1);
		ns[r] = now_ns() - t0;
		ok &= scan(t.area, len, 0, PAGE_IS_WRITTEN, 0, PAGE_IS_WRITTEN,
			  VEC_LEN) == 0;
		uffd_disarm(&t);
		munmap(t.area, len);
	}
	print_scale("arm", mib, 0, pages, reps, ns, ok);
}

static void print_sparse(const char *op, size_t gib, size_t chunks,
			 int reps, uint64_t *ns, uint64_t found, uint64_t want)
{
	printf("{\"case\":\"sparse\",\"op\":\"%s\",\"gib\":%zu,\"pages\":%lu,"
	       "\"chunks\":%zu,\"reps\":%d,\"ns\":%llu,\"found\":%llu,"
	       "\"ok\":%s}\n",
	       op, gib, gib * GIB / PS, chunks, reps,
	       (unsigned long long)median(ns, reps),
	       (unsigned long long)found, found == want ? "true" : "false");
	fflush(stdout);
}

static char *map_sparse(size_t len, size_t *chunks)
{
	char *p = map_anon(len, MAP_NORESERVE);
	size_t n = 0;

	/* 1% of the 2 MiB chunks, evenly spread, populated at 4 KiB. */
	for (size_t c = 0; c < len / (2 * MIB); c += 100, n++)
		populate(p + c * 2 * MIB, 2 * MIB);
	*chunks = n;
	return p;
}

static void bench_sparse(size_t gib)
{
	size_t len = gib * GIB, chunks;
	uint64_t ns[MAX_REPS], found = 0, t0;
	int reps = quick ? 1 : 3, arm_reps = quick ? 1 : 2;
	char *p = map_sparse(len, &chunks);
	uint64_t present = chunks * (2 * MIB / PS);
	struct tracker t = { .len = len };

	for (int r = 0; r < reps; r++) {
		t0 = now_ns();
		found = pagemap_count(p, len, PM_PRESENT);
		ns[r] = now_ns() - t0;
	}
	print_sparse("read", gib, chunks, reps, ns, found, present);
	if (!have_async) {
		munmap(p, len);
		return;
	}

	for (int r = 0; r < reps; r++) {
		t0 = now_ns();
		found = scan(p, len, 0, 0, PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
			     PAGE_IS_PRESENT | PAGE_IS_SWAPPED, VEC_LEN);
		ns[r] = now_ns() - t0;
	}
	print_sparse("get", gib, chunks, reps, ns, found, present);

	for (int r = 0; r < arm_reps; r++) {
		if (r) {
			munmap(p, len);
			p = map_sparse(len, &chunks);
		}
		t.area = p;
		t.uffd = uffd_open(UFFD_FEATURE_WP_ASYNC |
				   UFFD_FEATURE_WP_UNPOPULATED);
		uffd_register_wp(t.uffd, p, len);
		t0 = now_ns();
		uffd_wp(t.uffd, p, len, 1);
		ns[r] = now_ns() - t0;
		if (r + 1 < arm_reps)
			uffd_disarm(&t);
	}
	found = scan(p, len, 0, PAGE_IS_WRITTEN, 0, PAGE_IS_WRITTEN, VEC_LEN);
	print_sparse("arm", gib, chunks, arm_reps, ns, found, 0);

	for (int r = 0; r < reps; r++) {
		write_pages(p, chunks, 100 * 2 * MIB / PS, r);
		t0 = now_ns();
		scan(p, len, PM_SCAN_WP_MATCHING, PAGE_IS_WRITTEN, 0,
		     PAGE_IS_WRITTEN, 0);
		ns[r] = now_ns() - t0;
	}
	found = scan(p, len, 0, PAGE_IS_WRITTEN, 0, PAGE_IS_WRITTEN, VEC_LEN);
	print_sparse("reset", gib, chunks, reps, ns, found, 0);
	uffd_disarm(&t);
	munmap(p, len);
}

static void bench_probe(size_t mib)
{
	static const char * const ops[] = {
		"none", "all", "allcat", "wpnone", "wpall", "wpsome",
		"getwpall", "getwpsome", "read",
	};
	/* Pages apart of the pages each op writes first (0: none) */
	static const size_t stride[] = { 0, 0, 0, 0, 1, 100, 1, 10, 0 };
	size_t len = mib * MIB, pages = len / PS;
	struct tracker t = { .area = map_anon(len, 0), .len = len };
	uint64_t ns[MAX_REPS], want = 0, got = 0;
	int reps = quick ? 3 : 7;

	populate(t.area, len);
	scan_arm(&t);
	for (size_t op = 0; op < ARRAY_SIZE(ops); op++) {
		int ok = 1;

		for (int r = 0; r < reps; r++) {
			uint64_t t0;

			if (stride[op])
				write_pages(t.area, pages / stride[op],
					    stride[op], r);
			t0 = now_ns();
			switch (op) {
			case 0:
				got = scan(t.area, len, 0, PAGE_IS_WRITTEN, 0,
					   PAGE_IS_WRITTEN, VEC_LEN);
				want = 0;
				break;
			case 1:
				got = scan(t.area, len, 0, 0, 0, 0, VEC_LEN);
				want = pages;
				break;
			case 2:
				got = scan(t.area, len, 0, 0, 0, ~0ULL >> 56,
					   VEC_LEN);
				want = pages;
				break;
			case 3:
			case 4:
			case 5:
				got = scan(t.area, len, PM_SCAN_WP_MATCHING,
					   PAGE_IS_WRITTEN, 0, PAGE_IS_WRITTEN, 0);
				want = 0;
				break;
			case 6:
			case 7:
				got = scan_collect(&t);
				want = pages / stride[op];
				break;
			case 8:
				got = pagemap_count(t.area, len, PM_PRESENT);
				want = pages;
				break;
			}
			ns[r] = now_ns() - t0;
			ok &= got == want;
		}
		printf("{\"case\":\"probe\",\"op\":\"%s\",\"mib\":%zu,"
		       "\"pages\":%zu,\"reps\":%d,\"ns\":%llu,\"ok\":%s}\n",
		       ops[op], mib, pages, reps,
		       (unsigned long long)median(ns, reps), ok ? "true" : "false");
		fflush(stdout);
	}
	uffd_disarm(&t);
	munmap(t.area, len);
}

static void bench_calib(void)
{
	uint64_t ns[5], x = 88172645463325252ULL;

	for (int r = 0; r < 5; r++) {
		uint64_t t0 = now_ns();

		for (int i = 0; i < 20000000; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
		}
		ns[r] = now_ns() - t0;
	}
	printf("{\"case\":\"calib\",\"ns\":%llu,\"sink\":%llu}\n",
	       (unsigned long long)median(ns, 5), (unsigned long long)(x & 1));
	fflush(stdout);
}

/*
 * A kernel without async uffd-wp (6.1 without the series) runs the other
 * mechanisms only, for comparisons of what the series does not touch.
 */
static void api_probe(void)
{
	struct uffdio_api api = {
		.api = UFFD_API,
		.features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED,
	};
	int fd = syscall(SYS_userfaultfd, O_CLOEXEC);

	if (fd < 0)
		die("userfaultfd");
	if (ioctl(fd, UFFDIO_API, &api)) {
		have_async = 0;
		printf("# no async uffd-wp: PAGEMAP_SCAN cases skipped\n");
	}
	close(fd);
}

static void print_info(void)
{
	char cs[64] = "unknown";
	struct utsname u;
	FILE *f;

	uname(&u);
	f = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource",
		  "r");
	if (f) {
		if (fscanf(f, "%63s", cs) != 1)
			strcpy(cs, "unknown");
		fclose(f);
	}
	printf("{\"case\":\"info\",\"kernel\":\"%s\",\"clocksource\":\"%s\","
	       "\"quick\":%d}\n", u.release, cs, quick);
	printf("# pmscan-bench on %s %s, clocksource %s%s\n", u.sysname,
	       u.release, cs, quick ? ", quick mode" : "");
	fflush(stdout);
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = { 1, 4, 16, 64, 256, 1024 };
	size_t nsizes = ARRAY_SIZE(sizes);
	uint64_t t0 = now_ns();

	quick = argc > 1 && !strcmp(argv[1], "-q");
	if (quick)
		nsizes = 3;
	setvbuf(stdout, NULL, _IOLBF, 0);
	pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pagemap_fd < 0)
		die("open pagemap");
	vec = calloc(VEC_LEN, sizeof(*vec));
	if (!vec)
		die("calloc");

	print_info();
	api_probe();
	if (argc > 1 && !strcmp(argv[1], "-p")) {
		bench_probe(64);
		return 0;
	}
	bench_calib();
	for (size_t i = 0; i < nsizes; i++)
		bench_cycles(sizes[i]);
	for (size_t i = 0; have_async && i < nsizes; i++)
		bench_scale(sizes[i]);
	bench_sparse(quick ? 4 : 64);
	if (have_async)
		bench_probe(quick ? 16 : 64);
	bench_calib();
	printf("{\"case\":\"total\",\"ns\":%llu}\n",
	       (unsigned long long)(now_ns() - t0));
	return 0;
}
