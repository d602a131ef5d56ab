/* requests-identity: handle_request as the target has it (with its
 * helpers), so `patchvet bench` measures the engine's redirection alone. */
#include <patchvet/patch.h>

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

unsigned long handle_request_v2(const char *req, unsigned long len, char *resp)
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

PV_REPLACE(handle_request, handle_request_v2);
