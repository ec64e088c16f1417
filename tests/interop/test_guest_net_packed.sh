#!/bin/bash
# test_guest_net.sh with packed virtqueues (--packed): the same checks, the peer and Vireo on
# VIRTIO_F_RING_PACKED (ring-formats issue: proven against peers nobody here wrote).
exec bash "$(dirname "$0")/test_guest_net.sh" --packed "$@"
