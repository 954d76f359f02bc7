// SPDX-License-Identifier: GPL-2.0
/*
 * pmscan-difftest: PAGEMAP_SCAN, case by case, for a differential test: the
 * same binary runs on our kernel and on upstream 6.12, difftest/compare
 * reads the two outputs side by side. Written from the behaviour spec.
 *
 *   pmscan-difftest [SEED [N [FIRST]]]   default SEED 20261207, N 20000, FIRST 0
 *
 * One fixed layout at BASE (addresses print relative to it), holes between
 * its areas (see areas[]); all but unreg registered in WP mode with one uffd
 * with WP_ASYNC|WP_UNPOPULATED. Each case rebuilds the layout and brings it
 * to a state drawn from the case's own PRNG (seeded from SEED and the case
 * number, so cases are independent): soft-dirty cleared, pages written or
 * read, areas armed whole, in part or not at all, then writes, reads,
 * MADV_DONTNEED and MADV_PAGEOUT (zram swap). Then one PAGEMAP_SCAN call
 * (random, hostile, or one client's loop on walk_end: spec section 6), each
 * call printed as
 *
 *   C CASE.I KIND f=FLAGS s=START e=END v=VEC vl=VEC_LEN mp=MAX_PAGES
 *     ci=INV cm=MASK ca=ANYOF rm=RETURN [sz=SIZE] [arg=ro|0] -> RET|ERRNO
 *     we=WALK_END [copied=N] START-END:CATS ... [tail!]
 *
 * then the layout's state after it (a GET of every page, every category
 * returned, no WP): "P CASE n=N START-END:CATS ...". "@hex" is an absolute
 * address; categories are letters: a WPALLOWED, w WRITTEN, f FILE, p PRESENT,
 * s SWAPPED, z PFNZERO, h HUGE, d SOFT_DIRTY ("-" none, "+hex" beyond).
 * copied=N: the regions found in vec after an error; tail!: a vec entry
 * written past the count returned. Lines starting with '#' are for people.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
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

#ifndef PAGEMAP_SCAN
#define PM_SCAN_WP_MATCHING	(1 << 0)
#define PM_SCAN_CHECK_WPASYNC	(1 << 1)
#define PAGE_IS_WPALLOWED	(1 << 0)
#define PAGE_IS_WRITTEN		(1 << 1)
#define PAGE_IS_FILE		(1 << 2)
#define PAGE_IS_PRESENT		(1 << 3)
#define PAGE_IS_SWAPPED		(1 << 4)
#define PAGE_IS_PFNZERO		(1 << 5)
#define PAGE_IS_HUGE		(1 << 6)
#define PAGE_IS_SOFT_DIRTY	(1 << 7)

struct page_region {
	__u64 start;
	__u64 end;
	__u64 categories;
};

struct pm_scan_arg {
	__u64 size;
	__u64 flags;
	__u64 start;
	__u64 end;
	__u64 walk_end;
	__u64 vec;
	__u64 vec_len;
	__u64 max_pages;
	__u64 category_inverted;
	__u64 category_mask;
	__u64 category_anyof_mask;
	__u64 return_mask;
};

#define PAGEMAP_SCAN	_IOWR('f', 16, struct pm_scan_arg)
#endif

#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED	(1 << 13)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC		(1 << 15)
#endif

#define PS		4096UL
#define HPS		(2UL << 20)
#define BASE		0x7f0000000000UL
#define SPAN		0x2000000UL
#define WINDOW		(1UL << 30)		/* printed relative below this */
#define BUFS		(BASE + 0x40000000UL)	/* buffers, outside the layout */
#define VEC_MAX		32768			/* 768 KiB of the 1 MiB buffers */
#define LOOP_MAX	300
#define ALL_CATS	0xffULL
#define WALK_SENTINEL	0xbad000ULL
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

enum kind { K_ANON, K_THP, K_SHMEM, K_SHTHP, K_FILE, K_HTLB, K_UNREG };

struct area {
	const char *name;
	enum kind kind;
	unsigned long off, len;
};

