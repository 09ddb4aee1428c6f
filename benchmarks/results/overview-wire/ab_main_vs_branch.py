# ruff: noqa  (an ad-hoc measuring script kept with its results, as it was run)
"""Interleaved new sessions of the overview (/) on two checkouts' servers, same store, same
Chromium, each through the counting proxy: map ready (s), bytes on the wire, DevTools count.
usage: ab2.py ROOT_A ROOT_B N [DB_URL]"""

import sys, os, time, statistics, json
from pathlib import Path
from contextlib import ExitStack

roots = {"a": Path(sys.argv[1]), "b": Path(sys.argv[2])}
n = int(sys.argv[3])
db = sys.argv[4] if len(sys.argv) > 4 else "sqlite:////tmp/bench-overview/drill-100k.sqlite"
sys.path.insert(0, str(roots["a"]))
from benchmarks import app_server as app
from benchmarks.bench_map_ready import wait_warmed
from benchmarks.wire import counting_proxy

app.ensure_admin(db)
res = {
    k: {
        "cold_s": [],
        "cold_wire": [],
        "cold_devtools": [],
        "warm_s": [],
        "warm_wire": [],
        "load": [],
    }
    for k in roots
}
with ExitStack() as stack:
    servers = {}
    for k, root in roots.items():
        app.ROOT = root  # streamlit_server runs `streamlit run` from this folder (its config.toml)
        plain = stack.enter_context(
            app.streamlit_server(root / "app.py", app.app_env(db), Path("/tmp"))
        )
        servers[k] = stack.enter_context(counting_proxy(plain))
    for s in servers.values():
        wait_warmed(s, 600)
    browser = stack.enter_context(app.chromium())
    for k, s in servers.items():  # a first session each (not counted), as map_ready does
        page = app.Page(browser, s["url"], db)
        page.page.goto(s["url"] + "/", wait_until="commit")
        app.wait_map_ready(page.page, timeout_ms=600_000)
        page.close()
    for i in range(n):
        for k in ("a", "b") if i % 2 == 0 else ("b", "a"):
            s, r = servers[k], res[k]
            page = app.Page(browser, s["url"], db)
            r["load"].append(os.getloadavg()[0])
            for kind in ("cold", "warm"):
                page.reset_counts()
                s["proxy"].reset()
                t = time.perf_counter()
                page.page.goto(s["url"] + "/", wait_until="commit")
                app.wait_map_ready(page.page, timeout_ms=600_000)
                r[f"{kind}_s"].append(round(time.perf_counter() - t, 3))
                page.page.wait_for_timeout(500)
                r[f"{kind}_wire"].append(s["proxy"].down)
                if kind == "cold":
                    r["cold_devtools"].append(page.received_bytes)
            page.close()
        print(
            i,
            {k: (v["cold_s"][-1], v["warm_s"][-1], v["cold_wire"][-1]) for k, v in res.items()},
            flush=True,
        )
out = {"roots": {k: str(v) for k, v in roots.items()}, "db": db, "results": res, "medians": {}}
for k, r in res.items():
    out["medians"][k] = {m: statistics.median(v) for m, v in r.items() if v}
    print(roots[k], json.dumps(out["medians"][k]))
a, b = out["medians"]["a"], out["medians"]["b"]
print(
    "ratio a/b: cold_s %.3f warm_s %.3f cold_wire %.3f warm_wire %.3f"
    % (
        a["cold_s"] / b["cold_s"],
        a["warm_s"] / b["warm_s"],
        a["cold_wire"] / b["cold_wire"],
        a["warm_wire"] / b["warm_wire"],
    )
)
json.dump(out, open(os.environ.get("AB_OUT", "/tmp/ab2.json"), "w"), indent=1)
