"""What both peers share after the features: the command line, the matrix of docs/personas.md,
k-means and the choice of k with scikit-learn, and the output files (bench/peers/README.md)."""
import argparse
import json
import os
import time

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import calinski_harabasz_score, silhouette_score

LOG1P = {"last_abandoned_value", "aov", "orders", "cart_to_aov", "days_since_last_order",
         "sessions_30d", "product_views", "info_page_views", "cart_removals"}
FEATURES = ["last_abandoned_value", "aov", "orders", "cart_to_aov", "days_since_last_order",
            "mobile_share", "max_checkout_depth", "discount_share", "sessions_30d",
            "product_views", "info_page_views", "cart_removals", "email_open_rate"]


def matrix(f):
    cols = []
    for c in FEATURES:
        v = f[c].astype(float)
        v = v.fillna(v.median())
        if c in LOG1P:
            v = np.log1p(v.clip(lower=0))
        lo, hi = np.percentile(v, [1, 99])
        v = v.clip(lo, hi)
        sd = v.std(ddof=0)
        if sd <= 1e-12 * max(1.0, abs(v.mean())):
            continue
        cols.append(((v - v.mean()) / sd).to_numpy())
    return np.column_stack(cols)


def cluster_and_write(f, out, seed, times):
    """f: a pandas DataFrame indexed by customer_id (sorted) with the FEATURES columns."""
    os.makedirs(out, exist_ok=True)
    x = matrix(f)
    n = len(x)
    table = []
    labels = {}
    for k in range(3, 7):
        s0 = time.perf_counter()
        km = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(x)
        sil = silhouette_score(x, km.labels_, sample_size=min(n, 20000), random_state=seed)
        sizes = np.bincount(km.labels_, minlength=k)
        table.append({"k": k, "inertia": float(km.inertia_), "silhouette": float(sil),
                      "calinski_harabasz": float(calinski_harabasz_score(x, km.labels_)),
                      "smallest_share": float(sizes.min() / n)})
        labels[k] = km.labels_
        times[f"k={k}"] = time.perf_counter() - s0
    eligible = [r for r in table if r["smallest_share"] >= 0.05] or table
    best = max(r["silhouette"] for r in eligible)
    chosen = next(r["k"] for r in eligible if r["silhouette"] >= best - 0.01)
    s0 = time.perf_counter()
    pd.DataFrame({"customer_id": f.index, "label": labels[chosen]}).to_csv(
        os.path.join(out, "assignments.csv"), index=False)
    times["write"] = time.perf_counter() - s0
    with open(os.path.join(out, "summary.json"), "w") as fh:
        json.dump({"abandoners": n, "k_selection": table, "chosen_k": chosen, "timings": times}, fh, indent=1)


def main(description, features, day):
    """The command line of a peer: `features(data, as_of, A, L, H)` with windows in `day` units."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--as-of")
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    times = {}
    start = time.perf_counter()
    f = features(args.data, args.as_of, day, 30 * day, 365 * day)
    times["features"] = time.perf_counter() - start
    cluster_and_write(f, args.out, args.seed, times)
