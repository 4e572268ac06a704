#!/usr/bin/env python3
"""Runs the query of `cartsona assign --emit-sql` in a real engine over a features table and
compares its result with the assignments `cartsona assign --features` wrote for the same table.

    python3 tests/sql/assign_parity.py --sql q.sql --features features.csv \
        --expected assignments.csv [--venv DIR]

The features file is loaded as the table `features` (customer_id as text, the rest as the engine
infers them). Every expected row must come back in the same order; for shoppers whose margin
exceeds 1e-9 (the feature values agree to about 1e-12, so exact ties may differ) the persona, the
second persona, the outlier flag must be equal and the distance and margin within 1e-9; the arm
must be equal for everyone. Exit 0 when everything agrees, 1 on a difference, 2 when it cannot run.
"""
import argparse
import csv
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from parity import ensure  # noqa: E402

TOLERANCE = 1e-9


def close(a, b):
    return abs(a - b) <= TOLERANCE * max(1.0, abs(a), abs(b))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sql", required=True)
    ap.add_argument("--features", required=True)
    ap.add_argument("--expected", required=True)
    ap.add_argument("--venv", default=os.path.join("target", "tmp", "sql-venv"))
    a = ap.parse_args()
    ensure("duckdb", a.venv)
    import duckdb

    con = duckdb.connect()
    con.execute(
        "CREATE TABLE features AS SELECT * FROM read_csv(?, header = true, types = {'customer_id': 'VARCHAR'})",
        [a.features],
    )
    cur = con.execute(open(a.sql).read())
    names = [d[0] for d in cur.description]
    got = [dict(zip(names, row)) for row in cur.fetchall()]
    with open(a.expected, newline="") as f:
        expected = list(csv.DictReader(f))
    wanted = ["customer_id", "persona_id", "persona_name", "distance", "second_persona_id", "margin"]
    wanted += [c for c in ("outlier", "arm") if c in expected[0]]
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
        if float(e["margin"]) <= TOLERANCE:
            ties += 1
            continue
        compared += 1
        for c in ("persona_id", "persona_name", "second_persona_id"):
            if g[c] != e[c]:
                problems.append(f"{cid}: {c} {g[c]} against {e[c]}")
        if "outlier" in e and int(g["outlier"]) != int(e["outlier"]):
            problems.append(f"{cid}: outlier {g['outlier']} against {e['outlier']}")
        for c in ("distance", "margin"):
            if not close(float(g[c]), float(e[c])):
                problems.append(f"{cid}: {c} {g[c]} against {e[c]}")
    if problems:
        print(f"{len(problems)} differences, first: " + "; ".join(problems[:10]))
        return 1
    print(f"agree: {len(expected)} shoppers, {compared} compared in full, {ties} near-ties (arms only)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