static const struct area areas[] = {
	{ "anon",  K_ANON,  0x0000000, 64 * PS },  /* private, NOHUGEPAGE */
	{ "thp",   K_THP,   0x0200000, 3 * HPS },  /* private, HUGEPAGE */
	{ "shmem", K_SHMEM, 0x0a00000, 64 * PS },  /* memfd, NOHUGEPAGE */
	{ "shthp", K_SHTHP, 0x0c00000, 2 * HPS },  /* memfd, HUGEPAGE */
	{ "file",  K_FILE,  0x1200000, 32 * PS },  /* private, /var/tmp file */
	{ "htlb",  K_HTLB,  0x1400000, 3 * HPS },  /* MAP_HUGETLB 2 MiB */
	{ "unreg", K_UNREG, 0x1c00000, 2 * HPS },  /* anon, not registered */
};

#define NAREAS	ARRAY_SIZE(areas)

static int pagemap_fd, file_fd, uffd = -1, have_swap;
static unsigned long ncase;
static uint64_t rs;
static struct page_region *vecbuf, *postbuf, *robuf, *partpage;
static struct pm_scan_arg *roarg;

static void die(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	fflush(stdout);
	va_start(ap, fmt);
	fprintf(stderr, "pmscan-difftest: case %lu: ", ncase);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(err));
	printf("# FATAL in case %lu\n", ncase);
	exit(1);
}

/* xorshift64*, seeded per case through splitmix64 */
static uint64_t splitmix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint64_t rnd(void)
{
	rs ^= rs >> 12;
	rs ^= rs << 25;
	rs ^= rs >> 27;
	return rs * 0x2545f4914f6cdd1dULL;
}

