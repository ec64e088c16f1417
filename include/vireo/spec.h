/* SPDX-License-Identifier: MIT */
/*
 * The virtio 1.2 specification as C: device IDs, status and feature bits,
 * split-ring wire structures, the block device's request and config layouts
 * and the network device's header, config and control commands. Names follow
 * the spec (OASIS virtio 1.2, §2, §5.1 and §5.2). Every wire
 * structure carries static_asserts on its size and field offsets.
 *
 * Coexistence with Linux's uapi headers (<linux/virtio_blk.h>, <linux/virtio_net.h>, …) in
 * one translation unit: a macro both define is spelled here token for token as there (C11
 * §6.10.3p2 allows an identical redefinition, in either order), so its value is an int
 * where the spec's bit would read more naturally unsigned.
 *
 * Only the host byte order x86_64/aarch64-le is supported; the le*_to_cpu
 * helpers still mark every conversion so a big-endian port has one seam.
 */
#ifndef VIREO_SPEC_H
#define VIREO_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Wire-layout checks in a form every language mode of a consumer accepts: C11's
 * _Static_assert, C++'s static_assert, and for C99 an array declaration whose size is
 * negative when the check fails (one name, redeclared compatibly by every check).
 */
#if defined(__cplusplus)
#define VIREO_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define VIREO_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#else
#define VIREO_STATIC_ASSERT(cond, msg) extern char vireo_static_assert[(cond) ? 1 : -1]
#endif

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "Vireo assumes a little-endian host"
#endif

/* Wire types: a reader sees at once that a field is little-endian. */
typedef uint16_t le16;
typedef uint32_t le32;
typedef uint64_t le64;

static inline uint16_t le16_to_cpu(le16 v)
{
	return v;
}
static inline uint32_t le32_to_cpu(le32 v)
{
	return v;
}
static inline uint64_t le64_to_cpu(le64 v)
{
	return v;
}
static inline le16 cpu_to_le16(uint16_t v)
{
	return v;
}
static inline le32 cpu_to_le32(uint32_t v)
{
	return v;
}
static inline le64 cpu_to_le64(uint64_t v)
{
	return v;
}

/* §5: device IDs. */
#define VIRTIO_ID_NET 1
#define VIRTIO_ID_BLOCK 2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_ENTROPY 4

/* §2.1: device status field. */
#define VIRTIO_STATUS_ACKNOWLEDGE 1u
#define VIRTIO_STATUS_DRIVER 2u
#define VIRTIO_STATUS_DRIVER_OK 4u
#define VIRTIO_STATUS_FEATURES_OK 8u
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 64u
#define VIRTIO_STATUS_FAILED 128u

/* §6: reserved (transport/ring) feature bits. */
#define VIRTIO_F_RING_INDIRECT_DESC 28
#define VIRTIO_F_RING_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32
#define VIRTIO_F_ACCESS_PLATFORM 33
#define VIRTIO_F_RING_PACKED 34
#define VIRTIO_F_IN_ORDER 35
#define VIRTIO_F_ORDER_PLATFORM 36
#define VIRTIO_F_SR_IOV 37
#define VIRTIO_F_NOTIFICATION_DATA 38
#define VIRTIO_F_NOTIF_CONFIG_DATA 39
#define VIRTIO_F_RING_RESET 40

#define VIRTIO_BIT(b) (1ull << (b))

/*
 * virtio 1.4 §2.2 (dev:BF/Feature Bits): bits 0-23, 41, 42 and 50-127 are the
 * device type's; 24-40 and 43 are for the queue and feature negotiation
 * (ch. 6); 44-49 and 128 up are reserved. Feature sets are two 64-bit words:
 * bits 0-63 (masked by VIRTIO_DEVICE_TYPE_FEATURES) and bits 64-127 (all the
 * device type's), the second carried by virtio-pci, virtio-mmio and loopback
 * (feature select 2 and 3), never by vhost-user (GET_FEATURES is a u64).
 * VIREO_, not VIRTIO_: <linux/virtio_config.h> keeps the pre-1.0 values 28/42.
 */
#define VIREO_TRANSPORT_F_START 24
#define VIREO_TRANSPORT_F_END 41 /* exclusive; and bit 43 */
#define VIRTIO_DEVICE_TYPE_FEATURES \
	((VIRTIO_BIT(24) - 1) | VIRTIO_BIT(41) | VIRTIO_BIT(42) | (~0ull << 50))

