/* bpf_probe_read*: reads of arbitrary addresses of this process that fail with -EFAULT
 * instead of crashing. process_vm_readv() on our own pid reads through the kernel, which
 * reports a bad address as an error; where it is not allowed (seccomp, old kernels) a
 * pipe does the same (write() from a bad address fails with EFAULT). No signal handlers.
 * "Kernel" and "user" reads are the same here: there is only this address space. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "helpers.h"

static int use_pipe;   /* process_vm_readv refused once: use the pipe from then on */
static int pfd[2] = {-1, -1};
static pthread_mutex_t pipe_lock = PTHREAD_MUTEX_INITIALIZER;

/* Bytes readable at src, up to size (stops at the first fault). */
static size_t read_pipe(void *dst, const void *src, size_t size)
{
	size_t done = 0;
	pthread_mutex_lock(&pipe_lock);
	if (pfd[0] < 0 && pipe2(pfd, O_CLOEXEC | O_NONBLOCK)) {
		pthread_mutex_unlock(&pipe_lock);
		return 0;
	}
	while (done < size) {
		size_t n = size - done < 4096 ? size - done : 4096;
		ssize_t w = write(pfd[1], (const char *)src + done, n);
		if (w <= 0)
			break;
		ssize_t r = read(pfd[0], (char *)dst + done, (size_t)w);
		if (r != w)
			break;
		done += (size_t)w;
		if ((size_t)w < n)
			break;
	}
	pthread_mutex_unlock(&pipe_lock);
	return done;
}

static size_t read_some(void *dst, const void *src, size_t size)
{
	if (!__atomic_load_n(&use_pipe, __ATOMIC_RELAXED)) {
		struct iovec l = {dst, size}, r = {(void *)(uintptr_t)src, size};
		ssize_t n = process_vm_readv(getpid(), &l, 1, &r, 1, 0);
		if (n >= 0)
			return (size_t)n;
		if (errno != EPERM && errno != ENOSYS && errno != EACCES)
			return 0;
		__atomic_store_n(&use_pipe, 1, __ATOMIC_RELAXED);
	}
	return read_pipe(dst, src, size);
}

int probe_copy(void *dst, const void *src, size_t size)
{
	if (!size)
		return 0;
	if (read_some(dst, src, size) == size)
		return 0;
	memset(dst, 0, size);
	return -EFAULT;
}

long probe_str(char *dst, const void *src, size_t size)
{
	if (!size)
		return 0;
	size_t done = 0;
	while (done < size) {
		/* up to the end of the page: a string may end right before an unmapped one */
		uintptr_t a = (uintptr_t)src + done;
		size_t n = 4096 - (a & 4095);
		if (n > size - done)
			n = size - done;
		size_t got = read_some(dst + done, (const void *)a, n);
		char *z = memchr(dst + done, 0, got);
		if (z)
			return z - dst + 1;
		done += got;
		if (got < n) {
			memset(dst, 0, size);
			return -EFAULT;
		}
	}
	dst[size - 1] = 0;
	return (long)size;
}

HELPER(probe_read) { return RET(probe_copy(PTR(r1), PTR(r3), (uint32_t)r2)); }
HELPER(probe_read_str) { return RET(probe_str(PTR(r1), PTR(r3), (uint32_t)r2)); }
