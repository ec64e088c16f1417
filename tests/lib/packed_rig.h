/* SPDX-License-Identifier: MIT */
/*
 * A packed virtqueue's driver side (ring/packed_driver.c behind struct
 * virtqueue) with a device scripted by the test: it reads the ring as §2.8
 * describes and writes the used descriptors the test chooses, honest or
 * hostile. Guest address == host address (the ring is plain heap memory).
 * Helpers assert (cmocka). Used by test_packed_driver and
 * test_packed_driver_hostile.
 */
#ifndef VIREO_TESTS_PACKED_RIG_H
#define VIREO_TESTS_PACKED_RIG_H

#include <stdbool.h>
#include <stdint.h>

#include <vireo/spec.h>
#include <vireo/virtqueue.h>

#define PACKED_RIG_INDIRECT_MAX 4u
#define PACKED_RIG_BUF 64u
#define PACKED_RIG_MAX_NUM 64u

/* A scripted device's view of the ring (it trusts the driver under test). */
struct packed_rig_device {
	uint16_t next_avail, next_used;
	bool avail_wrap, used_wrap;
	uint16_t chain_len[PACKED_RIG_MAX_NUM]; /* ring descriptors per buffer ID */
};

struct packed_rig {
	uint16_t num;
	struct pvirtq_desc *desc;
	struct pvirtq_event_suppress *drv_ev, *dev_ev;
	struct pvirtq_desc *pool;
	struct vring_desc_extra extra[PACKED_RIG_MAX_NUM];
	uint8_t bufs[PACKED_RIG_MAX_NUM][PACKED_RIG_BUF];
	struct virtqueue vq;
	struct packed_rig_device dev;
};

/* One buffer as the scripted device popped it. */
struct packed_rig_buf {
	uint16_t id;
	uint16_t descs; /* ring descriptors it took */
	uint16_t elems; /* elements (in the table, if indirect) */
	uint32_t writable;
	bool indirect;
};

/* A ring of @num (≤ PACKED_RIG_MAX_NUM) with the features given; init asserted. */
struct packed_rig *packed_rig_new(uint16_t num, bool event_idx, bool indirect, bool in_order);
void packed_rig_free(struct packed_rig *t);

/* §2.8.1: @flags mark a descriptor available in the lap whose wrap counter is @wrap. */
bool packed_rig_is_avail(uint16_t flags, bool wrap);

/* Device: take the next available buffer into @b. Return: false if there is none. */
bool packed_rig_device_pop(struct packed_rig *t, struct packed_rig_buf *b);

/* Device: write a used descriptor (raw @flags) at next_used and skip @skip descriptors. */
void packed_rig_device_push_raw(struct packed_rig *t, uint16_t id, uint32_t len, uint16_t flags,
				uint16_t skip);

/* The flags of an honest used descriptor now, with WRITE if @len is not 0. */
uint16_t packed_rig_used_flags(const struct packed_rig *t, uint32_t len);

/* Device: an honest used descriptor for buffer @id (the chain it popped under that ID). */
void packed_rig_device_push(struct packed_rig *t, uint16_t id, uint32_t len);

/* Driver: add buffer slot @i (PACKED_RIG_BUF bytes, device-writable) with @token. */
int packed_rig_add_in(struct packed_rig *t, unsigned int i, void *token);

#endif /* VIREO_TESTS_PACKED_RIG_H */
