// SPDX-License-Identifier: MIT
/*
 * The back-end's copy of the front-end's memory table: each region's fd is
 * checked (a file on tmpfs or hugetlbfs at least mmap_offset + size long) and mapped
 * MAP_SHARED; the guest side goes into a struct guest_mem, which refuses
 * empty, wrapping and overlapping ranges. A new table is built and checked
 * completely before it replaces the old one. Every mapping is guarded
 * (mem_guard.h): a front-end that shrinks a region's file loses its
 * connection instead of killing the server with SIGBUS.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <vireo/log.h>
#include <vireo/mem_guard.h>

#include "transport/vhost_user_internal.h"

/* [@start, @start + @size) fits in 64 bits (it may end at the last byte). */
static bool vub_range_ok(uint64_t start, uint64_t size)
{
	return size != 0 && size - 1 <= UINT64_MAX - start;
}

/* Return: 0 or -EINVAL (*@why set) for a region that is unusable on paper. */
static int vub_region_check(const struct vhost_user_mem_region *r, const char **why)
{
	if (r->size == 0) {
		*why = "memory region of size 0";
		return -EINVAL;
	}
	if (!vub_range_ok(r->guest_addr, r->size) || !vub_range_ok(r->user_addr, r->size)) {
		*why = "memory region wraps around the address space";
		return -EINVAL;
	}
	if (r->mmap_offset > UINT64_MAX - r->size || r->mmap_offset + r->size > SIZE_MAX) {
		*why = "memory region mmap offset overflows";
		return -EINVAL;
	}
	return 0;
}

int vub_memory_fd_check(int fd, uint64_t need, uint64_t *page, const char **why)
{
	struct statfs fs;
	struct stat st;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || fstatfs(fd, &fs) < 0) {
		*why = "memory fd is not a mappable file";
		return -EINVAL;
	}
	if (fs.f_type != TMPFS_MAGIC && fs.f_type != HUGETLBFS_MAGIC) {
		*why = "memory fd is not on tmpfs (memfd, /dev/shm) or hugetlbfs";
		return -EINVAL;
	}
	if ((uint64_t)st.st_size < need) {
		*why = "memory fd's file ends before the range it should hold";
		return -EINVAL;
	}
	/* hugetlbfs maps (and a SIGBUS replaces) whole huge pages. */
	if (page && fs.f_type == HUGETLBFS_MAGIC && fs.f_bsize > 0)
		*page = (uint64_t)fs.f_bsize;
	return 0;
}

/* Return: 0 and @out filled; -EINVAL (*@why set) or -errno from mmap. @fd stays open. */
static int vub_region_map(const struct vhost_user_mem_region *r, int fd, struct vub_region *out,
			  const char **why)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t map_off, end;
	void *map;
	int ret;

	ret = vub_region_check(r, why);
	if (ret < 0)
		return ret;
	end = r->mmap_offset + r->size;
	ret = vub_memory_fd_check(fd, end, &page, why);
	if (ret < 0)
		return ret;
	map_off = r->mmap_offset & ~(page - 1);
	map = mmap(NULL, (size_t)(end - map_off), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_NORESERVE, fd, (off_t)map_off);
	if (map == MAP_FAILED) {
		ret = -errno;
		*why = "cannot mmap a memory region";
		return ret;
	}
	out->guard = vireo_mem_guard_register(map, (size_t)(end - map_off), (size_t)page);
	if (out->guard < 0) {
		ret = out->guard;
		munmap(map, (size_t)(end - map_off));
		*why = "cannot guard a memory region";
		return ret;
	}
	out->r = *r;
	out->map = map;
	out->map_len = (size_t)(end - map_off);
	out->host = (char *)map + (r->mmap_offset - map_off);
	return 0;
}

/* mem_guard.h: the guard goes first; no queue touches the mapping by now. */
static void vub_region_unmap(struct vub_region *reg)
{
	if (reg->map) {
		vireo_mem_guard_unregister(reg->guard);
		munmap(reg->map, reg->map_len);
	}
	memset(reg, 0, sizeof(*reg));
}