/* §2.2: feature bits 0-127; the second word is bits 64-127. */
#define VIREO_FEATURE_BITS 128u

/*
 * vireo_feature_in() - is @bit set in the 128-bit set (@lo: 0-63, @hi: 64-127)?
 * Any @bit from 128 up is false (no shift by 64 or more).
 */
static inline bool vireo_feature_in(uint64_t lo, uint64_t hi, unsigned int bit)
{
	if (bit >= VIREO_FEATURE_BITS)
		return false;
	return (((bit < 64) ? lo : hi) >> (bit % 64)) & 1u;
}

/*
 * vireo_feature_dword() - bits @sel*32 .. @sel*32+31 of the 128-bit set, as the
 * select registers of virtio-pci and virtio-mmio show them; 0 from @sel 4 up.
 */
static inline uint32_t vireo_feature_dword(uint64_t lo, uint64_t hi, uint32_t sel)
{
	if (sel >= VIREO_FEATURE_BITS / 32)
		return 0;
	return (uint32_t)(((sel < 2) ? lo : hi) >> (32 * (sel % 2)));
}

/*
 * vireo_feature_set_dword() - replace bits @sel*32 .. +31 of the set (@lo, @hi) by @value.
 * Return: false (nothing changed) for @sel 4 and up: there are no such bits.
 */
static inline bool vireo_feature_set_dword(uint64_t *lo, uint64_t *hi, uint32_t sel, uint32_t value)
{
	uint64_t *word = (sel < 2) ? lo : hi;
	unsigned int shift = 32 * (sel % 2);

	if (sel >= VIREO_FEATURE_BITS / 32)
		return false;
	*word = (*word & ~(0xffffffffull << shift)) | ((uint64_t)value << shift);
	return true;
}

/* §2.7: split virtqueues. */
#define VIRTQ_DESC_F_NEXT 1u
#define VIRTQ_DESC_F_WRITE 2u
#define VIRTQ_DESC_F_INDIRECT 4u

#define VIRTQ_AVAIL_F_NO_INTERRUPT 1u
#define VIRTQ_USED_F_NO_NOTIFY 1u

/* §2.7: maximum queue size of a split virtqueue. */
#define VIRTQ_SPLIT_MAX_SIZE 32768u

/* §2.7.5: alignment of the three parts of a split virtqueue. */
#define VIRTQ_DESC_ALIGN 16u
#define VIRTQ_AVAIL_ALIGN 2u
#define VIRTQ_USED_ALIGN 4u

struct virtq_desc {
	le64 addr;
	le32 len;
	le16 flags;
	le16 next;
};

struct virtq_avail {
	le16 flags;
	le16 idx;
	le16 ring[]; /* queue size entries, then used_event (VIRTIO_F_EVENT_IDX) */
};

struct virtq_used_elem {
	le32 id; /* le32 for padding reasons only: a head index */
	le32 len;
};

struct virtq_used {
	le16 flags;
	le16 idx;
	struct virtq_used_elem ring[]; /* queue size entries, then avail_event */
};

/* §2.7.5: byte sizes of each part for a queue of num entries (EVENT_IDX words included). */
static inline size_t virtq_desc_table_size(unsigned int num)
{
	return sizeof(struct virtq_desc) * num;
}

static inline size_t virtq_avail_size(unsigned int num)
{
	return sizeof(struct virtq_avail) + sizeof(le16) * num + sizeof(le16);
}

static inline size_t virtq_used_size(unsigned int num)
{
	return sizeof(struct virtq_used) + sizeof(struct virtq_used_elem) * num + sizeof(le16);
}

/* §2.7.7.2: the event index arithmetic shared by both sides. */
static inline int virtq_need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old_idx)
{
	return (uint16_t)(new_idx - event_idx - 1) < (uint16_t)(new_idx - old_idx);
}

