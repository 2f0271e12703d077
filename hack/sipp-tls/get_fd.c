// Preloaded into bin/sipp-tls by hack/ensure-sipp-tls.sh.
//
// SIPp sends a message over TLS by first asking SSL_get_fd for the connection's
// socket (send_nowait_tls in its socket.cpp) and sends nothing when the answer is
// -1. SIPp hands wolfSSL the socket as a BIO (SSL_set_bio), and wolfSSL's
// wolfSSL_get_fd answers only for a socket given with SSL_set_fd: -1. So Debian
// trixie's SIPp 3.7.3 with wolfSSL 5.7.2 completes the TLS handshake and then
// sends no message at all ("Unable to send TLS message"). This wolfSSL_get_fd
// answers with the socket of the connection's read BIO when wolfSSL's own has none.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>

typedef struct WOLFSSL WOLFSSL;
typedef struct WOLFSSL_BIO WOLFSSL_BIO;

WOLFSSL_BIO *wolfSSL_SSL_get_rbio(const WOLFSSL *ssl);
int wolfSSL_BIO_get_fd(WOLFSSL_BIO *bio, int *fd);

int wolfSSL_get_fd(const WOLFSSL *ssl)
{
	static int (*wolfssl_own)(const WOLFSSL *);
	if (wolfssl_own == NULL)
		wolfssl_own = (int (*)(const WOLFSSL *))dlsym(RTLD_NEXT, "wolfSSL_get_fd");
	int fd = wolfssl_own != NULL ? wolfssl_own(ssl) : -1;
	if (fd == -1 && ssl != NULL) {
		WOLFSSL_BIO *bio = wolfSSL_SSL_get_rbio(ssl);
		if (bio != NULL)
			fd = wolfSSL_BIO_get_fd(bio, NULL);
	}
	return fd;
}
