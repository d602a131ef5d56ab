/* Renders a pv_analysis for people (a table) and for programs (JSON, json-c). */
#ifndef PV_REPORTS_ANALYSIS_H
#define PV_REPORTS_ANALYSIS_H

#include <stdio.h>

#include <json-c/json.h>

#include "../harness/load/analysis.h"

/* A new JSON object (caller owns it: json_object_put) with the keys
 * target, build_id, functions[...] and, when a patch was analysed, patch. */
struct json_object *pv_analysis_to_json(const struct pv_analysis *a);

/* JSON array of the hazard ids set in bits, in bit order. */
struct json_object *pv_hazards_to_json(unsigned bits);

/* Writes the human-readable table. */
void pv_analysis_print(FILE *out, const struct pv_analysis *a);

/* Hazard ids of bits joined by ",", or "-" when none, into buf. */
const char *pv_hazards_format(unsigned bits, char *buf, size_t len);

#endif
