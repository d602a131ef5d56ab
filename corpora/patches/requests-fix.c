/* requests-fix: handle_request parsing with a small state machine and
 * formatting numbers through a shared helper: the same responses, by other
 * code. */
#include <patchvet/patch.h>

static unsigned long fmt(char *p, unsigned long v)
{
	char tmp[24];
	unsigned long n = 0, k = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		p[k++] = tmp[--n];
	return k;
}

unsigned long handle_request_v2(const char *req, unsigned long len, char *resp)
{
	static const char prefix[] = "GET /item/";
	enum { PREFIX, ID, Q, N } st = PREFIX;
	unsigned long id = 0, n = 0, q = 0;
	for (unsigned long i = 0; i < len; i++) {
		char c = req[i];
		switch (st) {
		case PREFIX:
			if (c != prefix[i])
				return 0;
			if (i == sizeof(prefix) - 2)
				st = ID;
			break;
		case ID:
			if (c >= '0' && c <= '9')
				id = id * 10 + (unsigned long)(c - '0');
			else if (c == '?')
				st = Q;
			else
				return 0;
			break;
		case Q:
			if (q == 0 && c == 'n')
				q = 1;
			else if (q == 1 && c == '=')
				st = N;
			else
				return 0;
			break;
		case N:
			if (c < '0' || c > '9')
				goto done;
			n = n * 10 + (unsigned long)(c - '0');
			break;
		}
	}
	if (st != N)
		return 0;
done:;
	unsigned long h = id;
	for (unsigned long r = 0; r < n; r++)
		h = (h ^ (h >> 29)) * 0xbf58476d1ce4e5b9ul + r;
	unsigned long k = 0;
	resp[k++] = '2';
	resp[k++] = '0';
	resp[k++] = '0';
	resp[k++] = ' ';
	k += fmt(resp + k, id);
	resp[k++] = ' ';
	k += fmt(resp + k, h);
	return k;
}

PV_REPLACE(handle_request, handle_request_v2);
