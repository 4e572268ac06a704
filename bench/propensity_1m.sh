#!/bin/bash
# Issue 20's 1M-shopper figure (bench/RESULTS.md, "Issue 20"): a 1M-shopper, seven-month CSV shop
# keeping only month 7's files (which hold every month; all seven folders are about 33 GB): a
# watcher deletes month k's files from the staging directory once month k+1 has started. Then
# bench/propensity.py on it. Run from the repository's root after `cargo build --release`.
set -e
W=bench/work; SHOP=$W/shop7-1000000-csv
rm -rf "$SHOP" "$W"/.shop7-1000000-csv.partial-*
( while true; do
    for d in "$W"/.shop7-1000000-csv.partial-*; do
      [ -d "$d" ] || continue
      for k in 1 2 3 4 5 6; do
        if [ -d "$d/month-$((k+1))" ]; then rm -f "$d/month-$k/"*.csv; fi
      done
    done
    [ -f "$SHOP/generate.json" ] && break
    sleep 5
  done ) &
WATCHER=$!
/usr/bin/time -f "generate %e s %M KB" env RAYON_NUM_THREADS=2 target/release/cartsona generate \
    --shoppers 1000000 --months 7 --quiet --force --out "$SHOP"
wait $WATCHER
du -sh "$SHOP"
python3 bench/propensity.py --shoppers 1000000 --rounds 3
