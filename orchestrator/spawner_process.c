/* Process spawner: fork/exec of rideshare-worker on this machine.
 * pid = OS pid. Workers do not die with the orchestrator (no parent-death
 * signal): a restarted orchestrator adopts them (docs/orchestrator.md
 * "Restarting the orchestrator"). The child learns its own pid through
 * RIDESHARE_WORKER_PID, written between fork and exec with async-signal-safe
 * code only (the orchestrator is multi-threaded, so nothing that may lock runs
 * there). */
#include "spawner.h"
#include "rs_buf.h"
#include "rs_err.h"
#include "rs_log.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define PID_VAR    "RIDESHARE_WORKER_PID="
#define PID_DIGITS 20

struct child {
	char id[64];
	pid_t pid;
	bool adopted; /* not our child: watched through /proc, not waitpid */
};

struct proc {
	char *bin;
	char **fixed;
	char *extra; /* rs_orch_spawner_set_env, or NULL */
	struct child *kids;
	size_t n, cap;
};

/* Writes the decimal pid right after "RIDESHARE_WORKER_PID=" into a
 * preallocated slot. Async-signal-safe. */
static void
put_pid(char *slot, pid_t pid)
{
	char tmp[PID_DIGITS];
	int k = 0;
	char *p = slot + sizeof(PID_VAR) - 1;

	do {
		tmp[k++] = (char) ('0' + pid % 10);
		pid /= 10;
	} while (pid > 0 && k < PID_DIGITS);
	while (k > 0)
		*p++ = tmp[--k];
	*p = '\0';
}

