#!/usr/bin/env python3
"""Runs the query of `cartsona assign --emit-sql` in a real engine over a features table and
compares its result with the assignments `cartsona assign --features` wrote for the same table.

    python3 tests/sql/assign_parity.py [--engine duckdb|spark|postgres] --sql q.sql \
        --features features.csv --expected assignments.csv [--venv DIR]

The features file is loaded as the table `features`: customer_id and every column holding a value
that is not a number as text, the others as doubles (DuckDB infers the same types itself).
PostgreSQL is the server of CARTSONA_PG_DSN (as for parity.py); Spark runs locally. Every expected row must come back in the same order; for shoppers whose margin
exceeds 1e-9 (the feature values agree to about 1e-12, so exact ties may differ) the persona, the
second persona, the outlier flag must be equal and the distance, margin and uplift (with
`--outcomes`) within 1e-9; the arm, the variant (NULL in SQL for the held out, empty in the CSV)
and the return propensity (when the model has one; within 1e-9) for everyone. The propensity's
reasons are words, not computed in SQL. Exit 0 when everything agrees, 1 on a difference, 2 when it cannot run.
"""
import argparse
import csv
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from parity import ensure, header, spark_session  # noqa: E402

TOLERANCE = 1e-9


def close(a, b):
    return abs(a - b) <= TOLERANCE * max(1.0, abs(a), abs(b))


def numeric_columns(path):
    """The columns whose every non-empty value parses as a number (customer_id never)."""
    cols = header(path)
    numeric = {c: c != "customer_id" for c in cols}
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            for c, v in row.items():
                if numeric[c] and v != "":
                    try:
                        float(v)
                    except ValueError:
                        numeric[c] = False
    return cols, numeric


def run_duckdb(features, query):
    import duckdb

    con = duckdb.connect()
    con.execute(
        "CREATE TABLE features AS SELECT * FROM read_csv(?, header = true, types = {'customer_id': 'VARCHAR'})",
        [features],
    )
    cur = con.execute(query)
    return [d[0] for d in cur.description], cur.fetchall()


def run_spark(features, query):
    spark = spark_session("cartsona-assign-parity")
    cols, numeric = numeric_columns(features)
    spark.read.option("header", True).option("inferSchema", False).csv(features).createOrReplaceTempView(
        "features_text"
    )
    select = ", ".join(f"CAST(`{c}` AS DOUBLE) AS `{c}`" if numeric[c] else f"`{c}`" for c in cols)
    spark.sql(f"SELECT {select} FROM features_text").createOrReplaceTempView("features")
    result = spark.sql(query)
    names, rows = result.columns, [tuple(r) for r in result.collect()]
    spark.stop()
    return names, rows


def run_postgres(features, query):
    import psycopg

    dsn = os.environ.get("CARTSONA_PG_DSN", "host=/tmp port=5433 user=postgres dbname=postgres")
    cols, numeric = numeric_columns(features)
    with psycopg.connect(dsn, autocommit=True) as con:
        con.execute("DROP SCHEMA IF EXISTS cartsona_assign_parity CASCADE")
        con.execute("CREATE SCHEMA cartsona_assign_parity")
        con.execute("SET search_path = cartsona_assign_parity")
        quoted = ", ".join(f'"{c}" TEXT' for c in cols)
        con.execute(f"CREATE TABLE features_text ({quoted})")
        with open(features, "rb") as f, con.cursor().copy(
            "COPY features_text FROM STDIN WITH (FORMAT csv, HEADER true)"
        ) as copy:
            copy.write(f.read())
        select = ", ".join(
            f'CAST(NULLIF("{c}", \'\') AS DOUBLE PRECISION) AS "{c}"' if numeric[c] else f'"{c}"' for c in cols
        )
        con.execute(f"CREATE TABLE features AS SELECT {select} FROM features_text")
        cur = con.execute(query)
        names = [d.name for d in cur.description]
        rows = cur.fetchall()
        con.execute("DROP SCHEMA cartsona_assign_parity CASCADE")
    return names, rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--engine", choices=["duckdb", "spark", "postgres"], default="duckdb")
    ap.add_argument("--sql", required=True)
    ap.add_argument("--features", required=True)
    ap.add_argument("--expected", required=True)
    ap.add_argument("--venv", default=os.path.join("target", "tmp", "sql-venv"))
    a = ap.parse_args()
    ensure(a.engine, a.venv)
    run = {"duckdb": run_duckdb, "spark": run_spark, "postgres": run_postgres}[a.engine]
    names, rows = run(a.features, open(a.sql).read())
    got = [dict(zip(names, row)) for row in rows]
    with open(a.expected, newline="") as f:
        expected = list(csv.DictReader(f))
    wanted = ["customer_id", "persona_id", "persona_name", "distance", "second_persona_id", "margin"]
    wanted += [c for c in ("outlier", "arm", "variant", "return_propensity", "uplift") if c in expected[0]]
    if names != wanted:
        print(f"columns differ: {names} against {wanted}")
        return 1
    if len(got) != len(expected):
        print(f"rows differ: {len(got)} against {len(expected)}")
        return 1
    problems, compared, ties = [], 0, 0
    for g, e in zip(got, expected):
        cid = e["customer_id"]
        if g["customer_id"] != cid:
            problems.append(f"order: {g['customer_id']} where {cid} was expected")
            break
        if "arm" in e and g["arm"] != e["arm"]:
            problems.append(f"{cid}: arm {g['arm']} against {e['arm']}")
        # The held out: NULL in SQL, empty in the CSV.
        if "variant" in e and (g["variant"] or "") != e["variant"]:
            problems.append(f"{cid}: variant {g['variant']} against {e['variant']}")
        # The scores depend on the features alone (and the persona, for the uplift's indicators:
        # compared below with the persona), so every shopper's propensity is compared.
        if "return_propensity" in e and not close(float(g["return_propensity"]), float(e["return_propensity"])):
            problems.append(f"{cid}: return_propensity {g['return_propensity']} against {e['return_propensity']}")
        if float(e["margin"]) <= TOLERANCE:
            ties += 1
            continue
        compared += 1
        for c in ("persona_id", "persona_name", "second_persona_id"):
            if g[c] != e[c]:
                problems.append(f"{cid}: {c} {g[c]} against {e[c]}")
        if "outlier" in e and int(g["outlier"]) != int(e["outlier"]):
            problems.append(f"{cid}: outlier {g['outlier']} against {e['outlier']}")
        for c in ("distance", "margin") + (("uplift",) if "uplift" in e else ()):
            if not close(float(g[c]), float(e[c])):
                problems.append(f"{cid}: {c} {g[c]} against {e[c]}")
    if problems:
        print(f"{len(problems)} differences, first: " + "; ".join(problems[:10]))
        return 1
    print(f"agree: {len(expected)} shoppers, {compared} compared in full, {ties} near-ties (arms only)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
