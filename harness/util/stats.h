/* Overhead statistics: means, percentiles, a least-squares slope and a
 * bootstrap confidence interval on the ratio of two means, and the verdict
 * on a claim ("costs under 2%") from such an interval. Deterministic: every
 * random choice comes from a splitmix64 generator the caller seeds. */
#ifndef PV_HARNESS_STATS_H
#define PV_HARNESS_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <patchvet/error.h>

/* splitmix64 (Steele, Lea, Flood 2014): state passed explicitly. */
struct pv_rng {
	uint64_t state;
};

uint64_t pv_rng_next(struct pv_rng *r);
/* Uniform in [0, 1). */
double pv_rng_unit(struct pv_rng *r);
/* Uniform in [0, n), n > 0. */
size_t pv_rng_below(struct pv_rng *r, size_t n);
/* Standard normal (Box-Muller). */
double pv_rng_normal(struct pv_rng *r);

double pv_stats_mean(const double *x, size_t n);
/* Sample standard deviation (n - 1); 0 when n < 2. */
double pv_stats_stddev(const double *x, size_t n);

/* The p-th percentile (0 <= p <= 100) of x, linear interpolation between
 * closest ranks; x is not changed. PV_EINVAL when n is 0; PV_ENOMEM. */
int pv_stats_percentile(const double *x, size_t n, double p, double *out,
                        struct pv_error *err);

/* Least-squares slope of y over x; PV_EINVAL when n < 2 or every x is equal. */
int pv_stats_slope(const double *x, const double *y, size_t n, double *slope,
                   struct pv_error *err);

/* An estimate and its confidence interval. */
struct pv_interval {
	double est, lo, hi;
	double confidence;  /* 0.95 */
};

/* mean(b) / mean(a), with a percentile-bootstrap interval at `confidence`
 * from `resamples` resamples. paired (na == nb): a[i] and b[i] were measured
 * together (one A/B pair), so pairs are resampled whole, which cancels load
 * that drifts over the measurement; otherwise a and b are resampled apart.
 * PV_EINVAL for fewer than 2 samples a side, a mean of a that is not
 * positive, or paired with na != nb. */
int pv_stats_ratio_ci(const double *a, size_t na, const double *b, size_t nb, bool paired,
                      unsigned resamples, double confidence, uint64_t seed,
                      struct pv_interval *out, struct pv_error *err);

/* The verdict on "the figure is under threshold". */
enum pv_claim {
	PV_CLAIM_SUPPORTED,    /* the interval's upper bound is below the threshold */
	PV_CLAIM_REFUTED,      /* its lower bound is above it */
	PV_CLAIM_INCONCLUSIVE, /* the threshold is inside the interval */
};

enum pv_claim pv_stats_judge(double lo, double hi, double threshold);
const char *pv_claim_name(enum pv_claim c);

#endif
