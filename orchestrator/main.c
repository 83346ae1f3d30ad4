/* rideshare-orchestrator: routes DbRequests between callers and workers,
 * keeps one master and the wanted number of slaves alive, scales them with
 * read load and serves the admin HTTP API. Wiring only; see
 * docs/orchestrator.md. */
#include "admin.h"
#include "autoscale.h"
#include "capacity.h"
#include "config.h"
#include "orch_metrics.h"
#include "router.h"
#include "rs_err.h"
#include "rs_log.h"
#include "spawner.h"
#include "supervisor.h"
#include "workers.h"

#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static int
make_spawner(const rs_orch_cfg *cfg, rs_orch_workers *w, rs_orch_spawner **sp)
{
	if (strcmp(cfg->spawner, "docker") == 0)
		return rs_orch_spawner_docker_create(
		    &cfg->docker, rs_orch_workers_publish_pid, w, sp);
	if (strcmp(cfg->spawner, "swarm") == 0) {
		rs_orch_swarm_cfg sw = cfg->swarm;

		sw.recorded_volume = rs_orch_workers_master_volume;
		sw.recorded_arg = w;
		return rs_orch_spawner_swarm_create(
		    &sw, rs_orch_workers_publish_pid, w, sp);
	}
	return rs_orch_spawner_process_create(
	    cfg->worker_bin, cfg->worker_env, sp);
}

/* The autoscaler with its ceiling: RIDESHARE_MAX_SLAVES, or what the
 * spawner's hosts can use (capacity.h). */
static void
init_autoscale(
    const rs_orch_cfg *cfg, rs_orch_spawner *sp, rs_orch_autoscale *as)
{
	int capacity = cfg->max_slaves > 0
	    ? 0
	    : rs_orch_spawner_capacity(sp, cfg->slaves_per_node);
	int cap
	    = rs_orch_slave_cap(capacity, cfg->min_slaves, cfg->max_slaves);

	rs_orch_autoscale_init(
	    as, (int64_t) cfg->scale_window_s * 1000, cfg->min_slaves, cap);
	rs_metric_set(&rs_orch_m_target_slaves, (uint64_t) cfg->min_slaves);
	rs_metric_set(&rs_orch_m_wanted_slaves, (uint64_t) cfg->min_slaves);
	rs_metric_set(&rs_orch_m_slave_cap, (uint64_t) as->max_slaves);
	rs_info(NULL,
	    "event=slave_cap cap=%d source=%s capacity=%d per_node=%d "
	    "spawner=%s min_slaves=%d",
	    as->max_slaves,
	    cfg->max_slaves > 0 ? "RIDESHARE_MAX_SLAVES" : "spawner_capacity",
	    capacity, cfg->slaves_per_node, rs_orch_spawner_name(sp),
	    cfg->min_slaves);
}

int
main(int argc, char **argv)
{
	static rs_orch_cfg cfg;
	rs_orch_workers *w = NULL;
	rs_orch_spawner *sp = NULL;
	rs_orch_autoscale as;
	rs_orch_router *r = NULL;
	rs_orch_supervisor *s = NULL;
	rs_orch_admin *a = NULL;
	rs_orch_supervisor_cfg scfg;
	sigset_t sigs;
	int sig = 0, rv, code = 1;

	(void) argc;
	if (rs_log_init("orchestrator") != RS_OK) {
		fprintf(stderr,
		    "config error: RIDESHARE_LOG_LEVEL: expected "
		    "debug, info, warn or error\n");
		return 2;
	}
	rs_orch_cfg_load(&cfg, argv[0]);
	/* Signals are taken by sigwait below; every thread inherits the
	 * mask (spawned workers reset it). */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rs_orch_metrics_register();
	rs_info(NULL,
	    "event=start amqp=%s zk=%s admin_port=%d spawner=%s "
	    "worker_bin=%s window_s=%d min_slaves=%d",
	    cfg.amqp_url, cfg.zk_hosts, cfg.http_port, cfg.spawner,
	    cfg.worker_bin, cfg.scale_window_s, cfg.min_slaves);

	if ((rv = rs_orch_workers_create(
	         cfg.zk_hosts, cfg.zk_session_ms, cfg.connect_wait_ms, &w))
	        != RS_OK
	    || (rv = make_spawner(&cfg, w, &sp)) != RS_OK)
		goto out;
	init_autoscale(&cfg, sp, &as);
	if ((rv = rs_orch_router_create(cfg.amqp_url, w, &as, &r)) != RS_OK
	    || (rv = rs_orch_router_start(r, cfg.connect_wait_ms)) != RS_OK)
		goto out;
	scfg.start_timeout_ms = cfg.start_timeout_ms;
	scfg.stop_timeout_ms = cfg.stop_timeout_ms;
	scfg.rejoin_grace_ms = cfg.rejoin_grace_ms;
	scfg.retire_every_ms = cfg.retire_every_ms;
	scfg.pg_maint = cfg.pg_conninfo;
	scfg.amqp_url = cfg.amqp_url;
	if ((rv = rs_orch_supervisor_create(&scfg, w, sp, &as, &s)) != RS_OK
	    || (rv = rs_orch_supervisor_start(s)) != RS_OK
	    || (rv = rs_orch_admin_start(&cfg, w, s, r, &a)) != RS_OK)
		goto out;

	sigwait(&sigs, &sig);
	rs_info(NULL, "event=stopping signal=%d", sig);
	code = 0;
out:
	if (code != 0)
		rs_error(NULL, "event=start_failed err=%s", rs_strerror(rv));
	rs_orch_admin_stop(a);
	if (s != NULL)
		rs_orch_supervisor_shutdown(s);
	rs_orch_supervisor_destroy(s);
	rs_orch_router_destroy(r);
	rs_orch_spawner_destroy(sp);
	rs_orch_workers_destroy(w);
	curl_global_cleanup();
	rs_info(NULL, "event=stopped code=%d", code);
	return code;
}