VIREO_STATIC_ASSERT(sizeof(struct virtq_desc) == 16, "virtq_desc");
VIREO_STATIC_ASSERT(offsetof(struct virtq_desc, addr) == 0, "virtq_desc.addr");
VIREO_STATIC_ASSERT(offsetof(struct virtq_desc, len) == 8, "virtq_desc.len");
VIREO_STATIC_ASSERT(offsetof(struct virtq_desc, flags) == 12, "virtq_desc.flags");
VIREO_STATIC_ASSERT(offsetof(struct virtq_desc, next) == 14, "virtq_desc.next");
VIREO_STATIC_ASSERT(sizeof(struct virtq_avail) == 4, "virtq_avail");
VIREO_STATIC_ASSERT(offsetof(struct virtq_avail, idx) == 2, "virtq_avail.idx");
VIREO_STATIC_ASSERT(offsetof(struct virtq_avail, ring) == 4, "virtq_avail.ring");
VIREO_STATIC_ASSERT(sizeof(struct virtq_used_elem) == 8, "virtq_used_elem");
VIREO_STATIC_ASSERT(offsetof(struct virtq_used_elem, len) == 4, "virtq_used_elem.len");
VIREO_STATIC_ASSERT(sizeof(struct virtq_used) == 4, "virtq_used");
VIREO_STATIC_ASSERT(offsetof(struct virtq_used, idx) == 2, "virtq_used.idx");
VIREO_STATIC_ASSERT(offsetof(struct virtq_used, ring) == 4, "virtq_used.ring");

/*
 * §2.8 (packed-ring.tex): packed virtqueues. Descriptor flags are those of
 * §2.7 plus AVAIL and USED; a descriptor is available when AVAIL matches the
 * driver's wrap counter and USED does not, used when both match the device's.
 */
#define VIRTQ_DESC_F_AVAIL (1u << 7)
#define VIRTQ_DESC_F_USED (1u << 15)

/* §2.8: at most 2^15 entries; any size, not only powers of two. */
#define VIRTQ_PACKED_MAX_SIZE 32768u

/* §2.8.10.1: alignment of the descriptor ring and of each event suppression structure. */
#define PVIRTQ_DESC_ALIGN 16u
#define PVIRTQ_EVENT_ALIGN 4u

/* §2.8.10: event suppression flags (DESC only with VIRTIO_F_RING_EVENT_IDX). */
#define RING_EVENT_FLAGS_ENABLE 0x0u
#define RING_EVENT_FLAGS_DISABLE 0x1u
#define RING_EVENT_FLAGS_DESC 0x2u

/* off_wrap: bits 0..14 the descriptor offset, bit 15 the wrap counter. */
#define PVIRTQ_EVENT_WRAP_SHIFT 15u

struct pvirtq_desc {
	le64 addr;
	le32 len;
	le16 id;
	le16 flags;
};

struct pvirtq_event_suppress {
	le16 off_wrap;
	le16 flags; /* bits 0..1 RING_EVENT_FLAGS_*, the rest reserved */
};

VIREO_STATIC_ASSERT(sizeof(struct pvirtq_desc) == 16, "pvirtq_desc");
VIREO_STATIC_ASSERT(offsetof(struct pvirtq_desc, addr) == 0, "pvirtq_desc.addr");
VIREO_STATIC_ASSERT(offsetof(struct pvirtq_desc, len) == 8, "pvirtq_desc.len");
VIREO_STATIC_ASSERT(offsetof(struct pvirtq_desc, id) == 12, "pvirtq_desc.id");
VIREO_STATIC_ASSERT(offsetof(struct pvirtq_desc, flags) == 14, "pvirtq_desc.flags");
VIREO_STATIC_ASSERT(sizeof(struct pvirtq_event_suppress) == 4, "pvirtq_event_suppress");
VIREO_STATIC_ASSERT(offsetof(struct pvirtq_event_suppress, flags) == 2,
		    "pvirtq_event_suppress.flags");

/* §5.2.3: block device feature bits. */
#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_GEOMETRY 4
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_TOPOLOGY 10
#define VIRTIO_BLK_F_CONFIG_WCE 11
#define VIRTIO_BLK_F_MQ 12
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14
#define VIRTIO_BLK_F_LIFETIME 15
#define VIRTIO_BLK_F_SECURE_ERASE 16
#define VIRTIO_BLK_F_ZONED 17

/* §5.2.6: request types and status values. */
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_GET_LIFETIME 10u
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_T_SECURE_ERASE 14

#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_SECTOR_SIZE 512u
#define VIRTIO_BLK_SECTOR_SHIFT 9
#define VIRTIO_BLK_ID_BYTES 20
#define VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP 0x00000001

struct vireo_blk_geometry {
	le16 cylinders;
	uint8_t heads;
	uint8_t sectors;
};

struct vireo_blk_topology {
	uint8_t physical_block_exp;
	uint8_t alignment_offset;
	le16 min_io_size;
	le32 opt_io_size;
};

