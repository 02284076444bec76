/* Replays every file of a corpus directory through the fuzz target, so `make test` runs
 * the seeds without clang.  The libFuzzer build brings its own main. */
#ifndef AL_LIBFUZZER

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "lib/err.h"
#include "lib/fileio.h"

#define REPLAY_MAX_INPUT (16u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
regular_file(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

int
main(int argc, char **argv)
{
	struct dirent **names = NULL;
	size_t replayed = 0;
	int n, i, failed = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	n = scandir(argv[1], &names, regular_file, alphasort);
	if (n < 0) {
		perror(argv[1]);
		return 1;
	}
	for (i = 0; i < n; i++) {
		struct al_err err = {0};
		char path[4096];
		char *data = NULL;
		size_t len = 0;

		snprintf(path, sizeof(path), "%s/%s", argv[1], names[i]->d_name);
		free(names[i]);
		if (al_file_read(path, REPLAY_MAX_INPUT, &data, &len, &err) < 0) {
			fprintf(stderr, "%s\n", al_err_msg(&err));
			failed = 1;
			continue;
		}
		LLVMFuzzerTestOneInput((const uint8_t *)data, len);
		free(data);
		replayed++;
	}
	free(names);
	printf("replayed %zu inputs\n", replayed);
	/* an empty corpus would make this a test that cannot fail */
	return failed || replayed == 0;
}

#endif