/* Runs in the child between fork and exec: async-signal-safe calls only. */
static void __attribute__((noreturn))
exec_child(const char *bin, char **envp, char *pid_slot)
{
	sigset_t none;
	struct sigaction dfl;
	char *argv[2];

	/* Own process group: a Ctrl-C on the terminal reaches the
	 * orchestrator, which then stops workers in order (slaves first). */
	setpgid(0, 0);
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigaction(SIGPIPE, &dfl, NULL);
	sigaction(SIGCHLD, &dfl, NULL);
	sigaction(SIGTERM, &dfl, NULL);
	sigaction(SIGINT, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	close_range(3, ~0U, 0);
	put_pid(pid_slot, getpid());
	argv[0] = (char *) bin;
	argv[1] = NULL;
	execve(bin, argv, envp);
	_exit(127);
}

/* Room for one more child in p->kids: RS_OK or RS_ENOMEM. */
static int
grow(struct proc *p)
{
	struct child *k = rs_grow(p->kids, &p->cap, p->n, sizeof(*k), 8);

	if (k == NULL)
		return RS_ENOMEM;
	p->kids = k;
	return RS_OK;
}

static int
proc_spawn(void *impl, const char *id, int64_t *pid_out)
{
	struct proc *p = impl;
	char pid_slot[sizeof(PID_VAR) + PID_DIGITS + 1];
	const char *extra[] = { pid_slot, p->extra, NULL };
	char **envp;
	char *slot;
	pid_t pid;
	size_t i;

	if (grow(p) != RS_OK)
		return RS_ENOMEM;
	memset(pid_slot, ' ', sizeof(pid_slot) - 1);
	memcpy(pid_slot, PID_VAR, sizeof(PID_VAR) - 1);
	pid_slot[sizeof(pid_slot) - 1] = '\0';
	envp = rs_orch_worker_env(
	    environ, id, (const char *const *) p->fixed, extra, false);
	if (envp == NULL)
		return RS_ENOMEM;
	/* The child writes into its own copy of the env entry. */
	for (i = 0; envp[i] != NULL; i++) {
		if (strncmp(envp[i], PID_VAR, sizeof(PID_VAR) - 1) == 0)
			break;
	}
	slot = envp[i];
	pid = fork();
	if (pid == 0)
		exec_child(p->bin, envp, slot);
	rs_orch_env_free(envp);
	if (pid < 0) {
		rs_error(NULL, "event=spawn_failed id=%s err=\"%s\"", id,
		    strerror(errno));
		return RS_EIO;
	}
	snprintf(p->kids[p->n].id, sizeof(p->kids[p->n].id), "%s", id);
	p->kids[p->n].pid = pid;
	p->kids[p->n].adopted = false;
	p->n++;
	*pid_out = pid;
	return RS_OK;
}

/* State letter of /proc/<pid>/stat ('R', 'S', 'Z', ...), or 0 when the
 * process is gone. A zombie counts as gone: PID 1 of some machines never
 * reaps orphans (shared/notes/local-servers.md). */
static char
proc_state(pid_t pid)
{
	char path[64], buf[512];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* "pid (comm) S ...": comm may hold spaces and parentheses. */
	char *rp = strrchr(buf, ')');
	if (rp == NULL || rp[1] != ' ' || rp[2] == '\0')
		return 0;
	return rp[2];
}

static int
proc_adopt(void *impl, const char *id, int64_t pid)
{
	struct proc *p = impl;
	char st;

	for (size_t i = 0; i < p->n; i++) {
		if (strcmp(p->kids[i].id, id) == 0)
			return RS_EEXIST;
	}
	if (pid <= 0 || pid > INT32_MAX)
		return RS_ENOTFOUND;
	st = proc_state((pid_t) pid);
	if (st == 0 || st == 'Z' || st == 'X')
		return RS_ENOTFOUND;
	if (grow(p) != RS_OK)
		return RS_ENOMEM;
	snprintf(p->kids[p->n].id, sizeof(p->kids[p->n].id), "%s", id);
	p->kids[p->n].pid = (pid_t) pid;
	p->kids[p->n].adopted = true;
	p->n++;
	return RS_OK;
}

static int
proc_signal(void *impl, const char *id, int64_t pid, int sig)
{
	struct proc *p = impl;
	pid_t target = 0;

	for (size_t i = 0; i < p->n; i++) {
		if (strcmp(p->kids[i].id, id) == 0)
			target = p->kids[i].pid;
	}
	/* A worker we did not start (foreign) is reached by its pid. */
	if (target == 0)
		target = (pid_t) pid;
	if (target <= 0)
		return RS_ENOTFOUND;
	if (kill(target, sig) != 0)
		return errno == ESRCH ? RS_ENOTFOUND : RS_EIO;
	return RS_OK;
}

static void
describe(int st, char *how, size_t len)
{
	if (WIFEXITED(st))
		snprintf(how, len, "exit %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(how, len, "signal %d", WTERMSIG(st));
	else
		snprintf(how, len, "status %d", st);
}

static int
proc_reap(void *impl, rs_orch_exit_fn fn, void *arg)
{
	struct proc *p = impl;
	size_t i = 0;

	while (i < p->n) {
		int st = 0;
		pid_t r;
		char how[32];

		if (p->kids[i].adopted) {
			char ps = proc_state(p->kids[i].pid);
			if (ps != 0 && ps != 'Z' && ps != 'X') {
				i++;
				continue;
			}
			fn(arg, p->kids[i].id, p->kids[i].pid,
			    "gone (adopted, status unknown)");
			p->kids[i] = p->kids[--p->n];
			continue;
		}
		r = waitpid(p->kids[i].pid, &st, WNOHANG);
		if (r == 0 || (r < 0 && errno == EINTR)) {
			i++;
			continue;
		}
		if (r < 0)
			snprintf(how, sizeof(how), "lost");
		else
			describe(st, how, sizeof(how));
		fn(arg, p->kids[i].id, p->kids[i].pid, how);
		p->kids[i] = p->kids[--p->n];
	}
	return RS_OK;
}

static int
proc_count(void *impl)
{
	return (int) ((struct proc *) impl)->n;
}

static int
proc_set_env(void *impl, const char *kv)
{
	struct proc *p = impl;
	char *dup = NULL;

	if (kv != NULL && (dup = strdup(kv)) == NULL)
		return RS_ENOMEM;
	free(p->extra);
	p->extra = dup;
	return RS_OK;
}

static void
proc_destroy(void *impl)
{
	struct proc *p = impl;

	free(p->extra);
	free(p->kids);
	free(p->bin);
	rs_orch_env_free(p->fixed);
	free(p);
}

static const struct rs_orch_spawner_ops proc_ops = {
	.name = "process",
	.spawn = proc_spawn,
	.signal = proc_signal,
	.reap = proc_reap,
	.count = proc_count,
	.adopt = proc_adopt,
	.set_env = proc_set_env,
	.destroy = proc_destroy,
};

int
rs_orch_spawner_process_create(const char *worker_bin,
    const char *const *fixed_env, rs_orch_spawner **out)
{
	struct proc *p;

	if (access(worker_bin, X_OK) != 0) {
		rs_error(NULL,
		    "event=worker_bin_missing path=\"%s\" err=\"%s\"",
		    worker_bin, strerror(errno));
		return RS_ENOTFOUND;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL || (p->bin = strdup(worker_bin)) == NULL
	    || (p->fixed = rs_orch_env_dup(fixed_env)) == NULL) {
		if (p != NULL)
			free(p->bin);
		free(p);
		return RS_ENOMEM;
	}
	return rs_orch_spawner_wrap(&proc_ops, p, out);
}