struct vireo_blk_zoned_characteristics {
	le32 zone_sectors;
	le32 max_open_zones;
	le32 max_active_zones;
	le32 max_append_sectors;
	le32 write_granularity;
	uint8_t model;
	uint8_t unused2[3];
};

/* §5.2.4: device configuration layout. */
struct vireo_blk_config {
	le64 capacity;
	le32 size_max;
	le32 seg_max;
	struct vireo_blk_geometry geometry;
	le32 blk_size;
	struct vireo_blk_topology topology;
	uint8_t writeback;
	uint8_t unused0;
	le16 num_queues;
	le32 max_discard_sectors;
	le32 max_discard_seg;
	le32 discard_sector_alignment;
	le32 max_write_zeroes_sectors;
	le32 max_write_zeroes_seg;
	uint8_t write_zeroes_may_unmap;
	uint8_t unused1[3];
	le32 max_secure_erase_sectors;
	le32 max_secure_erase_seg;
	le32 secure_erase_sector_alignment;
	struct vireo_blk_zoned_characteristics zoned;
};

/* §5.2.6: the request header read from the first (readable) bytes of a chain. */
struct vireo_blk_outhdr {
	le32 type;
	le32 reserved;
	le64 sector;
};

/* §5.2.6: one segment of a DISCARD / WRITE_ZEROES / SECURE_ERASE payload. */
struct vireo_blk_discard_write_zeroes {
	le64 sector;
	le32 num_sectors;
	le32 flags; /* bit 0: unmap; the rest reserved */
};

VIREO_STATIC_ASSERT(sizeof(struct vireo_blk_geometry) == 4, "vireo_blk_geometry");
VIREO_STATIC_ASSERT(sizeof(struct vireo_blk_topology) == 8, "vireo_blk_topology");
VIREO_STATIC_ASSERT(sizeof(struct vireo_blk_zoned_characteristics) == 24, "zoned");
VIREO_STATIC_ASSERT(offsetof(struct vireo_blk_config, capacity) == 0, "capacity");
VIREO_STATIC_ASSERT(offsetof(struct vireo_blk_config, size_max) == 8, "size_max");
VIREO_STATIC_ASSERT(offsetof(struct vireo_blk_config, seg_max) == 12, "seg_max");
VIREO_STATIC_ASSERT(offsetof(struct vireo_blk_config, geometry) == 16, "geometry");
VIREO_STATIC_ASSERT(offsetof(struct vireo_blk_config, blk_size) == 20, "blk_size");
VIREO_STATIC_ASSERT(offsetof(struct vireo_blk_config, topology) == 24, "topology");
VIREO_STATIC_ASSERT(offsetof(struct vireo_blk_config, writeback) == 32, "writeback");
VIREO_STATIC_ASSERT(offsetof(struct vireo_blk_config, num_queues) == 34, "num_queues");
VIREO_STATIC_ASSERT(offsetof(struct vireo_blk_config, max_discard_sectors) == 36, "max_discard");
VIREO_STATIC_ASSERT(offsetof(struct vireo_blk_config, max_discard_seg) == 40, "max_discard_seg");
VIREO_STATIC_ASSERT(offsetof(struct vireo_blk_config, discard_sector_alignment) == 44, "dsa");
VIREO_STATIC_ASSERT(offsetof(struct vireo_blk_config, max_write_zeroes_sectors) == 48, "mwzs");
VIREO_STATIC_ASSERT(offsetof(struct vireo_blk_config, max_write_zeroes_seg) == 52, "mwzseg");
VIREO_STATIC_ASSERT(offsetof(struct vireo_blk_config, write_zeroes_may_unmap) == 56, "wzmu");
VIREO_STATIC_ASSERT(offsetof(struct vireo_blk_config, max_secure_erase_sectors) == 60, "mses");
VIREO_STATIC_ASSERT(offsetof(struct vireo_blk_config, secure_erase_sector_alignment) == 68, "sesa");
VIREO_STATIC_ASSERT(offsetof(struct vireo_blk_config, zoned) == 72, "zoned");
VIREO_STATIC_ASSERT(sizeof(struct vireo_blk_config) == 96, "vireo_blk_config");
VIREO_STATIC_ASSERT(sizeof(struct vireo_blk_outhdr) == 16, "vireo_blk_outhdr");
VIREO_STATIC_ASSERT(offsetof(struct vireo_blk_outhdr, sector) == 8, "outhdr.sector");
VIREO_STATIC_ASSERT(sizeof(struct vireo_blk_discard_write_zeroes) == 16, "discard segment");
VIREO_STATIC_ASSERT(offsetof(struct vireo_blk_discard_write_zeroes, flags) == 12, "dwz.flags");

