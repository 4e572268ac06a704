#!/usr/bin/env python3
"""Runs the SQL of `cartsona features --emit-sql` in a real engine and compares its result with the
features file `cartsona features` wrote for the same inputs.

    python3 tests/sql/parity.py --engine duckdb --sql q.sql --expected features.csv \
        --carts carts.csv [--orders orders.csv] [--engagement engagement.csv] [--venv DIR]

The canonical CSV files are loaded as tables with typed columns (timestamps as UTC timestamps,
amounts as doubles, the rest as text), as a warehouse would hold them. Then the columns must have
the same names in the same order, the rows the same customers in the same order, and every value
must agree: both empty, the same text, or numbers within 1e-9 (relative to the larger of 1 and the
values' magnitude; sums may add in another order).

The engine is installed with `pip install --target` under --venv (default: target/tmp/sql-venv)
when it is not importable:
duckdb, or pyspark for --engine spark (needs Java 17; slow to start, see docs/scale.md).
Exit 0 when everything agrees, 1 on a difference (listed), 2 when it cannot run.
"""
import argparse
import csv
import math
import os
import subprocess
import sys

TOLERANCE = 1e-9
TIMESTAMPS = {"created_at", "updated_at", "ordered_at", "occurred_at"}
AMOUNTS = {"cart_value", "order_value", "discount_amount"}
COUNTS = {"item_count"}


def ensure(engine, target):
    """Makes the engine importable: already installed, or pip-installed into `target` (a plain
    directory, `pip install --target`, so neither a virtual environment nor root is needed)."""
    module, package = {
        "duckdb": ("duckdb", "duckdb==2.0.0"),
        "spark": ("pyspark", "pyspark==4.3.0"),
        "postgres": ("psycopg", "psycopg[binary]==3.*"),
    }[engine]
    try:
        __import__(module)
        return
    except ImportError:
        pass
    import fcntl

    dest = os.path.join(target, module)
    os.makedirs(dest, exist_ok=True)
    # Tests run in parallel: one of them installs, the others wait.
    with open(dest + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        sys.path.insert(0, dest)
        try:
            __import__(module)
            return
        except ImportError:
            pass
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             "--target", dest, package],
            check=True,
        )
    __import__(module)


def header(path):
    with open(path, newline="", encoding="utf-8-sig") as f:
        return next(csv.reader(f))


def typed(col, engine, canonical=None):
    """The column cast to its canonical type; `canonical` maps renamed headers back."""
    q = f'"{col}"' if engine == "duckdb" else f"`{col}`"
    col = (canonical or {}).get(col, col)
    if col in TIMESTAMPS:
        kind = "TIMESTAMPTZ" if engine == "duckdb" else "TIMESTAMP"
        return f"CAST({q} AS {kind}) AS {q}"
    if col in AMOUNTS:
        return f"CAST({q} AS DOUBLE) AS {q}"
    if col in COUNTS:
        return f"CAST({q} AS BIGINT) AS {q}"
    return q


def run_duckdb(tables, query, canonical, parts=None):
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for name, path in tables.items():
        cols = header(path)
        select = ", ".join(typed(c, "duckdb", canonical) for c in cols)
        con.execute(
            f"CREATE TABLE {name} AS SELECT {select} FROM read_csv(?, header = true, all_varchar = true)",
            [path],
        )
    if parts:
        # Several Parquet files in a directory, as an engine writes parts.
        con.execute("SET threads = 3")
        body = query.rstrip().rstrip(";")
        con.execute(f"COPY ({body}) TO '{parts}' (FORMAT parquet, PER_THREAD_OUTPUT true)")
    cur = con.execute(query)
    names = [d[0] for d in cur.description]
    return names, cur.fetchall()


def spark_session(app):
    """A local Spark on 2 cores, UTC, quiet (no UI, no progress bars, errors only)."""
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[2]")
        .appName(app)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def run_spark(tables, query, canonical, parts=None):
    spark = spark_session("cartsona-parity")
    for name, path in tables.items():
        df = spark.read.option("header", True).option("inferSchema", False).csv(path)
        select = ", ".join(typed(c, "spark", canonical) for c in df.columns)
        df.createOrReplaceTempView(f"{name}_text")
        spark.sql(f"SELECT {select} FROM {name}_text").createOrReplaceTempView(name)
    result = spark.sql(query)
    if parts:
        result.repartition(3).write.parquet(parts)
    names = result.columns
    rows = [tuple(r) for r in result.collect()]
    spark.stop()
    return names, rows


