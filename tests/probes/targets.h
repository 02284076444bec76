/* For the network probes: try one thing against every address of a list and report the
 * outcome in one line. Included by tcp_host and udp. */
#pragma once

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Calls attempt(ip, port) for each address of list (space or comma separated), plus those
 * in $PROBE_HOST_IP; an attempt returning EINVAL (a family unusable here) is skipped. Prints
 * "probe=NAME result=blocked|allowed errno=... tried=N VERB=N [first=IP]" and returns the
 * probe's exit status: 0 when nothing got through, 1 when something did. */
static int
probe_targets(const char *name, const char *verb, const char *list, int port,
	      int (*attempt)(const char *ip, int port))
{
	char targets[512];
	const char *hosts = getenv("PROBE_HOST_IP"), *first = NULL;
	int n = 0, tries = 0, first_err = 0;
	char *save = NULL;

	snprintf(targets, sizeof(targets), "%s %s", list, hosts ? hosts : "");
	for (char *ip = strtok_r(targets, " ,", &save); ip; ip = strtok_r(NULL, " ,", &save)) {
		int e = attempt(ip, port);

		if (e == EINVAL)
			continue;
		if (tries++ == 0)
			first_err = e;
		if (e == 0 && n++ == 0)
			first = ip;
	}
	printf("probe=%s result=%s errno=%s tried=%d %s=%d%s%s\n", name, n ? "allowed" : "blocked",
	       first_err ? strerrorname_np(first_err) : "0", tries, verb, n, first ? " first=" : "",
	       first ? first : "");
	return n ? 1 : 0;
}