/* §5.1.3: network device feature bits. */
#define VIRTIO_NET_F_CSUM 0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_CTRL_GUEST_OFFLOADS 2
#define VIRTIO_NET_F_MTU 3
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_GUEST_ECN 9
#define VIRTIO_NET_F_GUEST_UFO 10
#define VIRTIO_NET_F_HOST_TSO4 11
#define VIRTIO_NET_F_HOST_TSO6 12
#define VIRTIO_NET_F_HOST_ECN 13
#define VIRTIO_NET_F_HOST_UFO 14
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_NET_F_STATUS 16
#define VIRTIO_NET_F_CTRL_VQ 17
#define VIRTIO_NET_F_CTRL_RX 18
#define VIRTIO_NET_F_CTRL_VLAN 19
#define VIRTIO_NET_F_CTRL_RX_EXTRA 20
#define VIRTIO_NET_F_GUEST_ANNOUNCE 21
#define VIRTIO_NET_F_MQ 22
#define VIRTIO_NET_F_CTRL_MAC_ADDR 23

/* §5.1.4: status bits and the device configuration layout (up to supported_hash_types). */
#define VIRTIO_NET_S_LINK_UP 1
#define VIRTIO_NET_S_ANNOUNCE 2

#define VIRTIO_NET_MAC_LEN 6u
/* §5.1.4 (D-NET-01): max_virtqueue_pairs is 1..0x8000. */
#define VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN 1
#define VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MAX 0x8000
/* §5.1.4 (D-NET-02): mtu is 68..65535. */
#define VIRTIO_NET_MTU_MIN 68u
#define VIRTIO_NET_MTU_MAX 65535u

struct vireo_net_config {
	uint8_t mac[VIRTIO_NET_MAC_LEN];
	le16 status;
	le16 max_virtqueue_pairs;
	le16 mtu;
	le32 speed;
	uint8_t duplex;
	uint8_t rss_max_key_size;
	le16 rss_max_indirection_table_length;
	le32 supported_hash_types;
};

/* §5.1.6: the header before every frame (VERSION_1: num_buffers always present, 12 bytes). */
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2
#define VIRTIO_NET_HDR_F_RSC_INFO 4

#define VIRTIO_NET_HDR_GSO_NONE 0
#define VIRTIO_NET_HDR_GSO_TCPV4 1
#define VIRTIO_NET_HDR_GSO_UDP 3
#define VIRTIO_NET_HDR_GSO_TCPV6 4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5u
#define VIRTIO_NET_HDR_GSO_ECN 0x80

struct vireo_net_hdr_v1 {
	uint8_t flags;
	uint8_t gso_type;
	le16 hdr_len;
	le16 gso_size;
	le16 csum_start;
	le16 csum_offset;
	le16 num_buffers;
};

/* §5.1.6.5: the control virtqueue: class, command, data (readable), then ack (writable). */
struct vireo_net_ctrl_hdr {
	uint8_t command_class; /* the spec's "class", a C++ keyword */
	uint8_t cmd;
};

#define VIRTIO_NET_OK 0
#define VIRTIO_NET_ERR 1

#define VIRTIO_NET_CTRL_RX 0
#define VIRTIO_NET_CTRL_RX_PROMISC 0
#define VIRTIO_NET_CTRL_RX_ALLMULTI 1
#define VIRTIO_NET_CTRL_RX_ALLUNI 2
#define VIRTIO_NET_CTRL_RX_NOMULTI 3
#define VIRTIO_NET_CTRL_RX_NOUNI 4
#define VIRTIO_NET_CTRL_RX_NOBCAST 5

#define VIRTIO_NET_CTRL_MAC 1
#define VIRTIO_NET_CTRL_MAC_TABLE_SET 0
#define VIRTIO_NET_CTRL_MAC_ADDR_SET 1

#define VIRTIO_NET_CTRL_VLAN 2
#define VIRTIO_NET_CTRL_ANNOUNCE 3

#define VIRTIO_NET_CTRL_MQ 4
#define VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET 0

#define VIRTIO_NET_CTRL_GUEST_OFFLOADS 5
#define VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET 0

