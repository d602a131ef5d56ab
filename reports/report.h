/* Report writers: they see the campaign's result model (harness/model/campaign.h)
 * and nothing else, so every backend's results read the same. One campaign,
 * five formats; docs/report-schema.md documents the JSON. */
#ifndef PV_REPORTS_REPORT_H
#define PV_REPORTS_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <patchvet/error.h>

#include "../harness/model/campaign.h"

/* The schema id of results.json; bump the number on an incompatible change. */
#define PV_REPORT_SCHEMA "patchvet-results/1"

/* Formats, as a set (bits): bit 1u << i is row i of the format registry
 * (reports/registry.c); the built-in rows' bits, for callers that name one. */
enum pv_report_format {
	PV_FORMAT_TEXT = 1u << 0,  /* results.txt */
	PV_FORMAT_JSON = 1u << 1,  /* results.json */
	PV_FORMAT_JUNIT = 1u << 2, /* results.xml */
	PV_FORMAT_MD = 1u << 3,    /* results.md */
	PV_FORMAT_HTML = 1u << 4,  /* results.html */
};
/* Every format the registry has. */
#define PV_FORMAT_ALL (~0u)

/* "text", "json", "junit", "md", "html" for one bit; NULL otherwise. */
const char *pv_report_format_name(unsigned format);
/* The file extension of one format: "txt", "json", "xml", "md", "html". */
const char *pv_report_format_ext(unsigned format);
/* Parses "json,junit,md" into a set; PV_EINVAL (with a sentence naming the
 * word and the formats there are) on an unknown word or an empty list.
 * `allowed` limits the set (a command that writes fewer formats). */
int pv_report_formats_parse(const char *list, unsigned allowed, unsigned *set,
                            struct pv_error *err);

/* What a command adds to every report of its campaign: a title and facts
 * shown above the results (a certificate's hashes, the command that re-runs
 * it). Every field may be NULL or 0. */
struct pv_report_fact {
	const char *name, *value;
};

struct pv_report_info {
	const char *title;       /* "patchvet campaign" when NULL */
	const char *out_dir;     /* reproducer paths are shown under it */
	const struct pv_report_fact *facts;
	size_t nfacts;
	/* The overhead figures are a claim the command
	 * stands by (certify): JUnit gets a test case per figure, REFUTED a
	 * failure. Otherwise (run) they are information only. */
	bool overhead_cases;
};

/* The table: engine, scenario, backend, verdict, schedules, violations by
 * check; then the reasons of REFUSED and ERROR verdicts, the first
 * violation of each check with its reproducer (under out_dir, which may be
 * NULL), explorer guarantees and coverage when measured, and a summary line
 * with the rate. */
void pv_report_text(const struct pv_campaign *c, const char *out_dir, FILE *f);

/* results.json (schema PV_REPORT_SCHEMA, docs/report-schema.md). Two fields
 * depend on timing, "schedules_per_second" and "elapsed_seconds"; nothing
 * else varies between two runs of one seed. *text is malloc'd, owned by
 * the caller. */
int pv_report_json(const struct pv_campaign *c, char **text, size_t *len,
                   struct pv_error *err);

/* The story of a run (harness/model/campaign.h), one event a line. */
void pv_report_story(const struct pv_story *s, FILE *f);

/* Reads a results.json (pv_report_json's output) into c, which it
 * initialises; `what` names the file in messages. PV_EFORMAT with the field
 * at fault for anything else; c is left empty then. */
int pv_report_json_read(const char *text, size_t len, const char *what, struct pv_campaign *c,
                        struct pv_error *err);
/* JUnit XML: a testsuite per backend, a testcase per result; REFUSED is
 * <skipped>, ERROR <error>, and a failure per violated check (or, when the
 * result was compared with an expectation, one failure when it differs). */
void pv_report_junit(const struct pv_campaign *c, const struct pv_report_info *info, FILE *f);

/* Markdown for a pull-request comment or a CI step summary. */
void pv_report_markdown(const struct pv_campaign *c, const struct pv_report_info *info,
                        FILE *f);

/* One self-contained HTML file (no scripts, no network): the verdict
 * matrix per backend, each violation with its story as an SVG timeline,
 * explorer guarantees and hot-window coverage, and the results' overhead
 * figures drawn against their thresholds. */
void pv_report_html(const struct pv_campaign *c, const struct pv_report_info *info, FILE *f);

/* Writes DIR/BASE.EXT atomically for every format in `formats` (text, md,
 * html, junit from c and info; json from c). `written`, when not NULL,
 * receives the formats written before any error. */
int pv_report_write(const struct pv_campaign *c, const struct pv_report_info *info,
                    const char *dir, const char *base, unsigned formats, unsigned *written,
                    struct pv_error *err);

/* One sentence on what the explorer of c promises for r ("PCT, depth 2:
 * ..."), or "" when it promises nothing measurable (random sampling). */
void pv_report_guarantee(const struct pv_campaign *c, const struct pv_result *r, char *buf,
                         size_t len);

/* "pv_story" kind names: "insn", "engine", "write", "preempt", "violation". */
const char *pv_report_story_kind(enum pv_story_kind k);

/* Overhead figures (reports/overhead.c) as every report words them, for
 * commands that compare or print one (certify --verify). */
/* Where a figure was measured, from its name: "native" (cpu,
 * memory-growth) or "emu" (instructions, memory-growth-emu). */
const char *pv_report_figure_where(const struct pv_overhead_figure *g);
/* Its interval is a point (an exact figure: emu counts, booked mappings). */
bool pv_report_figure_exact(const struct pv_overhead_figure *g);
/* "REFUTED: +39.71 % (exact) vs threshold 2.00 %", "not measured: why". */
void pv_report_figure_line(const struct pv_overhead_figure *g, char *buf, size_t len);

#endif
