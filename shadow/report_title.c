// SPDX-License-Identifier: MIT
/*
 * syzkaller's title for a KASAN report, derived from the text the way
 * pkg/report/linux.go does it: the KASAN oops formats (access, free, "on
 * address", catch-all), the key frame (the header's function, then the Call
 * Trace frames, first one not matching the skip patterns, after stripping
 * syscall prefixes), and of the title clean-ups only the address -> ADDR
 * replacement and the 120-character limit. The skip list is linuxStackParams
 * in full, rewritten from RE2 into POSIX ERE.
 */
#include <ctype.h>
#include <pthread.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "shadow/report.h"

#define NAME_MAX_LEN  256
#define TITLE_MAX_LEN 120 /* syzkaller's sanitizeTitle */

static const char skip_common[] =
    "__sanitizer|__asan|kasan|__msan|kmsan|kcsan_setup_watchpoint|check_memory_region"
    "|check_heap_object|check_object|read_word_at_a_time|(read|write)_once_.*nocheck"
    "|print_address_description|panic|invalid_op|report_bug|fixup_bug|print_report"
    "|print_usage_bug|do_error|_trap$|do_trap|show_stack|dump_stack|walk_stack"
    "|dump_backtrace|warn_slowpath|warn_alloc|warn_bogus|__warn|alloc_page|k?v?(m|z|c)alloc"
    "|krealloc|kmem_cache|allocate_slab|folio_alloc|filemap_alloc_folio|__filemap_get_folio"
    "|find_or_create_page|do_read_cache_folio|read_cache_page|pagecache_get_page"
    "|grab_cache_page_write_begin|slab_|debug_object|timer_is_static_object"
    "|work_is_static_object|__might_fault|print_unlock|imbalance_bug|lockdep|bh_enable"
    "|bh_disable|perf_trace|lock_acquire|lock_release|lock_class|mark_lock"
    "|(reacquire|mark)_held_locks|raw_spin_rq|spin_lock|spin_trylock|spin_unlock|read_lock"
    "|read_trylock|write_lock|write_trylock|read_unlock|write_unlock|^down$|down_read"
    "|down_write|down_read_trylock|down_write_trylock|down_trylock|up_read|up_write|^mutex_"
    "|^__mutex_|^rt_mutex_|owner_on_cpu|osq_lock|osq_unlock"
    "|atomic(64)?_(dec|inc|read|set|or|xor|and|add|sub|fetch|xchg|cmpxchg|try)"
    "|(set|clear|change|test)_bit|__wake_up|^refcount_|^kref_|ref_tracker|seqprop_assert"
    "|memcpy|memcmp|memset|memchr|memmove|memdup|strcmp|strncmp|strcpy|strlcpy|strncpy"
    "|strscpy|strlen|strstr|strnstr|strnlen|strchr|strdup|strndup|copy_to_user"
    "|copy_from_user|copy_to_iter|copy_from_iter|copy_page_to_iter|copy_page_from_iter"
    "|copy_folio_to_iter|^copyin$|^copyout$|put_user|get_user|might_fault|might_sleep"
    "|list_add|list_del|list_replace|list_move|list_splice|^rb_|^__rb_|_indirect_thunk_"
    "|string|pointer|snprintf|scnprintf|kasprintf|kvasprintf|printk|va_format|dev_info"
    "|dev_notice|dev_warn|dev_err|dev_alert|dev_crit|dev_emerg|program_check_exception"
    "|program_check_common|del_timer|flush_work|__cancel_work_timer|cancel_work_sync"
    "|try_to_grab_pending|flush_workqueue|drain_workqueue|destroy_workqueue|queue_work"
    "|finish_wait|kthread_stop|kobject_|add_uevent_var|get_device_parent|device_add"
    "|device_del|device_unregister|device_destroy|device_release|devres_release_all"
    "|hwrng_unregister|i2c_del_adapter|__unregister_client|device_for_each_child"
    "|rollback_registered|unregister_netdev|sysfs_remove|device_remove_file"
    "|tty_unregister_device|dummy_urb_enqueue|usb_kill_urb|usb_kill_anchored_urbs"
    "|usb_control_msg|usb_hcd_submit_urb|usb_submit_urb|^complete$|wait_for_completion"
    "|^kv?free$|kfree_skb|readb$|readw$|readl$|readq$|writeb$|writew$|writel$|writeq$"
    "|logic_in|logic_out|^crc[0-9]+|crc_itu_t|__might_resched|assertfail|^iput$"
    "|^iput_final$|^ihold$|hex_dump_to_buffer|print_hex_dump|^klist_"
    "|(trace|lockdep)_(hard|soft)irq|^(un)?lock_page|stack_trace_consume_entry"
    "|arch_stack_walk|stack_trace_save|insert_work|__queue_delayed_work"
    "|queue_delayed_work_on|do_(kernel|translation)_fault|do_mem_abort|el1_abort"
    "|el1h_64_sync(_handler)?|print_tainted|xas_(start|load|find)|find_lock_entries"
    "|truncate_inode_pages_range";

