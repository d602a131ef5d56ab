/* PV_MUST_CHECK marks a function whose error must not be dropped: with
 * -Werror, ignoring its result does not compile (compel's __must_check). */
#ifndef PV_UTIL_MUST_CHECK_H
#define PV_UTIL_MUST_CHECK_H

#define PV_MUST_CHECK __attribute__((warn_unused_result))

#endif
