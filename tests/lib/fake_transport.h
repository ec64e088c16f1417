/* SPDX-License-Identifier: MIT */
/*
 * A fake driver-role transport for unit tests: an in-memory device (status,
 * features, config space, generation) that logs every operation, with the
 * device side of each queue served in the caller's thread through
 * <vireo/vring.h> over the DMA arena (identity translation).
 *
 * Not a global in sight: every test owns its struct fake_dev.
 */
#ifndef VIREO_TESTS_FAKE_TRANSPORT_H
#define VIREO_TESTS_FAKE_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vireo/driver.h>
#include <vireo/virtio_ring_alloc.h>
#include <vireo/vring.h>

#define FAKE_MAX_VQS 8u
#define FAKE_MAX_EVENTS 64u
#define FAKE_IOV_MAX 256u
/* Device-visible addresses start high, so a host pointer used as an address is caught. */
#define FAKE_DMA_BASE 0x100000000ull

enum fake_event_kind {
	FAKE_EV_RESET,
	FAKE_EV_STATUS,
	FAKE_EV_FINALIZE,
	FAKE_EV_FIND_VQS,
	FAKE_EV_DEL_VQS,
	FAKE_EV_CONFIG_WRITE,
};

struct fake_event {
	enum fake_event_kind kind;
	uint64_t val;
};

struct fake_dev;

/*
 * Serve one popped chain of queue @q: @iov holds chain->readable entries,
 * then chain->writable ones. Return the bytes written into the writable part.
 */
typedef uint32_t fake_handler(struct fake_dev *fd, unsigned int q, const struct vring_chain *chain,
			      struct vring_iov *iov);

struct fake_vq {
	struct virtqueue vq;
	struct virtio_vring_alloc mem;
	struct vring_split_dev dev;
	void *dev_state;
	struct fake_dev *fd;
	unsigned int kicks;
};

/*
 * @defer: notify only counts kicks; chains are served by fake_dev_process()
 *	or by the transport's wait()
 * @refuse_features_ok: the device clears FEATURES_OK (does not like our subset)
 * @gen_flaps: the generation changes on each of the next @gen_flaps reads of it
 * @find_vqs_err: find_vqs fails with this
 * @kick_before_driver_ok, @status_cleared, @config_written: rule breaches seen
 * @device_error: the device side found a ring protocol violation
 * @hold: queues never served by fake_dev_process(): the test pops their
 *	chains itself, when it has something to put in them (a receive queue)
 */
struct fake_dev {
	struct virtio_device vdev;
	struct virtio_dma_arena dma;
	uint8_t status;
	uint64_t offered;
	uint64_t acked;
	uint8_t config[256];
	unsigned int config_len;
	uint32_t generation;
	unsigned int gen_flaps;
	unsigned int config_reads;
	bool refuse_features_ok;
	int find_vqs_err;
	uint16_t queue_size;
	struct fake_vq *vqs[FAKE_MAX_VQS];
	unsigned int nvqs;
	bool defer;
	bool kick_before_driver_ok;
	bool status_cleared;
	bool config_written;
	bool device_error;
	bool hold[FAKE_MAX_VQS];
	unsigned int processed;
	fake_handler *handler;
	void *priv;
	struct fake_event events[FAKE_MAX_EVENTS];
	unsigned int nevents;
};

/** fake_dev_init() - a device of @device_id offering @offered. Return: 0 or -errno */
int fake_dev_init(struct fake_dev *fd, uint32_t device_id, uint64_t offered, size_t dma_size);

/** fake_dev_destroy() - free the queues (if the driver left any) and the arena */
void fake_dev_destroy(struct fake_dev *fd);

/** fake_dev_process() - serve up to @max chains of queue @q. Return: the number served */
unsigned int fake_dev_process(struct fake_dev *fd, unsigned int q, unsigned int max);

/** fake_dev_kicks() - notifications received on queue @q */
unsigned int fake_dev_kicks(const struct fake_dev *fd, unsigned int q);

#endif /* VIREO_TESTS_FAKE_TRANSPORT_H */