VIREO_STATIC_ASSERT(sizeof(struct vireo_net_config) == 24, "vireo_net_config");
VIREO_STATIC_ASSERT(offsetof(struct vireo_net_config, status) == 6, "net_config.status");
VIREO_STATIC_ASSERT(offsetof(struct vireo_net_config, max_virtqueue_pairs) == 8, "net_config.mvqp");
VIREO_STATIC_ASSERT(offsetof(struct vireo_net_config, mtu) == 10, "net_config.mtu");
VIREO_STATIC_ASSERT(offsetof(struct vireo_net_config, speed) == 12, "net_config.speed");
VIREO_STATIC_ASSERT(offsetof(struct vireo_net_config, duplex) == 16, "net_config.duplex");
VIREO_STATIC_ASSERT(offsetof(struct vireo_net_config, supported_hash_types) == 20,
		    "net_config.sht");
VIREO_STATIC_ASSERT(sizeof(struct vireo_net_hdr_v1) == 12, "vireo_net_hdr_v1");
VIREO_STATIC_ASSERT(offsetof(struct vireo_net_hdr_v1, hdr_len) == 2, "net_hdr.hdr_len");
VIREO_STATIC_ASSERT(offsetof(struct vireo_net_hdr_v1, gso_size) == 4, "net_hdr.gso_size");
VIREO_STATIC_ASSERT(offsetof(struct vireo_net_hdr_v1, csum_start) == 6, "net_hdr.csum_start");
VIREO_STATIC_ASSERT(offsetof(struct vireo_net_hdr_v1, csum_offset) == 8, "net_hdr.csum_offset");
VIREO_STATIC_ASSERT(offsetof(struct vireo_net_hdr_v1, num_buffers) == 10, "net_hdr.num_buffers");
VIREO_STATIC_ASSERT(sizeof(struct vireo_net_ctrl_hdr) == 2, "vireo_net_ctrl_hdr");

/*
 * Virtio over PCI (virtio 1.2 §4.1, transport-pci.tex): the vendor-specific capabilities
 * that locate each structure in a BAR, the common configuration structure, the notify
 * capability and the PCI configuration access capability. Prefixed vireo_/VIREO_ so the
 * header coexists with <linux/virtio_pci.h>. Generic PCI header and MSI-X capability
 * offsets come from <linux/pci_regs.h>.
 */
#define VIREO_PCI_VENDOR_ID 0x1af4
#define VIREO_PCI_DEVICE_ID_BASE 0x1040 /* + virtio device id: a non-transitional device */
#define VIREO_PCI_DEVICE_ID_LAST 0x107f
#define VIREO_PCI_REVISION_ID 1		/* §4.1.2.1: non-transitional devices SHOULD be >= 1 */
#define VIREO_PCI_SUBSYSTEM_ID_MIN 0x40 /* §4.1.2.1: non-transitional SHOULD be >= 0x40 */

/* cfg_type of struct vireo_pci_cap (§4.1.4) */
#define VIREO_PCI_CAP_COMMON_CFG 1
#define VIREO_PCI_CAP_NOTIFY_CFG 2
#define VIREO_PCI_CAP_ISR_CFG 3
#define VIREO_PCI_CAP_DEVICE_CFG 4
#define VIREO_PCI_CAP_PCI_CFG 5
#define VIREO_PCI_CAP_SHARED_MEMORY_CFG 8
#define VIREO_PCI_CAP_VENDOR_CFG 9

/* ISR status bits (§4.1.4.5): reading the byte returns them and clears it */
#define VIREO_PCI_ISR_QUEUE 0x1
#define VIREO_PCI_ISR_CONFIG 0x2

/* config_msix_vector / queue_msix_vector: no vector mapped (§4.1.5.1.2) */
#define VIREO_PCI_MSI_NO_VECTOR 0xffff

/* One virtio structure in a BAR (§4.1.4), little-endian, in PCI configuration space. */
struct vireo_pci_cap {
	uint8_t cap_vndr; /* PCI_CAP_ID_VNDR */
	uint8_t cap_next;
	uint8_t cap_len; /* including any data after this struct */
	uint8_t cfg_type;
	uint8_t bar;
	uint8_t id;
	uint8_t padding[2];
	le32 offset; /* within the BAR */
	le32 length; /* of the structure */
};

/* For structures above 4 GiB in a BAR: shared memory regions (§4.1.4.1). */
struct vireo_pci_cap64 {
	struct vireo_pci_cap cap;
	le32 offset_hi;
	le32 length_hi;
};

