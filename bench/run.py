#!/usr/bin/env python3
"""Issue 8's side-by-side benchmark, in one command (bench/README.md):

    python3 bench/run.py

1. makes a virtual environment (WORK/venv) and pip-installs the pinned peers' packages
   (bench/requirements.txt) into it, then runs itself again inside it;
2. builds cartsona (`cargo build --release --locked`) unless --bin is given;
3. generates the inputs with `cartsona generate --seed 1` at each size, CSV and Parquet, and a
   third copy as Parquet written by polars-py from the CSV ("polars-parquet": typed UTC
   timestamps, polars' row groups; files cartsona did not write) (all reused when WORK/data
   already holds them);
4. runs `cartsona segment --timings` and the peers (bench/peers/: pandas + scikit-learn,
   polars + scikit-learn) on each input, ROUNDS times, rotating their order every round so that
   no tool always runs first; every tool gets the same 2 threads (POLARS_MAX_THREADS,
   RAYON_NUM_THREADS, OMP_NUM_THREADS and the BLAS variables);
   up to --peers-max shoppers, each round also measures the floors (issues 19 and 33) in child
   processes: polars `read_parquet` of the three Parquet files, the same + a per-customer
   group-by (the Parquet floor), polars `read_csv` + timestamp parsing + a per-customer group-by
   of the three CSV files (the CSV floor; bench/reading.py's), and DuckDB
   running cartsona's own feature SQL (`features --emit-sql duckdb`) over the CSV files
   (bench/warehouse_features.py);
5. measures each run with /usr/bin/time -v (wall clock, maximum resident set size; without
   /usr/bin/time, the same figures from wait4's rusage);
6. prints and writes (--report, WORK/results.json) the medians, the ratios cartsona / peer, the
   inertia ratio against scikit-learn at each k, the adjusted Rand index between cartsona's and
   each peer's assignments, cartsona's stage times and each stage's share of the run, the floors
   and cartsona's ratios to them, and the issues' targets (8, 14, 19 and 33) met or not.

Peers run up to --peers-max shoppers: at 1M shoppers they already need ~7 GB, so the 100M-row
size is cartsona alone (its target there is memory). Exit status: 0 when every run finished,
1 when a run failed or a target was missed, 2 when the harness itself could not run.
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
THREADS_ENV = ["POLARS_MAX_THREADS", "RAYON_NUM_THREADS", "OMP_NUM_THREADS",
               "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"]
TOOLS = ["cartsona", "pandas+sklearn", "polars+sklearn"]
PEER_SCRIPTS = {"pandas+sklearn": "pandas_sklearn.py", "polars+sklearn": "polars_sklearn.py"}
# The targets, checked at --target-size (CSV) and at the largest size (Parquet memory).
TARGET_WALL = {"pandas+sklearn": 0.25, "polars+sklearn": 0.6}
TARGET_MEM_PANDAS = 0.5
TARGET_INERTIA = 1.005
TARGET_ARI = 0.95
TARGET_CHOOSE_SHARE = 0.10
# Issue 19: 100M rows from Parquet under 5 GB, in at most 0.6x the 173.7 s measured before it;
# reading from Parquet at most 3x polars' read_parquet; segment from CSV at most 1.5x the polars
# floor at --target-size; cartsona's reading + features no slower than DuckDB's feature SQL.
# Issue 33 tightened them: reading Parquet at most 2x read_parquet; segment from Parquet at most
# 3x the polars Parquet floor (read + group-by) and at most 0.6x segment from CSV; segment from
# CSV at most 1.1x the polars CSV floor at 1M shoppers; 100M rows from Parquet under 4 GB in at
# most 0.6x the 162 s measured after issue 19.
TARGET_BIG_PEAK_GB = 4.0
TARGET_BIG_WALL_S = 0.6 * 162.0
TARGET_PARQUET_READ = 2.0
TARGET_PARQUET_FLOOR = 3.0
TARGET_PARQUET_VS_CSV = 0.6
TARGET_CSV_FLOOR = 1.1
TARGET_DUCKDB = 1.0
FORMATS = ("csv", "parquet", "polars-parquet")


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100000,1000000,6000000",
                    help="shoppers per size, comma-separated (about 1.7M, 17M and 100M rows)")
    ap.add_argument("--formats", default="csv,parquet,polars-parquet")
    ap.add_argument("--rounds", type=int, default=2, help="runs of every tool on every input")
    ap.add_argument("--peers-max", type=int, default=1_000_000,
                    help="largest size (shoppers) the peers run at")
    ap.add_argument("--target-size", type=int, default=1_000_000,
                    help="the size (shoppers) the wall, memory and quality targets are checked at")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1, help="generator seed")
    ap.add_argument("--work", default=os.path.join(HERE, "work"),
                    help="data, runs, the venv and results.json (default bench/work, git-ignored)")
    ap.add_argument("--bin", help="a cartsona binary to use instead of building one")
    ap.add_argument("--report", default=os.path.join(HERE, "latest.md"),
                    help="where to write the results as Markdown")
    return ap.parse_args()


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def die(msg):
    log(f"bench/run.py: error: {msg}")
    sys.exit(2)


# ---------------------------------------------------------------- environment


def ensure_venv(work):
    """Creates WORK/venv with the pinned packages (once) and re-executes this script in it."""
    if os.environ.get("CARTSONA_BENCH_IN_VENV") == "1":
        return
    venv = os.path.join(work, "venv")
    py = os.path.join(venv, "bin", "python")
    req = os.path.join(HERE, "requirements.txt")
    stamp = os.path.join(venv, "requirements.installed")
    wanted = open(req).read()
    if not (os.path.exists(stamp) and open(stamp).read() == wanted):
        log(f"== virtual environment {venv} (pip install -r bench/requirements.txt)")
        shutil.rmtree(venv, ignore_errors=True)
        r = subprocess.run([sys.executable, "-m", "venv", venv])
        if r.returncode != 0:
            die("python3 -m venv failed; on Debian/Ubuntu install python3-venv")
        r = subprocess.run([py, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                            "-r", req])
        if r.returncode != 0:
            die("pip install -r bench/requirements.txt failed")
        with open(stamp, "w") as f:
            f.write(wanted)
    env = dict(os.environ, CARTSONA_BENCH_IN_VENV="1")
    os.execve(py, [py, os.path.abspath(__file__)] + sys.argv[1:], env)


def build(args):
    if args.bin:
        return os.path.abspath(args.bin)
    log("== cargo build --release --locked")
    r = subprocess.run(["cargo", "build", "--release", "--locked", "--quiet"], cwd=ROOT)
    if r.returncode != 0:
        die("cargo build --release failed")
    return os.path.join(ROOT, "target", "release", "cartsona")


def machine():
    cpu = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 ** 2:.1f} GB"
    except OSError:
        pass
    import numpy, pandas, polars, sklearn  # noqa: E401 (the venv's)
    return {"cpu": cpu, "cores": os.cpu_count(), "memory": mem, "os": platform.platform(),
            "python": platform.python_version(), "pandas": pandas.__version__,
            "polars": polars.__version__, "scikit-learn": sklearn.__version__,
            "numpy": numpy.__version__}


# ---------------------------------------------------------------- data and runs


def generate(bin_, work, shoppers, fmt, seed):
    if fmt == "polars-parquet":
        return polars_copy(bin_, work, shoppers, seed)
    d = os.path.join(work, "data", f"s{shoppers}-{fmt}")
    meta = os.path.join(d, "generate.json")
    if os.path.exists(meta):
        g = json.load(open(meta))
        if g.get("shoppers") == shoppers and g.get("seed") == seed and g.get("format") == fmt:
            return d, g
    log(f"== cartsona generate --shoppers {shoppers} --format {fmt}")
    r = subprocess.run([bin_, "generate", "-q", "--shoppers", str(shoppers), "--seed", str(seed),
                        "--format", fmt, "--out", d, "--force"])
    if r.returncode != 0:
        die(f"cartsona generate failed for {shoppers} shoppers ({fmt})")
    return d, json.load(open(meta))


def polars_copy(bin_, work, shoppers, seed):
    """The CSV shop rewritten as Parquet by polars-py (bench/reading.py), in a child process."""
    csv_dir, g = generate(bin_, work, shoppers, "csv", seed)
    d = os.path.join(work, "data", f"s{shoppers}-polars-parquet")
    meta = os.path.join(d, "generate.json")
    if os.path.exists(meta) and json.load(open(meta)) == dict(g, format="polars-parquet"):
        return d, json.load(open(meta))
    log(f"== polars-py writes the {shoppers}-shopper CSV shop as Parquet")
    shutil.rmtree(d, ignore_errors=True)
    child(f"reading.polars_parquet(Path({csv_dir!r}), Path({d!r}))")
    with open(meta, "w") as f:
        json.dump(dict(g, format="polars-parquet"), f)
    return d, json.load(open(meta))


def child(call):
    """Runs `call` (Python using bench/reading.py) in a child interpreter; returns its stdout.
    A child, so that polars' memory never counts towards this process or a later wait4."""
    code = f"import sys; sys.path.insert(0, {HERE!r}); import reading; from pathlib import Path; print({call})"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if r.returncode != 0:
        die(f"{call}: {r.stderr[-2000:]}")
    return r.stdout.strip()