def run_postgres(tables, query, canonical, parts=None):
    """PostgreSQL through psycopg; the server from CARTSONA_PG_DSN (a libpq connection string),
    by default a local one on /tmp, port 5433. Tables go into a fresh schema dropped afterwards."""
    import psycopg

    dsn = os.environ.get("CARTSONA_PG_DSN", "host=/tmp port=5433 user=postgres dbname=postgres")
    with psycopg.connect(dsn, autocommit=True) as con:
        con.execute("DROP SCHEMA IF EXISTS cartsona_parity CASCADE")
        con.execute("CREATE SCHEMA cartsona_parity")
        con.execute("SET search_path = cartsona_parity")
        con.execute("SET TIME ZONE 'UTC'")
        for name, path in tables.items():
            cols = header(path)
            quoted = ", ".join(f'"{c}" TEXT' for c in cols)
            con.execute(f'CREATE TABLE "{name}_text" ({quoted})')
            with open(path, "rb") as f, con.cursor().copy(
                f'COPY "{name}_text" FROM STDIN WITH (FORMAT csv, HEADER true)'
            ) as copy:
                copy.write(f.read())
            select = []
            for c in cols:
                canon = canonical.get(c, c)
                if canon in TIMESTAMPS:
                    select.append(f'CAST(NULLIF("{c}", \'\') AS TIMESTAMPTZ) AS "{c}"')
                elif canon in AMOUNTS:
                    select.append(f'CAST(NULLIF("{c}", \'\') AS DOUBLE PRECISION) AS "{c}"')
                else:
                    select.append(f'"{c}"')
            con.execute(f'CREATE TABLE "{name}" AS SELECT {", ".join(select)} FROM "{name}_text"')
        cur = con.execute(query)
        names = [d.name for d in cur.description]
        rows = cur.fetchall()
        con.execute("DROP SCHEMA cartsona_parity CASCADE")
    return names, rows


def same(expected, got):
    """expected: text from cartsona's CSV; got: the engine's value."""
    if expected == "":
        return got is None
    if got is None:
        return False
    if isinstance(got, str):
        return got == expected
    try:
        e = float(expected)
    except ValueError:
        return False
    g = float(got)
    if math.isnan(e) or math.isnan(g):
        return False
    return abs(e - g) <= TOLERANCE * max(1.0, abs(e), abs(g))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engine", choices=["duckdb", "spark", "postgres"], default="duckdb")
    ap.add_argument("--sql", required=True)
    ap.add_argument("--expected", required=True)
    ap.add_argument("--carts", required=True)
    ap.add_argument("--orders")
    ap.add_argument("--engagement")
    ap.add_argument("--write-parts", metavar="DIR", help="also write the result as Parquet parts into DIR")
    ap.add_argument("--config", help="cartsona.toml whose [columns.*] renamed the headers")
    ap.add_argument(
        "--venv",
        default=os.path.join("target", "tmp", "sql-venv"),
        help="where the engine is pip-installed when it is not importable",
    )
    ap.add_argument(
        "--table",
        action="append",
        default=[],
        metavar="KIND=NAME",
        help="load that input under another table name (as [sql] in cartsona.toml names it)",
    )
    args = ap.parse_args()
    ensure(args.engine, os.path.abspath(args.venv))

    names = dict(t.split("=", 1) for t in args.table)
    tables = {names.get("carts", "carts"): args.carts}
    if args.orders:
        tables[names.get("orders", "orders")] = args.orders
    if args.engagement:
        tables[names.get("engagement", "engagement")] = args.engagement
    with open(args.sql, encoding="utf-8") as f:
        query = f.read()
    # Headers renamed by [columns.*] of cartsona.toml, mapped back to canonical names for typing.
    canonical = {}
    if args.config:
        import tomllib

        with open(args.config, "rb") as f:
            for mapping in tomllib.load(f).get("columns", {}).values():
                canonical.update({header: name for name, header in mapping.items()})
    run = {"duckdb": run_duckdb, "spark": run_spark, "postgres": run_postgres}[args.engine]
    names, rows = run(tables, query, canonical, args.write_parts)

    with open(args.expected, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        want_names = next(reader)
        want = list(reader)

    problems = []
    if names != want_names:
        problems.append(f"columns differ:\n  cartsona: {want_names}\n  {args.engine}:   {names}")
    if len(rows) != len(want):
        problems.append(f"{len(want)} rows from cartsona, {len(rows)} from {args.engine}")
    if not problems:
        worst = 0.0
        for i, (w, g) in enumerate(zip(want, rows)):
            for name, e, v in zip(names, w, g):
                if not same(e, v):
                    problems.append(f"row {i + 1} ({w[0]}), {name}: cartsona {e!r}, {args.engine} {v!r}")
                elif e != "" and not isinstance(v, str):
                    worst = max(worst, abs(float(e) - float(v)))
        cells = len(want) * len(names)
        print(
            f"{args.engine}: {len(rows)} abandoners x {len(names)} columns ({cells} values) agree with cartsona features; largest absolute difference {worst:.3g}"
        )
    if problems:
        for p in problems[:20]:
            print(p, file=sys.stderr)
        if len(problems) > 20:
            print(f"... and {len(problems) - 20} more differences", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
