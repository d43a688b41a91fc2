/*
 * alloc-counter: an LD_PRELOAD library that counts heap allocations.
 *
 * It interposes malloc, calloc, realloc and free, forwards every call to the
 * next definition (normally glibc's, found with dlsym(RTLD_NEXT, ...)) and
 * counts, with relaxed atomics so that threads do not race:
 *
 *   allocations  calls of malloc, calloc and realloc that returned a non-NULL
 *                block (realloc(p, 0) that frees p is not an allocation)
 *   bytes        the sizes those calls asked for
 *
 * When the process exits (library destructor) it writes one line
 *
 *   allocations=<n> bytes=<m>
 *
 * to the file named by the environment variable SHRIVEN_ALLOC_OUT (replacing
 * the file). A child that was forked without exec does not write, so it cannot
 * overwrite its parent's report. Not counted: posix_memalign, aligned_alloc,
 * memalign and valloc (over-aligned allocations), and allocations made by the
 * dynamic loader before this library is initialised.
 *
 * Build: cc -shared -fPIC -O2 -o libshriven_alloc.so alloc-counter.c -ldl -pthread
 * Use:   SHRIVEN_ALLOC_OUT=/tmp/out LD_PRELOAD=$PWD/libshriven_alloc.so ./program
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef void *(*malloc_fn)(size_t);
typedef void *(*calloc_fn)(size_t, size_t);
typedef void *(*realloc_fn)(void *, size_t);
typedef void (*free_fn)(void *);

static malloc_fn real_malloc;
static calloc_fn real_calloc;
static realloc_fn real_realloc;
static free_fn real_free;

static atomic_ullong allocation_count;
static atomic_ullong allocated_bytes;
static atomic_int resolving;
static pid_t owner_pid;

/*
 * dlsym itself may call calloc/malloc (for its error state) before the real
 * functions are known. Those requests are served from this static buffer,
 * which is zero-initialised and never reused, so calloc needs no memset.
 */
#define BOOTSTRAP_SIZE 8192
static _Alignas(max_align_t) unsigned char bootstrap[BOOTSTRAP_SIZE];
static atomic_size_t bootstrap_used;

static int in_bootstrap(const void *ptr) {
  const unsigned char *p = ptr;
  return p >= bootstrap && p < bootstrap + BOOTSTRAP_SIZE;
}

static void *bootstrap_alloc(size_t size) {
  const size_t align = _Alignof(max_align_t);
  size_t rounded = (size + align - 1) / align * align;
  size_t offset = atomic_fetch_add(&bootstrap_used, rounded);
  if (rounded < size || offset > BOOTSTRAP_SIZE || rounded > BOOTSTRAP_SIZE - offset) return NULL;
  return bootstrap + offset;
}

static void resolve_real_functions(void) {
  if (atomic_exchange(&resolving, 1)) return;
  real_malloc = (malloc_fn)dlsym(RTLD_NEXT, "malloc");
  real_calloc = (calloc_fn)dlsym(RTLD_NEXT, "calloc");
  real_realloc = (realloc_fn)dlsym(RTLD_NEXT, "realloc");
  real_free = (free_fn)dlsym(RTLD_NEXT, "free");
  if (!real_malloc || !real_calloc || !real_realloc || !real_free) {
    static const char message[] = "alloc-counter: cannot find the real malloc/calloc/realloc/free\n";
    ssize_t ignored = write(STDERR_FILENO, message, sizeof message - 1);
    (void)ignored;
    _exit(127);
  }
}

static int ready(void) {
  if (real_free) return 1;
  resolve_real_functions();
  return real_free != NULL;
}

static void count(const void *block, size_t size) {
  if (!block) return;
  atomic_fetch_add_explicit(&allocation_count, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&allocated_bytes, size, memory_order_relaxed);
}

void *malloc(size_t size) {
  if (!ready()) return bootstrap_alloc(size);
  void *block = real_malloc(size);
  count(block, size);
  return block;
}

void *calloc(size_t nmemb, size_t size) {
  size_t total;
  if (__builtin_mul_overflow(nmemb, size, &total)) return NULL;
  if (!ready()) return bootstrap_alloc(total);
  void *block = real_calloc(nmemb, size);
  count(block, total);
  return block;
}

void *realloc(void *ptr, size_t size) {
  if (!ready()) return NULL;
  if (in_bootstrap(ptr)) {
    /* Move a bootstrap block to the real heap; its old size is unknown, so
     * copy what fits in both the request and the rest of the buffer. */
    void *block = real_malloc(size);
    if (block) {
      size_t available = (size_t)(bootstrap + BOOTSTRAP_SIZE - (unsigned char *)ptr);
      memcpy(block, ptr, size < available ? size : available);
    }
    count(block, size);
    return block;
  }
  void *block = real_realloc(ptr, size);
  count(block, size);
  return block;
}

void free(void *ptr) {
  if (!ptr || in_bootstrap(ptr)) return;
  if (ready()) real_free(ptr);
}

__attribute__((constructor)) static void alloc_counter_init(void) {
  owner_pid = getpid();
  ready();
}

__attribute__((destructor)) static void alloc_counter_report(void) {
  const char *path = getenv("SHRIVEN_ALLOC_OUT");
  if (!path || !*path || getpid() != owner_pid) return;
  char line[96];
  int length = snprintf(line, sizeof line, "allocations=%llu bytes=%llu\n",
                        (unsigned long long)atomic_load(&allocation_count),
                        (unsigned long long)atomic_load(&allocated_bytes));
  if (length <= 0 || (size_t)length >= sizeof line) return;
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  ssize_t written = write(fd, line, (size_t)length);
  (void)written;
  close(fd);
}
