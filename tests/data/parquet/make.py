"""Writes the typed-Parquet fixtures of tests/inputs_parquet.rs (issue 19) with pyarrow, and the
same values as CSV text, worked out here (not by cartsona): the test checks that cartsona reads
both to byte-identical features.

Run from the repository root with pyarrow installed (bench/work/venv has it):
    bench/work/venv/bin/python tests/data/parquet/make.py
The files are committed; this script documents how they were made.

typed/   carts, orders and engagement as a warehouse writes them:
  carts:      customer_id INT64 (read as its decimal text), cart_id dictionary-encoded strings,
              updated_at TIMESTAMP(ns, America/New_York) with nanoseconds (truncated to us),
              created_at TIMESTAMP(ms) without a zone (read as UTC), some null, cart_value
              DECIMAL(12,2), item_count INT32 with nulls, device dictionary, checkout_step string,
              discount_code with nulls.
  orders:     customer_id INT64, order_id INT64, ordered_at DATE, order_value INT64 (whole
              amounts), cart_id with nulls, discount_amount DECIMAL(10,2) with nulls.
  engagement: occurred_at INT64 Unix milliseconds ([columns] epochs = "ms" in cartsona.toml),
              event_type and device dictionaries, session_id, page.
  Row groups of 5 rows, so every file spans several.
bad/     one problem each, at a known row: see tests/inputs_parquet.rs.
columnar/ (issue 33: the column-by-column checks of Parquet, tests/inputs_columnar.rs):
  carts-wide: 23 rows in row groups of 5; ids as LARGE_STRING, device as a dictionary with nulls,
              checkout_step with blanks around it, updated_at TIMESTAMP(s, Europe/Berlin),
              created_at TIMESTAMP(ns) without a zone (some null), cart_value FLOAT32 (values
              exact in binary), item_count INT16 with nulls, and four columns cartsona does not
              read (int16, string, bool, timestamp); its CSV twin written here.
  carts-bad:  15 rows in row groups of 5; in the third group row 11 has device 'phone', row 13
              item_count -2, row 15 a null cart_value.
"""
import csv
import datetime as dt
import decimal
import os
import random

import pyarrow as pa
import pyarrow.parquet as pq

HERE = os.path.dirname(os.path.abspath(__file__))
R = random.Random(19)
T0 = int(dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc).timestamp())  # seconds
DEVICES = ["mobile", "desktop", "tablet"]
STEPS = ["cart", "shipping", "payment", "review"]
EVENTS = ["session_start", "page_view", "product_view", "add_to_cart", "email_open"]
PAGES = ["/", "/p/shoe", "/returns", "/shipping", "/p/bag"]