def floors(bin_, work, shoppers, seed, as_of, env):
    """One round of the floors at this size: seconds for each (and DuckDB's peak memory)."""
    csv_dir, _ = generate(bin_, work, shoppers, "csv", seed)
    pq_dir, _ = generate(bin_, work, shoppers, "parquet", seed)
    out = {"polars read_parquet": float(child(f"reading.floor_parquet(Path({pq_dir!r}))")),
           "polars read+group-by (Parquet)":
               float(child(f"reading.floor_parquet_group(Path({pq_dir!r}))")),
           "polars read+parse+group-by (CSV)": float(child(f"reading.floor_csv(Path({csv_dir!r}))"))}
    sql = os.path.join(work, "runs", f"s{shoppers}-features.sql")
    files = [a for k in ("carts", "orders", "engagement")
             for a in (f"--{k}", os.path.join(csv_dir, f"{k}.csv"))]
    r = subprocess.run([bin_, "features", "--emit-sql", "duckdb", "--as-of", as_of, "--out", sql,
                        "--force"] + files, capture_output=True, text=True)
    if r.returncode != 0:
        die(f"features --emit-sql: {r.stderr}")
    target = os.path.join(work, "runs", f"s{shoppers}-duckdb-features.parquet")
    code, wall, rss, err = measured([sys.executable, os.path.join(HERE, "warehouse_features.py"),
                                     "--sql", sql, "--data", csv_dir, "--out", target,
                                     "--threads", env["RAYON_NUM_THREADS"]], env)
    if code != 0:
        die(f"warehouse_features.py: {err}")
    out["duckdb feature SQL (CSV)"] = wall
    out["duckdb feature SQL (CSV), peak"] = rss
    return out


