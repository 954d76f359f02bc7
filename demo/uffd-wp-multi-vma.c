// SPDX-License-Identifier: GPL-2.0
/*
 * Demonstration: one UFFDIO_WRITEPROTECT call across three VMAs.
 *
 * A registered area is split into three VMAs by mprotect(), as a garbage
 * collector or Wine does when it changes the protection of part of a heap.
 * On 6.1 without the series the call fails with ENOENT and the caller has
 * to split it per VMA; with the series one call protects everything, and a
 * write to each VMA then raises one write-protect fault.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <linux/userfaultfd.h>

#define NR_VMAS		3
#define VMA_PAGES	16
#define PM_UFFD_WP	(1ULL << 57)

static long psize;
static char *area;
static int uffd;

static int pages_protected(char *start, long npages)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);
	int nr = 0;
	uint64_t e;
	long i;

	for (i = 0; i < npages; i++) {
		off_t off = ((uintptr_t)start / psize + i) * sizeof(e);

		if (pread(fd, &e, sizeof(e), off) == sizeof(e) && (e & PM_UFFD_WP))
			nr++;
	}
	close(fd);
	return nr;
}

static void show_vmas(void)
{
	unsigned long s, e, lo = (uintptr_t)area;
	unsigned long hi = lo + NR_VMAS * VMA_PAGES * psize;
	char line[256], perms[8];
	FILE *f = fopen("/proc/self/maps", "r");

	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx %7s", &s, &e, perms) == 3 &&
		    s < hi && e > lo)
			printf("    VMA %lx-%lx %s\n", s, e, perms);
	fclose(f);
}

/* Resolves each write-protect fault by un-protecting its page. */
static void *monitor(void *arg)
{
	struct pollfd pfd = { .fd = uffd, .events = POLLIN };
	int *faults = arg;
	struct uffd_msg msg;

	while (*faults < NR_VMAS && poll(&pfd, 1, 2000) > 0) {
		if (read(uffd, &msg, sizeof(msg)) != sizeof(msg))
			continue;
		if (msg.event != UFFD_EVENT_PAGEFAULT ||
		    !(msg.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP))
			continue;
		printf("    wp fault at VMA %ld, page %ld\n",
		       (long)((msg.arg.pagefault.address - (uintptr_t)area) /
			      psize / VMA_PAGES),
		       (long)((msg.arg.pagefault.address - (uintptr_t)area) /
			      psize % VMA_PAGES));
		struct uffdio_writeprotect wp = {
			.range.start = msg.arg.pagefault.address & ~(psize - 1),
			.range.len = psize,
		};
		ioctl(uffd, UFFDIO_WRITEPROTECT, &wp);
		(*faults)++;
	}
	return NULL;
}

int main(void)
{
	long npages = NR_VMAS * VMA_PAGES, i;
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_WP };
	struct uffdio_writeprotect wp = { .mode = UFFDIO_WRITEPROTECT_MODE_WP };
	int faults = 0, nr, ret;
	pthread_t thr;

	setvbuf(stdout, NULL, _IONBF, 0);
	psize = sysconf(_SC_PAGESIZE);
	area = mmap(NULL, npages * psize, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (area == MAP_FAILED || uffd < 0 || ioctl(uffd, UFFDIO_API, &api)) {
		perror("setup");
		return 1;
	}
	memset(area, 1, npages * psize);
	reg.range.start = (uintptr_t)area;
	reg.range.len = npages * psize;
	if (ioctl(uffd, UFFDIO_REGISTER, &reg)) {
		perror("UFFDIO_REGISTER");
		return 1;
	}

	printf("1. %ld pages registered for uffd-wp, then mprotect() makes the middle third executable:\n",
	       npages);
	mprotect(area + VMA_PAGES * psize, VMA_PAGES * psize,
		 PROT_READ | PROT_WRITE | PROT_EXEC);
	show_vmas();

	printf("2. one UFFDIO_WRITEPROTECT over all %d VMAs:\n", NR_VMAS);
	wp.range.start = (uintptr_t)area;
	wp.range.len = npages * psize;
	ret = ioctl(uffd, UFFDIO_WRITEPROTECT, &wp);
	printf("    returned %d (%s)\n", ret, ret ? strerror(errno) : "ok");
	nr = pages_protected(area, npages);
	printf("    %d of %ld pages write-protected (pagemap bit 57)\n",
	       nr, npages);

	printf("3. one write into each VMA:\n");
	pthread_create(&thr, NULL, monitor, &faults);
	for (i = 0; i < NR_VMAS && ret == 0; i++)
		area[(i * VMA_PAGES + i) * psize] = 2;
	pthread_join(thr, NULL);
	printf("    %d write-protect faults delivered\n", faults);

	if (ret || nr != npages || faults != NR_VMAS) {
		printf("FAIL: this kernel cannot write-protect across VMAs\n");
		return 1;
	}
	printf("PASS: one call protected %d VMAs; every write was caught\n",
	       NR_VMAS);
	return 0;
}
