/* SPDX-License-Identifier: MIT */
/*
 * Replays fuzz inputs without libFuzzer: each file named on the command line
 * runs through LLVMFuzzerTestOneInput in a child process, so one crash does
 * not hide the others. Prints one TAP line per input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_one(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data;
	long size;

	if (!f)
		return -1;
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return -1;
	}
	data = malloc((size_t)size + 1);
	if (!data || fread(data, 1, (size_t)size, f) != (size_t)size) {
		free(data);
		fclose(f);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(data, (size_t)size);
	free(data);
	return 0;
}

int main(int argc, char **argv)
{
	int failed = 0;

	printf("1..%d\n", argc - 1);
	for (int i = 1; i < argc; i++) {
		pid_t pid;
		int status = 0;

		fflush(stdout);
		pid = fork();
		if (pid == 0)
			_exit(replay_one(argv[i]) == 0 ? 0 : 3);
		if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0) {
			printf("not ok %d - %s\n", i, argv[i]);
			failed++;
		} else {
			printf("ok %d - %s\n", i, argv[i]);
		}
	}
	return failed ? 1 : 0;
}
