/* requests: a mixed request loop for `patchvet bench`. Each operation
 * writes a request line ("GET /item/ID?n=N"), and handle_request() parses
 * it, computes an answer (N rounds of a multiplicative hash of ID) and
 * writes the response ("200 ID HASH"); the worker checksums the response.
 * The patches replace handle_request (requests-fix parses differently,
 * requests-identity is the same code); pv_verify recomputes every answer.
 * Each request ends with pv_op_done, so `patchvet bench` records its
 * latency. */
#include <patchvet/target.h>

static unsigned long sums[PV_MAX_WORKERS];
static unsigned long calls[PV_MAX_WORKERS];

static unsigned long put_num(char *p, unsigned long v)
{
	char tmp[24];
	unsigned long n = 0, k = 0;
	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	while (n)
		p[k++] = tmp[--n];
	return k;
}

static unsigned long answer(unsigned long id, unsigned long rounds)
{
	unsigned long h = id;
	for (unsigned long r = 0; r < rounds; r++)
		h = (h ^ (h >> 29)) * 0xbf58476d1ce4e5b9ul + r;
	return h;
}

/* noipa: every request goes through the one function a patch replaces.
 * Returns the response's length, 0 for a malformed request. */
__attribute__((noipa)) unsigned long handle_request(const char *req, unsigned long len,
                                                    char *resp)
{
	static const char prefix[] = "GET /item/";
	unsigned long i = 0, id = 0, n = 0;
	for (; i < sizeof(prefix) - 1; i++)
		if (i >= len || req[i] != prefix[i])
			return 0;
	while (i < len && req[i] >= '0' && req[i] <= '9')
		id = id * 10 + (unsigned long)(req[i++] - '0');
	if (i + 3 > len || req[i] != '?' || req[i + 1] != 'n' || req[i + 2] != '=')
		return 0;
	for (i += 3; i < len && req[i] >= '0' && req[i] <= '9'; i++)
		n = n * 10 + (unsigned long)(req[i] - '0');
	unsigned long k = 0;
	resp[k++] = '2';
	resp[k++] = '0';
	resp[k++] = '0';
	resp[k++] = ' ';
	k += put_num(resp + k, id);
	resp[k++] = ' ';
	k += put_num(resp + k, answer(id, n));
	return k;
}

static unsigned long request(char *buf, unsigned long id, unsigned long n)
{
	static const char prefix[] = "GET /item/";
	unsigned long k = 0;
	for (; k < sizeof(prefix) - 1; k++)
		buf[k] = prefix[k];
	k += put_num(buf + k, id);
	buf[k++] = '?';
	buf[k++] = 'n';
	buf[k++] = '=';
	k += put_num(buf + k, n);
	return k;
}

static unsigned long checksum(const char *p, unsigned long len)
{
	unsigned long s = 0;
	for (unsigned long k = 0; k < len; k++)
		s = s * 31 + (unsigned char)p[k];
	return s;
}

static unsigned long req_id(unsigned index, unsigned long i)
{
	return i * 2654435761ul % 1000003 + index;
}

void pv_worker(unsigned index, const struct pv_workload *w)
{
	char req[64], resp[64];
	unsigned long sum = 0, n = 0;
	for (unsigned long i = 0; i < w->iterations; i++) {
		unsigned long len = request(req, req_id(index, i), 4 + i % 13);
		sum += checksum(resp, handle_request(req, len, resp));
		n++;
		pv_op_done(index);
	}
	sums[index] = sum;
	calls[index] = n;
}

#define SAY(s) pv_write(2, s, sizeof(s) - 1)

int pv_verify(const struct pv_workload *w)
{
	char resp[64];
	for (unsigned idx = 0; idx < w->workers; idx++) {
		unsigned long want = 0;
		for (unsigned long i = 0; i < w->iterations; i++) {
			unsigned long id = req_id(idx, i), k = 0;
			resp[k++] = '2';
			resp[k++] = '0';
			resp[k++] = '0';
			resp[k++] = ' ';
			k += put_num(resp + k, id);
			resp[k++] = ' ';
			k += put_num(resp + k, answer(id, 4 + i % 13));
			want += checksum(resp, k);
		}
		if (calls[idx] != w->iterations || sums[idx] != want) {
			SAY("requests: a response differs from the one recomputed\n");
			return 1;
		}
	}
	return 0;
}
