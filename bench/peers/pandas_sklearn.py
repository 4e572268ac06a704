#!/usr/bin/env python3
"""The notebook an analyst would write instead of cartsona: pandas for the features, scikit-learn
for k-means (issue 8's first peer).

    python3 bench/peers/pandas_sklearn.py --data DIR --out DIR [--as-of T]

Reads DIR/carts, orders and engagement (.parquet when present, else .csv; canonical, as
`cartsona generate` writes),
finds the abandoners and computes the 13 clustering features of docs/personas.md with the rules of
docs/features.md, builds the matrix the same way (median fill, log1p, clip at the 1st/99th
percentile, standardise), fits KMeans(n_init=10) for k = 3..6, scores each with
silhouette_score(sample_size=20000), Calinski-Harabasz and the smallest share, and chooses k with
cartsona's rule (highest silhouette among k whose smallest cluster holds >= 5%; a smaller k within
0.01 wins). Writes OUT/assignments.csv (customer_id,label) and OUT/summary.json (inertia per k,
chosen k, stage times).

Not computed (they do not enter the clustering): the report-only features (lifecycle_stage,
primary_device, tenure_days, ...). Threads follow OMP_NUM_THREADS as the harness sets it.
"""
import os
import sys

import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import FEATURES, main  # noqa: E402

DAY = pd.Timedelta(days=1)
STEPS = {"cart": 0, "shipping": 1, "payment": 2, "review": 3}


def ts(s):
    return pd.to_datetime(s, utc=True, format="ISO8601")


def read(data, name, text):
    """DIR/name.parquet when it exists (pyarrow; timestamps typed), else DIR/name.csv as text."""
    path = os.path.join(data, name + ".parquet")
    if os.path.exists(path):
        return pd.read_parquet(path)
    return pd.read_csv(os.path.join(data, name + ".csv"), dtype=text)