static uint64_t rndn(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static int chance(int pct)
{
	return (int)rndn(100) < pct;
}

static unsigned long area_addr(const struct area *a)
{
	return BASE + a->off;
}

static unsigned long area_unit(const struct area *a)
{
	return a->kind == K_HTLB ? HPS : PS;
}

static const struct area *rnd_area(void)
{
	return &areas[rndn(NAREAS)];
}

/* unreg, the one area never registered, is the last */
static const struct area *rnd_registered(void)
{
	return &areas[rndn(NAREAS - 1)];
}

/* Printing */

static const char *fa(uint64_t a)
{
	static char buf[8][24];
	static int i;
	char *p = buf[i++ & 7];

	if (a >= BASE && a < BASE + WINDOW)
		snprintf(p, 24, "%llx", (unsigned long long)(a - BASE));
	else
		snprintf(p, 24, "@%llx", (unsigned long long)a);
	return p;
}

static const char *fc(uint64_t c)
{
	static char buf[8][32];
	static int i;
	char *p = buf[i++ & 7], *q = p;
	int b;

	for (b = 0; b < 8; b++)
		if (c & (1ULL << b))
			*q++ = "awfpszhd"[b];
	if (q == p)
		*q++ = '-';
	*q = 0;
	if (c >> 8)
		snprintf(q, 20, "+%llx", (unsigned long long)(c >> 8 << 8));
	return p;
}

static const char *errname(int e)
{
	static const char *names[] = {
		[EPERM] = "EPERM", [ESRCH] = "ESRCH", [EINTR] = "EINTR",
		[ENOMEM] = "ENOMEM", [EFAULT] = "EFAULT", [EINVAL] = "EINVAL",
		[ENOTTY] = "ENOTTY",
	};
	static char buf[16];

	if (e > 0 && e < (int)ARRAY_SIZE(names) && names[e])
		return names[e];
	snprintf(buf, sizeof(buf), "E%d", e);
	return buf;
}

static void print_regions(const struct page_region *v, long n)
{
	long i;

	for (i = 0; i < n; i++)
		printf(" %s-%s:%s", fa(v[i].start), fa(v[i].end),
		       fc(v[i].categories));
}

static int region_untouched(const struct page_region *r)
{
	const unsigned char *p = (const unsigned char *)r;
	size_t i;

	for (i = 0; i < sizeof(*r); i++)
		if (p[i] != 0xa5)
			return 0;
	return 1;
}

static const char *vdesc(uint64_t vec)
{
	static char buf[24];

	if (!vec)
		return "0";
	if (vec == (uintptr_t)vecbuf)
		return "buf";
	if (vec == (uintptr_t)robuf)
		return "ro";
	if (vec >= (uintptr_t)partpage - 64 * sizeof(struct page_region) &&
	    vec < (uintptr_t)partpage)
		return "part";
	snprintf(buf, sizeof(buf), "@%llx", (unsigned long long)vec);
	return buf;
}

/* The writable entries vec has in front of read-only memory, if any */
static long vec_room(uint64_t vec, uint64_t vec_len)
{
	if (vec == (uintptr_t)vecbuf)
		return vec_len < VEC_MAX ? (long)vec_len : VEC_MAX;
	if (vdesc(vec)[0] == 'p') {
		long n = ((uintptr_t)partpage - vec) / sizeof(struct page_region);

		return (uint64_t)n < vec_len ? n : (long)vec_len;
	}
	return 0;
}

/*
 * One PAGEMAP_SCAN call, printed. argp is what the ioctl gets (&a, NULL
 * or the read-only copy). Returns the ioctl's result; a->walk_end is what
 * the kernel wrote back.
 */
static long scan(struct pm_scan_arg *a, void *argp, int idx, const char *kind)
{
	struct page_region *v = (struct page_region *)(uintptr_t)a->vec;
	long room = vec_room(a->vec, a->vec_len), r, n = 0;
	int err = 0;

	a->walk_end = WALK_SENTINEL;
	if (room)
		memset(v, 0xa5, room * sizeof(*v));
	if (argp == roarg) {
		if (mprotect(roarg, PS, PROT_READ | PROT_WRITE))
			die("mprotect");
		*roarg = *a;
		if (mprotect(roarg, PS, PROT_READ))
			die("mprotect");
	}
	r = ioctl(pagemap_fd, PAGEMAP_SCAN, argp);
	if (r < 0)
		err = errno;
	if (argp == roarg)
		a->walk_end = roarg->walk_end;

	printf("C %lu.%d %s f=%llx s=%s e=%s v=%s vl=%llu mp=%llu ci=%s cm=%s ca=%s rm=%s",
	       ncase, idx, kind, (unsigned long long)a->flags, fa(a->start),
	       fa(a->end), vdesc(a->vec), (unsigned long long)a->vec_len,
	       (unsigned long long)a->max_pages, fc(a->category_inverted),
	       fc(a->category_mask), fc(a->category_anyof_mask),
	       fc(a->return_mask));
	if (a->size != sizeof(*a))
		printf(" sz=%llu", (unsigned long long)a->size);
	if (argp != a)
		printf(" arg=%s", argp ? "ro" : "0");
	if (r < 0)
		printf(" -> %s", errname(err));
	else
		printf(" -> %ld", r);
	printf(" we=%s", fa(a->walk_end));
	if (r >= 0) {
		n = r < room ? r : room;
	} else {
		while (n < room && !region_untouched(&v[n]))
			n++;
		printf(" copied=%ld", n);
	}
	print_regions(v, n);
	if (r >= 0 && r < room && !region_untouched(&v[r]))
		printf(" tail!");
	putchar('\n');
	errno = err;
	return r;
}

/* The state of the whole layout: every page, every category, no WP */
static void post_state(void)
{
	struct pm_scan_arg a = {
		.size = sizeof(a), .start = BASE, .end = BASE + SPAN,
		.vec = (uintptr_t)postbuf, .vec_len = VEC_MAX,
		.return_mask = ALL_CATS,
	};
	long r = ioctl(pagemap_fd, PAGEMAP_SCAN, &a);

	if (r < 0) {
		printf("P %lu %s\n", ncase, errname(errno));
		return;
	}
	printf("P %lu n=%ld", ncase, r);
	print_regions(postbuf, r);
	putchar('\n');
}

/* The layout */

static void touch(unsigned long addr, int write)
{
	volatile char *p = (volatile char *)addr;

	if (write)
		*p = (char)(ncase | 1);
	else
		(void)*p;
}

static void map_area(const struct area *a)
{
	void *want = (void *)area_addr(a), *p;
	int prot = PROT_READ | PROT_WRITE, fd = -1, advice = 0;
	int flags = MAP_PRIVATE | MAP_FIXED_NOREPLACE;

	switch (a->kind) {
	case K_SHMEM:
	case K_SHTHP:
		fd = memfd_create(a->name, MFD_CLOEXEC);
		if (fd < 0 || ftruncate(fd, a->len))
			die("memfd %s", a->name);
		flags = MAP_SHARED | MAP_FIXED_NOREPLACE;
		break;
	case K_FILE:
		fd = file_fd;
		break;
	case K_HTLB:
		flags |= MAP_ANONYMOUS | MAP_HUGETLB;
		break;
	default:
		flags |= MAP_ANONYMOUS;
	}
	p = mmap(want, a->len, prot, flags, fd, 0);
	if (p != want)
		die("mmap %s", a->name);
	if (fd >= 0 && fd != file_fd)
		close(fd);
	if (a->kind == K_THP || a->kind == K_SHTHP)
		advice = MADV_HUGEPAGE;
	else if (a->kind != K_HTLB && a->kind != K_FILE)
		advice = MADV_NOHUGEPAGE;
	if (advice && madvise(p, a->len, advice))
		die("madvise %s", a->name);
}

static void uffd_wp(unsigned long start, unsigned long len)
{
	struct uffdio_writeprotect wp = {
		.range = { .start = start, .len = len },
		.mode = UFFDIO_WRITEPROTECT_MODE_WP,
	};

	if (ioctl(uffd, UFFDIO_WRITEPROTECT, &wp))
		die("UFFDIO_WRITEPROTECT %s+%lx", fa(start), len);
}

/*
 * Before arming: each huge unit (THP areas: each PMD) untouched, written or
 * read; small pages in a few runs, written or read.
 */
static void populate(const struct area *a)
{
	unsigned long addr = area_addr(a), n = a->len / PS, i, first, cnt;
	int k, runs;

	if (a->kind == K_THP || a->kind == K_SHTHP || a->kind == K_HTLB) {
		for (i = 0; i < a->len / HPS; i++) {
			k = rndn(100);
			if (k >= 35)
				touch(addr + i * HPS + rndn(HPS / PS) * PS, k < 75);
		}
		return;
	}
	for (runs = rndn(5); runs > 0; runs--) {
		first = rndn(n);
		cnt = 1 + rndn(n - first < 16 ? n - first : 16);
		k = chance(60);
		for (i = first; i < first + cnt; i++)
			touch(addr + i * PS, k);
	}
}

/* Arm whole (60%), in part (20%) or not at all (20%) */
static void arm(const struct area *a)
{
	unsigned long unit = area_unit(a), n = a->len / unit, first, cnt;
	int k = rndn(100);

	if (k < 60) {
		uffd_wp(area_addr(a), a->len);
	} else if (k < 80) {
		first = rndn(n);
		cnt = 1 + rndn(n - first);
		uffd_wp(area_addr(a) + first * unit, cnt * unit);
	}
}

static void reset(void)
{
	struct uffdio_api api = {
		.api = UFFD_API,
		.features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED,
	};
	unsigned int i;
	int fd;

	if (munmap((void *)BASE, SPAN))
		die("munmap");
	if (uffd >= 0)
		close(uffd);
	uffd = syscall(__NR_userfaultfd,
		       O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api))
		die("userfaultfd with WP_ASYNC|WP_UNPOPULATED");
	for (i = 0; i < NAREAS; i++) {
		const struct area *a = &areas[i];
		struct uffdio_register reg = {
			.range = { .start = area_addr(a), .len = a->len },
			.mode = UFFDIO_REGISTER_MODE_WP,
		};

		map_area(a);
		if (a->kind != K_UNREG && ioctl(uffd, UFFDIO_REGISTER, &reg))
			die("UFFDIO_REGISTER %s", a->name);
	}
	/*
	 * Soft-dirty cleared before the pages exist: a THP created after it
	 * is soft-dirty on both kernels, and so are the pages a split makes
	 * of it (6.12 marks them dirty, which on x86 is soft-dirty too; 6.1
	 * copies the PMD's soft-dirty bit alone).
	 */
	fd = open("/proc/self/clear_refs", O_WRONLY);
	if (fd < 0 || write(fd, "4", 1) != 1)
		die("clear_refs");
	close(fd);
	for (i = 0; i < NAREAS; i++)
		populate(&areas[i]);
	for (i = 0; i < NAREAS; i++)
		if (areas[i].kind != K_UNREG)
			arm(&areas[i]);
}

