#!/usr/bin/env python3
"""Interleaved A/B comparison of running stacks (a shared, noisy machine
drifts over minutes, so variants are measured in turn, round after round,
and medians compared).

  bench/ab.py [--scen KEY,KEY] [--json FILE] ROUNDS SECONDS NAME=PORT_BASE[:STACK_DIR] ...

Each stack must be up (./rideshare up --detach) with bench_load's data
(100 users, 10,000 rides, ids 1..10000). Per round and stack, in a shuffled
order: GET /api/v1/rides/{id} at full load (16 connections), the same paced
(BENCH_DELAY_MS=10 per connection, about half load), PUT /api/v1/users.
For each: req/s, p50, p99, max, and CPU ms per request of the stack's
processes. Prints the median of every figure per stack (and JSON with
--json FILE). --scen picks the scenarios by key, in this order per round
(list_max: the bench's listing scenario, GET /api/v1/rides?source&destination
over sources 1-25 x destinations 101-140; default get_max,get_paced,put_max).
"""
import json
import os
import random
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench  # noqa: E402

ALL_SCEN = [
    ("list_max", "rides_list.lua", ["1:25", "101:140"], None),
    ("get_max", "ride_get.lua", ["1:10000"], None),
    ("get_paced", "ride_get.lua", ["1:10000"], "10"),
    ("put_max", "users_put.lua", None, None),
]
SCEN = [x for x in ALL_SCEN if x[0] != "list_max"]


def wrk(base, script, args, delay, secs):
    env = dict(os.environ)
    env.pop("BENCH_DELAY_MS", None)
    if delay:
        env["BENCH_DELAY_MS"] = delay
    cmd = ["wrk", "-t2", "-c16", f"-d{secs}s", "-s",
           os.path.join(HERE, "wrk", script), f"http://127.0.0.1:{base}/"]
    if args:
        cmd += ["--"] + args
    out = subprocess.run(cmd, capture_output=True, text=True, env=env).stdout
    for line in out.splitlines():
        if line.startswith("BENCH_JSON "):
            return json.loads(line[len("BENCH_JSON "):])
    raise SystemExit("no BENCH_JSON:\n" + out)


def main(argv):
    global SCEN
    jpath = None
    if "--scen" in argv:
        i = argv.index("--scen")
        keys = argv[i + 1].split(",")
        del argv[i:i + 2]
        SCEN = [x for k in keys for x in ALL_SCEN if x[0] == k]
        if len(SCEN) != len(keys):
            raise SystemExit("--scen: keys are "
                             + ",".join(x[0] for x in ALL_SCEN))
    if "--json" in argv:
        i = argv.index("--json")
        jpath = argv[i + 1]
        del argv[i:i + 2]
    rounds, secs = int(argv[1]), int(argv[2])
    stacks = []
    for spec in argv[3:]:
        name, rest = spec.split("=", 1)
        base, _, sdir = rest.partition(":")
        stacks.append((name, int(base), sdir or f"/tmp/rs-ab-{base}"))
    res = {s[0]: {k[0]: [] for k in SCEN} for s in stacks}
    for r in range(rounds):
        order = stacks[:]
        random.shuffle(order)
        for name, base, sdir in order:
            admin = f"http://127.0.0.1:{base + 10}"
            for key, script, args, delay in SCEN:
                if args is None:
                    args = [f"ab{r}{name}"]
                b = bench.snap_json(sdir, admin)
                d = wrk(base, script, args, delay, secs)
                a = bench.snap_json(sdir, admin)
                comps = bench.cpu_delta(b, a)
                cpu = sum(comps.values())
                n = d["requests"]
                d["cpu_ms_per_req"] = cpu / n * 1000 if n else 0
                # Per component (the gateway's own cost, less noisy than
                # the sum when the machine is shared).
                d["cpu_ms_per_req_by_comp"] = {
                    c: (t / n * 1000 if n else 0) for c, t in comps.items()}
                d["other"] = bench.other_cpu(b, a, cpu, 0) or 0
                res[name][key].append(d)
                print(f"round {r} {name:<10} {key:<10} {d['req_per_s']:8.0f}/s "
                      f"p50 {d['p50_ms']:6.2f} p99 {d['p99_ms']:8.2f} "
                      f"max {d['max_ms']:8.1f} cpu {d['cpu_ms_per_req']:.3f} ms "
                      f"other {d['other']:.0%} | " + " ".join(
                          f"{c} {v:.3f}" for c, v in sorted(
                              d["cpu_ms_per_req_by_comp"].items())),
                      flush=True)
    print()
    print(f"medians over {rounds} rounds of {secs} s")
    print(f"{'stack':<12}{'scenario':<11}{'req/s':>8}{'p50':>8}{'p99':>9}"
          f"{'max':>9}{'CPU ms/req':>12}{'runs max>300ms':>16}")
    summary = {}
    for name, _, _ in stacks:
        summary[name] = {}
        for key, *_ in SCEN:
            v = res[name][key]
            med = {f: statistics.median(x[f] for x in v) for f in
                   ("req_per_s", "p50_ms", "p99_ms", "max_ms",
                    "cpu_ms_per_req")}
            med["stalled_runs"] = sum(1 for x in v if x["max_ms"] > 300)
            summary[name][key] = med
            print(f"{name:<12}{key:<11}{med['req_per_s']:8.0f}"
                  f"{med['p50_ms']:8.2f}{med['p99_ms']:9.2f}{med['max_ms']:9.1f}"
                  f"{med['cpu_ms_per_req']:12.3f}"
                  f"{med['stalled_runs']:>10}/{len(v)}")
    if jpath:
        with open(jpath, "w") as f:
            json.dump({"rounds": rounds, "seconds": secs, "summary": summary,
                       "runs": res}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
