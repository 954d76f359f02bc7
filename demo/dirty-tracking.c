// SPDX-License-Identifier: GPL-2.0
/*
 * Demonstration: incremental snapshots of a heap with two dirty trackers.
 *
 * A workload writes random pages of a large anonymous heap in rounds. After
 * each round a tracker finds the pages written since the previous round,
 * copies them into its snapshot and re-arms. Two trackers run the same
 * rounds (same seed, so the same pages are written):
 *
 * PAGEMAP_SCAN: the heap is registered with an async userfaultfd
 * (UFFD_FEATURE_WP_ASYNC), so a write to a write-protected page just drops
 * its uffd-wp bit, with no message to handle. PAGEMAP_SCAN with
 * PM_SCAN_WP_MATCHING reports the written pages and write-protects them
 * again in the same pass, 256 regions per call, resuming at walk_end as
 * CRIU and Wine do.
 *
 * soft-dirty: pread() of /proc/self/pagemap (bit 55) for every page of the
 * heap reports the written pages; "4" written to /proc/self/clear_refs
 * re-arms, for the whole process.
 *
 * The time of a round is that of finding the pages, copying them and
 * re-arming (CLOCK_MONOTONIC), the best of a few passes over all rounds:
 * each pass starts from the same heap contents and seed, so it does the
 * same work and leaves the same heap. At the end each snapshot must equal
 * the heap byte for byte, and PAGEMAP_SCAN must have reported exactly the
 * written pages of every round (soft-dirty may report more).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <linux/fs.h>
#include <linux/userfaultfd.h>

#define DEFAULT_MIB	64
#define DEFAULT_ROUNDS	5
#define DEFAULT_PASSES	3
#define SEED		0x5eed2024d1e7ULL
#define NR_REGIONS	256	/* page_region entries per PAGEMAP_SCAN call */
#define WRITES_PER_PAGE	4	/* bytes changed in each page written */
#define PM_SOFT_DIRTY	(1ULL << 55)	/* /proc/pid/pagemap read() format */

/* Share of the heap written in each round, in pages per thousand. */
static const int permille[] = { 1, 10, 50, 100, 250 };
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define NR_SHARES	ARRAY_SIZE(permille)

enum { SCAN, SOFTDIRTY, NR_TRACKERS };

struct tracker {
	const char *name;
	void (*arm)(struct tracker *t);		/* start tracking, snapshot */
	void (*collect)(struct tracker *t);	/* find, copy, re-arm */
	void (*disarm)(struct tracker *t);
	char *snap;		/* the snapshot of the heap */
	int pagemap;		/* /proc/self/pagemap */
	int clear_refs;		/* /proc/self/clear_refs (soft-dirty) */
	int uffd;		/* userfaultfd (PAGEMAP_SCAN) */
	__u64 *pm;		/* pagemap entries of the heap (soft-dirty) */
	bool skipped;		/* not supported by this kernel */
};

/* One round of both trackers, over all passes. */
struct round {
	long dirtied;
	long reported[NR_TRACKERS];
	long extra[NR_TRACKERS];	/* reported but not dirtied */
	long missed[NR_TRACKERS];	/* dirtied but not reported */
	double best[NR_TRACKERS];	/* ms, the fastest pass */
	double sum[NR_TRACKERS];	/* ms, all passes */
	int runs[NR_TRACKERS];		/* passes */
};

static struct {
	char *base;
	size_t size;
	long psize;
	long npages;
} heap;

static unsigned char *dirtied;	/* per page: written in this round */
static unsigned char *reported;	/* per page: reported in this round */
static __u64 rng_state;
static int passes = DEFAULT_PASSES;
static double clock_res_ms;	/* the resolution of CLOCK_MONOTONIC */

