/* SPDX-License-Identifier: MIT */
/*
 * A bounded wait for something another process or thread finishes on its
 * own time (a close, an unmap): a hang bound, never a timing check.
 */
#ifndef VIREO_TESTS_POLL_UNTIL_H
#define VIREO_TESTS_POLL_UNTIL_H

#include <stdbool.h>

/**
 * poll_until() - call @done(@arg) every 10 ms until it returns true or about
 * @ms milliseconds have passed.
 * Return: true once @done did; false if it still does not after the bound.
 */
bool poll_until(bool (*done)(void *arg), void *arg, unsigned int ms);

#endif /* VIREO_TESTS_POLL_UNTIL_H */
