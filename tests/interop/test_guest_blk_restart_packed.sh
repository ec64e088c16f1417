#!/bin/bash
# test_guest_blk_restart.sh with packed virtqueues (--packed): a back-end restart loses no I/O
# on a packed ring either, which QEMU alone cannot restore (issue 10 part 2).
exec bash "$(dirname "$0")/test_guest_blk_restart.sh" --packed "$@"