/* per-format extras: HW-tags fault path for accesses, the free path for frees */
static const char skip_access[] = "kernel_fault|tag_check|mem_abort|^el1_|^el1h_";
static const char skip_free[] = "slab_|kfree|vunmap|vfree";

/* syzkaller's stripFramePrefixes, applied in this order */
static const char *const strip_prefixes[] = {"SYSC_",	    "SyS_",	"sys_",	     "__x64_",
					     "__ia32_",	    "__arm64_", "____sys_",  "___sys_",
					     "__sys_",	    "__se_",	"__do_sys_", "compat_SYSC_",
					     "compat_SyS_", "ksys_",	NULL};

static regex_t re_access, re_free;
static bool re_ready;
static pthread_once_t re_once = PTHREAD_ONCE_INIT;

static bool compile_skip(regex_t *re, const char *extra)
{
	size_t n = strlen(skip_common) + strlen(extra) + 2;
	char *pat = malloc(n);
	int err;

	if (!pat)
		return false;
	snprintf(pat, n, "%s|%s", skip_common, extra);
	err = regcomp(re, pat, REG_EXTENDED | REG_NOSUB);
	free(pat);
	return err == 0;
}

static void compile_all(void)
{
	re_ready = compile_skip(&re_access, skip_access) && compile_skip(&re_free, skip_free);
}

/* A line of the text: [p, p + n). */
struct line {
	const char *p;
	size_t n;
};

static bool next_line(const char **cur, struct line *l)
{
	const char *s = *cur, *e;

	if (!*s)
		return false;
	e = strchr(s, '\n');
	l->p = s;
	l->n = e ? (size_t)(e - s) : strlen(s);
	*cur = e ? e + 1 : s + l->n;
	if (l->n && s[l->n - 1] == '\r')
		l->n--;
	return true;
}

