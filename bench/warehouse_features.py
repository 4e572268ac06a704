#!/usr/bin/env python3
"""Computes the features table in DuckDB from the SQL of `cartsona features --emit-sql duckdb`:
the warehouse path of docs/scale.md, measured.

    python3 bench/warehouse_features.py --sql q.sql --data DIR --out features.parquet \
        [--memory-limit 12GB] [--threads 2]

DIR holds canonical carts, orders and engagement files (CSV or Parquet, as `cartsona generate`
writes them). They are not loaded: DuckDB views read them with typed columns, the query runs once,
and its result is written as one Parquet file (or a directory of parts when --out ends in /).
Prints the wall time and the row count. Needs the duckdb Python package (tests/sql/parity.py
installs it into target/tmp/sql-venv).
"""
import argparse
import os
import sys
import time

import duckdb

TIMESTAMPS = {"created_at", "updated_at", "ordered_at", "occurred_at"}
AMOUNTS = {"cart_value", "order_value", "discount_amount"}


def view(con, name, data):
    for ext in ("parquet", "csv"):
        path = os.path.join(data, f"{name}.{ext}")
        if os.path.exists(path):
            break
    else:
        return False
    if ext == "csv":
        src = f"read_csv('{path}', header = true, all_varchar = true)"
    else:
        src = f"read_parquet('{path}')"
    cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()]
    select = []
    for c in cols:
        if c in TIMESTAMPS:
            select.append(f'CAST("{c}" AS TIMESTAMPTZ) AS "{c}"')
        elif c in AMOUNTS:
            select.append(f'CAST("{c}" AS DOUBLE) AS "{c}"')
        else:
            select.append(f'CAST("{c}" AS VARCHAR) AS "{c}"')
    con.execute(f"CREATE VIEW {name} AS SELECT {', '.join(select)} FROM {src}")
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sql", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--memory-limit", default="12GB")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"SET memory_limit = '{args.memory_limit}'")
    con.execute(f"SET threads = {args.threads}")
    con.execute("SET preserve_insertion_order = false")
    tmp = os.path.abspath(args.out.rstrip("/") + ".duckdb-tmp")
    con.execute(f"SET temp_directory = '{tmp}'")
    for name in ("carts", "orders", "engagement"):
        if not view(con, name, args.data) and name == "carts":
            sys.exit(f"error: {args.data} has no carts.csv or carts.parquet")
    with open(args.sql, encoding="utf-8") as f:
        body = f.read().strip().rstrip(";")
    start = time.perf_counter()
    if args.out.endswith("/"):
        con.execute(f"COPY ({body}) TO '{args.out}' (FORMAT parquet, PER_THREAD_OUTPUT true)")
    else:
        con.execute(f"COPY ({body}) TO '{args.out}' (FORMAT parquet)")
    wall = time.perf_counter() - start
    rows = con.execute(f"SELECT count(*) FROM read_parquet('{args.out.rstrip('/')}{'/*.parquet' if args.out.endswith('/') else ''}')").fetchone()[0]
    print(f"duckdb: {rows} abandoners in {wall:.1f} s")


if __name__ == "__main__":
    main()