def command(tool, bin_, data, fmt, out):
    if tool == "cartsona":
        ext = "csv" if fmt == "csv" else "parquet"
        files = {k: os.path.join(data, f"{k}.{ext}") for k in ("carts", "orders", "engagement")}
        return [bin_, "segment", "--carts", files["carts"], "--orders", files["orders"],
                "--engagement", files["engagement"], "--out", out, "--force", "--quiet",
                "--timings"]
    return [sys.executable, os.path.join(HERE, "peers", PEER_SCRIPTS[tool]),
            "--data", data, "--out", out]


def measured(cmd, env):
    """Runs cmd; returns (exit code, wall seconds, peak RSS in bytes, stderr tail)."""
    gnu_time = shutil.which("time", path="/usr/bin")
    if gnu_time:
        report = cmd_out = None
        import tempfile
        with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
            p = subprocess.run([gnu_time, "-v", "-o", tf.name] + cmd, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            report = open(tf.name).read()
        cmd_out = p.stderr
        wall = rss = None
        for line in report.splitlines():
            line = line.strip()
            if line.startswith("Elapsed (wall clock) time"):
                t = line.rsplit(" ", 1)[1].split(":")
                wall = sum(float(x) * 60 ** i for i, x in enumerate(reversed(t)))
            elif line.startswith("Maximum resident set size (kbytes)"):
                rss = int(line.rsplit(" ", 1)[1]) * 1024
        return p.returncode, wall, rss, cmd_out[-2000:]
    start = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         text=True)
    err = p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - start
    return os.waitstatus_to_exitcode(status), wall, usage.ru_maxrss * 1024, err[-2000:]


