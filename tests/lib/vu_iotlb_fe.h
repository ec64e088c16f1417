/* SPDX-License-Identifier: MIT */
/*
 * The vhost-user IOTLB tests' fixture (vu_iotlb_fe.c): a blk server in its
 * own thread, and a front-end behind a vIOMMU that answers the back-end's
 * misses as QEMU does (D-VU-IOTLB-01..05).
 */
#ifndef VIREO_TESTS_VU_IOTLB_FE_H
#define VIREO_TESTS_VU_IOTLB_FE_H

#include <stdbool.h>
#include <stdint.h>

#include <vireo/event_loop.h>
#include <vireo/vhost_user.h>
#include <vireo/vhost_user_backend.h>

#include "tests/lib/vu_blk_fixture.h"
#include "tests/lib/vu_client.h"

#define VUI_BOGUS_GPA 0x900000000ull /* the memory table's guest address: never an IOVA here */
#define VUI_PAGE 4096ull

/* The front-end: the vu_client, its end of the back-end channel, what it saw there. */
struct vui_fe {
	struct vu_client c;
	int bsock;
	bool need_reply;       /* the last back-end message asked for a reply */
	unsigned int misses;   /* answered by vui_serve_miss() */
	unsigned int received; /* MISS messages read, answered or not */
	unsigned int updates;  /* UPDATEs applied (replied 0) */
	uint64_t last_miss_iova;
	uint8_t last_miss_perm;
};

/* cmocka setup/teardown: *@state is a struct vu_blk_fixture (inflight on), one queue or two. */
int vui_setup(void **state);
int vui_setup_mq(void **state);
int vui_teardown(void **state);

/* Stop @s's loop (vui_teardown() frees it), then its IOTLB counters in *@st. */
void vui_server_stop(struct vu_blk_fixture *s, struct vhost_user_backend_iotlb_stats *st);

/* The user address QEMU would give for IOVA @iova: the arena's IOVAs are its dma addresses. */
uint64_t vui_uaddr(uint64_t iova);

/* One IOTLB_MSG; Return: the u64 reply (0 applied), which always comes (D-VU-22). */
uint64_t vui_iotlb(struct vui_fe *f, uint8_t type, uint64_t iova, uint64_t size, uint64_t uaddr,
		   uint8_t perm);

/*
 * Read one back-end request within @ms. Return: 1 and *@m (checked: a
 * BACKEND_IOTLB_MSG of 32 bytes, D-VU-23; a miss asks for a reply since
 * REPLY_ACK is negotiated, D-VU-IOTLB-07), or 0 if none came.
 */
int vui_backend_msg(struct vui_fe *f, struct vhost_user_iotlb *m, int ms);

/* The reply to the last back-end message, as QEMU sends it: a u64 status. */
void vui_backend_reply(struct vui_fe *f, uint64_t status);

/* Map the whole arena RW in one update; the ring start's misses are read and answered. */
void vui_map_all(struct vui_fe *f);

/* A miss answered as QEMU does: an update of the 4 KiB page holding it, RW, then the reply. */
void vui_serve_miss(struct vui_fe *f, const struct vhost_user_iotlb *m);

/*
 * Connect and negotiate ACCESS_PLATFORM, REPLY_ACK, IOTLB and BACKEND_REQ
 * (and @extra_pf); the back-end channel; the arena at VUI_BOGUS_GPA in the
 * memory table; queue 0's ring in the arena (not started).
 */
void vui_negotiate(struct vu_blk_fixture *s, struct vui_fe *f, uint64_t extra_pf);

/* Queue 0's ring at IOVAs, started at @base and enabled; its misses are not served. */
void vui_start_ring_at(struct vui_fe *f, uint32_t base);
/* The same up to SET_VRING_ENABLE, not sent; the descriptor table at IOVA @desc (0: its own). */
void vui_ring_prepare(struct vui_fe *f, uint32_t base, uint64_t desc);
/*
 * A new back-end channel (SET_BACKEND_REQ_FD again, acked 0) in place of @f's; the
 * back-end's end with SO_SNDBUF @sndbuf (0: the default).
 */
void vui_replace_channel(struct vui_fe *f, int sndbuf);
void vui_start_ring(struct vui_fe *f);

/* vui_negotiate() and vui_start_ring(). */
void vui_connect(struct vu_blk_fixture *s, struct vui_fe *f);
void vui_close(struct vui_fe *f);

/* A blk request at @r (in the arena, at IOVA @ga) posted on @vq and kicked; on queue 0. */
void vui_post_vq(struct virtqueue *vq, struct vu_blk_req *r, uint64_t ga, uint32_t type,
		 uint64_t sector);
void vui_post(struct vui_fe *f, struct vu_blk_req *r, uint64_t ga, uint32_t type, uint64_t sector);

/* Queue 0's next used buffer, answering every miss meanwhile as QEMU would. Return: its token. */
void *vui_next_used(struct vui_fe *f);

/* Wait for @r to be used on queue 0, answering misses. Return: its status. */
uint8_t vui_complete(struct vui_fe *f, struct vu_blk_req *r);

/* A page-aligned request in the arena (its pages are its own); *@ga its IOVA. */
struct vu_blk_req *vui_req(struct vui_fe *f, uint64_t *ga);

/* A request (vui_req()) whose two pages are unmapped (invalidated); its data 0xaa. */
struct vu_blk_req *vui_req_unmapped(struct vui_fe *f, uint64_t *ga);

/*
 * vui_connect(), vui_map_all(), then a read of sector 0 posted at an unmapped
 * request (*@ga): its first miss (of *@ga) is read, not answered.
 */
struct vu_blk_req *vui_req_missed(struct vu_blk_fixture *s, struct vui_fe *f, uint64_t *ga);

#endif /* VIREO_TESTS_VU_IOTLB_FE_H */
