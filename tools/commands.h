/* SPDX-License-Identifier: MIT */
/*
 * The vireo subcommands. Each takes the arguments after its name with
 * argv[0] set to that name ("blk", "ring", ...), parses them with
 * getopt_long, and returns the process exit code: 0 success, 1 failure,
 * 2 bad arguments (one line on stderr naming the problem).
 */
#ifndef VIREO_TOOLS_COMMANDS_H
#define VIREO_TOOLS_COMMANDS_H

/* `vireo blk`: I/O through our driver, the loopback transport and our blk device */
int cmd_blk_main(int argc, char **argv);

/* `vireo rng`: random bytes through our virtio-rng driver (loopback, vhost-user or PCI) */
int cmd_rng_main(int argc, char **argv);

/* `vireo bench blk`: IOPS, bandwidth and latency through the loopback stack */
int bench_blk_main(int argc, char **argv);

/* `vireo bench net`: frames per second through our net driver and a vhost-user-net back-end */
int bench_net_main(int argc, char **argv);

/* `vireo bench ring`: the ring alone (tools/bench_ring.c) */
int bench_ring_main(int argc, char **argv);

/* `vireo demo`: what `make run` shows */
int demo_main(int argc, char **argv);

/* `vireo serve blk|rng`: a vhost-user back-end (tools/serve.c) */
int serve_main(int argc, char **argv);

/* `vireo serve net`: a vhost-user switch (tools/serve_net.c), argv[0] "net" */
int serve_net_main(int argc, char **argv);

#endif /* VIREO_TOOLS_COMMANDS_H */