/* After arming: writes, reads, MADV_DONTNEED, MADV_PAGEOUT */
static void act(void)
{
	const struct area *a = rnd_area();
	unsigned long unit = area_unit(a), n = a->len / unit;
	unsigned long first = rndn(n), cnt = 1 + rndn(n - first < 16 ? n - first : 16);
	unsigned long addr = area_addr(a) + first * unit, i, stride;
	int k = rndn(100);
	/*
	 * Not the THP area: 6.12 maps the zero-filled subpages of a THP that
	 * reclaim splits to the zero page (6.1 swaps them out)
	 */
	int anon = a->kind == K_ANON || a->kind == K_UNREG;

	if (k < 38) {
		for (i = 0; i < cnt; i++)
			touch(addr + i * unit, 1);
	} else if (k < 60) {
		for (i = 0; i < cnt; i++)
			touch(addr + i * unit, 0);
	} else if (k < 64) {
		/* many small regions: every 2nd or 3rd page */
		stride = 2 + rndn(2);
		if (chance(60))
			first = 0;
		cnt = chance(60) ? n - first : 1 + rndn(n - first);
		for (i = first; i < first + cnt; i += stride)
			touch(area_addr(a) + i * unit, 1);
	} else if (k < 85 || !anon || !have_swap) {
		if (madvise((void *)addr, cnt * unit, MADV_DONTNEED))
			die("MADV_DONTNEED %s", fa(addr));
	} else {
		if (madvise((void *)addr, cnt * unit, MADV_PAGEOUT))
			die("MADV_PAGEOUT %s", fa(addr));
	}
}