static void fail(const char *what)
{
	printf("FAIL: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* xorshift64*: a fixed sequence for a fixed seed */
static __u64 rng_next(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static void *map_anon(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		fail("mmap");
	return p;
}

/* Gives every page its own content, so a misplaced copy would show. */
static void fill_heap(void)
{
	long i;

	for (i = 0; i < heap.npages; i++)
		memset(heap.base + i * heap.psize, (int)(i * 31 + 7),
		       heap.psize);
}

static void setup(long mib)
{
	heap.psize = sysconf(_SC_PAGESIZE);
	heap.size = (size_t)mib << 20;
	heap.npages = heap.size / heap.psize;
	heap.base = map_anon(heap.size);
	/* Track per base page: no THP in the heap. */
	if (madvise(heap.base, heap.size, MADV_NOHUGEPAGE))
		fail("madvise(MADV_NOHUGEPAGE)");
	dirtied = map_anon(heap.npages);
	reported = map_anon(heap.npages);
}

/* Writes a few random bytes into a random set of pages; returns its size. */
static long workload(int round)
{
	long want = heap.npages * permille[round % NR_SHARES] / 1000;
	long done = 0, i;
	char *page;
	int w;

	if (want < 1)
		want = 1;
	memset(dirtied, 0, heap.npages);
	while (done < want) {
		i = rng_next() % heap.npages;
		if (dirtied[i])
			continue;
		dirtied[i] = 1;
		done++;
		page = heap.base + i * heap.psize;
		/* adding 1..255 always changes the byte */
		for (w = 0; w < WRITES_PER_PAGE; w++)
			page[rng_next() % heap.psize] += 1 + rng_next() % 255;
	}
	return done;
}

/* Copies pages [first, first + nr) of the heap into the snapshot. */
static void take_pages(struct tracker *t, long first, long nr)
{
	size_t off = first * heap.psize;

	if (first < 0 || nr < 0 || first + nr > heap.npages) {
		errno = ERANGE;
		fail("reported pages outside the heap");
	}
	memcpy(t->snap + off, heap.base + off, nr * heap.psize);
	memset(reported + first, 1, nr);
}

/*
 * One PAGEMAP_SCAN pass over the heap: report the written pages and
 * write-protect them (GET+WP). With a NULL vec it only re-arms.
 */
static void pagemap_scan(struct tracker *t, struct page_region *vec,
			 unsigned long vec_len)
{
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.flags = PM_SCAN_WP_MATCHING,
		.start = (uintptr_t)heap.base,
		.end = (uintptr_t)heap.base + heap.size,
		.vec = (uintptr_t)vec,
		.vec_len = vec_len,
		.category_mask = PAGE_IS_WRITTEN,
		.return_mask = PAGE_IS_WRITTEN,
	};
	long n, i;

	do {
		n = ioctl(t->pagemap, PAGEMAP_SCAN, &arg);
		if (n < 0)
			fail("PAGEMAP_SCAN");
		for (i = 0; i < n; i++)
			take_pages(t, (vec[i].start - (uintptr_t)heap.base) /
				   heap.psize,
				   (vec[i].end - vec[i].start) / heap.psize);
		if (arg.walk_end <= arg.start || arg.walk_end > arg.end) {
			errno = EPROTO;
			fail("PAGEMAP_SCAN walk_end makes no progress");
		}
		arg.start = arg.walk_end;
	} while (arg.start < arg.end);
}

static void pagemap_scan_collect(struct tracker *t)
{
	static struct page_region vec[NR_REGIONS];

	pagemap_scan(t, vec, NR_REGIONS);
}

/* Async uffd-wp on the heap, armed by one GET+WP; then a full snapshot. */
static void pagemap_scan_arm(struct tracker *t)
{
	struct uffdio_api api = {
		.api = UFFD_API,
		.features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED,
	};
	struct uffdio_register reg = {
		.range.start = (uintptr_t)heap.base,
		.range.len = heap.size,
		.mode = UFFDIO_REGISTER_MODE_WP,
	};

	t->uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (t->uffd < 0 && errno == EPERM)
		t->uffd = syscall(__NR_userfaultfd,
				  O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	if (t->uffd < 0)
		fail("userfaultfd");
	if (ioctl(t->uffd, UFFDIO_API, &api))
		fail("UFFDIO_API with UFFD_FEATURE_WP_ASYNC");
	if (ioctl(t->uffd, UFFDIO_REGISTER, &reg))
		fail("UFFDIO_REGISTER_MODE_WP");
	/* Arm first: a write after this point is seen by the next scan. */
	pagemap_scan(t, NULL, 0);
	memcpy(t->snap, heap.base, heap.size);
}

static void pagemap_scan_disarm(struct tracker *t)
{
	struct uffdio_range range = {
		.start = (uintptr_t)heap.base,
		.len = heap.size,
	};

	if (ioctl(t->uffd, UFFDIO_UNREGISTER, &range))
		fail("UFFDIO_UNREGISTER");
	close(t->uffd);
}

static void softdirty_clear(struct tracker *t)
{
	if (write(t->clear_refs, "4", 1) != 1)
		fail("write 4 to /proc/self/clear_refs");
}

static void read_pagemap(struct tracker *t, __u64 *pm, long nr)
{
	size_t len = nr * sizeof(*pm), done = 0;
	off_t off = (uintptr_t)heap.base / heap.psize * sizeof(*pm);
	ssize_t n;

	while (done < len) {
		n = pread(t->pagemap, (char *)pm + done, len - done,
			  off + done);
		if (n <= 0) {
			errno = n ? errno : EIO;
			fail("read /proc/self/pagemap");
		}
		done += n;
	}
}

static void softdirty_collect(struct tracker *t)
{
	__u64 *pm = t->pm;
	long i, first;

	read_pagemap(t, pm, heap.npages);
	for (i = 0; i < heap.npages; i++) {
		if (!(pm[i] & PM_SOFT_DIRTY))
			continue;
		for (first = i; i < heap.npages && (pm[i] & PM_SOFT_DIRTY); i++)
			;
		take_pages(t, first, i - first);
	}
	/* Not atomic with the read: a write in between would be lost. */
	softdirty_clear(t);
}

/* Does a write after clear_refs show in pagemap? (CONFIG_MEM_SOFT_DIRTY) */
static bool softdirty_works(struct tracker *t)
{
	char c = heap.base[0];
	__u64 e;

	softdirty_clear(t);
	heap.base[0] = c + 1;
	asm volatile("" : : : "memory");	/* do both stores */
	heap.base[0] = c;
	read_pagemap(t, &e, 1);
	return e & PM_SOFT_DIRTY;
}

static void softdirty_arm(struct tracker *t)
{
	softdirty_clear(t);
	memcpy(t->snap, heap.base, heap.size);
}

static void softdirty_disarm(struct tracker *t)
{
}

/* Opens what a tracker needs for all passes. */
static void tracker_init(struct tracker *t)
{
	t->snap = map_anon(heap.size);
	t->pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (t->pagemap < 0)
		fail("open /proc/self/pagemap");
	if (t->arm != softdirty_arm)
		return;
	t->pm = map_anon(heap.npages * sizeof(*t->pm));
	t->clear_refs = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
	if (t->clear_refs < 0)
		fail("open /proc/self/clear_refs");
	t->skipped = !softdirty_works(t);
}

/* Compares the pages reported in a round with those written. */
static void count(struct round *r, int k)
{
	long nr = 0, extra = 0, i;

	for (i = 0; i < heap.npages; i++) {
		nr += reported[i];
		extra += reported[i] && !dirtied[i];
		r->missed[k] += dirtied[i] && !reported[i];
	}
	if (nr > r->reported[k])
		r->reported[k] = nr;
	if (extra > r->extra[k])
		r->extra[k] = extra;
}

/* All rounds with one tracker, from the initial heap contents and seed. */
static void run_pass(struct tracker *t, int k, struct round *r, int nr)
{
	double t0, ms;
	int i;

	fill_heap();
	rng_state = SEED;
	t->arm(t);
	for (i = 0; i < nr; i++) {
		r[i].dirtied = workload(i);
		memset(reported, 0, heap.npages);
		t0 = now_ms();
		t->collect(t);
		ms = now_ms() - t0;
		if (!r[i].runs[k]++ || ms < r[i].best[k])
			r[i].best[k] = ms;
		r[i].sum[k] += ms;
		count(&r[i], k);
	}
	t->disarm(t);
}

/*
 * The fastest pass shows the cost best on a noisy machine; with a clock
 * that ticks in milliseconds (a VM without a fine clocksource) only the
 * mean of the passes says something.
 */
static bool coarse_clock(void)
{
	return clock_res_ms > 0.001;
}

static double round_ms(struct round *r, int k)
{
	if (!r->runs[k])
		return 0;
	return coarse_clock() ? r->sum[k] / r->runs[k] : r->best[k];
}

static void print_header(long mib, int nr)
{
	printf("dirty-tracking: %ld MiB heap (%ld pages of %ld KiB). In each of %d rounds a workload writes random\n",
	       mib, heap.npages, heap.psize >> 10, nr);
	printf("pages, then a tracker finds them, copies them into its snapshot and re-arms; ms = those three steps\n");
	printf("(%s of %d passes). PAGEMAP_SCAN: GET+WP ioctls, async uffd-wp. soft-dirty: pagemap bit 55, clear_refs.\n",
	       coarse_clock() ? "mean" : "best", passes);
	if (coarse_clock())
		printf("note: the clock of this kernel ticks every %.3f ms, so the times are rough.\n",
		       clock_res_ms);
	printf("\n%13s | %-18s | %-26s | %s\n",
	       "pages", "PAGEMAP_SCAN", "soft-dirty", "time ratio");
	printf("%5s %7s | %8s %9s | %8s %6s %10s | %s\n", "round", "dirtied",
	       "reported", "ms", "reported", "extra", "ms", "sd/SCAN");
}

static void print_row(int i, struct round *r, bool sd)
{
	double scan = round_ms(r, SCAN), soft = round_ms(r, SOFTDIRTY);

	printf("%5d %7ld | %8ld %9.3f |", i + 1, r->dirtied,
	       r->reported[SCAN], scan);
	if (!sd)
		printf(" %8s %6s %10s | %7s\n", "n/a", "", "", "-");
	else if (scan > 0)
		printf(" %8ld %6ld %10.3f | %6.1fx\n", r->reported[SOFTDIRTY],
		       r->extra[SOFTDIRTY], soft, soft / scan);
	else
		printf(" %8ld %6ld %10.3f | %7s\n", r->reported[SOFTDIRTY],
		       r->extra[SOFTDIRTY], soft, "-");
}

/* Prints the outcome of comparing a snapshot with the heap. */
static bool verify(struct tracker *t)
{
	long i;

	printf("%-13s ", t->name);
	if (t->skipped) {
		printf("skipped: soft-dirty does not work on this kernel (CONFIG_MEM_SOFT_DIRTY=n?)\n");
		return true;
	}
	if (!memcmp(t->snap, heap.base, heap.size)) {
		printf("PASS: snapshot equals memory (%zu bytes)\n", heap.size);
		return true;
	}
	for (i = 0; i < heap.npages; i++)
		if (memcmp(t->snap + i * heap.psize, heap.base + i * heap.psize,
			   heap.psize))
			break;
	printf("FAIL: snapshot differs from memory at page %ld (heap offset %#lx)\n",
	       i, i * heap.psize);
	return false;
}

/* PAGEMAP_SCAN must report exactly the dirtied pages in every round. */
static bool check_exact(struct round *r, int nr, bool sd)
{
	long extra = 0, missed = 0, sd_extra = 0, sd_missed = 0;
	int i;

	for (i = 0; i < nr; i++) {
		extra += r[i].extra[SCAN];
		missed += r[i].missed[SCAN];
		sd_extra += r[i].extra[SOFTDIRTY];
		sd_missed += r[i].missed[SOFTDIRTY];
	}
	if (extra || missed)
		printf("FAIL: PAGEMAP_SCAN reported %ld pages not dirtied and missed %ld dirtied pages\n",
		       extra, missed);
	else
		printf("PASS: PAGEMAP_SCAN reported exactly the dirtied pages in every round\n");
	if (sd)
		printf("soft-dirty reported %ld extra pages in all rounds and missed %ld\n",
		       sd_extra, sd_missed);
	return !extra && !missed;
}

static void print_usage(const char *prog)
{
	fprintf(stderr, "usage: %s [-m MiB (%d)] [-n rounds (%d)] [-p passes (%d)]\n",
		prog, DEFAULT_MIB, DEFAULT_ROUNDS, DEFAULT_PASSES);
	exit(2);
}

int main(int argc, char **argv)
{
	struct tracker trackers[NR_TRACKERS] = {
		[SCAN] = { "PAGEMAP_SCAN", pagemap_scan_arm,
			   pagemap_scan_collect, pagemap_scan_disarm },
		[SOFTDIRTY] = { "soft-dirty", softdirty_arm,
				softdirty_collect, softdirty_disarm },
	};
	int nr = DEFAULT_ROUNDS, opt, i, k;
	long mib = DEFAULT_MIB;
	struct round *rounds;
	struct timespec res;
	bool ok, sd;

	while ((opt = getopt(argc, argv, "m:n:p:")) != -1) {
		if (opt == 'm')
			mib = atol(optarg);
		else if (opt == 'n')
			nr = atoi(optarg);
		else if (opt == 'p')
			passes = atoi(optarg);
		else
			print_usage(argv[0]);
	}
	if (mib < 1 || mib > 65536 || nr < 1 || nr > 1000 || passes < 1 ||
	    passes > 100 || optind < argc)
		print_usage(argv[0]);
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (!clock_getres(CLOCK_MONOTONIC, &res))
		clock_res_ms = res.tv_sec * 1e3 + res.tv_nsec / 1e6;
	setup(mib);
	print_header(mib, nr);
	rounds = calloc(nr, sizeof(*rounds));
	if (!rounds)
		fail("calloc");
	for (k = 0; k < NR_TRACKERS; k++)
		tracker_init(&trackers[k]);
	sd = !trackers[SOFTDIRTY].skipped;

	/* Alternate the trackers, so a slow spell of the machine hits both. */
	for (i = 0; i < passes; i++)
		for (k = 0; k < NR_TRACKERS; k++)
			if (!trackers[k].skipped)
				run_pass(&trackers[k], k, rounds, nr);

	for (i = 0; i < nr; i++)
		print_row(i, &rounds[i], sd);
	printf("\n");
	ok = verify(&trackers[SCAN]);
	ok &= verify(&trackers[SOFTDIRTY]);
	ok &= check_exact(rounds, nr, sd);
	return ok ? 0 : 1;
}
