#!/usr/bin/env python3
"""A randomized e-mail test from outside cartsona's generator, and its readout by statsmodels.

Writes, next to this script, in external/:
- features.csv: customer_id and five attributes under cartsona's feature names (orders, aov,
  days_since_last_order, mobile_share, email_open_rate), as a warehouse would hand them over;
- entries.csv: customer_id, arm (control or treatment), variant (mens or womens for the treated):
  a three-way randomized split (control, mens, womens), a third each, drawn here;
- orders.csv: one order (canonical columns) per converted customer, inside the 7-day window;
- expected.json: the per-arm and per-variant readout computed independently with statsmodels:
  counts, rates, the Newcombe interval of each difference against control
  (confint_proportions_2indep(method="newcomb")) and the pooled z-test p (proportions_ztest).

The conversions have a constant effect per variant (+2 and +3 points over a base that depends on
the attributes): there is nothing per-shopper to target beyond it, so cartsona's uplift gate must
find no evidence that per-shopper targeting beats the plays.

    /tmp/pyenv/bin/python tests/data/uplift/external.py   # numpy, statsmodels
"""

import csv
import json
from pathlib import Path

import numpy as np
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

N = 6000
T = "2025-02-01T00:00:00Z"
EFFECT = {"control": 0.0, "mens": 0.02, "womens": 0.03}


def main():
    out = Path(__file__).resolve().parent / "external"
    out.mkdir(exist_ok=True)
    rng = np.random.default_rng(20261207)
    ids = [f"c{i:05d}" for i in range(N)]
    orders = rng.poisson(2.0, N) + 1
    aov = np.round(rng.lognormal(4.5, 0.5, N), 2)
    days = np.round(rng.uniform(1, 365, N), 1)
    mobile = np.round(rng.beta(2, 2, N), 3)
    opens = np.round(rng.beta(2, 5, N), 3)
    group = rng.choice(["control", "mens", "womens"], N)
    base = 1 / (1 + np.exp(-(-2.6 + 0.35 * np.log(orders) - 0.004 * days)))
    p = base + np.array([EFFECT[g] for g in group])
    converted = rng.random(N) < p
    value = np.round(rng.lognormal(4.3, 0.6, N), 2)
    minutes = rng.integers(1, 7 * 24 * 60 - 60, N)

    with open(out / "features.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["customer_id", "orders", "aov", "days_since_last_order", "mobile_share",
                    "email_open_rate"])
        for i in range(N):
            w.writerow([ids[i], orders[i], aov[i], days[i], mobile[i], opens[i]])
    with open(out / "entries.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["customer_id", "arm", "variant"])
        for i in range(N):
            g = group[i]
            w.writerow([ids[i], "control" if g == "control" else "treatment",
                        "" if g == "control" else g])
    with open(out / "orders.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["customer_id", "order_id", "ordered_at", "order_value"])
        for i in np.flatnonzero(converted):
            m = int(minutes[i])
            at = f"2025-02-{1 + m // 1440:02d}T{(m % 1440) // 60:02d}:{m % 60:02d}:00Z"
            w.writerow([ids[i], f"o{i:05d}", at, f"{value[i]:.2f}"])

    def arm(mask):
        return {"n": int(mask.sum()), "recovered": int(converted[mask].sum()),
                "rate": float(converted[mask].mean())}

    def against_control(mask):
        c = group == "control"
        x1, n1 = int(converted[mask].sum()), int(mask.sum())
        x2, n2 = int(converted[c].sum()), int(c.sum())
        low, high = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", compare="diff")
        _, pval = proportions_ztest([x1, x2], [n1, n2])
        return {"absolute": x1 / n1 - x2 / n2, "ci_low": float(low), "ci_high": float(high),
                "p_value": float(pval)}

    treated = group != "control"
    expected = {
        "treatment": arm(treated),
        "holdout": arm(group == "control"),
        "uplift": against_control(treated),
        "variants": {v: {**arm(group == v), **against_control(group == v)}
                     for v in ["mens", "womens"]},
    }
    (out / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")


if __name__ == "__main__":
    main()