def features(data, as_of, abandon_after, lookback, history):
    text = {"customer_id": str, "cart_id": str, "session_id": str, "order_id": str,
            "discount_code": str, "page": str, "device": str, "checkout_step": str}
    carts, orders, events = (read(data, name, text) for name in ("carts", "orders", "engagement"))
    for df, cols in ((carts, ["created_at", "updated_at"]), (orders, ["ordered_at"]),
                     (events, ["occurred_at"])):
        for c in cols:
            df[c] = ts(df[c])
    t = ts(pd.Series([as_of]))[0] if as_of else max(
        carts["updated_at"].max(), orders["ordered_at"].max(), events["occurred_at"].max())
    a, l, h = abandon_after, lookback, history
    carts = carts[carts["updated_at"] <= t]
    orders = orders[orders["ordered_at"] <= t].drop_duplicates()
    events = events[events["occurred_at"] <= t]

    # Latest snapshot per cart (ties: the row read last).
    latest = carts.sort_values("updated_at", kind="stable").drop_duplicates("cart_id", keep="last")
    # Abandoned: value > 0, old enough, no order of the customer in [u, u + A], no order with its id.
    cand = latest[(latest["cart_value"] > 0) & (latest["updated_at"] <= t - a)].copy()
    o = orders[["customer_id", "ordered_at"]].sort_values("ordered_at")
    cand = cand.sort_values("updated_at")
    hit = pd.merge_asof(cand[["cart_id", "customer_id", "updated_at"]], o,
                        left_on="updated_at", right_on="ordered_at", by="customer_id",
                        direction="forward", tolerance=a)
    converted = set(hit.loc[hit["ordered_at"].notna(), "cart_id"]) | set(orders["cart_id"].dropna())
    ab = cand[~cand["cart_id"].isin(converted)]
    ab = ab[ab["updated_at"] > t - l]
    ab = ab.sort_values(["customer_id", "updated_at", "cart_id"])
    ab["step"] = ab["checkout_step"].str.lower().map(STEPS)
    g = ab.groupby("customer_id", sort=True)
    f = pd.DataFrame({
        "last_abandoned_value": g["cart_value"].last(),
        "abandoned_carts": g.size(),
        "max_step": g["step"].max(),
    })
    f["max_checkout_depth"] = f["max_step"] / 3.0

    oh = orders[orders["ordered_at"] > t - h]
    og = oh.groupby("customer_id")
    disc_o = (oh["discount_code"].fillna("").str.strip() != "") | (oh["discount_amount"].fillna(0) > 0)
    per = pd.DataFrame({"orders": og.size(), "revenue": og["order_value"].sum(),
                        "last_order": og["ordered_at"].max(),
                        "disc_orders": disc_o.groupby(oh["customer_id"]).sum()})
    median_aov = (per["revenue"] / per["orders"]).median()
    f = f.join(per, how="left")
    f["orders"] = f["orders"].fillna(0)
    f["aov"] = (f["revenue"] / f["orders"]).where(f["orders"] > 0, median_aov)
    f["cart_to_aov"] = (f["last_abandoned_value"] / f["aov"]).where(f["aov"] > 0)
    f["days_since_last_order"] = ((t - f["last_order"]) / DAY).fillna(h / DAY)

    ch = latest[latest["updated_at"] > t - h]
    dev = ch["device"].str.lower()
    cart_dev = pd.DataFrame({"known": dev.notna().groupby(ch["customer_id"]).sum(),
                             "mobile": dev.isin(["mobile", "tablet"]).groupby(ch["customer_id"]).sum(),
                             "carts": ch.groupby("customer_id").size(),
                             "disc_carts": (ch["discount_code"].fillna("").str.strip() != "")
                             .groupby(ch["customer_id"]).sum()})

    ev = events.copy()
    ev["event_type"] = ev["event_type"].str.lower()
    ev["device"] = ev["device"].str.lower()
    sess = ev[ev["session_id"].notna()]
    first_dev = (sess[sess["device"].notna()].sort_values("occurred_at", kind="stable")
                 .drop_duplicates(["customer_id", "session_id"]))
    s = sess.groupby(["customer_id", "session_id"])["occurred_at"].max().rename("last").reset_index()
    s = s.merge(first_dev[["customer_id", "session_id", "device"]], how="left")
    lone = ev[ev["session_id"].isna() & (ev["event_type"] == "session_start")]
    s = pd.concat([s, lone.rename(columns={"occurred_at": "last"})[["customer_id", "last", "device"]]])
    sh = s[s["last"] > t - h]
    sess_dev = pd.DataFrame({
        "s_known": sh["device"].notna().groupby(sh["customer_id"]).sum(),
        "s_mobile": sh["device"].isin(["mobile", "tablet"]).groupby(sh["customer_id"]).sum(),
        "sessions_hist": sh.groupby("customer_id").size()})
    s30 = s[s["last"] > t - 30 * DAY].groupby("customer_id").size().rename("sessions_30d")

    x = ev["occurred_at"]
    et = ev["event_type"]
    info = ev["page"].fillna("").str.contains("returns|shipping|delivery|faq", case=False, regex=True)
    counts = pd.DataFrame({
        "pv_hist": (et.isin(["page_view", "product_view"]) & (x > t - h)),
        "product_views": (et.eq("product_view") & (x > t - l)),
        "info_page_views": (et.eq("page_view") & (x > t - l) & info),
        "cart_removals": (et.eq("remove_from_cart") & (x > t - l)),
        "sent": (et.eq("email_sent") & (x > t - h)),
        "opened": (et.eq("email_open") & (x > t - h)),
    }).groupby(ev["customer_id"]).sum()

    f = f.join(cart_dev, how="left").join(sess_dev, how="left").join(s30, how="left").join(counts, how="left")
    known = f["known"].fillna(0) + f["s_known"].fillna(0)
    f["mobile_share"] = ((f["mobile"].fillna(0) + f["s_mobile"].fillna(0)) / known).where(known > 0)
    den = f["orders"] + f["carts"].fillna(0)
    f["discount_share"] = ((f["disc_orders"].fillna(0) + f["disc_carts"].fillna(0)) / den).where(den > 0)
    for c in ["sessions_30d", "product_views", "info_page_views", "cart_removals"]:
        f[c] = f[c].fillna(0)
    f["email_open_rate"] = (f["opened"] / f["sent"]).clip(upper=1).where(f["sent"] > 0)
    return f[FEATURES].sort_index()


if __name__ == "__main__":
    main(__doc__.splitlines()[0], features, DAY)
