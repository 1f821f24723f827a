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

struct hostlog;

/* path NULL: stderr only. -errno + message if a file cannot be opened. */
int hostlog_open(struct hostlog **out, const char *path);
void hostlog_close(struct hostlog *log);

/* Write one report (text ends with its closing '=' line) and its JSON line; 0 or -errno. */
int hostlog_write_report(struct hostlog *log, const char *text, const char *json);

#endif /* VMM_HOSTLOG_H */
