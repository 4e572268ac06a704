#!/usr/bin/env python3
"""The faster notebook: polars (Python) for the features, scikit-learn for k-means (issue 8's
second peer).

    python3 bench/peers/polars_sklearn.py --data DIR --out DIR [--as-of T]

Same work as bench/peers/pandas_sklearn.py (the 13 clustering features by the rules of
docs/features.md, then bench/peers/common.py), with polars' eager API for the features. Threads
follow POLARS_MAX_THREADS and OMP_NUM_THREADS as the harness sets them.
"""
import os
import sys
from datetime import datetime, timedelta, timezone

import pandas as pd
import polars as pl

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import FEATURES, main  # noqa: E402

STEPS = {"cart": 0, "shipping": 1, "payment": 2, "review": 3}


def read(data, name, times):
    """DIR/name.parquet when it exists (timestamps typed), else DIR/name.csv read as text."""
    path = os.path.join(data, name + ".parquet")
    if os.path.exists(path):
        return pl.read_parquet(path)
    df = pl.read_csv(os.path.join(data, name + ".csv"), infer_schema=False)
    casts = []
    for c in df.columns:
        if c in times:
            casts.append(pl.col(c).str.to_datetime(time_unit="us", time_zone="UTC"))
        elif c in ("cart_value", "order_value", "discount_amount"):
            casts.append(pl.col(c).cast(pl.Float64))
    return df.with_columns(casts)


