#!/usr/bin/env python3
"""Mini-batch k-means against full k-means on a features table (docs/scale.md).

    python3 bench/minibatch.py --bin target/release/cartsona --features DIR --as-of T [--k 5]

Runs `cartsona segment --features ...` three times, side by side, under /usr/bin/time -v:
  1. the default run (k = 3..6; mini-batch above --minibatch-above, default 500,000 abandoners);
  2. one k (--k) with mini-batch;
  3. the same k with full Lloyd k-means (--minibatch-above 10^12).
Prints wall time and peak memory of each, and the inertia of 2 against 3 (the quality bar of
issue 10: at most 1.01).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile


def run(cmd):
    out = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{out.stderr[-2000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", out.stderr).group(1)
    parts = [float(p) for p in wall.split(":")]
    secs = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", out.stderr).group(1))
    return secs, rss / 1024 / 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default="target/release/cartsona")
    ap.add_argument("--features", required=True)
    ap.add_argument("--as-of", required=True)
    ap.add_argument("--k", type=int, default=5)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="minibatch-")
    base = [args.bin, "-q", "segment", "--features", args.features, "--as-of", args.as_of, "--force"]
    rows = []
    for name, extra in [
        ("default (k 3..6)", []),
        (f"k = {args.k}, mini-batch", ["--k", str(args.k)]),
        (f"k = {args.k}, full Lloyd", ["--k", str(args.k), "--minibatch-above", str(10**12)]),
    ]:
        out = os.path.join(tmp, re.sub(r"\W+", "-", name))
        secs, gb = run([*base, *extra, "--out", out])
        with open(os.path.join(out, "summary.json")) as f:
            s = json.load(f)
        rows.append((name, s["abandoners"], secs, gb, {r["k"]: r["inertia"] for r in s["k_selection"]}, s["chosen_k"]))
    print(f"| run | abandoners | wall s | peak GB | inertia at k = {args.k} | chosen k |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, n, secs, gb, inertia, k in rows:
        print(f"| {name} | {n:,} | {secs:.1f} | {gb:.2f} | {inertia.get(args.k, float('nan')):.6g} | {k} |")
    ratio = rows[1][4][args.k] / rows[2][4][args.k]
    print(f"\ninertia mini-batch / full at k = {args.k}: {ratio:.6f}")
    sys.exit(0 if ratio <= 1.01 else 1)


if __name__ == "__main__":
    main()
