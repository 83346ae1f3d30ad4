/* rsctl watch [--since SEQ] [--until SEQ]: prints the change feed
 * (GET /api/v1/changes, NDJSON) from SEQ + 1 on, resuming after the last
 * seq printed whenever a stream ends; with --until it exits 0 once that
 * seq is printed. Exit codes as rsctl's: 1 when the server refuses for
 * good (410: since no longer held), 2 usage, token or protocol errors. */
#ifndef RSCTL_WATCH_H
#define RSCTL_WATCH_H

/* argv[0] is "watch". */
int rsctl_watch(int argc, char **argv);

#endif
