/*
 * Experiment (not in the series): UFFDIO_WRITEPROTECT of never-touched
 * anonymous memory in a WP_UNPOPULATED context while fail_page_alloc
 * fails this thread's allocations. Protecting unpopulated memory
 * allocates page tables for the uffd-wp markers; a failure must come back
 * as ENOMEM, never as a WARN. Prints TAP; the harness fails on splats.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <linux/userfaultfd.h>

#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1 << 13)
#endif
#define FPA "/sys/kernel/debug/fail_page_alloc/"

static void put(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0 || write(fd, val, strlen(val)) < 0) {
		printf("Bail out! %s: %s\n", path, strerror(errno));
		exit(1);
	}
	close(fd);
}

int main(void)
{
	size_t len = 64UL << 20;	/* 32 page tables to allocate */
	int uffd, i, ok = 0, enomem = 0, other = 0, rounds = 100;
	char taint[32] = "";
	FILE *f;

	setvbuf(stdout, NULL, _IONBF, 0);
	printf("TAP version 13\n1..2\n");
	put(FPA "task-filter", "Y");
	put(FPA "ignore-gfp-wait", "N");
	put(FPA "ignore-gfp-highmem", "N");
	put(FPA "min-order", "0");
	put(FPA "times", "-1");
	put(FPA "interval", "1");
	put(FPA "verbose", "0");
	for (i = 0; i < rounds; i++) {
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		struct uffdio_register reg = {
			.range = { (unsigned long)p, len },
			.mode = UFFDIO_REGISTER_MODE_WP };
		struct uffdio_writeprotect wp = {
			.range = { (unsigned long)p, len },
			.mode = UFFDIO_WRITEPROTECT_MODE_WP };
		/* UFFDIO_API writes back every feature it has: a new one */
		struct uffdio_api api = { .api = UFFD_API,
			.features = UFFD_FEATURE_WP_UNPOPULATED };
		char prob[8];
		int ret;

		uffd = syscall(__NR_userfaultfd, O_CLOEXEC);
		if (p == MAP_FAILED || uffd < 0 ||
		    ioctl(uffd, UFFDIO_API, &api) ||
		    ioctl(uffd, UFFDIO_REGISTER, &reg)) {
			printf("Bail out! setup: %s\n", strerror(errno));
			return 1;
		}
		snprintf(prob, sizeof(prob), "%d", 1 + i % 100);
		put(FPA "probability", prob);
		put("/proc/thread-self/make-it-fail", "1");
		ret = ioctl(uffd, UFFDIO_WRITEPROTECT, &wp);
		put("/proc/thread-self/make-it-fail", "0");
		if (!ret)
			ok++;
		else if (errno == ENOMEM)
			enomem++;
		else
			other++;
		munmap(p, len);
		close(uffd);
		if (i % 10 == 0) {
			printf("# round %d: ret %d errno %d\n", i, ret, ret ? errno : 0);
			fflush(stdout);
		}
	}
	put(FPA "probability", "0");
	printf("# %d rounds: %d succeeded, %d ENOMEM, %d other\n", rounds,
	       ok, enomem, other);
	printf("%sok 1 each UFFDIO_WRITEPROTECT succeeds or fails with ENOMEM\n",
	       other ? "not " : "");
	f = fopen("/proc/sys/kernel/tainted", "r");
	if (f && fgets(taint, sizeof(taint), f))
		printf("# tainted: %s", taint);
	printf("%sok 2 the kernel did not WARN (taint W clear)\n",
	       atol(taint) & (1 << 9) ? "not " : "");
	return 0;
}
