#!/usr/bin/env python3
"""Peak memory of `cartsona features` on a large carts CSV (issue 9: "a 2 GB CSV must not need
several times its size in RAM").

Writes a carts export of about --gb gigabytes (seeded, so the same bytes every time) with
--customers shoppers and several cart snapshots each, then runs
`/usr/bin/time -v cartsona features` on it and prints the file size, wall time, peak resident
memory and their ratio.

    cargo build --release
    python3 bench/memory_large_csv.py --bin target/release/cartsona --gb 2 --dir /tmp/cartsona-mem
"""
import argparse
import os
import random
import re
import subprocess
import sys
import time


def write_carts(path, target_bytes, customers, seed):
    rng = random.Random(seed)
    devices = ["mobile", "desktop", "tablet", "other"]
    steps = ["cart", "shipping", "payment", "review"]
    base = 1735689600  # 2025-01-01T00:00:00Z
    written = 0
    rows = 0
    with open(path, "w", buffering=1 << 22) as f:
        header = "customer_id,cart_id,updated_at,cart_value,created_at,item_count,device,checkout_step,discount_code\n"
        f.write(header)
        written += len(header)
        chunk = []
        while written < target_bytes:
            c = rng.randrange(customers)
            t = base + rng.randrange(90 * 86400)
            created = t - rng.randrange(3600)
            line = "cus_%08d,cart_%010d,%s,%.2f,%s,%d,%s,%s,%s\n" % (
                c,
                rows,
                time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t)),
                rng.lognormvariate(4.0, 0.8),
                time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(created)),
                1 + rng.randrange(6),
                devices[rng.randrange(4)],
                steps[rng.randrange(4)],
                "SAVE10" if rng.random() < 0.2 else "",
            )
            chunk.append(line)
            written += len(line)
            rows += 1
            if len(chunk) == 100_000:
                f.write("".join(chunk))
                chunk = []
        f.write("".join(chunk))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default="target/release/cartsona")
    ap.add_argument("--gb", type=float, default=2.0)
    ap.add_argument("--customers", type=int, default=2_000_000)
    ap.add_argument("--dir", default="/tmp/cartsona-mem")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    carts = os.path.join(a.dir, "carts.csv")
    target = int(a.gb * 1e9)
    if not os.path.exists(carts) or abs(os.path.getsize(carts) - target) > 1e6:
        t0 = time.time()
        rows = write_carts(carts, target, a.customers, a.seed)
        print(f"wrote {carts}: {rows:,} rows in {time.time() - t0:.0f} s", flush=True)
    size = os.path.getsize(carts)
    out = os.path.join(a.dir, "features.csv")
    cmd = ["/usr/bin/time", "-v", a.bin, "features", "--quiet", "--force", "--as-of", "2025-04-01",
           "--carts", carts, "--out", out]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        print(p.stderr, file=sys.stderr)
        sys.exit(p.returncode)
    peak_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1))
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", p.stderr).group(1)
    peak = peak_kb * 1024
    print(f"file {size / 1e9:.2f} GB; wall {wall}; peak RSS {peak / 1e9:.2f} GB; peak / file = {peak / size:.2f}")


if __name__ == "__main__":
    main()
