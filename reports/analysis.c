#include "analysis.h"

#include <inttypes.h>
#include <string.h>

#define HAZARD_BITS 5 /* PV_HAZARD_TOO_SHORT .. PV_HAZARD_MISSING_FUNCTION */

struct json_object *pv_hazards_to_json(unsigned bits)
{
	struct json_object *arr = json_object_new_array();
	for (unsigned i = 0; i < HAZARD_BITS; i++)
		if (bits & (1u << i))
			json_object_array_add(arr, json_object_new_string(pv_hazard_id(1u << i)));
	return arr;
}

const char *pv_hazards_format(unsigned bits, char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = '\0';
	for (unsigned i = 0; i < HAZARD_BITS; i++) {
		if (!(bits & (1u << i)))
			continue;
		int n = snprintf(buf + used, len - used, "%s%s", used ? "," : "",
		                 pv_hazard_id(1u << i));
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
	if (!used)
		snprintf(buf, len, "-");
	return buf;
}

static struct json_object *offsets_json(const uint8_t *v, size_t n)
{
	struct json_object *arr = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(arr, json_object_new_int(v[i]));
	return arr;
}

static struct json_object *strings_json(char *const *v, size_t n)
{
	struct json_object *arr = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(arr, json_object_new_string(v[i]));
	return arr;
}

static struct json_object *function_json(const struct pv_function_report *f)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(f->name));
	if (f->object)
		json_object_object_add(o, "object", json_object_new_string(f->object));
	json_object_object_add(o, "address", json_object_new_uint64(f->address));
	json_object_object_add(o, "size", json_object_new_uint64(f->size));
	json_object_object_add(o, "boundaries", offsets_json(f->boundaries, f->nboundaries));
	json_object_object_add(o, "first_insn_len", json_object_new_int((int)f->first_insn_len));
	json_object_object_add(o, "padding_before", json_object_new_int((int)f->padding_before));
	json_object_object_add(o, "endbr64", json_object_new_boolean(f->endbr64));
	json_object_object_add(o, "fentry", json_object_new_boolean(f->fentry));
	json_object_object_add(o, "rip_relative", offsets_json(f->rip_relative, f->nrip_relative));
	json_object_object_add(o, "hazards", pv_hazards_to_json(f->hazards));
	struct json_object *src = json_object_new_array();
	for (size_t i = 0; i < f->nbranch_sources; i++)
		json_object_array_add(src, json_object_new_uint64(f->branch_sources[i]));
	json_object_object_add(o, "branches_into_prologue", src);
	return o;
}

struct json_object *pv_analysis_to_json(const struct pv_analysis *a)
{
	struct json_object *root = json_object_new_object();
	json_object_object_add(root, "target", json_object_new_string(a->target_path));
	json_object_object_add(root, "build_id", json_object_new_string(a->build_id));
	struct json_object *funcs = json_object_new_array();
	for (size_t i = 0; i < a->nfunctions; i++)
		json_object_array_add(funcs, function_json(&a->functions[i]));
	json_object_object_add(root, "functions", funcs);
	if (a->patch) {
		const struct pv_patch_report *p = a->patch;
		struct json_object *po = json_object_new_object();
		struct json_object *reps = json_object_new_array();
		for (size_t i = 0; i < p->nreplacements; i++) {
			struct json_object *r = json_object_new_object();
			json_object_object_add(r, "old",
			                       json_object_new_string(p->replacements[i].old_name));
			json_object_object_add(r, "new",
			                       json_object_new_string(p->replacements[i].new_name));
			json_object_object_add(r, "found",
			                       json_object_new_boolean(p->replacements[i].found));
			json_object_array_add(reps, r);
		}
		json_object_object_add(po, "replacements", reps);
		json_object_object_add(po, "hazards", pv_hazards_to_json(p->hazards));
		json_object_object_add(po, "changed_objects",
		                       strings_json(p->changed_objects, p->nchanged_objects));
		json_object_object_add(po, "missing_functions",
		                       strings_json(p->missing_functions, p->nmissing_functions));
		json_object_object_add(root, "patch", po);
	}
	return root;
}

static const char *yes_no(bool b)
{
	return b ? "yes" : "no";
}

void pv_analysis_print(FILE *out, const struct pv_analysis *a)
{
	char hz[128];
	fprintf(out, "target %s\nbuild-id %s\n\n", a->target_path,
	        a->build_id[0] ? a->build_id : "(none)");
	fprintf(out, "%-24s %-18s %6s %5s %4s %5s %6s %-8s %s\n", "FUNCTION", "ADDRESS", "SIZE",
	        "FIRST", "PAD", "ENDBR", "FENTRY", "RIP-REL", "HAZARDS");
	for (size_t i = 0; i < a->nfunctions; i++) {
		const struct pv_function_report *f = &a->functions[i];
		char rip[64] = "-";
		size_t used = 0;
		for (size_t j = 0; j < f->nrip_relative && used < sizeof(rip) - 4; j++)
			used += (size_t)snprintf(rip + used, sizeof(rip) - used, "%s+%u",
			                         j ? "," : "", f->rip_relative[j]);
		char name[160];
		snprintf(name, sizeof(name), "%s%s%s", f->name, f->object ? "@" : "",
		         f->object ? f->object : "");
		fprintf(out, "%-24s 0x%016" PRIx64 " %6" PRIu64 " %5u %4u %5s %6s %-8s %s\n",
		        name, f->address, f->size, f->first_insn_len, f->padding_before,
		        yes_no(f->endbr64), yes_no(f->fentry), rip,
		        pv_hazards_format(f->hazards, hz, sizeof(hz)));
	}
	if (a->nfunctions == 1 || (a->patch && a->nfunctions <= 8)) {
		for (size_t i = 0; i < a->nfunctions; i++) {
			const struct pv_function_report *f = &a->functions[i];
			fprintf(out, "\n%s%s%s: instruction boundaries in the first %d bytes:", f->name,
			        f->object ? " in " : "", f->object ? f->object : "", PV_PROLOGUE_WINDOW);
			for (size_t j = 0; j < f->nboundaries; j++)
				fprintf(out, " %u", f->boundaries[j]);
			fputc('\n', out);
			for (size_t j = 0; j < f->nbranch_sources; j++)
				fprintf(out, "  branch from 0x%" PRIx64 " lands inside the first %d bytes\n",
				        f->branch_sources[j], PV_JUMP_LEN);
		}
	}
	if (a->patch) {
		const struct pv_patch_report *p = a->patch;
		fprintf(out, "\npatch replacements:\n");
		for (size_t i = 0; i < p->nreplacements; i++)
			fprintf(out, "  %s -> %s%s\n", p->replacements[i].old_name,
			        p->replacements[i].new_name,
			        p->replacements[i].found ? "" : "   (not in the target)");
		fprintf(out, "patch hazards: %s\n", pv_hazards_format(p->hazards, hz, sizeof(hz)));
		for (size_t i = 0; i < p->nchanged_objects; i++)
			fprintf(out, "  data object '%s' has another size in the patch\n",
			        p->changed_objects[i]);
		for (size_t i = 0; i < p->nmissing_functions; i++)
			fprintf(out, "  function '%s' is not in the target\n", p->missing_functions[i]);
	}
}