/* Arguments */

static uint64_t rnd_cats(void)
{
	uint64_t m = 0;
	int i, n = 1 + rndn(3);

	for (i = 0; i < n; i++)
		m |= 1ULL << rndn(8);
	return m;
}

/* A page range inside the layout; for huge areas often at 2 MiB edges */
static void rnd_range(__u64 *s, __u64 *e)
{
	int k = rndn(100);

	if (k < 55) {
		const struct area *a = rnd_area();
		unsigned long u = (a->kind == K_HTLB || a->kind == K_THP ||
				   a->kind == K_SHTHP) && chance(40) ? HPS : PS;
		unsigned long n = a->len / u, first = rndn(n);
		unsigned long cnt = chance(15) ? 0 : 1 + rndn(n - first);

		*s = area_addr(a) + first * u;
		*e = *s + cnt * u;
		if (chance(15))	/* run on into the next hole or area */
			*e += (1 + rndn(1024)) * PS;
		if (*e > BASE + SPAN)
			*e = BASE + SPAN;
	} else if (k < 90) {
		*s = BASE + rndn(SPAN / PS) * PS;
		*e = *s + rndn((BASE + SPAN - *s) / PS + 1) * PS;
	} else {
		*s = BASE;
		*e = BASE + SPAN;
	}
	if (*e > *s && chance(20))	/* unaligned end, rounded up */
		*e -= 1 + rndn(PS - 1);
}

static void rnd_out(struct pm_scan_arg *a)
{
	int k = rndn(100);

	a->vec = (uintptr_t)vecbuf;
	if (k < 10)
		a->vec = 0, a->vec_len = 0;
	else if (k < 18)
		a->vec_len = 0;
	else if (k < 33)
		a->vec_len = 1;
	else if (k < 58)
		a->vec_len = 2 + rndn(15);
	else if (k < 80)
		a->vec_len = 17 + rndn(600);
	else
		a->vec_len = VEC_MAX;
	k = rndn(100);
	a->max_pages = k < 45 ? 0 : k < 70 ? 1 + rndn(16) : 1 + rndn(2000);
}

static void rnd_call(struct pm_scan_arg *a)
{
	memset(a, 0, sizeof(*a));
	a->size = sizeof(*a);
	rnd_range(&a->start, &a->end);
	rnd_out(a);
	a->flags = (chance(45) ? PM_SCAN_WP_MATCHING : 0) |
		   (chance(20) ? PM_SCAN_CHECK_WPASYNC : 0);
	a->category_mask = chance(45) ? 0 : rnd_cats();
	a->category_anyof_mask = chance(60) ? 0 : rnd_cats();
	a->category_inverted = chance(70) ? 0 :
		chance(50) ? (a->category_mask | a->category_anyof_mask) & rnd() :
		rnd_cats();
	switch (rndn(7)) {
	case 0: a->return_mask = 0; break;
	case 1: case 2: case 3: a->return_mask = ALL_CATS; break;
	default: a->return_mask = rnd_cats();
	}
}

/*
 * More than 512 regions in one call: every 2nd or 3rd page of the anon THP
 * area or of the unregistered one written, all of it scanned
 */
static void many_regions(struct pm_scan_arg *a)
{
	const struct area *ar = &areas[chance(50) ? 1 : NAREAS - 1];
	unsigned long i, stride = 2 + rndn(2);

	for (i = 0; i < ar->len; i += stride * PS)
		touch(area_addr(ar) + i, 1);
	rnd_call(a);
	a->start = chance(50) ? BASE : area_addr(ar);
	a->end = chance(50) ? BASE + SPAN : area_addr(ar) + ar->len;
	a->vec = (uintptr_t)vecbuf;
	a->vec_len = chance(50) ? VEC_MAX : 513 + rndn(2000);
	a->return_mask = chance(50) ? ALL_CATS : a->return_mask;
}

