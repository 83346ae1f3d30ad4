/* What the unit tests share (rs_test.h); linked into every rs_unit_test. */
#include "rs_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

int
rs_test_local_port(bool listening, int *fd_out)
{
	struct sockaddr_in a = { 0 };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *) &a, sizeof(a)), 0);
	if (listening)
		assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *) &a, &len), 0);
	*fd_out = fd;
	return ntohs(a.sin_port);
}