/* Queue i's notify address: cap.offset + queue_notify_off(i) * notify_off_multiplier. */
struct vireo_pci_notify_cap {
	struct vireo_pci_cap cap;
	le32 notify_off_multiplier;
};

/* Window into the BARs through configuration space (§4.1.4.9). */
struct vireo_pci_cfg_cap {
	struct vireo_pci_cap cap;
	uint8_t pci_cfg_data[4];
};

/* The common configuration structure (§4.1.4.3); 64-bit fields are two 32-bit halves. */
struct vireo_pci_common_cfg {
	le32 device_feature_select;
	le32 device_feature; /* read-only */
	le32 driver_feature_select;
	le32 driver_feature;
	le16 config_msix_vector;
	le16 num_queues; /* read-only */
	uint8_t device_status;
	uint8_t config_generation; /* read-only */
	le16 queue_select;
	le16 queue_size;
	le16 queue_msix_vector;
	le16 queue_enable;
	le16 queue_notify_off; /* read-only */
	le64 queue_desc;
	le64 queue_driver;
	le64 queue_device;
	le16 queue_notif_config_data; /* read-only */
	le16 queue_reset;
	le16 admin_queue_index; /* read-only */
	le16 admin_queue_num;	/* read-only */
};

/* One MSI-X table entry (PCI Local Bus 3.0 §6.8.2); a BAR holds the table and the PBA. */
struct vireo_msix_entry {
	le32 address_lo;
	le32 address_hi;
	le32 data;
	le32 vector_control; /* bit 0: masked */
};
#define VIREO_MSIX_ENTRY_MASKED 0x1

VIREO_STATIC_ASSERT(sizeof(struct vireo_pci_cap) == 16, "vireo_pci_cap");
VIREO_STATIC_ASSERT(offsetof(struct vireo_pci_cap, cfg_type) == 3, "pci_cap.cfg_type");
VIREO_STATIC_ASSERT(offsetof(struct vireo_pci_cap, bar) == 4, "pci_cap.bar");
VIREO_STATIC_ASSERT(offsetof(struct vireo_pci_cap, offset) == 8, "pci_cap.offset");
VIREO_STATIC_ASSERT(offsetof(struct vireo_pci_cap, length) == 12, "pci_cap.length");
VIREO_STATIC_ASSERT(sizeof(struct vireo_pci_cap64) == 24, "vireo_pci_cap64");
VIREO_STATIC_ASSERT(sizeof(struct vireo_pci_notify_cap) == 20, "vireo_pci_notify_cap");
VIREO_STATIC_ASSERT(sizeof(struct vireo_pci_cfg_cap) == 20, "vireo_pci_cfg_cap");
VIREO_STATIC_ASSERT(offsetof(struct vireo_pci_common_cfg, device_feature) == 4, "cc.dfeat");
VIREO_STATIC_ASSERT(offsetof(struct vireo_pci_common_cfg, driver_feature) == 12, "cc.gfeat");
VIREO_STATIC_ASSERT(offsetof(struct vireo_pci_common_cfg, config_msix_vector) == 16, "cc.msix");
VIREO_STATIC_ASSERT(offsetof(struct vireo_pci_common_cfg, num_queues) == 18, "cc.num_queues");
VIREO_STATIC_ASSERT(offsetof(struct vireo_pci_common_cfg, device_status) == 20, "cc.status");
VIREO_STATIC_ASSERT(offsetof(struct vireo_pci_common_cfg, config_generation) == 21, "cc.gen");
VIREO_STATIC_ASSERT(offsetof(struct vireo_pci_common_cfg, queue_select) == 22, "cc.q_select");
VIREO_STATIC_ASSERT(offsetof(struct vireo_pci_common_cfg, queue_size) == 24, "cc.q_size");
VIREO_STATIC_ASSERT(offsetof(struct vireo_pci_common_cfg, queue_msix_vector) == 26, "cc.q_msix");
VIREO_STATIC_ASSERT(offsetof(struct vireo_pci_common_cfg, queue_enable) == 28, "cc.q_enable");
VIREO_STATIC_ASSERT(offsetof(struct vireo_pci_common_cfg, queue_notify_off) == 30, "cc.q_noff");
VIREO_STATIC_ASSERT(offsetof(struct vireo_pci_common_cfg, queue_desc) == 32, "cc.q_desc");
VIREO_STATIC_ASSERT(offsetof(struct vireo_pci_common_cfg, queue_driver) == 40, "cc.q_driver");
VIREO_STATIC_ASSERT(offsetof(struct vireo_pci_common_cfg, queue_device) == 48, "cc.q_device");
VIREO_STATIC_ASSERT(offsetof(struct vireo_pci_common_cfg, queue_notif_config_data) == 56,
		    "cc.q_ncd");
