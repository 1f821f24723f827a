/* SPDX-License-Identifier: MIT */
/*
 * The durable host log: KASAN report text appended to the log file and one
 * JSON object per report to "<log>.jsonl", both fsync'd before the guest
 * runs on, so a report survives a guest (or VMM) crash right after it.
 * Reports also go to stderr. Files are opened for append: a new run never
 * truncates an earlier run's reports.
 */
#ifndef VMM_HOSTLOG_H
#define VMM_HOSTLOG_H

#include <stdint.h>

struct hostlog;

/* path NULL: stderr only. -errno + message if a file cannot be opened. */
int hostlog_open(struct hostlog **out, const char *path);
void hostlog_close(struct hostlog *log);

/*
 * Write one report (text ends with its closing '=' line) and its JSON line;
 * 0, or 1 if it was over the rate cap (counted, not written), or -errno.
 */
int hostlog_write_report(struct hostlog *log, const char *text, const char *json);

/*
 * The report rate cap (--report_rate): at most per_second reports are
 * written in any one-second window (0: no cap, the default of
 * hostlog_open). The rest are counted; hostlog_close writes one summary
 * line with the count to stderr and the text log.
 */
void hostlog_set_rate(struct hostlog *log, unsigned int per_second);
uint64_t hostlog_dropped(struct hostlog *log);

#endif /* VMM_HOSTLOG_H */
