/* SPDX-License-Identifier: MIT */
/*
 * xport.c - the table of transport backends built into this binary, and
 * the choice among them: "auto" takes verbs when an RDMA device is active
 * and verbs can serve the address, else ofi.  Also what the backends share:
 * wait written with wait_arm, address parsing and printing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "util/clock.h"
#include "util/errstr.h"
#include "util/log.h"
#include "util/parse.h"
#include "xport/xport.h"

static const struct xport_ops *const backends[] = {
	&shmx__xport_ofi_ops,
#ifdef SHMX_HAVE_VERBS
	&shmx__xport_verbs_ops,
#endif
};

const struct xport_ops *shmx__xport_find(const char *name)
{
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (name && !strcmp(backends[i]->name, name))
			return backends[i];
	return NULL;
}

int shmx__xport_name_ok(const char *name)
{
	return name && (!strcmp(name, "auto") || shmx__xport_find(name));
}

/* verbs could not serve this address, but ofi may: fall back. */
static int worth_falling_back(int err)
{
	return err == -ENODEV || err == -ECONNREFUSED || err == -ETIMEDOUT ||
	       err == -EHOSTUNREACH || err == -EADDRNOTAVAIL ||
	       err == -ENETUNREACH;
}

int shmx__xport_open(const char *name, const struct xport_attr *attr,
		     struct xport **xp, char *why, size_t why_len)
{
	const struct xport_ops *ofi = shmx__xport_find("ofi");
	const struct xport_ops *verbs = shmx__xport_find("verbs");
	char dev[64] = "";
	int ret;

	if (name && *name && strcmp(name, "auto")) {
		const struct xport_ops *ops = shmx__xport_find(name);

		if (!ops)
			return -ENODEV;
		snprintf(why, why_len, "chosen by name");
		return ops->open(attr, xp);
	}
#ifdef SHMX_HAVE_VERBS
	if (verbs && shmx__verbs_active_device(dev, sizeof(dev)) == 1) {
		ret = verbs->open(attr, xp);
		if (!ret) {
			snprintf(why, why_len, "auto: RDMA device %s is active",
				 dev);
			return 0;
		}
		if (!worth_falling_back(ret))
			return ret;
		log_debug("auto: verbs cannot serve %s (%s): trying ofi",
			  attr->bind ? attr->bind : attr->connect,
			  shmx__strerror(ret));
		snprintf(why, why_len,
			 "auto: RDMA device %s is active, but verbs could not "
			 "reach %s (%s)",
			 dev, attr->bind ? attr->bind : attr->connect,
			 shmx__strerror(ret));
		return ofi->open(attr, xp);
	}
#endif
	(void)verbs;
	snprintf(why, why_len, "auto: no active RDMA device");
	ret = ofi->open(attr, xp);
	return ret;
}

int shmx__xport_wait(struct xport *xp, int timeout_ms)
{
	struct pollfd pfd[XPORT_WAIT_FDS];
	int fds[XPORT_WAIT_FDS], nfds = 0;
	int ret = xp->ops->wait_arm(xp, fds, &nfds);

	if (ret < 0)
		return ret;
	/* Progress is due: only a short pause. */
	if (ret > 0) {
		shmx__sleep_us(timeout_ms > 0 ? 50 : 0);
		return 0;
	}
	/* No wait object (verbs;ofi_rxm gives none): nap, so that an idle
	 * node does not spin (on a small host several nodes would starve
	 * everything else). */
	if (!nfds) {
		shmx__sleep_us(timeout_ms > 0 ? 500 : 0);
		return 0;
	}
	for (int i = 0; i < nfds; i++)
		pfd[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
	if (poll(pfd, (nfds_t)nfds, timeout_ms) < 0 && errno != EINTR)
		return -errno;
	return 0;
}

int shmx__xport_host_port(const char *hp, int any_port, char *host,
			  size_t hostlen, uint16_t *port)
{
	size_t n = hp ? strlen(hp) : 0;
	char head[256];
	int ret;

	/* "HOST:0" or "[V6]:0": the parser refuses port 0, so parse HOST
	 * alone (a bare IPv6 address ending in ":0" is not a port). */
	if (any_port && n > 2 && n - 2 < sizeof(head) &&
	    !strcmp(hp + n - 2, ":0")) {
		memcpy(head, hp, n - 2);
		head[n - 2] = '\0';
		if (head[0] == '[' || !strchr(head, ':')) {
			ret = shmx__parse_host_port(head, 1, host, hostlen,
						    port);
			if (!ret)
				*port = 0;
			return ret;
		}
	}
	return shmx__parse_host_port(hp, 0, host, hostlen, port);
}

int shmx__xport_sockaddr_str(const struct sockaddr *sa, int with_port,
			     char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];
	unsigned port;
	int n;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
		port = ntohs(in->sin_port);
		n = with_port ? snprintf(buf, len, "%s:%u", ip, port)
			      : snprintf(buf, len, "%s", ip);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 =
			(const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
		port = ntohs(in6->sin6_port);
		n = with_port ? snprintf(buf, len, "[%s]:%u", ip, port)
			      : snprintf(buf, len, "[%s]", ip);
	} else {
		return -EAFNOSUPPORT;
	}
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}