VIREO_STATIC_ASSERT(offsetof(struct vireo_pci_common_cfg, queue_reset) == 58, "cc.q_reset");
VIREO_STATIC_ASSERT(offsetof(struct vireo_pci_common_cfg, admin_queue_index) == 60, "cc.aq_idx");
VIREO_STATIC_ASSERT(sizeof(struct vireo_pci_common_cfg) == 64, "vireo_pci_common_cfg");
VIREO_STATIC_ASSERT(sizeof(struct vireo_msix_entry) == 16, "vireo_msix_entry");

/*
 * Virtio over MMIO, version 2 (virtio 1.2 §4.2.2, transport-mmio.tex): register offsets
 * in the device's region; all registers are 32 bits wide and little-endian, device
 * configuration starts at VIREO_MMIO_CONFIG.
 */
#define VIREO_MMIO_MAGIC 0x74726976 /* "virt" */
#define VIREO_MMIO_VERSION 2	    /* 1 is the legacy interface */

#define VIREO_MMIO_MAGIC_VALUE 0x000
#define VIREO_MMIO_VERSION_REG 0x004
#define VIREO_MMIO_DEVICE_ID 0x008
#define VIREO_MMIO_VENDOR_ID 0x00c
#define VIREO_MMIO_DEVICE_FEATURES 0x010
#define VIREO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIREO_MMIO_DRIVER_FEATURES 0x020
#define VIREO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIREO_MMIO_QUEUE_SEL 0x030
#define VIREO_MMIO_QUEUE_SIZE_MAX 0x034
#define VIREO_MMIO_QUEUE_SIZE 0x038
#define VIREO_MMIO_QUEUE_READY 0x044
#define VIREO_MMIO_QUEUE_NOTIFY 0x050
#define VIREO_MMIO_INTERRUPT_STATUS 0x060
#define VIREO_MMIO_INTERRUPT_ACK 0x064
#define VIREO_MMIO_STATUS 0x070
#define VIREO_MMIO_QUEUE_DESC_LOW 0x080
#define VIREO_MMIO_QUEUE_DESC_HIGH 0x084
#define VIREO_MMIO_QUEUE_DRIVER_LOW 0x090
#define VIREO_MMIO_QUEUE_DRIVER_HIGH 0x094
#define VIREO_MMIO_QUEUE_DEVICE_LOW 0x0a0
#define VIREO_MMIO_QUEUE_DEVICE_HIGH 0x0a4
#define VIREO_MMIO_SHM_SEL 0x0ac
#define VIREO_MMIO_SHM_LEN_LOW 0x0b0
#define VIREO_MMIO_SHM_LEN_HIGH 0x0b4
#define VIREO_MMIO_SHM_BASE_LOW 0x0b8
#define VIREO_MMIO_SHM_BASE_HIGH 0x0bc
#define VIREO_MMIO_QUEUE_RESET 0x0c0
#define VIREO_MMIO_CONFIG_GENERATION 0x0fc
#define VIREO_MMIO_CONFIG 0x100

/* InterruptStatus / InterruptACK bits (§4.2.2) */
#define VIREO_MMIO_INT_VRING 0x1
#define VIREO_MMIO_INT_CONFIG 0x2

/*
 * Driver notification data when VIRTIO_F_NOTIFICATION_DATA is negotiated (§2.9): bits 0-15
 * the queue index; bits 16-30 next_off, bit 31 next_wrap: for a split ring together the
 * 16-bit avail index, for a packed ring the next descriptor's offset and avail wrap counter.
 */
#define VIREO_NOTIFY_DATA_QUEUE(v) ((uint16_t)((v)&0xffff))
#define VIREO_NOTIFY_DATA_NEXT(v) ((uint16_t)(((v) >> 16) & 0x7fff))
#define VIREO_NOTIFY_DATA_WRAP(v) ((unsigned int)(((v) >> 31) & 1))

#ifdef __cplusplus
}
#endif

#endif /* VIREO_SPEC_H */