static bool is_name(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* {{FUNC}}: ([a-zA-Z0-9_]+)(?:\.|\+) at p; returns the name length or 0. */
static size_t func_at(const char *p, const char *end)
{
	size_t n = 0;

	while (p + n < end && is_name(p[n]))
		n++;
	return (n && p + n < end && (p[n] == '.' || p[n] == '+')) ? n : 0;
}

/* {{PC}} followed by a space: \[\<?(?:0x)?[0-9a-f]+\>?\] */
static const char *skip_pc(const char *p, const char *end)
{
	const char *q = p;

	if (q >= end || *q++ != '[')
		return p;
	if (q < end && *q == '<')
		q++;
	if (end - q >= 2 && q[0] == '0' && q[1] == 'x')
		q += 2;
	if (q >= end || !isxdigit((unsigned char)*q))
		return p;
	while (q < end && (isdigit((unsigned char)*q) || (*q >= 'a' && *q <= 'f')))
		q++;
	if (q < end && *q == '>')
		q++;
	if (q + 1 < end && q[0] == ']' && q[1] == ' ')
		return q + 2;
	return p;
}

/* frameRes[0]: ^ *(?:{{PC}} ){0,2}{{FUNC}}; copies the name into out. */
static bool frame_func(const struct line *l, char *out)
{
	const char *p = l->p, *end = l->p + l->n;
	size_t n;

	while (p < end && *p == ' ')
		p++;
	p = skip_pc(skip_pc(p, end), end);
	n = func_at(p, end);
	if (!n || n >= NAME_MAX_LEN)
		return false;
	memcpy(out, p, n);
	out[n] = '\0';
	return true;
}

/* Strips syscall prefixes, then checks the skip patterns; true if it is the key frame. */
static bool key_frame(char *name, const regex_t *skip)
{
	for (const char *const *pre = strip_prefixes; *pre; pre++) {
		size_t n = strlen(*pre);
		if (strncmp(name, *pre, n) == 0)
			memmove(name, name + n, strlen(name + n) + 1);
	}
	return *name && regexec(skip, name, 0, NULL, 0) != 0;
}

static bool contains(const struct line *l, const char *s)
{
	return memmem(l->p, l->n, s, strlen(s)) != NULL;
}

/* stackStartRes: a line that starts another stack ends the Call Trace */
static bool stack_start(const struct line *l)
{
	static const char *const keys[] = {"Call Trace", "Call trace",
					   "Allocated:", "Freed:",
					   "Backtrace:", "Uninit was stored to memory at",
					   NULL};
	const char *p;

	for (const char *const *k = keys; *k; k++)
		if (contains(l, *k))
			return true;
	for (const char *const *k =
		 (const char *const[]){"Allocated by task ", "Freed by task ", NULL};
	     *k; k++) {
		p = memmem(l->p, l->n, *k, strlen(*k));
		if (p) {
			const char *d = p + strlen(*k), *end = l->p + l->n;
			while (d < end && isdigit((unsigned char)*d))
				d++;
			if (d > p + strlen(*k) && d < end && *d == ':')
				return true;
		}
	}
	p = memmem(l->p, l->n, " backtrace:", 11); /* "[^k] backtrace:" */
	return p && p > l->p && p[-1] != 'k';
}

/* "[ *digits.digits]" (ts) or "[ *[CT]digits]"; returns the char after it or NULL. */
static const char *skip_bracket(const char *p, const char *end, bool ts)
{
	const char *d;

	if (p >= end || *p++ != '[')
		return NULL;
	while (p < end && *p == ' ')
		p++;
	if (!ts && !(p < end && (*p == 'C' || *p == 'T')))
		return NULL;
	if (!ts)
		p++;
	for (d = p; p < end && isdigit((unsigned char)*p);)
		p++;
	if (p == d)
		return NULL;
	if (ts) {
		if (p >= end || *p++ != '.')
			return NULL;
		for (d = p; p < end && isdigit((unsigned char)*p);)
			p++;
		if (p == d)
			return NULL;
	}
	return (p < end && *p == ']') ? p + 1 : NULL;
}

/* The console prefix syzkaller strips: "<N>[  12.345678][ T123] " */
static void strip_console(struct line *l)
{
	const char *p = l->p, *end = l->p + l->n, *q;

	if (p < end && *p == '<') {
		for (p++; p < end && isdigit((unsigned char)*p);)
			p++;
		if (p >= end || *p++ != '>')
			return;
	}
	p = skip_bracket(p, end, true);
	if (!p)
		return;
	q = skip_bracket(p, end, false);
	if (q)
		p = q;
	if (p < end && *p == ' ') {
		l->n -= (size_t)(p + 1 - l->p);
		l->p = p + 1;
	}
}

static bool next_report_line(const char **cur, struct line *l)
{
	if (!next_line(cur, l))
		return false;
	strip_console(l);
	return true;
}

/* The key frame: the header's function, else the Call Trace's first kept frame. */
static bool find_frame(const char *hdr_func, const char *cur, const regex_t *skip, char *out)
{
	struct line l;
	bool in_trace = false;

	if (hdr_func) {
		strcpy(out, hdr_func);
		if (key_frame(out, skip))
			return true;
	}
	while (next_report_line(&cur, &l)) {
		if (!in_trace) {
			in_trace = contains(&l, "Call Trace:") || contains(&l, "Call trace:") ||
				   contains(&l, "Backtrace:");
			continue;
		}
		if (stack_start(&l))
			break;
		if (frame_func(&l, out) && key_frame(out, skip))
			return true;
	}
	return false;
}

/* "(Read|Write) (?:of size|at addr) [0-9a-f]" in a line after the header: last one wins. */
static const char *access_rw(const char *cur, bool size_only)
{
	static const char *const pats[] = {"Read of size ", "Write of size ", "Read at addr ",
					   "Write at addr "};
	struct line l;

	while (next_report_line(&cur, &l)) {
		const char *best = NULL, *rw = NULL;

		for (int i = 0; i < (size_only ? 2 : 4); i++) {
			const char *p = l.p, *end = l.p + l.n, *q;
			size_t n = strlen(pats[i]);

			while ((q = memmem(p, (size_t)(end - p), pats[i], n))) {
				if (q + n < end && isxdigit((unsigned char)q[n]) && q >= best)
					best = q, rw = i % 2 ? "Write" : "Read";
				p = q + 1;
			}
		}
		if (rw)
			return rw;
	}
	return NULL;
}

/* [a-z-]+ at p; returns its length. */
static size_t type_len(const char *p)
{
	size_t n = 0;

	while ((p[n] >= 'a' && p[n] <= 'z') || p[n] == '-')
		n++;
	return n;
}

static bool header_func(const char *p, char *out)
{
	size_t n = func_at(p, p + strlen(p));

	if (!n || n >= NAME_MAX_LEN)
		return false;
	memcpy(out, p, n);
	out[n] = '\0';
	return true;
}

/* Applies syzkaller's oops formats in order to the header rest (one line). */
static void raw_title(const char *rest, const char *after, char *t, size_t len)
{
	static const char *const frees[] = {"double-free or invalid-free in ", "double-free in ",
					    "invalid-free in ", NULL};
	char func[NAME_MAX_LEN], frame[NAME_MAX_LEN];
	size_t tl = type_len(rest);
	const char *rw;

	if (tl && strncmp(rest + tl, " in ", 4) == 0 && header_func(rest + tl + 4, func) &&
	    (rw = access_rw(after, false))) {
		if (!find_frame(func, after, &re_access, frame))
			strcpy(frame, "corrupted");
		snprintf(t, len, "KASAN: %.*s %s in %s", (int)tl, rest, rw, frame);
		return;
	}
	for (const char *const *f = frees; *f; f++) {
		if (strncmp(rest, *f, strlen(*f)) == 0 && header_func(rest + strlen(*f), func)) {
			if (!find_frame(func, after, &re_free, frame))
				strcpy(frame, "corrupted");
			snprintf(t, len, "KASAN: invalid-free in %s", frame);
			return;
		}
	}
	if (tl && strncmp(rest + tl, " on address", 11) == 0 && (rw = access_rw(after, true))) {
		snprintf(t, len, "KASAN: %.*s %s", (int)tl, rest, rw);
		return;
	}
	snprintf(t, len, "KASAN: %s", rest);
}

/* ([^a-zA-Z0-9])(?:0x)?[0-9a-f]{6,} -> ${1}ADDR */
static void replace_addrs(const char *in, char *out, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; in[i] && o + 1 < len;) {
		size_t j = i + 1, k = 0;

		out[o++] = in[i];
		if (isalnum((unsigned char)in[i])) {
			i++;
			continue;
		}
		if (in[j] == '0' && in[j + 1] == 'x')
			j += 2;
		while (isdigit((unsigned char)in[j + k]) || (in[j + k] >= 'a' && in[j + k] <= 'f'))
			k++;
		if (k < 6 && j != i + 1) { /* retry without the 0x */
			j = i + 1;
			k = 0;
			while (isdigit((unsigned char)in[j + k]) ||
			       (in[j + k] >= 'a' && in[j + k] <= 'f'))
				k++;
		}
		if (k >= 6) {
			o += (size_t)snprintf(out + o, len - o, "ADDR");
			if (o >= len)
				o = len - 1;
			i = j + k;
		} else {
			i++;
		}
	}
	out[o] = '\0';
}

