/* harness/util/stats.c: synthetic samples whose true answer is known. */
#include <criterion/criterion.h>

#include <math.h>
#include <stdlib.h>

#include "../harness/util/stats.h"

TestSuite(stats);

Test(stats, rng_is_deterministic_and_uniform)
{
	struct pv_rng a = {42}, b = {42};
	for (int i = 0; i < 100; i++)
		cr_assert_eq(pv_rng_next(&a), pv_rng_next(&b));
	/* splitmix64's first output from seed 0 (reference value). */
	struct pv_rng z = {0};
	cr_assert_eq(pv_rng_next(&z), 0xe220a8397b1dcdafull);
	double s = 0;
	for (int i = 0; i < 100000; i++)
		s += pv_rng_unit(&a);
	cr_assert(fabs(s / 100000 - 0.5) < 0.01, "mean of unit draws %g", s / 100000);
}

Test(stats, percentiles_and_slope)
{
	double x[] = {5, 1, 4, 2, 3};
	double p;
	struct pv_error err;
	cr_assert_eq(pv_stats_percentile(x, 5, 50, &p, &err), 0);
	cr_assert_float_eq(p, 3, 1e-12);
	cr_assert_eq(pv_stats_percentile(x, 5, 100, &p, &err), 0);
	cr_assert_float_eq(p, 5, 1e-12);
	cr_assert_eq(pv_stats_percentile(x, 5, 25, &p, &err), 0);
	cr_assert_float_eq(p, 2, 1e-12);
	cr_assert_eq(pv_stats_percentile(x, 5, 90, &p, &err), 0);
	cr_assert_float_eq(p, 4.6, 1e-12);
	cr_assert_eq(pv_stats_percentile(x, 0, 50, &p, &err), PV_EINVAL);
	double cx[] = {0, 1, 2, 3}, cy[] = {10, 13, 16, 19}, s;
	cr_assert_eq(pv_stats_slope(cx, cy, 4, &s, &err), 0);
	cr_assert_float_eq(s, 3, 1e-12);
	double flat[] = {1, 1, 1};
	cr_assert_eq(pv_stats_slope(flat, cy, 3, &s, &err), PV_EINVAL);
	cr_assert_float_eq(pv_stats_stddev(cy, 4), sqrt(15.0), 1e-12);
}

Test(stats, judge)
{
	cr_assert_eq(pv_stats_judge(-1, 1.9, 2), PV_CLAIM_SUPPORTED);
	cr_assert_eq(pv_stats_judge(2.1, 3, 2), PV_CLAIM_REFUTED);
	cr_assert_eq(pv_stats_judge(1, 3, 2), PV_CLAIM_INCONCLUSIVE);
	cr_assert_str_eq(pv_claim_name(PV_CLAIM_REFUTED), "REFUTED");
}

/* n A/B pairs: A ~ 100 (1 + cv N(0,1)) and B = (1 + diff) times the same
 * shape; load shared by a pair (drift) when drift is set. */
static void synth(struct pv_rng *r, double diff, double cv, bool drift, size_t n, double *a,
                  double *b)
{
	for (size_t i = 0; i < n; i++) {
		double load = drift ? 1 + 0.2 * pv_rng_unit(r) : 1;
		a[i] = 100 * load * (1 + cv * pv_rng_normal(r));
		b[i] = 100 * (1 + diff) * load * (1 + cv * pv_rng_normal(r));
	}
}

/* Over many seeds: how often the overhead claim "< threshold %" is REFUTED,
 * and how often the 95% interval holds the true ratio. */
static void trial(double diff, bool paired, bool drift, unsigned *refuted, unsigned *covered,
                  unsigned seeds)
{
	enum { N = 60 };
	double a[N], b[N];
	*refuted = *covered = 0;
	for (unsigned s = 0; s < seeds; s++) {
		struct pv_rng r = {1000 + s};
		synth(&r, diff, 0.03, drift, N, a, b);
		struct pv_interval iv;
		struct pv_error err;
		cr_assert_eq(pv_stats_ratio_ci(a, N, b, N, paired, 1000, 0.95, s, &iv, &err), 0, "%s",
		             err.msg);
		cr_assert(iv.lo <= iv.est && iv.est <= iv.hi);
		double lo = (iv.lo - 1) * 100, hi = (iv.hi - 1) * 100;
		*refuted += pv_stats_judge(lo, hi, 2.0) == PV_CLAIM_REFUTED;
		*covered += iv.lo <= 1 + diff && 1 + diff <= iv.hi;
	}
}

Test(stats, zero_difference_is_not_refuted, .timeout = 60)
{
	unsigned refuted, covered;
	trial(0.0, false, false, &refuted, &covered, 200);
	cr_expect_eq(refuted, 0, "0%% refuted in %u of 200 seeds", refuted);
	/* 95% nominal; percentile bootstrap with 60 samples is a bit narrow. */
	cr_expect(covered >= 180 && covered <= 198, "covered in %u of 200", covered);
	trial(0.0, true, true, &refuted, &covered, 200);
	cr_expect_eq(refuted, 0, "paired, drifting: 0%% refuted in %u of 200 seeds", refuted);
	cr_expect(covered >= 180 && covered <= 198, "paired covered in %u of 200", covered);
}

Test(stats, five_percent_is_refuted, .timeout = 60)
{
	unsigned refuted, covered;
	trial(0.05, false, false, &refuted, &covered, 200);
	cr_expect(refuted >= 190, "5%% refuted in only %u of 200 seeds", refuted);
	cr_expect(covered >= 180 && covered <= 198, "covered in %u of 200", covered);
	trial(0.05, true, true, &refuted, &covered, 200);
	cr_expect(refuted >= 190, "paired, drifting: 5%% refuted in only %u of 200", refuted);
}

/* Pairing is what makes drifting load harmless: unpaired, the same data
 * give wider intervals. */
Test(stats, pairing_narrows_under_drift)
{
	enum { N = 60 };
	double a[N], b[N];
	struct pv_rng r = {7};
	synth(&r, 0.0, 0.01, true, N, a, b);
	struct pv_interval p, u;
	struct pv_error err;
	cr_assert_eq(pv_stats_ratio_ci(a, N, b, N, true, 2000, 0.95, 1, &p, &err), 0);
	cr_assert_eq(pv_stats_ratio_ci(a, N, b, N, false, 2000, 0.95, 1, &u, &err), 0);
	cr_expect(p.hi - p.lo < (u.hi - u.lo) * 0.7, "paired %g, unpaired %g", p.hi - p.lo,
	          u.hi - u.lo);
}

Test(stats, bad_input)
{
	double a[] = {1, 2}, b[] = {1, 2, 3}, z[] = {0, 0};
	struct pv_interval iv;
	struct pv_error err;
	cr_assert_eq(pv_stats_ratio_ci(a, 1, b, 3, false, 1000, 0.95, 1, &iv, &err), PV_EINVAL);
	cr_assert_eq(pv_stats_ratio_ci(a, 2, b, 3, true, 1000, 0.95, 1, &iv, &err), PV_EINVAL);
	cr_assert_eq(pv_stats_ratio_ci(z, 2, b, 3, false, 1000, 0.95, 1, &iv, &err), PV_EINVAL);
	cr_assert_eq(pv_stats_ratio_ci(a, 2, b, 3, false, 1000, 0.95, 3, &iv, &err), 0);
	struct pv_interval again;
	cr_assert_eq(pv_stats_ratio_ci(a, 2, b, 3, false, 1000, 0.95, 3, &again, &err), 0);
	cr_assert(iv.lo == again.lo && iv.hi == again.hi, "same seed, same interval");
}
