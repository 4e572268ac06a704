#!/usr/bin/env python3
"""Issue 20's cost of the return propensity, measured side by side: `cartsona segment` on a
generated shop with seven months of carts (the propensity learns from 26 past weeks), with the
propensity (the default) and with --no-propensity, alternated over --rounds rounds. Prints the
medians of the wall time and the peak memory of each, the ratio, and the stages of one
propensity run (--timings), and writes them to WORK/propensity-N-FORMAT.json.

    python3 bench/propensity.py [--shoppers 100000] [--rounds 3] [--format csv|parquet]
                                [--bin target/release/cartsona]

The shop is generated once into WORK/shop7-N-FORMAT and kept; `segment` reads month 7's files,
which hold all seven months (the generator's files are cumulative: month-7 is about 8 KB of CSV
per shopper), and the folders of months 1-6 are deleted. Thread counts are pinned to 2
(RAYON_NUM_THREADS). Before 2026-12-02 the script read every month's folder (month-*/), so each
run read about four times the shop (every month's rows once per later month) and counted
engagement up to seven times; the figures measured that way are kept in bench/RESULTS.md, marked.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import measured  # noqa: E402  (one way of measuring for every bench script)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shoppers", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--bin", default=str(ROOT / "target/release/cartsona"))
    ap.add_argument("--work", default=str(ROOT / "bench/work"))
    ap.add_argument("--format", choices=["csv", "parquet"], default="csv")
    a = ap.parse_args()
    work = Path(a.work)
    shop = work / f"shop7-{a.shoppers}-{a.format}"
    env = dict(os.environ, RAYON_NUM_THREADS="2", POLARS_MAX_THREADS="2")
    if not (shop / f"month-7/orders.{a.format}").exists():
        subprocess.run([a.bin, "generate", "--shoppers", str(a.shoppers), "--months", "7",
                        "--format", a.format, "--quiet", "--force", "--out", str(shop)],
                       check=True, env=env)
    # Month 7's files hold every month (the generator's files are cumulative); the months before
    # are not read, and are deleted to save disk.
    for m in range(1, 7):
        shutil.rmtree(shop / f"month-{m}", ignore_errors=True)
    inputs = []
    for kind in ["carts", "orders", "engagement"]:
        inputs += [f"--{kind}", str(shop / f"month-7/{kind}.{a.format}")]
    out = work / "propensity-run"
    results = {"with": [], "without": []}
    for r in range(a.rounds):
        for name, extra in [("with", []), ("without", ["--no-propensity"])]:
            shutil.rmtree(out, ignore_errors=True)
            code, wall, rss, err = measured([a.bin, "segment", *inputs, "--quiet", "--out",
                                             str(out), *extra], env)
            if code != 0:
                sys.exit(err)
            results[name].append((wall, rss / 1024 / 1024))
            print(f"round {r + 1} {name}: {wall:.2f} s, {rss / 1024 / 1024:.0f} MB", flush=True)
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run([a.bin, "segment", *inputs, "--quiet", "--timings", "--out", str(out)],
                   check=True, env=env)
    summary = json.loads((out / "summary.json").read_text())
    med = {k: (statistics.median(w for w, _ in v), statistics.median(m for _, m in v))
           for k, v in results.items()}
    report = {
        "shoppers": a.shoppers,
        "rounds": a.rounds,
        "median_wall_s": {k: v[0] for k, v in med.items()},
        "median_peak_mb": {k: v[1] for k, v in med.items()},
        "wall_ratio": med["with"][0] / med["without"][0],
        "peak_ratio": med["with"][1] / med["without"][1],
        "learned": summary["propensity"].get("learned"),
        "measures": {k: summary["propensity"].get("measures", {}).get(k)
                     for k in ["rows", "auc", "brier_skill", "ece_before", "ece_after"]},
        "stages": summary.get("timings"),
        "abandoners": summary["abandoners"],
    }
    (work / f"propensity-{a.shoppers}-{a.format}.json").write_text(json.dumps(report, indent=1))
    print(json.dumps({k: report[k] for k in ["median_wall_s", "median_peak_mb", "wall_ratio",
                                             "peak_ratio", "abandoners"]}, indent=1))


if __name__ == "__main__":
    main()