/* Calls */

/*
 * Loop on walk_end as clients do, until the range is done, a call fails,
 * the page budget (if any) is spent or the loop makes no progress.
 */
static void client_loop(struct pm_scan_arg *a, const char *kind, uint64_t budget)
{
	uint64_t end = a->end, start;
	int i;
	long r, j;

	for (i = 0; i < LOOP_MAX; i++) {
		if (budget)
			a->max_pages = budget;
		start = a->start;
		r = scan(a, a, i, kind);
		if (r < 0 || a->walk_end >= ((end + PS - 1) & ~(PS - 1)))
			return;
		if (a->walk_end <= start) {
			printf("C %lu.%d %s no-progress\n", ncase, i + 1, kind);
			return;
		}
		for (j = 0; budget && j < r && j < VEC_MAX; j++)
			budget -= (vecbuf[j].end - vecbuf[j].start) / PS;
		if (budget == 0 && a->max_pages)
			return;
		a->start = a->walk_end;
	}
	printf("C %lu.%d %s loop-cap\n", ncase, i, kind);
}

static void client_call(void)
{
	struct pm_scan_arg a = { .size = sizeof(a), .vec = (uintptr_t)vecbuf };
	const struct area *ar;
	int k = rndn(6);

	switch (k) {
	case 0:	/* CRIU: the masks of its dump */
	case 1:
		a.category_inverted = PAGE_IS_PFNZERO | PAGE_IS_FILE;
		a.category_mask = PAGE_IS_PFNZERO | PAGE_IS_FILE;
		a.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED;
		a.return_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED |
				PAGE_IS_SOFT_DIRTY;
		if (k == 0) {	/* the probe: start == end == 0, no vec */
			a.vec = 0;
			scan(&a, &a, 0, "criu-probe");
			return;
		}
		/* the dump: one VMA or a 2 MiB window, up to 32768 entries */
		ar = rnd_area();
		a.start = area_addr(ar);
		a.end = chance(50) ? a.start + ar->len : a.start + HPS;
		a.vec_len = chance(50) ? VEC_MAX : 1 + rndn(64);
		client_loop(&a, "criu-dump", 0);
		return;
	case 2:	/* Wine ResetWriteWatch */
		ar = chance(50) ? &areas[0] : rnd_registered();
		a.flags = PM_SCAN_WP_MATCHING;
		a.start = area_addr(ar);
		a.end = a.start + ar->len;
		a.vec = 0;
		a.category_mask = a.return_mask = PAGE_IS_WRITTEN;
		scan(&a, &a, 0, "wine-reset");
		return;
	case 3:	/* Wine GetWriteWatch: 256 entries, max_pages = room left */
		ar = chance(50) ? &areas[0] : rnd_registered();
		a.flags = chance(50) ? PM_SCAN_WP_MATCHING : 0;
		a.start = area_addr(ar) + (chance(50) ? 0 : rndn(ar->len / PS) * PS);
		a.end = area_addr(ar) + ar->len;
		a.vec_len = 256;
		a.category_mask = a.return_mask = PAGE_IS_WRITTEN;
		client_loop(&a, "wine-get", 1 + rndn(ar->len / PS));
		return;
	case 4:	/* Wasmtime: no uffd, a small vec and a page budget */
		ar = chance(50) ? &areas[NAREAS - 1] : rnd_area();
		a.start = area_addr(ar);
		a.end = a.start + ar->len;
		a.vec_len = 1 + rndn(8);
		a.category_mask = PAGE_IS_WRITTEN | PAGE_IS_PRESENT |
				  PAGE_IS_PFNZERO | PAGE_IS_FILE;
		a.category_inverted = PAGE_IS_PFNZERO | PAGE_IS_FILE;
		client_loop(&a, "wasmtime", 1 + rndn(ar->len / PS));
		return;
	default: /* live migration / gVisor */
		rnd_range(&a.start, &a.end);
		a.flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC;
		a.vec_len = chance(50) ? 256 : 1 + rndn(16);
		a.category_mask = a.return_mask = PAGE_IS_WRITTEN;
		client_loop(&a, "gvisor", 0);
	}
}

