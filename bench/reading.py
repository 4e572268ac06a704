#!/usr/bin/env python3
"""Issue 19's and 33's reading targets, measured side by side: cartsona's reading stage from CSV and from
Parquet against the floors polars (Python) sets on the same files, and against another cartsona
binary (the one before a change).

Generates a shop (default 300k shoppers) as CSV and as Parquet (cartsona's generator), and writes a
third copy as Parquet with polars-py (timestamps parsed to UTC datetimes, polars' defaults), so the
typed reader is measured on files it did not write, and a fourth, that copy with each file's rows
sorted by its time column (the order of most real exports: a customer's rows scattered, where the
generator writes them together, which flatters cartsona's id caches). Then, for --rounds alternated
rounds, times:
- the floors: polars `read_parquet` of the three files (and of the time-sorted ones); the same + a
  per-customer group-by (the
  Parquet floor, issue 33); polars `read_csv` + timestamp parsing + a per-customer group-by
  (count, max time) of the three CSV files (the CSV floor);
- `cartsona segment --timings` of each binary (--bin, and --baseline when given) from each form,
  keeping the wall time, the peak memory, the stage "reading and validating inputs" and every
  stage's share of the run.
Prints the medians and the ratios, and writes them to WORK/reading.json.

Run it in bench/run.py's virtual environment (it has polars):
    bench/work/venv/bin/python bench/reading.py [--shoppers 300000] [--rounds 3]
        [--bin target/release/cartsona] [--baseline /path/to/old/cartsona]

Thread counts are pinned to 2 (RAYON_NUM_THREADS, POLARS_MAX_THREADS) for cartsona and polars.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KINDS = [("carts", "updated_at"), ("orders", "ordered_at"), ("engagement", "occurred_at")]


def timed(cmd, env):
    """Wall seconds and peak MB of cmd, measured as bench/run.py measures (one helper for both)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from run import measured

    code, wall, rss, err = measured([str(c) for c in cmd], env)
    if code != 0:
        sys.exit(f"failed: {' '.join(map(str, cmd))}\n{err}")
    return wall, rss / 1024 / 1024


def in_child(name, shop):
    """Runs a floor in a child Python, so that this process stays small: a forked child's peak
    memory (wait4) would otherwise include polars' memory of this process."""
    out = subprocess.run([sys.executable, __file__, "--floor", name, str(shop)],
                         capture_output=True, text=True, check=True)
    return float(out.stdout)


def floor_parquet(shop):
    import polars as pl
    start = time.perf_counter()
    for kind, _ in KINDS:
        pl.read_parquet(shop / f"{kind}.parquet")
    return time.perf_counter() - start


def floor_parquet_group(shop):
    """Read Parquet, timestamps as instants (parsed when stored as text), group by customer: the
    Parquet counterpart of floor_csv (issue 33)."""
    import polars as pl
    start = time.perf_counter()
    for kind, at in KINDS:
        df = pl.read_parquet(shop / f"{kind}.parquet")
        if df.schema[at] == pl.String:
            df = df.with_columns(pl.col(at).str.to_datetime(time_zone="UTC"))
        df.group_by("customer_id").agg(pl.len(), pl.col(at).max())
    return time.perf_counter() - start


def floor_csv(shop):
    """Read, parse timestamps, group by customer: the least any tool does with these files."""
    import polars as pl
    start = time.perf_counter()
    for kind, at in KINDS:
        df = pl.read_csv(shop / f"{kind}.csv", infer_schema_length=0)
        df = df.with_columns(pl.col(at).str.to_datetime(time_zone="UTC"))
        df.group_by("customer_id").agg(pl.len(), pl.col(at).max())
    return time.perf_counter() - start


def polars_parquet(csv_dir, out):
    """The CSV shop rewritten by polars-py: typed timestamps and numbers, polars' row groups."""
    import polars as pl
    out.mkdir(parents=True, exist_ok=True)
    for kind, _ in KINDS:
        df = pl.read_csv(csv_dir / f"{kind}.csv", infer_schema_length=10000)
        times = [c for c in df.columns if c.endswith("_at")]
        df = df.with_columns([pl.col(c).str.to_datetime(time_zone="UTC") for c in times])
        df.write_parquet(out / f"{kind}.parquet")


def by_time(polars_dir, out):
    """The polars-py copy with each file's rows sorted by its time column (ties kept in order)."""
    import polars as pl
    out.mkdir(parents=True, exist_ok=True)
    for kind, at in KINDS:
        df = pl.read_parquet(polars_dir / f"{kind}.parquet")
        df.sort(at, maintain_order=True).write_parquet(out / f"{kind}.parquet")


