/* Overhead statistics (harness/util/stats.h). */
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

uint64_t pv_rng_next(struct pv_rng *r)
{
	uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

double pv_rng_unit(struct pv_rng *r)
{
	return (double)(pv_rng_next(r) >> 11) * 0x1.0p-53;
}

size_t pv_rng_below(struct pv_rng *r, size_t n)
{
	/* Lemire's multiply-shift; the bias is below 2^-32 for any n we use. */
	return (size_t)(((unsigned __int128)pv_rng_next(r) * n) >> 64);
}

double pv_rng_normal(struct pv_rng *r)
{
	double u = pv_rng_unit(r), v = pv_rng_unit(r);
	return sqrt(-2.0 * log(1.0 - u)) * cos(2.0 * M_PI * v);
}

double pv_stats_mean(const double *x, size_t n)
{
	if (!n)
		return 0;
	double s = 0;
	for (size_t i = 0; i < n; i++)
		s += x[i];
	return s / (double)n;
}

double pv_stats_stddev(const double *x, size_t n)
{
	if (n < 2)
		return 0;
	double m = pv_stats_mean(x, n), s = 0;
	for (size_t i = 0; i < n; i++)
		s += (x[i] - m) * (x[i] - m);
	return sqrt(s / (double)(n - 1));
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* p-th percentile of sorted v. */
static double sorted_percentile(const double *v, size_t n, double p)
{
	double rank = p / 100.0 * (double)(n - 1);
	size_t lo = (size_t)floor(rank);
	if (lo + 1 >= n)
		return v[n - 1];
	double f = rank - (double)lo;
	return v[lo] + f * (v[lo + 1] - v[lo]);
}

int pv_stats_percentile(const double *x, size_t n, double p, double *out, struct pv_error *err)
{
	if (!n || p < 0 || p > 100)
		return pv_error_set(err, PV_EINVAL, "a percentile needs samples and 0 <= p <= 100");
	double *v = malloc(n * sizeof(*v));
	if (!v)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	memcpy(v, x, n * sizeof(*v));
	qsort(v, n, sizeof(*v), cmp_double);
	*out = sorted_percentile(v, n, p);
	free(v);
	return 0;
}

int pv_stats_slope(const double *x, const double *y, size_t n, double *slope,
                   struct pv_error *err)
{
	if (n < 2)
		return pv_error_set(err, PV_EINVAL, "a slope needs at least 2 points");
	double mx = pv_stats_mean(x, n), my = pv_stats_mean(y, n), sxy = 0, sxx = 0;
	for (size_t i = 0; i < n; i++) {
		sxy += (x[i] - mx) * (y[i] - my);
		sxx += (x[i] - mx) * (x[i] - mx);
	}
	if (sxx == 0)
		return pv_error_set(err, PV_EINVAL, "a slope needs at least 2 distinct x values");
	*slope = sxy / sxx;
	return 0;
}

int pv_stats_ratio_ci(const double *a, size_t na, const double *b, size_t nb, bool paired,
                      unsigned resamples, double confidence, uint64_t seed,
                      struct pv_interval *out, struct pv_error *err)
{
	if (na < 2 || nb < 2)
		return pv_error_set(err, PV_EINVAL, "a confidence interval needs at least 2 samples "
		                                    "of each side (have %zu and %zu)", na, nb);
	if (paired && na != nb)
		return pv_error_set(err, PV_EINVAL, "paired samples need as many A as B (%zu, %zu)",
		                    na, nb);
	if (confidence <= 0 || confidence >= 1 || resamples < 100)
		return pv_error_set(err, PV_EINVAL, "a confidence in (0, 1) and at least 100 "
		                                    "resamples are needed");
	double ma = pv_stats_mean(a, na);
	if (!(ma > 0))
		return pv_error_set(err, PV_EINVAL, "the baseline's mean is not positive (%g)", ma);
	double *r = malloc(resamples * sizeof(*r));
	if (!r)
		return pv_error_set(err, PV_ENOMEM, "out of memory");
	struct pv_rng rng = {seed};
	for (unsigned k = 0; k < resamples; k++) {
		double sa = 0, sb = 0;
		if (paired) {
			for (size_t i = 0; i < na; i++) {
				size_t j = pv_rng_below(&rng, na);
				sa += a[j];
				sb += b[j];
			}
		} else {
			for (size_t i = 0; i < na; i++)
				sa += a[pv_rng_below(&rng, na)];
			for (size_t i = 0; i < nb; i++)
				sb += b[pv_rng_below(&rng, nb)];
		}
		r[k] = sa > 0 ? (sb / (double)nb) / (sa / (double)na) : INFINITY;
	}
	qsort(r, resamples, sizeof(*r), cmp_double);
	double tail = (1 - confidence) / 2 * 100;
	out->est = pv_stats_mean(b, nb) / ma;
	out->lo = sorted_percentile(r, resamples, tail);
	out->hi = sorted_percentile(r, resamples, 100 - tail);
	out->confidence = confidence;
	free(r);
	return 0;
}

enum pv_claim pv_stats_judge(double lo, double hi, double threshold)
{
	if (hi < threshold)
		return PV_CLAIM_SUPPORTED;
	if (lo > threshold)
		return PV_CLAIM_REFUTED;
	return PV_CLAIM_INCONCLUSIVE;
}

const char *pv_claim_name(enum pv_claim c)
{
	switch (c) {
	case PV_CLAIM_SUPPORTED: return "SUPPORTED";
	case PV_CLAIM_REFUTED: return "REFUTED";
	default: return "INCONCLUSIVE";
	}
}