# ---------------------------------------------------------------- quality


def cartsona_outputs(out):
    import pandas as pd
    a = pd.read_csv(os.path.join(out, "assignments.csv"), usecols=["customer_id", "persona_id"],
                    dtype=str)
    model = json.load(open(os.path.join(out, "model.json")))
    summary = json.load(open(os.path.join(out, "summary.json")))
    inertia = {r["k"]: r["inertia"] for r in model["k_selection"]}
    return a.set_index("customer_id")["persona_id"], inertia, model["chosen_k"], summary


def peer_outputs(out):
    import pandas as pd
    a = pd.read_csv(os.path.join(out, "assignments.csv"), dtype={"customer_id": str})
    s = json.load(open(os.path.join(out, "summary.json")))
    return (a.set_index("customer_id")["label"], {r["k"]: r["inertia"] for r in s["k_selection"]},
            s["chosen_k"], s)


def quality(c_out, peer_out):
    from sklearn.metrics import adjusted_rand_score
    labels, inertia, k, _ = cartsona_outputs(c_out)
    p_labels, p_inertia, p_k, _ = peer_outputs(peer_out)
    common = labels.index.intersection(p_labels.index)
    ari = adjusted_rand_score(labels.loc[common], p_labels.loc[common])
    ratios = {k_: inertia[k_] / p_inertia[k_] for k_ in inertia if k_ in p_inertia}
    return {"ari": ari, "chosen_k": k, "peer_chosen_k": p_k, "abandoners": len(labels),
            "peer_abandoners": len(p_labels), "common": len(common),
            "inertia_ratio": ratios}


def choose_share(summary):
    """The share of cartsona's run spent choosing k: every candidate fit and the silhouettes,
    except the final fit of the chosen k on all abandoners (docs/personas.md)."""
    t = summary.get("timings") or []
    total = sum(s["seconds"] for s in t)
    choosing = sum(s["seconds"] for s in t if s["stage"].startswith("choosing k"))
    return choosing / total if total else float("nan"), total


# ---------------------------------------------------------------- report


def gb(b):
    return f"{b / 1e9:.2f} GB" if b is not None else "-"


def fmt_s(s):
    return f"{s:.1f} s" if s is not None else "-"