static void hostile_call(void)
{
	struct pm_scan_arg a;
	void *argp = &a;
	uint64_t vec;

	rnd_call(&a);
	switch (rndn(15)) {
	case 0:
		a.size = (uint64_t[]){ 0, 88, 95, 97, 104, 4096, 1ULL << 32 }[rndn(7)];
		break;
	case 1:
		a.flags |= chance(50) ? 1ULL << (2 + rndn(62)) : 4;
		break;
	case 2:
		(&a.category_inverted)[rndn(4)] |= chance(70) ? 1ULL << 8 :
						   1ULL << (9 + rndn(55));
		break;
	case 3:
		a.start += 1 + rndn(PS - 1);
		break;
	case 4:	/* end a few bytes below start */
		a.start = BASE + PS + rndn(SPAN / PS - 1) * PS;
		a.end = a.start - 1 - rndn(PS - 1);
		break;
	case 5:	/* end pages below start */
		a.start = BASE + 64 * PS + rndn(SPAN / PS - 64) * PS;
		a.end = a.start - (1 + rndn(64)) * PS;
		break;
	case 6:	/* above the user limit */
		switch (rndn(4)) {
		case 0: a.end = 1ULL << 47; break;
		case 1: a.end = ~0ULL; break;
		case 2: a.end = (1ULL << 47) + (1 + rndn(64)) * PS; break;
		default: a.start = 1ULL << 47; a.end = a.start + PS;
		}
		break;
	case 7:
		a.vec = 0;
		a.vec_len = 1 + rndn(100);
		break;
	case 8:	/* vec_len whose size overflows or leaves user space */
		vec = a.vec = (uintptr_t)vecbuf;
		switch (rndn(3)) {
		case 0: a.vec_len = 1ULL << 60; break;
		case 1: a.vec_len = ~0ULL / 24 + 1 + rndn(100); break;
		default: a.vec_len = ((1ULL << 47) - vec) / 24 + 1;
		}
		break;
	case 9:
	case 10: /* read-only vec: EFAULT on copy-out */
		a.vec = (uintptr_t)robuf;
		a.vec_len = 1 + rndn(64);
		break;
	case 11: /* vec with room for a few entries before read-only memory */
		a.vec = (uintptr_t)(partpage - 1 - rndn(8));
		a.vec_len = 2 + rndn(64);
		a.max_pages = 0;
		a.return_mask = ALL_CATS;
		break;
	case 12: /* the argument itself is read-only: EFAULT on walk_end */
		argp = roarg;
		break;
	case 13: /* no argument */
		argp = NULL;
		break;
	default: /* vec_len large but in user space */
		a.vec = (uintptr_t)vecbuf;
		a.vec_len = 1ULL << 30;
	}
	scan(&a, argp, 0, "hostile");
}

/* Setup */

static void sysfs_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0 || write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		printf("# cannot write %s to %s: %s\n", val, path, strerror(errno));
	if (fd >= 0)
		close(fd);
}

static void sysfs_show(const char *path)
{
	char buf[256] = "?\n";
	FILE *f = fopen(path, "r");

	if (f && !fgets(buf, sizeof(buf), f))
		strcpy(buf, "?\n");
	printf("# %s: %s", path, buf);
	if (f)
		fclose(f);
}

#define THP "/sys/kernel/mm/transparent_hugepage/"

/*
 * THP fixed; khugepaged and proactive compaction kept from changing pages
 * behind the test's back. khugepaged restarts (enabled never, then madvise)
 * with a sleep of a day between scans; the scan it makes when the first
 * MADV_HUGEPAGE area appears is over an empty dummy, waited for here.
 */