def rfc3339(us):
    """Microseconds since the epoch as cartsona's text form (UTC, fraction only when not zero)."""
    t = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(microseconds=us)
    if us % 1_000_000 == 0:
        return t.strftime("%Y-%m-%dT%H:%M:%SZ")
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def write(name, table, rows, header):
    pq.write_table(table, os.path.join(HERE, "typed", name + ".parquet"), row_group_size=5)
    with open(os.path.join(HERE, "typed", name + ".csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows([["" if v is None else v for v in r] for r in rows])


def carts():
    cols = {k: [] for k in ["customer_id", "cart_id", "updated_at", "created_at", "cart_value",
                            "item_count", "device", "checkout_step", "discount_code"]}
    text = []
    for i in range(40):
        cust = 1001 + i % 14
        upd_ns = (T0 + R.randrange(0, 60 * 86400)) * 10**9 + R.randrange(0, 10**9)
        created_ms = None if i % 4 == 0 else (upd_ns // 10**6 - R.randrange(0, 3600_000))
        value = decimal.Decimal(R.randrange(500, 40000)) / 100
        items = None if i % 5 == 0 else R.randrange(1, 6)
        dev = DEVICES[R.randrange(3)]
        step = STEPS[R.randrange(4)]
        code = "SAVE10" if i % 6 == 0 else None
        row = [cust, f"k{i}", upd_ns, created_ms, value, items, dev, step, code]
        for k, v in zip(cols, row):
            cols[k].append(v)
        text.append([cust, f"k{i}", rfc3339(upd_ns // 1000),
                     None if created_ms is None else rfc3339(created_ms * 1000),
                     str(value), items, dev, step, code])
    table = pa.table({
        "customer_id": pa.array(cols["customer_id"], pa.int64()),
        "cart_id": pa.array(cols["cart_id"]).dictionary_encode(),
        "updated_at": pa.array(cols["updated_at"], pa.timestamp("ns", tz="America/New_York")),
        "created_at": pa.array(cols["created_at"], pa.timestamp("ms")),
        "cart_value": pa.array(cols["cart_value"], pa.decimal128(12, 2)),
        "item_count": pa.array(cols["item_count"], pa.int32()),
        "device": pa.array(cols["device"]).dictionary_encode(),
        "checkout_step": pa.array(cols["checkout_step"], pa.string()),
        "discount_code": pa.array(cols["discount_code"], pa.string()),
    })
    write("carts", table, text, list(cols))


def orders():
    cols = {k: [] for k in ["customer_id", "order_id", "ordered_at", "order_value", "cart_id",
                            "discount_amount"]}
    text = []
    for i in range(30):
        cust = 1001 + (i * 3) % 14
        day = (T0 // 86400) - 200 + R.randrange(0, 260)
        value = R.randrange(10, 400)
        cart = f"k{i}" if i % 3 == 0 else None
        disc = decimal.Decimal(R.randrange(100, 900)) / 100 if i % 4 == 0 else None
        row = [cust, 50000 + i, day, value, cart, disc]
        for k, v in zip(cols, row):
            cols[k].append(v)
        text.append([cust, 50000 + i, rfc3339(day * 86400 * 10**6), value, cart,
                     None if disc is None else str(disc)])
    table = pa.table({
        "customer_id": pa.array(cols["customer_id"], pa.int64()),
        "order_id": pa.array(cols["order_id"], pa.int64()),
        "ordered_at": pa.array(cols["ordered_at"], pa.date32()),
        "order_value": pa.array(cols["order_value"], pa.int64()),
        "cart_id": pa.array(cols["cart_id"], pa.string()),
        "discount_amount": pa.array(cols["discount_amount"], pa.decimal128(10, 2)),
    })
    write("orders", table, text, list(cols))


def engagement():
    cols = {k: [] for k in ["customer_id", "occurred_at", "event_type", "session_id", "device",
                            "page"]}
    for i in range(60):
        cust = 1001 + (i * 5) % 14
        ms = (T0 + R.randrange(0, 60 * 86400)) * 1000 + R.randrange(0, 1000)
        row = [cust, ms, EVENTS[R.randrange(5)], f"s{i // 3}", DEVICES[R.randrange(3)],
               PAGES[R.randrange(5)]]
        for k, v in zip(cols, row):
            cols[k].append(v)
    table = pa.table({
        "customer_id": pa.array(cols["customer_id"], pa.int64()),
        "occurred_at": pa.array(cols["occurred_at"], pa.int64()),
        "event_type": pa.array(cols["event_type"]).dictionary_encode(),
        "session_id": pa.array(cols["session_id"], pa.string()),
        "device": pa.array(cols["device"]).dictionary_encode(),
        "page": pa.array(cols["page"], pa.string()),
    })
    # The CSV holds the same integers: with [columns] epochs both are Unix milliseconds.
    write("engagement", table, list(zip(*cols.values())), list(cols))


def bad():
    os.makedirs(os.path.join(HERE, "bad"), exist_ok=True)
    n = 12
    ts = pa.array([(T0 + i * 3600) * 10**6 for i in range(n)], pa.timestamp("us", tz="UTC"))
    # orders: order_value -5 at row 8 (the second row group of 5 rows).
    values = [decimal.Decimal("10.00")] * n
    values[7] = decimal.Decimal("-5.00")
    pq.write_table(pa.table({
        "customer_id": pa.array([f"c{i}" for i in range(n)]),
        "order_id": pa.array([f"o{i}" for i in range(n)]),
        "ordered_at": ts,
        "order_value": pa.array(values, pa.decimal128(10, 2)),
    }), os.path.join(HERE, "bad", "orders-negative.parquet"), row_group_size=5)
    # carts: updated_at 1970-01-01 (a placeholder) at row 11 (the third row group).
    upd = [(T0 + i * 3600) * 10**6 for i in range(n)]
    upd[10] = 0
    pq.write_table(pa.table({
        "customer_id": pa.array([f"c{i}" for i in range(n)]),
        "cart_id": pa.array([f"k{i}" for i in range(n)]),
        "updated_at": pa.array(upd, pa.timestamp("us")),
        "cart_value": pa.array([12.5] * n),
    }), os.path.join(HERE, "bad", "carts-placeholder.parquet"), row_group_size=5)
    # carts: updated_at as integers (Unix seconds) and no [columns] epochs.
    pq.write_table(pa.table({
        "customer_id": pa.array([f"c{i}" for i in range(n)]),
        "cart_id": pa.array([f"k{i}" for i in range(n)]),
        "updated_at": pa.array([T0 + i * 3600 for i in range(n)], pa.int64()),
        "cart_value": pa.array([12.5] * n),
    }), os.path.join(HERE, "bad", "carts-epochs.parquet"), row_group_size=5)


def columnar():
    d = os.path.join(HERE, "columnar")
    os.makedirs(d, exist_ok=True)
    n = 23
    berlin = dt.timezone(dt.timedelta(hours=1))  # January: CET, UTC+1
    upd_s = [T0 + 86400 * (i % 20) + 3600 * i for i in range(n)]
    created_ns = [None if i % 4 == 0 else (upd_s[i] - 600) * 10**9 + 123456789 for i in range(n)]
    devices = [None if i % 6 == 5 else DEVICES[i % 3] for i in range(n)]
    steps = [" payment " if i % 5 == 0 else STEPS[i % 4] for i in range(n)]
    values = [12.5 + 0.25 * i for i in range(n)]
    items = [None if i % 7 == 3 else 1 + i % 5 for i in range(n)]
    table = pa.table({
        "customer_id": pa.array([f"cus_{i % 9:04d}" for i in range(n)], pa.large_string()),
        "cart_id": pa.array([f"cart_{i:05d}_with_a_long_name" for i in range(n)], pa.large_string()),
        "sku_count": pa.array([i for i in range(n)], pa.int16()),
        "updated_at": pa.array(
            [dt.datetime.fromtimestamp(t, berlin) for t in upd_s], pa.timestamp("s", tz="Europe/Berlin")),
        "created_at": pa.array(created_ns, pa.timestamp("ns")),
        "note": pa.array([f"note {i}" for i in range(n)]),
        "cart_value": pa.array(values, pa.float32()),
        "item_count": pa.array(items, pa.int16()),
        "is_test": pa.array([i % 2 == 0 for i in range(n)]),
        "device": pa.array(devices, pa.string()).dictionary_encode(),
        "checkout_step": pa.array(steps),
        "exported_at": pa.array([T0 * 10**6] * n, pa.timestamp("us", tz="UTC")),
    })
    pq.write_table(table, os.path.join(d, "carts-wide.parquet"), row_group_size=5)
    with open(os.path.join(d, "carts-wide.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["customer_id", "cart_id", "created_at", "updated_at", "cart_value",
                    "item_count", "device", "checkout_step"])
        for i in range(n):
            created = "" if created_ns[i] is None else rfc3339((upd_s[i] - 600) * 10**6 + 123456)
            w.writerow([f"cus_{i % 9:04d}", f"cart_{i:05d}_with_a_long_name", created,
                        rfc3339(upd_s[i] * 10**6), repr(values[i]),
                        "" if items[i] is None else items[i], devices[i] or "", steps[i]])
    m = 15
    devices = [DEVICES[i % 3] for i in range(m)]
    devices[10] = "phone"
    items = [1 + i % 4 for i in range(m)]
    items[12] = -2
    values = [20.0 + i for i in range(m)]
    values[14] = None
    pq.write_table(pa.table({
        "customer_id": pa.array([f"c{i}" for i in range(m)]),
        "cart_id": pa.array([f"k{i}" for i in range(m)]),
        "updated_at": pa.array([(T0 + i * 3600) * 10**6 for i in range(m)], pa.timestamp("us", tz="UTC")),
        "cart_value": pa.array(values, pa.float64()),
        "item_count": pa.array(items, pa.int32()),
        "device": pa.array(devices),
    }), os.path.join(d, "carts-bad.parquet"), row_group_size=5)


if __name__ == "__main__":
    os.makedirs(os.path.join(HERE, "typed"), exist_ok=True)
    carts()
    orders()
    engagement()
    bad()
    columnar()
    with open(os.path.join(HERE, "typed", "cartsona.toml"), "w") as f:
        f.write("# engagement.occurred_at holds Unix milliseconds (both files)\n"
                "[columns]\nepochs = \"ms\"\n")