/* sanitizeTitle: at most 120 chars, tabs to spaces, no control bytes, single spaces. */
static void sanitize(const char *in, char *out)
{
	size_t o = 0;
	char prev = ' ';

	for (size_t i = 0; in[i] && i < TITLE_MAX_LEN; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c == '\t')
			c = ' ';
		else if (c < 0x20 || c >= 0x7f)
			continue;
		if (c == ' ' && prev == ' ')
			continue;
		out[o++] = (char)c;
		prev = (char)c;
	}
	while (o && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
}

int report_title(const char *text, char *title, size_t len)
{
	char rest[1024], raw[1400], addr[1400], clean[TITLE_MAX_LEN + 1];
	const char *cur = text, *hdr;
	struct line l;

	if (!text || (!title && len))
		return -1;
	pthread_once(&re_once, compile_all);
	if (!re_ready)
		return -1;
	for (;;) {
		if (!next_report_line(&cur, &l))
			return -1;
		hdr = memmem(l.p, l.n, "BUG: KASAN: ", 12);
		if (hdr)
			break;
	}
	hdr += 12;
	snprintf(rest, sizeof(rest), "%.*s", (int)(l.p + l.n - hdr), hdr);
	raw_title(rest, cur, raw, sizeof(raw));
	replace_addrs(raw, addr, sizeof(addr));
	sanitize(addr, clean);
	return snprintf(title, len, "%s", clean);
}
