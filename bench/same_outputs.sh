#!/usr/bin/env bash
# Every writing command on sample-data and on a generated 20,000-shopper shop with --holdout and
# seven months of returns, into one directory; run it with the binary before and after a change
# and compare the two directories with `diff -r` (issue 34: "outputs byte-identical").
#
#   bench/same_outputs.sh BINARY OUT_DIR
#
# Each command's stderr and exit code go to OUT_DIR/messages/ (messages may change on purpose:
# compare them separately). Needs about 1 GB of disk and a few minutes with a release binary.
set -u
BIN=$(realpath "$1")
OUT=$2
rm -rf "$OUT"
mkdir -p "$OUT/messages"
OUT=$(realpath "$OUT")
cd "$(dirname "$0")/.."
S=sample-data
step() { # name, command...
    local name=$1
    shift
    (cd "$OUT/work" && "$BIN" "$@" >"$OUT/messages/$name.stdout" 2>"$OUT/messages/$name.stderr")
    echo "$?" >"$OUT/messages/$name.exit"
}
mkdir -p "$OUT/work"
cp -r "$S" "$OUT/work/sample-data"
cp -r tests/data/real "$OUT/work/real"
cd "$OUT/work"
SI="--carts sample-data/carts.csv --orders sample-data/orders.csv --engagement sample-data/engagement.csv"

step validate validate $SI --json
step segment segment $SI --out runs/sample
step segment-holdout segment $SI --holdout 0.2 --as-of 2025-02-01 --out runs/2025-01 --format parquet
step features-csv features $SI --out features/sample.csv
step features-parquet features $SI --out features-parquet/sample.parquet
step features-sql features --emit-sql duckdb --as-of 2025-02-01 --out sql/features.sql
step features-model-sql features --emit-sql postgres --as-of 2025-02-01 --model runs/sample/model.json --out sql/model.sql
step assign assign --model runs/sample/model.json $SI --out runs/assigned
step assign-sql assign --model runs/sample/model.json --emit-sql duckdb --out runs/assign.sql
step outcomes outcomes --run runs/2025-01 --orders sample-data/next/orders.csv \
    --touches sample-data/next/touches.csv --out outcomes/2025-01
step segment-outcomes segment $SI --baseline runs/2025-01 --outcomes outcomes/2025-01 --out runs/2025-02
step drift drift --baseline runs/2025-01 --current runs/2025-02 --out drift/sample
step init init --out init/cartsona.toml
step init-rees46 init --preset rees46 --out init/rees46.toml
step convert convert --preset rees46 --events real/rees46-2019-10-01-head.csv --out converted/rees46
cat > settings.toml <<'TOML'
[inputs]
carts = "sample-data/carts.csv"
orders = "sample-data/orders.csv"
engagement = "sample-data/engagement.csv"
[features]
as_of = "2025-02-01"
lookback = "30d"
[segment]
k_min = 3
k_max = 5
restarts = 8
stability_resamples = 10
[holdout]
share = 0.25
salt = "other"
[propensity]
window = "7d"
c = 0.5
[outcomes]
window = "6d"
max_contamination = 0.05
[drift]
stayed_warn = 0.7
TOML
step config-segment --config settings.toml segment --out runs/config
step config-outcomes --config settings.toml outcomes --run runs/config --orders sample-data/next/orders.csv \
    --touches sample-data/next/touches.csv --out outcomes/config
step config-drift --config settings.toml drift --baseline runs/sample --current runs/config --allow-feature-change --out drift/config
step segment-rees46 segment --preset rees46 --events real/rees46-2019-10-01-head.csv \
    --abandon-after 10m --out runs/rees46

# The generated shop: 20,000 shoppers, 7 months, returns, a 0.3 holdout.
step generate generate --shoppers 20000 --seed 5 --months 7 --returns --holdout 0.3 --out shop
G() { echo "--carts shop/month-$1/carts.csv --orders shop/month-$1/orders.csv --engagement shop/month-$1/engagement.csv"; }
step shop-m6 segment $(G 6) --holdout 0.3 --out runs/shop-6
step shop-m7 segment $(G 7) --baseline runs/shop-6 --out runs/shop-7
step shop-outcomes outcomes --run runs/shop-7 --orders shop/next/orders.csv \
    --touches shop/next/touches.csv --out outcomes/shop-7
step shop-drift drift --baseline runs/shop-6 --current runs/shop-7 --out drift/shop
step shop-assign assign --model runs/shop-6/model.json $(G 7) --out runs/shop-assigned
step shop-features features $(G 7) --out features/shop-7.csv
step shop-m7-outcomes segment $(G 7) --baseline runs/shop-6 --outcomes outcomes/shop-7 --out runs/shop-7b
# The generator's own files are outputs too; the inputs copied in are not.
rm -rf sample-data real