def main():
    args = parse_args()
    work = os.path.abspath(args.work)
    os.makedirs(work, exist_ok=True)
    ensure_venv(work)
    bin_ = build(args)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    formats = [f for f in args.formats.split(",") if f]
    for f in formats:
        if f not in FORMATS:
            die(f"--formats: unknown format {f}")
    env = dict(os.environ)
    for v in THREADS_ENV:
        env[v] = str(args.threads)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    results = {"command": "python3 bench/run.py " + " ".join(sys.argv[1:]), "started": started,
               "machine": machine(), "threads": args.threads, "rounds": args.rounds, "inputs": []}
    failed = False
    for shoppers in sizes:
        for fmt in formats:
            data, g = generate(bin_, work, shoppers, fmt, args.seed)
            rows = sum(sum(m["rows"].values()) for m in g["months"])
            tools = [t for t in TOOLS if t == "cartsona"
                     or (shoppers <= args.peers_max and fmt != "polars-parquet")]
            entry = {"shoppers": shoppers, "format": fmt, "rows": rows, "runs": {t: [] for t in tools}}
            for r in range(args.rounds):
                order = tools[r % len(tools):] + tools[:r % len(tools)]
                for tool in order:
                    out = os.path.join(work, "runs", f"s{shoppers}-{fmt}", f"{tool}-{r}")
                    shutil.rmtree(out, ignore_errors=True)
                    log(f"== {shoppers} shoppers, {fmt}, round {r + 1}: {tool}")
                    code, wall, rss, err = measured(command(tool, bin_, data, fmt, out), env)
                    log(f"   exit {code}, {fmt_s(wall)}, {gb(rss)}")
                    run = {"round": r, "exit": code, "wall": wall, "peak_rss": rss, "out": out}
                    if code == 0 and tool == "cartsona":
                        run.update(stages(out))
                    if code != 0:
                        failed = True
                        run["stderr"] = err
                        log(err)
                    entry["runs"][tool].append(run)
            summarise(entry)
            results["inputs"].append(entry)
        if shoppers <= args.peers_max and {"csv", "parquet"} <= set(formats):
            as_of = g["months"][-1]["as_of"]
            rounds = [floors(bin_, work, shoppers, args.seed, as_of, env) for _ in range(args.rounds)]
            results.setdefault("floors", {})[str(shoppers)] = {
                k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    results["targets"] = targets(results, args)
    failed = failed or any(not t["met"] for t in results["targets"] if t["met"] is not None)
    with open(os.path.join(work, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    md = markdown(results)
    with open(args.report, "w") as f:
        f.write(md)
    print(md)
    sys.exit(1 if failed else 0)


def stages(out):
    """The reading and features stages of a cartsona run (seconds, from summary.json)."""
    t = json.load(open(os.path.join(out, "summary.json"))).get("timings") or []
    pick = lambda prefix: sum(s["seconds"] for s in t if s["stage"].startswith(prefix))  # noqa: E731
    return {"reading": pick("reading"), "features": pick("computing features")}


def summarise(entry):
    ok = {t: [r for r in runs if r["exit"] == 0] for t, runs in entry["runs"].items()}
    med = {}
    for t, runs in ok.items():
        if runs:
            med[t] = {"wall": statistics.median(r["wall"] for r in runs),
                      "peak_rss": statistics.median(r["peak_rss"] for r in runs),
                      "walls": [r["wall"] for r in runs]}
            if t == "cartsona":
                for k in ("reading", "features"):
                    med[t][k] = statistics.median(r[k] for r in runs)
    entry["median"] = med
    c = ok.get("cartsona") or []
    if c:
        last = c[-1]["out"]
        _, _, k, summary = cartsona_outputs(last)
        # The share of every round (each run's own summary.json), and their median.
        shares = [choose_share(cartsona_outputs(r["out"])[3])[0] for r in c]
        entry["cartsona"] = {"chosen_k": k, "abandoners": summary["abandoners"],
                             "choose_share": statistics.median(shares), "choose_shares": shares,
                             "timings": summary.get("timings")}
        for t in PEER_SCRIPTS:
            if ok.get(t):
                entry.setdefault("quality", {})[t] = quality(last, ok[t][-1]["out"])
                entry["quality"][t]["peer_timings"] = peer_outputs(ok[t][-1]["out"])[3]["timings"]


def targets(results, args):
    out = []

    def add(what, value, bar, met, where):
        out.append({"target": what, "value": value, "bar": bar, "met": met, "where": where})

    for e in results["inputs"]:
        m = e.get("median", {})
        where = f"{e['shoppers']:,} shoppers, {e['format']}"
        if e["shoppers"] == args.target_size and e["format"] == "csv" and "cartsona" in m:
            for peer, bar in TARGET_WALL.items():
                if peer in m:
                    v = m["cartsona"]["wall"] / m[peer]["wall"]
                    add(f"wall / {peer}", f"{v:.2f}x", f"<= {bar}x", v <= bar, where)
            if "pandas+sklearn" in m:
                v = m["cartsona"]["peak_rss"] / m["pandas+sklearn"]["peak_rss"]
                add("peak memory / pandas+sklearn", f"{v:.2f}x", f"<= {TARGET_MEM_PANDAS}x",
                    v <= TARGET_MEM_PANDAS, where)
            for peer, q in e.get("quality", {}).items():
                worst = max(q["inertia_ratio"].values()) if q["inertia_ratio"] else float("nan")
                add(f"inertia / scikit-learn ({peer}), worst k", f"{worst:.6f}",
                    f"<= {TARGET_INERTIA}", worst <= TARGET_INERTIA, where)
                add(f"ARI against {peer}", f"{q['ari']:.5f}", f">= {TARGET_ARI}",
                    q["ari"] >= TARGET_ARI, where)
            share = e.get("cartsona", {}).get("choose_share")
            if share is not None:
                add("choosing k / total", f"{share * 100:.1f}%", f"<= {TARGET_CHOOSE_SHARE:.0%}",
                    share <= TARGET_CHOOSE_SHARE, where)
    floor_targets(results, args, add)
    big = [e for e in results["inputs"] if e["format"] == "parquet" and "cartsona" in e.get("median", {})]
    if big:
        e = max(big, key=lambda e: e["rows"])
        v = e["median"]["cartsona"]["peak_rss"] / 1e9
        where = f"{e['shoppers']:,} shoppers, parquet"
        add(f"peak memory, {e['rows'] / 1e6:.1f}M rows from Parquet", f"{v:.2f} GB",
            f"< {TARGET_BIG_PEAK_GB:.0f} GB", v < TARGET_BIG_PEAK_GB, where)
        if e["rows"] > 50e6:
            w = e["median"]["cartsona"]["wall"]
            add(f"wall, {e['rows'] / 1e6:.1f}M rows from Parquet", f"{w:.1f} s",
                f"<= {TARGET_BIG_WALL_S:.1f} s", w <= TARGET_BIG_WALL_S, where)
    return out


def floor_targets(results, args, add):
    """Issue 19's: cartsona against the floors of the same run, and Parquet against CSV."""
    by = {(e["shoppers"], e["format"]): e["median"]["cartsona"] for e in results["inputs"]
          if "cartsona" in e.get("median", {})}
    for (shoppers, fmt), c in sorted(by.items()):
        csv = by.get((shoppers, "csv"))
        where = f"{shoppers:,} shoppers, {fmt}"
        if fmt != "csv" and csv:
            v = c["wall"] / csv["wall"]
            add("segment from Parquet / from CSV", f"{v:.2f}x", f"<= {TARGET_PARQUET_VS_CSV}x",
                v <= TARGET_PARQUET_VS_CSV, where)
        f = results.get("floors", {}).get(str(shoppers))
        if not f:
            continue
        if fmt != "csv":
            v = c["reading"] / f["polars read_parquet"]
            add("reading stage / polars read_parquet", f"{v:.1f}x", f"<= {TARGET_PARQUET_READ:.0f}x",
                v <= TARGET_PARQUET_READ, where)
            floor = f.get("polars read+group-by (Parquet)")
            if floor:
                v = c["wall"] / floor
                add("segment / polars read+group-by (Parquet)", f"{v:.2f}x",
                    f"<= {TARGET_PARQUET_FLOOR:.0f}x", v <= TARGET_PARQUET_FLOOR, where)
        elif shoppers == args.target_size:
            v = c["wall"] / f["polars read+parse+group-by (CSV)"]
            add("segment / polars read+parse+group-by", f"{v:.2f}x", f"<= {TARGET_CSV_FLOOR}x",
                v <= TARGET_CSV_FLOOR, where)
            v = (c["reading"] + c["features"]) / f["duckdb feature SQL (CSV)"]
            add("reading + features / DuckDB's feature SQL", f"{v:.2f}x", f"<= {TARGET_DUCKDB}x",
                v <= TARGET_DUCKDB, where)


def markdown(res):
    m = res["machine"]
    lines = [f"# Benchmark run {res['started']}", "",
             f"Command: `{res['command']}` ({res['rounds']} rounds, order rotated each round; "
             f"{res['threads']} threads for every tool)", "",
             f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory']}; {m['os']}; Python "
             f"{m['python']}, pandas {m['pandas']}, polars {m['polars']}, scikit-learn "
             f"{m['scikit-learn']}, numpy {m['numpy']}", "",
             "Wall and peak RSS are medians over the rounds (/usr/bin/time -v); ratios are "
             "cartsona / peer.", "",
             "| shoppers | rows | format | tool | wall | peak RSS | wall ratio | memory ratio | ARI | chosen k |",
             "|---:|---:|---|---|---:|---:|---:|---:|---:|---:|"]
    for e in res["inputs"]:
        med = e.get("median", {})
        c = med.get("cartsona")
        for tool in TOOLS:
            if tool not in e["runs"]:
                continue
            t = med.get(tool)
            fails = sum(1 for r in e["runs"][tool] if r["exit"] != 0)
            if t is None:
                lines.append(f"| {e['shoppers']:,} | {e['rows'] / 1e6:.1f}M | {e['format']} | {tool} "
                             f"| failed ({fails} runs) | | | | | |")
                continue
            ratio = mem = ari = ""
            k = e.get("cartsona", {}).get("chosen_k", "") if tool == "cartsona" else ""
            if tool != "cartsona" and c:
                ratio = f"{c['wall'] / t['wall']:.2f}x"
                mem = f"{c['peak_rss'] / t['peak_rss']:.2f}x"
                q = e.get("quality", {}).get(tool)
                if q:
                    ari = f"{q['ari']:.5f}"
                    k = q["peer_chosen_k"]
            walls = ", ".join(f"{w:.1f}" for w in t["walls"])
            lines.append(f"| {e['shoppers']:,} | {e['rows'] / 1e6:.1f}M | {e['format']} | {tool} | "
                         f"{t['wall']:.1f} s ({walls}) | {gb(t['peak_rss'])} | {ratio} | {mem} | {ari} | {k} |")
    lines += ["", "## Targets", "", "| target | where | measured | bar | met |", "|---|---|---:|---:|---|"]
    for t in res["targets"]:
        lines.append(f"| {t['target']} | {t['where']} | {t['value']} | {t['bar']} | "
                     f"{'yes' if t['met'] else 'NO'} |")
    lines += floors_markdown(res)
    lines += ["", "## Inertia cartsona / scikit-learn per k (each on its own matrix)", "",
              "| shoppers | format | peer | " + " | ".join(f"k = {k}" for k in range(3, 7)) + " |",
              "|---:|---|---|" + "---:|" * 4]
    for e in res["inputs"]:
        for peer, q in e.get("quality", {}).items():
            cells = [f"{q['inertia_ratio'][k]:.6f}" if k in q["inertia_ratio"] else "" for k in range(3, 7)]
            lines.append(f"| {e['shoppers']:,} | {e['format']} | {peer} | " + " | ".join(cells) + " |")
    lines += ["", "## Where cartsona's time goes (last round, `segment --timings`)", ""]
    for e in res["inputs"]:
        c = e.get("cartsona")
        if not c or not c.get("timings"):
            continue
        total = sum(s["seconds"] for s in c["timings"])
        parts = ", ".join(f"{s['stage']} {s['seconds']:.2f} s ({s['seconds'] / total:.1%})"
                          for s in c["timings"])
        rounds = ", ".join(f"{x * 100:.1f}%" for x in c["choose_shares"])
        lines.append(f"- {e['shoppers']:,} shoppers, {e['format']} ({c['abandoners']:,} abandoners, "
                     f"{total:.1f} s in stages; choosing k: median {c['choose_share'] * 100:.1f}% "
                     f"of the rounds' {rounds}): {parts}")
    lines.append("")
    return "\n".join(lines)


def floors_markdown(res):
    """The floors of each size and cartsona's stages beside them (medians)."""
    if not res.get("floors"):
        return []
    lines = ["", "## Floors (issue 19; medians, same rounds, child processes)", "",
             "| shoppers | polars read_parquet | polars read+group-by (Parquet) | "
             "polars read+parse+group-by (CSV) | DuckDB feature SQL (CSV) | "
             "cartsona reading: CSV / Parquet / polars' Parquet |", "|---:|---:|---:|---:|---:|---|"]
    for shoppers, f in res["floors"].items():
        reads = []
        for fmt in FORMATS:
            e = [x for x in res["inputs"] if str(x["shoppers"]) == shoppers and x["format"] == fmt]
            c = e[0].get("median", {}).get("cartsona") if e else None
            reads.append(f"{c['reading']:.2f} s" if c else "-")
        pq_floor = f.get("polars read+group-by (Parquet)")
        lines.append(f"| {int(shoppers):,} | {f['polars read_parquet']:.2f} s | "
                     f"{f'{pq_floor:.2f} s' if pq_floor else '-'} | "
                     f"{f['polars read+parse+group-by (CSV)']:.2f} s | "
                     f"{f['duckdb feature SQL (CSV)']:.2f} s ({gb(f['duckdb feature SQL (CSV), peak'])}) | "
                     f"{' / '.join(reads)} |")
    return lines


if __name__ == "__main__":
    main()