static void setup_kernel(void)
{
	static const char *shown[] = {
		THP "enabled", THP "defrag", THP "shmem_enabled",
		THP "use_zero_page", THP "khugepaged/scan_sleep_millisecs",
		"/proc/sys/vm/compaction_proactiveness",
		"/proc/sys/vm/nr_hugepages",
	};
	char before[64] = "", after[64] = "";
	struct timespec ts = { 0, 50 * 1000 * 1000 };	/* 20 x 50 ms */
	unsigned int i;
	void *p;
	int fd, tries;

	/* never stops khugepaged; madvise restarts it with the new sleeps */
	sysfs_write(THP "enabled", "never");
	sysfs_write(THP "defrag", "always");
	sysfs_write(THP "shmem_enabled", "advise");
	sysfs_write(THP "use_zero_page", "1");
	sysfs_write(THP "khugepaged/defrag", "0");
	sysfs_write(THP "khugepaged/scan_sleep_millisecs", "86400000");
	sysfs_write(THP "khugepaged/alloc_sleep_millisecs", "86400000");
	sysfs_write("/proc/sys/vm/compaction_proactiveness", "0");
	sysfs_write(THP "enabled", "madvise");
	for (i = 0; i < ARRAY_SIZE(shown); i++)
		sysfs_show(shown[i]);

	fd = open(THP "khugepaged/full_scans", O_RDONLY);
	if (fd >= 0 && read(fd, before, sizeof(before) - 1) < 0)
		before[0] = 0;
	p = mmap(NULL, HPS, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || madvise(p, HPS, MADV_HUGEPAGE))
		die("khugepaged warm-up");
	for (tries = 0; fd >= 0 && tries < 20; tries++) {
		memset(after, 0, sizeof(after));
		if (pread(fd, after, sizeof(after) - 1, 0) < 0 ||
		    strcmp(before, after))
			break;
		nanosleep(&ts, NULL);
	}
	printf("# khugepaged: a full scan %s\n",
	       fd >= 0 && strcmp(before, after) ? "seen" : "not seen in 1 s");
	if (fd >= 0)
		close(fd);
	munmap(p, HPS);
}

static void *map_fixed(unsigned long addr, unsigned long len, int prot)
{
	void *p = mmap((void *)addr, len, prot,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

	if (p != (void *)addr)
		die("mmap buffer %lx", addr);
	memset(p, 0, prot & PROT_WRITE ? len : 0);
	return p;
}

static void setup(void)
{
	static char page[PS];
	cpu_set_t cpus;
	struct utsname u;
	FILE *f;
	char line[256];
	int i;

	/* One CPU: LRU batches (MADV_PAGEOUT) all drain on it */
	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	if (sched_setaffinity(0, sizeof(cpus), &cpus))
		die("sched_setaffinity");
	uname(&u);
	printf("# kernel %s %s\n", u.release, u.version);
	setup_kernel();

	f = fopen("/proc/swaps", "r");
	while (f && fgets(line, sizeof(line), f))
		have_swap |= !strncmp(line, "/dev/", 5);
	if (f)
		fclose(f);
	printf("# swap %s\n", have_swap ? "on" : "off (no MADV_PAGEOUT)");

	pagemap_fd = open("/proc/self/pagemap", O_RDONLY);
	if (pagemap_fd < 0)
		die("/proc/self/pagemap");
	file_fd = open("/var/tmp/pmscan-difftest", O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (file_fd < 0)
		die("/var/tmp/pmscan-difftest");
	for (i = 0; i < 32; i++) {
		memset(page, 'a' + i, PS);
		if (write(file_fd, page, PS) != PS)
			die("write file");
	}

	vecbuf = map_fixed(BUFS, 0x100000, PROT_READ | PROT_WRITE);
	postbuf = map_fixed(BUFS + 0x100000, 0x100000, PROT_READ | PROT_WRITE);
	robuf = map_fixed(BUFS + 0x200000, PS, PROT_READ);
	map_fixed(BUFS + 0x300000, PS, PROT_READ | PROT_WRITE);
	partpage = map_fixed(BUFS + 0x301000, PS, PROT_READ);
	roarg = map_fixed(BUFS + 0x400000, PS, PROT_READ);
}

int main(int argc, char **argv)
{
	unsigned long seed = argc > 1 ? strtoul(argv[1], NULL, 0) : 20261207;
	unsigned long n = argc > 2 ? strtoul(argv[2], NULL, 0) : 20000;
	unsigned long first = argc > 3 ? strtoul(argv[3], NULL, 0) : 0;
	static char obuf[1 << 20];
	struct pm_scan_arg a;
	int i, nact, k;

	setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));
	printf("# pmscan-difftest seed %lu cases %lu..%lu\n", seed, first,
	       first + n - 1);
	setup();
	for (ncase = first; ncase < first + n; ncase++) {
		rs = splitmix(seed * 0x100000001b3ULL + ncase) | 1;
		reset();
		nact = rndn(13);
		for (i = 0; i < nact; i++)
			act();
		k = rndn(100);
		if (k < 5) {
			many_regions(&a);
			scan(&a, &a, 0, "random");
		} else if (k < 60) {
			rnd_call(&a);
			scan(&a, &a, 0, "random");
		} else if (k < 82) {
			client_call();
		} else {
			hostile_call();
		}
		post_state();
	}
	printf("# done\n");
	fflush(stdout);
	return 0;
}
