#!/bin/bash
# test_dpdk_virtio_user_net.sh with the switch busy-polling (--poll), packed rings: the same
# exact counts when the event loop runs only every few polling rounds (serve_net_run.c).
exec bash "$(dirname "$0")/test_dpdk_virtio_user_net.sh" --packed --poll "$@"