def segment(exe, shop, ext, work, env):
    out = work / "run"
    shutil.rmtree(out, ignore_errors=True)
    cmd = [exe, "-q", "segment", "--timings", "--out", out]
    for kind, _ in KINDS:
        cmd += [f"--{kind}", shop / f"{kind}.{ext}"]
    wall, peak = timed(cmd, env)
    summary = json.loads((out / "summary.json").read_text())
    timings = summary["timings"]
    reading = sum(t["seconds"] for t in timings if t["stage"].startswith("reading"))
    assignments = (out / "assignments.csv").read_bytes()
    # Each stage's share of the stages' total (issue 33); the candidate fits of choosing k and the
    # propensity's stages summed under one name each.
    total = sum(t["seconds"] for t in timings) or 1.0
    shares = {}
    for t in timings:
        stage = t["stage"]
        if stage.startswith("choosing k"):
            stage = "choosing k (all)"
        elif "propensity" in stage:
            stage = "the propensity (all its stages)"
        shares[stage] = shares.get(stage, 0.0) + t["seconds"] / total
    return wall, peak, reading, assignments, shares


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shoppers", type=int, default=300_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--bin", default=str(ROOT / "target/release/cartsona"))
    ap.add_argument("--baseline", help="another cartsona binary to compare (e.g. main's)")
    ap.add_argument("--work", default=str(ROOT / "bench/work/reading"))
    args = ap.parse_args()
    work = Path(args.work)
    env = dict(os.environ, RAYON_NUM_THREADS="2", POLARS_MAX_THREADS="2")
    exe = Path(args.bin).resolve()
    base = work / f"shop-{args.shoppers}"
    forms = {"csv": base / "csv", "parquet": base / "parquet", "polars-parquet": base / "polars",
             "time-parquet": base / "by-time"}
    if not (forms["polars-parquet"] / "engagement.parquet").exists():
        shutil.rmtree(base, ignore_errors=True)
        for fmt, d in [("csv", forms["csv"]), ("parquet", forms["parquet"])]:
            subprocess.run([exe, "-q", "generate", "--shoppers", str(args.shoppers), "--seed", "1",
                            "--format", fmt, "--out", d], check=True)
        subprocess.run([sys.executable, __file__, "--floor", "write", str(base)], check=True)
    if not (forms["time-parquet"] / "engagement.parquet").exists():
        subprocess.run([sys.executable, __file__, "--floor", "write-by-time", str(base)], check=True)
    bins = {"new": exe}
    if args.baseline:
        bins["baseline"] = Path(args.baseline).resolve()
    samples = {}
    outputs = {}
    for r in range(args.rounds):
        samples.setdefault("floor parquet (polars read_parquet)", []).append(
            in_child("parquet", forms["parquet"]))
        samples.setdefault("floor csv (polars read+parse+group-by)", []).append(
            in_child("csv", forms["csv"]))
        samples.setdefault("floor parquet (polars read+group-by)", []).append(
            in_child("parquet-group", forms["parquet"]))
        samples.setdefault("floor time-sorted parquet (polars read_parquet)", []).append(
            in_child("parquet", forms["time-parquet"]))
        for name, b in bins.items():
            for form, d in forms.items():
                ext = "csv" if form == "csv" else "parquet"
                wall, peak, reading, assignments, shares = segment(b, d, ext, work, env)
                key = f"{name} {form}"
                for stage, share in shares.items():
                    samples.setdefault(f"{key} share: {stage}", []).append(share)
                samples.setdefault(f"{key} reading", []).append(reading)
                samples.setdefault(f"{key} segment", []).append(wall)
                samples.setdefault(f"{key} peak MB", []).append(peak)
                outputs[key] = assignments
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    med = {k: statistics.median(v) for k, v in samples.items()}
    for k, v in med.items():
        print(f"{k:48s} {v:10.2f}")
    fp = med["floor parquet (polars read_parquet)"]
    fc = med["floor csv (polars read+parse+group-by)"]
    fg = med["floor parquet (polars read+group-by)"]
    ratios = {
        "parquet reading / polars read_parquet": med["new parquet reading"] / fp,
        "polars-parquet reading / polars read_parquet": med["new polars-parquet reading"] / fp,
        "segment parquet / segment csv": med["new parquet segment"] / med["new csv segment"],
        "segment polars-parquet / segment csv":
            med["new polars-parquet segment"] / med["new csv segment"],
        "segment csv / csv floor": med["new csv segment"] / fc,
        "segment parquet / parquet floor": med["new parquet segment"] / fg,
        "segment polars-parquet / parquet floor": med["new polars-parquet segment"] / fg,
        "time-parquet reading / its read_parquet":
            med["new time-parquet reading"] / med["floor time-sorted parquet (polars read_parquet)"],
        "time-parquet reading / parquet reading":
            med["new time-parquet reading"] / med["new parquet reading"],
    }
    if "baseline csv reading" in med:
        ratios["csv reading: baseline / new"] = med["baseline csv reading"] / med["new csv reading"]
        ratios["parquet reading: baseline / new"] = (
            med["baseline parquet reading"] / med["new parquet reading"])
        ratios["time-parquet reading: baseline / new"] = (
            med["baseline time-parquet reading"] / med["new time-parquet reading"])
    # Rows in another order are other first sightings (ids) and another k-means sample: the
    # time-sorted form is compared only between the binaries.
    same = len({v for k, v in outputs.items() if "time-parquet" not in k}) == 1
    same_time = len({v for k, v in outputs.items() if "time-parquet" in k}) == 1
    for k, v in ratios.items():
        print(f"{k:48s} {v:10.2f}")
    print(f"assignments identical across binaries and forms: {same}")
    print(f"time-sorted assignments identical across binaries: {same_time}")
    (work / "reading.json").write_text(json.dumps(
        {"shoppers": args.shoppers, "rounds": args.rounds, "medians": med, "samples": samples,
         "ratios": ratios,
         "identical_assignments": same, "identical_time_sorted_assignments": same_time},
        indent=2))
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--floor":
        shop = Path(sys.argv[3])
        if sys.argv[2] == "write":
            polars_parquet(shop / "csv", shop / "polars")
        elif sys.argv[2] == "write-by-time":
            by_time(shop / "polars", shop / "by-time")
        else:
            floors = {"parquet": floor_parquet, "csv": floor_csv,
                      "parquet-group": floor_parquet_group}
            print(floors[sys.argv[2]](shop))
        sys.exit(0)
    sys.exit(main())