def features(data, as_of, a, l, h):
    carts = read(data, "carts", {"created_at", "updated_at"})
    orders = read(data, "orders", {"ordered_at"})
    events = read(data, "engagement", {"occurred_at"})
    if as_of:
        t = datetime.fromisoformat(as_of.replace("Z", "+00:00"))
        if t.tzinfo is None:
            t = t.replace(tzinfo=timezone.utc)
    else:
        t = max(carts["updated_at"].max(), orders["ordered_at"].max(), events["occurred_at"].max())
    carts = carts.filter(pl.col("updated_at") <= t)
    orders = orders.filter(pl.col("ordered_at") <= t).unique(maintain_order=True)
    events = events.filter(pl.col("occurred_at") <= t)

    latest = carts.sort("updated_at", maintain_order=True).unique("cart_id", keep="last", maintain_order=True)
    cand = latest.filter((pl.col("cart_value") > 0) & (pl.col("updated_at") <= t - a)).sort("updated_at")
    o = orders.select("customer_id", "ordered_at").sort("ordered_at")
    hit = cand.select("cart_id", "customer_id", "updated_at").join_asof(
        o, left_on="updated_at", right_on="ordered_at", by="customer_id", strategy="forward", tolerance=a,
        check_sortedness=False)
    converted = pl.concat([
        hit.filter(pl.col("ordered_at").is_not_null()).select("cart_id"),
        orders.filter(pl.col("cart_id").is_not_null()).select("cart_id"),
    ])
    ab = cand.join(converted, on="cart_id", how="anti").filter(pl.col("updated_at") > t - l)
    ab = ab.with_columns(pl.col("checkout_step").str.to_lowercase().replace_strict(STEPS, default=None).alias("step"))
    f = ab.sort(["customer_id", "updated_at", "cart_id"]).group_by("customer_id", maintain_order=True).agg(
        pl.col("cart_value").last().alias("last_abandoned_value"),
        (pl.col("step").max() / 3.0).alias("max_checkout_depth"),
    )

    oh = orders.filter(pl.col("ordered_at") > t - h).with_columns(
        ((pl.col("discount_code").fill_null("").str.strip_chars() != "")
         | (pl.col("discount_amount").fill_null(0) > 0)).alias("disc"))
    per = oh.group_by("customer_id").agg(
        pl.len().alias("orders"), pl.col("order_value").sum().alias("revenue"),
        pl.col("ordered_at").max().alias("last_order"), pl.col("disc").sum().alias("disc_orders"))
    median_aov = (per["revenue"] / per["orders"]).median()

    ch = latest.filter(pl.col("updated_at") > t - h).with_columns(pl.col("device").str.to_lowercase())
    cart_dev = ch.group_by("customer_id").agg(
        pl.col("device").is_not_null().sum().alias("known"),
        pl.col("device").is_in(["mobile", "tablet"]).sum().alias("mobile"),
        pl.len().alias("carts"),
        (pl.col("discount_code").fill_null("").str.strip_chars() != "").sum().alias("disc_carts"))

    ev = events.with_columns(pl.col("event_type").str.to_lowercase(), pl.col("device").str.to_lowercase())
    sess = ev.filter(pl.col("session_id").is_not_null())
    first_dev = (sess.filter(pl.col("device").is_not_null()).sort("occurred_at", maintain_order=True)
                 .unique(["customer_id", "session_id"], keep="first", maintain_order=True)
                 .select("customer_id", "session_id", "device"))
    s = (sess.group_by(["customer_id", "session_id"]).agg(pl.col("occurred_at").max().alias("last"))
         .join(first_dev, on=["customer_id", "session_id"], how="left").select("customer_id", "last", "device"))
    lone = (ev.filter(pl.col("session_id").is_null() & (pl.col("event_type") == "session_start"))
            .select("customer_id", pl.col("occurred_at").alias("last"), "device"))
    s = pl.concat([s, lone])
    sess_dev = s.filter(pl.col("last") > t - h).group_by("customer_id").agg(
        pl.col("device").is_not_null().sum().alias("s_known"),
        pl.col("device").is_in(["mobile", "tablet"]).sum().alias("s_mobile"))
    s30 = s.filter(pl.col("last") > t - timedelta(days=30)).group_by("customer_id").agg(pl.len().alias("sessions_30d"))

    x, et = pl.col("occurred_at"), pl.col("event_type")
    info = pl.col("page").fill_null("").str.contains("(?i)returns|shipping|delivery|faq")
    counts = ev.group_by("customer_id").agg(
        (et.eq("product_view") & (x > t - l)).sum().alias("product_views"),
        (et.eq("page_view") & (x > t - l) & info).sum().alias("info_page_views"),
        (et.eq("remove_from_cart") & (x > t - l)).sum().alias("cart_removals"),
        (et.eq("email_sent") & (x > t - h)).sum().alias("sent"),
        (et.eq("email_open") & (x > t - h)).sum().alias("opened"))

    f = (f.join(per, on="customer_id", how="left").join(cart_dev, on="customer_id", how="left")
         .join(sess_dev, on="customer_id", how="left").join(s30, on="customer_id", how="left")
         .join(counts, on="customer_id", how="left"))
    orders_n = pl.col("orders").fill_null(0)
    known = pl.col("known").fill_null(0) + pl.col("s_known").fill_null(0)
    den = orders_n + pl.col("carts").fill_null(0)
    aov = pl.when(orders_n > 0).then(pl.col("revenue") / orders_n).otherwise(pl.lit(median_aov))
    f = f.with_columns(
        orders_n.alias("orders"),
        aov.alias("aov"),
        pl.when(aov > 0).then(pl.col("last_abandoned_value") / aov).alias("cart_to_aov"),
        pl.when(pl.col("last_order").is_null()).then(pl.lit(h / timedelta(days=1)))
        .otherwise((pl.lit(t) - pl.col("last_order")).dt.total_microseconds() / 86_400_000_000)
        .alias("days_since_last_order"),
        pl.when(known > 0).then((pl.col("mobile").fill_null(0) + pl.col("s_mobile").fill_null(0)) / known)
        .alias("mobile_share"),
        pl.when(den > 0).then((pl.col("disc_orders").fill_null(0) + pl.col("disc_carts").fill_null(0)) / den)
        .alias("discount_share"),
        pl.col("sessions_30d").fill_null(0),
        pl.col("product_views").fill_null(0),
        pl.col("info_page_views").fill_null(0),
        pl.col("cart_removals").fill_null(0),
        pl.when(pl.col("sent") > 0).then(pl.min_horizontal(pl.lit(1.0), pl.col("opened") / pl.col("sent")))
        .alias("email_open_rate"),
    )
    f = f.sort("customer_id")
    # Handed to the shared clustering step as pandas, without pyarrow.
    return pd.DataFrame({c: f[c].cast(pl.Float64).to_numpy() for c in FEATURES},
                        index=pd.Index(f["customer_id"].to_list(), name="customer_id"))


if __name__ == "__main__":
    main(__doc__.splitlines()[0], features, timedelta(days=1))
