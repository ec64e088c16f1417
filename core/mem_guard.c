// SPDX-License-Identifier: MIT
/*
 * The SIGBUS guard for peer-owned shared mappings (mem_guard.h). The table is
 * process-wide because a signal handler can reach nothing else; every field
 * the handler reads is a lock-free atomic, and the handler calls only mmap
 * and sigaction (system calls), so it is async-signal-safe.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include <vireo/mem_guard.h>

/* @len 0: the slot guards nothing; it is published last and cleared first. */
struct mem_guard_slot {
	atomic_bool used;
	_Atomic uintptr_t start;
	_Atomic size_t page_size;
	_Atomic size_t len;
	atomic_bool faulted;
};

static struct mem_guard_slot mem_guard_slots[MEM_GUARD_MAX];
static struct sigaction mem_guard_previous;
static pthread_once_t mem_guard_once = PTHREAD_ONCE_INIT;
static int mem_guard_install_error;

/* Not ours: what was there before decides (the default kills, as without us). */
static void mem_guard_chain(int sig, siginfo_t *info, void *context)
{
	if (mem_guard_previous.sa_flags & SA_SIGINFO) {
		mem_guard_previous.sa_sigaction(sig, info, context);
		return;
	}
	if (mem_guard_previous.sa_handler != SIG_DFL && mem_guard_previous.sa_handler != SIG_IGN) {
		mem_guard_previous.sa_handler(sig);
		return;
	}
	/* Returning re-runs the faulting access, which then takes the default action. */
	signal(sig, SIG_DFL);
}

static void mem_guard_on_sigbus(int sig, siginfo_t *info, void *context)
{
	uintptr_t addr = (uintptr_t)info->si_addr;
	unsigned int i;

	for (i = 0; i < MEM_GUARD_MAX; i++) {
		struct mem_guard_slot *s = &mem_guard_slots[i];
		/* Acquire: pairs with the release store of @len in vireo_mem_guard_register(). */
		size_t len = atomic_load_explicit(&s->len, memory_order_acquire);
		uintptr_t start = atomic_load_explicit(&s->start, memory_order_relaxed);
		size_t page = atomic_load_explicit(&s->page_size, memory_order_relaxed);
		void *at;

		if (len == 0 || addr < start || addr - start >= len)
			continue;
		/* A private zero page where the file has gone: the access completes. */
		at = mmap((void *)(addr & ~(uintptr_t)(page - 1)), page, PROT_READ | PROT_WRITE,
			  MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (at == MAP_FAILED)
			break;
		atomic_store_explicit(&s->faulted, true, memory_order_release);
		return;
	}
	mem_guard_chain(sig, info, context);
}

static void mem_guard_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = mem_guard_on_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, &mem_guard_previous) < 0)
		mem_guard_install_error = -errno;
}

static bool mem_guard_is_pow2(size_t v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

/* Return: a slot; -EINVAL; -ENOSPC; -errno from sigaction (see the header). */
int vireo_mem_guard_register(void *start, size_t len, size_t page_size)
{
	unsigned int i;

	if (!mem_guard_is_pow2(page_size) || ((uintptr_t)start & (page_size - 1)) || len == 0)
		return -EINVAL;
	(void)pthread_once(&mem_guard_once, mem_guard_install);
	if (mem_guard_install_error)
		return mem_guard_install_error;
	for (i = 0; i < MEM_GUARD_MAX; i++) {
		struct mem_guard_slot *s = &mem_guard_slots[i];
		bool expected = false;

		if (!atomic_compare_exchange_strong(&s->used, &expected, true))
			continue;
		atomic_store_explicit(&s->faulted, false, memory_order_relaxed);
		atomic_store_explicit(&s->start, (uintptr_t)start, memory_order_relaxed);
		atomic_store_explicit(&s->page_size, page_size, memory_order_relaxed);
		/* Release: pairs with the acquire load of @len in the handler. */
		atomic_store_explicit(&s->len, len, memory_order_release);
		return (int)i;
	}
	return -ENOSPC;
}

void vireo_mem_guard_unregister(int slot)
{
	struct mem_guard_slot *s;

	if (slot < 0 || slot >= MEM_GUARD_MAX)
		return;
	s = &mem_guard_slots[slot];
	atomic_store_explicit(&s->len, 0, memory_order_release);
	atomic_store_explicit(&s->faulted, false, memory_order_relaxed);
	atomic_store_explicit(&s->used, false, memory_order_release);
}

bool vireo_mem_guard_faulted(int slot)
{
	if (slot < 0 || slot >= MEM_GUARD_MAX)
		return false;
	/* Acquire: pairs with the release store in the handler. */
	return atomic_load_explicit(&mem_guard_slots[slot].faulted, memory_order_acquire);
}
