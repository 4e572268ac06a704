#!/usr/bin/env python3
"""Issue 18's speed target: `cartsona outcomes` against `cartsona segment` on one shop; and
issue 32's: learning and testing the per-shopper uplift costs at most 30% of the readout
(`outcomes` against `outcomes --no-uplift`, side by side).

Generates a shop with a simulated recovery experiment (`generate --holdout 0.2`, default 1M
shoppers), segments it with the same holdout, then times, side by side and alternating, `segment`
and `outcomes --touches` (the readout of that run over next/orders.csv and next/touches.csv) for
--rounds rounds. Prints the median wall time and peak memory of each and checks the target:
outcomes takes at most 20% of segment's time and less memory than segment.

    python3 bench/outcomes.py [--shoppers 1000000] [--rounds 3] [--bin target/release/cartsona]

Exit 0 when the target is met, 1 when not, 2 when the harness cannot run.
"""

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
T = "2025-02-01T00:00:00Z"


def timed(cmd, env):
    """Runs cmd; returns (wall seconds, peak RSS in MB) from the kernel's rusage of the child."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(map(str, cmd))}")
    return wall, usage.ru_maxrss / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shoppers", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--bin", default=str(ROOT / "target/release/cartsona"))
    ap.add_argument("--work", default=str(ROOT / "bench/work/outcomes"))
    args = ap.parse_args()
    exe = Path(args.bin)
    if not exe.exists():
        print(f"{exe}: no binary; run cargo build --release first", file=sys.stderr)
        return 2
    work = Path(args.work)
    shop = work / f"shop-{args.shoppers}"
    env = dict(os.environ, RAYON_NUM_THREADS="2", POLARS_MAX_THREADS="2")
    if not (shop / "next/touches.csv").exists():
        shutil.rmtree(shop, ignore_errors=True)
        subprocess.run([exe, "-q", "generate", "--shoppers", str(args.shoppers), "--seed", "1",
                        "--holdout", "0.2", "--out", shop], check=True)
    inputs = ["--carts", shop / "carts.csv", "--orders", shop / "orders.csv",
              "--engagement", shop / "engagement.csv"]
    segment = [exe, "-q", "segment", "--holdout", "0.2", "--as-of", T, *inputs,
               "--out", work / "run", "--force"]
    outcomes = [exe, "-q", "outcomes", "--run", work / "run", "--orders", shop / "next/orders.csv",
                "--touches", shop / "next/touches.csv", "--out", work / "readout", "--force"]
    subprocess.run(segment, env=env, check=True, stdout=subprocess.DEVNULL)
    no_uplift = [*outcomes, "--no-uplift"]
    times = {"segment": [], "outcomes": [], "no-uplift": []}
    for r in range(args.rounds):
        order = [("segment", segment), ("outcomes", outcomes), ("no-uplift", no_uplift)]
        order = order[r % 3:] + order[:r % 3]
        for name, cmd in order:
            times[name].append(timed(cmd, env))
    summary = json.loads((work / "run/summary.json").read_text())
    med = {k: (statistics.median(w for w, _ in v), statistics.median(m for _, m in v))
           for k, v in times.items()}
    ratio = med["outcomes"][0] / med["segment"][0]
    uplift = (med["outcomes"][0] - med["no-uplift"][0]) / med["outcomes"][0]
    ok = ratio <= 0.20 and med["outcomes"][1] < med["segment"][1] and uplift <= 0.30
    print(f"shop: {args.shoppers} shoppers, {summary['abandoners']} abandoners; "
          f"{args.rounds} rounds, 2 threads, medians")
    for k, (w, m) in med.items():
        print(f"  {k:<9} {w:7.2f} s  {m:8.0f} MB   (runs: "
              + ", ".join(f"{x:.2f}" for x, _ in times[k]) + ")")
    print(f"  outcomes / segment: time {ratio:.3f} (target <= 0.20), "
          f"memory {med['outcomes'][1] / med['segment'][1]:.3f} (target < 1)")
    print(f"  the uplift's share of outcomes: (outcomes - no-uplift) / outcomes {uplift:.3f} "
          f"(target <= 0.30): {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
