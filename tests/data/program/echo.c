/* A tiny TCP server, not built for patchvet, that never exits by itself:
 * `echo PORT` answers each line N on 127.0.0.1:PORT with transform(N), one
 * thread per connection, until a signal ends it. `echo client PORT COUNT`
 * is its load driver: COUNT connections, each checking the answer; exit 0
 * when every answer was right. transform() is what the tests' patch
 * replaces. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

__attribute__((noinline)) long transform(long x)
{
	return x * 3 + 1;
}

static void *serve(void *arg)
{
	int c = (int)(long)arg;
	char buf[64];
	ssize_t n = read(c, buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = '\0';
		int len = snprintf(buf, sizeof(buf), "%ld\n", transform(atol(buf)));
		if (write(c, buf, (size_t)len) != len)
			perror("write");
	}
	close(c);
	return NULL;
}

static int client(int port, int count)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port),
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	for (int i = 0; i < count; i++) {
		int s = socket(AF_INET, SOCK_STREAM, 0);
		if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a))) {
			perror("echo client: connect");
			return 1;
		}
		char buf[64];
		int len = snprintf(buf, sizeof(buf), "%d\n", i);
		ssize_t n = write(s, buf, (size_t)len) == len ? read(s, buf, sizeof(buf) - 1) : -1;
		close(s);
		if (n <= 0) {
			fprintf(stderr, "echo client: no answer to %d\n", i);
			return 1;
		}
		buf[n] = '\0';
		if (atol(buf) != (long)i * 3 + 1) {
			fprintf(stderr, "echo client: %d gave %ld\n", i, atol(buf));
			return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "client"))
		return client(atoi(argv[2]), atoi(argv[3]));
	if (argc != 2) {
		fprintf(stderr, "usage: echo PORT | echo client PORT COUNT\n");
		return 2;
	}
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[1])),
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, 64)) {
		perror("echo: listen");
		return 1;
	}
	fprintf(stderr, "echo: listening\n");
	for (;;) {
		int c = accept(s, NULL, NULL);
		if (c < 0)
			continue;
		pthread_t t;
		if (pthread_create(&t, NULL, serve, (void *)(long)c) == 0)
			pthread_detach(t);
		else
			close(c);
	}
}
