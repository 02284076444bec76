/* probe=sethostname: the host name and domain name cannot be set. The probe sets them to
 * what they already are, so where it is allowed nothing changes. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int
main(void)
{
	char host[256] = "", domain[256] = "";
	int host_err, domain_err;

	if (gethostname(host, sizeof(host) - 1) < 0 ||
	    getdomainname(domain, sizeof(domain) - 1) < 0) {
		printf("probe=sethostname result=error step=get errno=%s\n",
		       strerrorname_np(errno));
		return 2;
	}
	host_err = sethostname(host, strlen(host)) < 0 ? errno : 0;
	domain_err = setdomainname(domain, strlen(domain)) < 0 ? errno : 0;
	printf("probe=sethostname result=%s errno=%s domain=%s name=%s\n",
	       host_err && domain_err ? "blocked" : "allowed",
	       host_err ? strerrorname_np(host_err) : "0",
	       domain_err ? strerrorname_np(domain_err) : "0", host);
	return host_err && domain_err ? 0 : 1;
}
