/* SPDX-License-Identifier: MIT */
/*
 * A stand-in for the switch (devices/net/switch.c) in the uplink tests:
 * ports and flooding, nothing more. The tests use only net_switch.h, so they
 * hold with this double or with the real switch.
 *
 * A header, not a tests/lib .c file: tests/lib objects go into every test
 * program, and the other programs must get the real switch. The definitions
 * are weak: if a program that includes this also pulls the real switch out
 * of libvireo.a, the real one wins instead of a duplicate-symbol error.
 * Include it in exactly one .c file of a test program.
 */
#ifndef VIREO_TESTS_NET_SWITCH_DOUBLE_H
#define VIREO_TESTS_NET_SWITCH_DOUBLE_H

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include <vireo/net_switch.h>

struct net_switch_port {
	const struct net_port_ops *ops;
	void *opaque;
	bool used;
};

struct net_switch {
	struct net_switch_port ports[NET_SWITCH_MAX_PORTS];
};

__attribute__((weak)) int vireo_net_switch_new(struct net_switch **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

__attribute__((weak)) void vireo_net_switch_free(struct net_switch *sw)
{
	free(sw);
}

__attribute__((weak)) int vireo_net_switch_add_port(struct net_switch *sw, const char *name,
						    const struct net_port_ops *ops, void *opaque,
						    struct net_switch_port **out)
{
	unsigned int i;

	(void)name;
	for (i = 0; i < NET_SWITCH_MAX_PORTS; i++) {
		if (!sw->ports[i].used) {
			sw->ports[i] = (struct net_switch_port){
				.ops = ops, .opaque = opaque, .used = true};
			*out = &sw->ports[i];
			return 0;
		}
	}
	return -ENOSPC;
}

__attribute__((weak)) void vireo_net_switch_remove_port(struct net_switch *sw,
							struct net_switch_port *port)
{
	(void)sw;
	port->used = false;
}

/* Every frame floods to every other port (a switch that never learns). */
__attribute__((weak)) void vireo_net_switch_input(struct net_switch *sw,
						  struct net_switch_port *from,
						  const struct net_packet *pkt)
{
	unsigned int i;

	for (i = 0; i < NET_SWITCH_MAX_PORTS; i++)
		if (sw->ports[i].used && &sw->ports[i] != from)
			(void)sw->ports[i].ops->transmit(sw->ports[i].opaque, pkt);
}

#endif /* VIREO_TESTS_NET_SWITCH_DOUBLE_H */