bool vub_mem_faulted(const struct vhost_user_backend *b)
{
	for (unsigned int i = 0; i < b->num_regions; i++)
		if (vireo_mem_guard_faulted(b->regions[i].guard))
			return true;
	return false;
}

static bool vub_user_overlap(const struct vhost_user_mem_region *a,
			     const struct vhost_user_mem_region *b)
{
	return a->user_addr <= b->user_addr + (b->size - 1) &&
	       b->user_addr <= a->user_addr + (a->size - 1);
}

/* Return: 0 and @gm built from @regs; -EINVAL (*@why set) for overlapping regions. */
static int vub_mem_build(struct guest_mem *gm, const struct vub_region *regs, unsigned int n,
			 const char **why)
{
	unsigned int i, j;

	vireo_guest_mem_init(gm);
	for (i = 0; i < n; i++) {
		for (j = 0; j < i; j++) {
			if (vub_user_overlap(&regs[i].r, &regs[j].r)) {
				*why = "memory regions overlap in the front-end's address space";
				return -EINVAL;
			}
		}
		if (vireo_guest_mem_add_region(gm, regs[i].r.guest_addr, regs[i].r.size,
					       regs[i].host) < 0) {
			*why = "memory regions overlap in guest address space";
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * Before any mapping goes: every request the model holds is answered
 * (vireo_vdev_quiesce(), also on queues stopped by NEEDS_RESET whose I/O is still
 * in flight), and the running rings, which cache pointers into the old
 * mappings, stop. Reports which were running.
 */
static void vub_quiesce_all(struct vhost_user_backend *b, bool *was_running)
{
	unsigned int i;

	vireo_vdev_quiesce(b->dev);
	for (i = 0; i < b->dev->num_queues; i++) {
		was_running[i] = b->dev->queues[i].enabled;
		if (was_running[i])
			vub_quiesce(b, i);
	}
}

/* Return: 0, or the first restart error (*@why set). */
static int vub_restart(struct vhost_user_backend *b, const bool *was_running, const char **why)
{
	unsigned int i;
	int ret;

	for (i = 0; i < b->dev->num_queues; i++) {
		if (!was_running[i])
			continue;
		ret = vub_try_start(b, i, why);
		if (ret < 0)
			return ret;
	}
	return 0;
}

void vub_mem_clear(struct vhost_user_backend *b)
{
	unsigned int i;

	for (i = 0; i < b->num_regions; i++)
		vub_region_unmap(&b->regions[i]);
	b->num_regions = 0;
	vireo_guest_mem_init(&b->mem);
}

/* Return: 0; -EINVAL/-errno (*@why set), the old table then still in force. */
int vub_mem_set_table(struct vhost_user_backend *b, struct vhost_user_msg *msg, const char **why)
{
	struct vub_region next[VHOST_USER_MEM_REGIONS_MAX];
	bool was_running[VDEV_MAX_QUEUES];
	unsigned int n = msg->payload.memory.nregions, i, done;
	struct guest_mem gm;
	int ret = 0;

	memset(next, 0, sizeof(next));
	for (done = 0; done < n; done++) {
		int fd = vireo_vhost_user_msg_take_fd(msg, done);

		ret = vub_region_map(&msg->payload.memory.regions[done], fd, &next[done], why);
		close(fd);
		if (ret < 0)
			break;
	}
	if (ret == 0)
		ret = vub_mem_build(&gm, next, n, why);
	if (ret < 0) {
		for (i = 0; i < n; i++)
			vub_region_unmap(&next[i]);
		return ret;
	}
	vub_quiesce_all(b, was_running);
	vub_mem_clear(b);
	for (i = 0; i < n; i++)
		next[i].adds = 1;
	memcpy(b->regions, next, sizeof(next));
	b->num_regions = n;
	b->mem = gm;
	return vub_restart(b, was_running, why);
}

/* The mapped region that is exactly @r (all four fields), or NULL. */
static struct vub_region *vub_mem_find(struct vhost_user_backend *b,
				       const struct vhost_user_mem_region *r)
{
	for (unsigned int i = 0; i < b->num_regions; i++) {
		const struct vhost_user_mem_region *cur = &b->regions[i].r;

		if (cur->guest_addr == r->guest_addr && cur->size == r->size &&
		    cur->user_addr == r->user_addr && cur->mmap_offset == r->mmap_offset)
			return &b->regions[i];
	}
	return NULL;
}

/* Return: 0; -ENOSPC; -EINVAL/-errno (*@why set), the table unchanged. */
int vub_mem_add(struct vhost_user_backend *b, struct vhost_user_msg *msg, const char **why)
{
	int fd = vireo_vhost_user_msg_take_fd(msg, 0);
	struct vub_region *same = vub_mem_find(b, &msg->payload.mem_reg.region);
	struct guest_mem gm;
	int ret;

	/*
	 * QEMU's multi-queue vhost-user-net has one vhost device per queue pair on
	 * one connection, and each adds the same regions: count them, map once.
	 * A region that only overlaps another is still refused below.
	 */
	if (same) {
		close(fd);
		same->adds++;
		return 0;
	}
	if (b->num_regions >= GUEST_MEM_MAX_REGIONS) {
		close(fd);
		*why = "too many memory regions";
		return -ENOSPC;
	}
	ret = vub_region_map(&msg->payload.mem_reg.region, fd, &b->regions[b->num_regions], why);
	close(fd);
	if (ret < 0)
		return ret;
	ret = vub_mem_build(&gm, b->regions, b->num_regions + 1, why);
	if (ret < 0) {
		vub_region_unmap(&b->regions[b->num_regions]);
		return ret;
	}
	/* Existing mappings do not move: running rings keep their pointers. */
	b->regions[b->num_regions].adds = 1;
	b->num_regions++;
	b->mem = gm;
	return 0;
}

/* Return: 0; -ENOENT (no such region); a restart error. */
int vub_mem_remove(struct vhost_user_backend *b, const struct vhost_user_mem_region *r,
		   const char **why)
{
	bool was_running[VDEV_MAX_QUEUES];
	struct guest_mem gm;
	unsigned int i;

	for (i = 0; i < b->num_regions; i++) {
		const struct vhost_user_mem_region *cur = &b->regions[i].r;

		if (cur->guest_addr == r->guest_addr && cur->size == r->size &&
		    cur->user_addr == r->user_addr)
			break;
	}
	if (i == b->num_regions) {
		*why = "REM_MEM_REG names no mapped region";
		return -ENOENT;
	}
	/* Added more than once (see vub_mem_add()): the other adders still use it. */
	if (b->regions[i].adds > 1) {
		b->regions[i].adds--;
		return 0;
	}
	vub_quiesce_all(b, was_running);
	vub_region_unmap(&b->regions[i]);
	memmove(&b->regions[i], &b->regions[i + 1],
		(b->num_regions - i - 1) * sizeof(b->regions[0]));
	b->num_regions--;
	memset(&b->regions[b->num_regions], 0, sizeof(b->regions[0]));
	/* A subset of a valid table is valid. */
	(void)vub_mem_build(&gm, b->regions, b->num_regions, why);
	b->mem = gm;
	return vub_restart(b, was_running, why);
}

/* Return: 0 and *@ga, or -EFAULT if @ua is in no region. */
int vub_mem_user_to_guest(const struct vhost_user_backend *b, uint64_t ua, uint64_t *ga)
{
	unsigned int i;

	for (i = 0; i < b->num_regions; i++) {
		const struct vhost_user_mem_region *r = &b->regions[i].r;

		if (ua >= r->user_addr && ua - r->user_addr < r->size) {
			*ga = r->guest_addr + (ua - r->user_addr);
			return 0;
		}
	}
	return -EFAULT;
}
