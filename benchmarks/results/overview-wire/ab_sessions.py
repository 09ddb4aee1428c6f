# ruff: noqa  (an ad-hoc measuring script kept with its results, as it was run)
import sys, os, time, statistics

root = "/work/wt-overview-wire"
sys.path.insert(0, root)
os.chdir(root)
from pathlib import Path
from contextlib import ExitStack
from benchmarks import app_server as app
from benchmarks.bench_map_ready import wait_warmed

db = "sqlite:////tmp/bench-overview/drill-100k.sqlite"
variants = dict(a=sys.argv[1], b=sys.argv[2])
n = int(sys.argv[3])
res = {k: [] for k in variants}
cpu, wire = {}, {}
with ExitStack() as stack:

    def env(v):
        extra = dict(kv.split("=", 1) for kv in v.split(":")[1:])
        return app.app_env(db, **extra)

    servers = {
        k: stack.enter_context(
            app.streamlit_server(Path(root) / v.split(":")[0], env(v), Path("/tmp"))
        )
        for k, v in variants.items()
    }
    for s in servers.values():
        wait_warmed(s, 300)
    browser = stack.enter_context(app.chromium())
    for i in range(n):
        for k in ("a", "b") if i % 2 == 0 else ("b", "a"):
            s = servers[k]
            page = app.Page(browser, s["url"], db)
            cpu0 = [open(f"/proc/{s['pid']}/stat").read().split()[13:15]]
            t = time.perf_counter()
            page.page.goto(s["url"] + "/", wait_until="commit")
            app.wait_map_ready(page.page)
            res[k].append(round(time.perf_counter() - t, 3))
            page.page.wait_for_timeout(300)
            cpu1 = open(f"/proc/{s['pid']}/stat").read().split()[13:15]
            cpu.setdefault(k, []).append(
                sum(int(b) - int(a) for a, b in zip(cpu0[0], cpu1)) / os.sysconf("SC_CLK_TCK")
            )
            wire.setdefault(k, []).append(page.received_bytes)
            page.close()
        print(i, os.getloadavg()[0], {k: v[-1] for k, v in res.items()}, flush=True)
for k, v in res.items():
    print(
        variants[k],
        "median",
        statistics.median(v),
        v,
        "server CPU s per session",
        statistics.median(cpu[k]),
        cpu[k],
    )
