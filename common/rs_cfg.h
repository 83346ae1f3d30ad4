/* Configuration from environment variables, with defaults.
 *
 * The rs_cfg_parse_* functions are pure (unit-tested); the rs_cfg_* getters
 * read the environment and, on a value that does not parse, print
 *   config error: RIDESHARE_X="abc": not an integer in [1, 65535]
 * to stderr and exit(2), so a misconfigured binary fails at start, naming
 * the variable. Defaults for every variable are listed in
 * docs/conventions.md. */
#ifndef RS_CFG_H
#define RS_CFG_H

#include <stddef.h>

/* Parses a decimal integer in [min, max]. On failure returns RS_EINVAL and
 * writes a reason into err. *out is set only on success. */
int rs_cfg_parse_long(const char *value, long min, long max, long *out,
    char *err, size_t errlen);

/* Parses 1/0, true/false, yes/no, on/off (case-insensitive). */
int rs_cfg_parse_bool(const char *value, int *out, char *err, size_t errlen);

/* Environment value or def when unset or empty. Never NULL unless def is.
 * Secrets: when NAME is unset and NAME_FILE names a file, the value is the
 * file's first line (Docker's and PostgreSQL's images use the same
 * convention); an unreadable file exits 2, a file readable by group or
 * others is warned about. */
const char *rs_cfg_str(const char *name, const char *def);
long rs_cfg_long(const char *name, long def, long min, long max);
int rs_cfg_port(const char *name, int def);
int rs_cfg_bool(const char *name, int def);

/* Exits with code 2 after printing "config error: <name>=...: <why>". */
void rs_cfg_die(const char *name, const char *value, const char *why)
    __attribute__((noreturn));

#endif
