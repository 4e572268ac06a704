#!/bin/bash
# Issue 33's 100M-row figures (bench/RESULTS.md, "Issue 33 (part 5)"; issue 19's shop): peak
# memory and wall of `segment` on 100.6M rows from Parquet, BIN and BASELINE alternated ROUNDS
# times, 2 threads, then whether their outputs are byte-identical (summary.json differs when one
# build reports a key the other does not, like 06ad026's stability_resamples_drawn). The shop (1.2 GB of Parquet,
# about 6 minutes to generate) is made once into bench/work/big/shop.
# Usage, from the repository's root: bench/memory_100m.sh BIN BASELINE [ROUNDS, default 2]
set -euo pipefail
BIN=$1; BASE=$2; ROUNDS=${3:-2}
W=bench/work/big; SHOP=$W/shop
export RAYON_NUM_THREADS=2 POLARS_MAX_THREADS=2
if [ ! -f "$SHOP/generate.json" ]; then
  /usr/bin/time -f "generate %e s %M KB" "$BIN" -q generate --shoppers 6000000 --seed 1 \
      --format parquet --out "$SHOP" --force
fi
run() { # NAME BINARY
  /usr/bin/time -f "$1 %e s %M KB" "$2" -q segment --carts "$SHOP/carts.parquet" \
      --orders "$SHOP/orders.parquet" --engagement "$SHOP/engagement.parquet" \
      --out "$W/run-$1" --force
}
for r in $(seq "$ROUNDS"); do
  run new "$BIN"
  run baseline "$BASE"
done
for f in "$W"/run-new/*; do
  n=$(basename "$f")
  if cmp -s "$f" "$W/run-baseline/$n"; then echo "same $n"; else echo "DIFFERENT $n"; fi
done
