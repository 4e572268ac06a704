//! The order ids read so far, by their 128-bit hash: where each was first seen and a hash of its
//! contents. In: one id hash per order row, in file order; out: for each, nothing (first sight,
//! now recorded) or the first sighting (a repeat, identical or conflicting: `load` decides).
//!
//! Hand-written (issue 33) where a `std::collections::HashMap` served before: recording the
//! order ids is part of the serial commit, and on the 6.2M-row bench month it was most of the
//! commit of the orders file; almost every id is new, so each insert missed the cache twice (the
//! table's control bytes, then the bucket), one after the other, and `validate` of carts and
//! orders went 0.75 s -> 0.55 s with the table left out. No map crate lets a caller ask for an
//! id's slot ahead of the insert, so the commit could not overlap those misses; this table's slot
//! is a plain index, and [`SeenIds::warm`] reads the slots of a few dozen rows before they are
//! committed, so their misses overlap. The keys are hashes already (XXH3-128): a key's low bits
//! are its home slot, with linear probing in a table at most three quarters full (a table sized
//! for 16.4M orders, issue 19's 100M-row shop, takes 1.07 GB; `HashMap` took 1.6 GB).
//!
//! A slot is four words: where the id was first seen (its file's index in the top 24 bits, its
//! line in the low 40; 0 marks an empty slot, as no line is 0), the contents' hash and the id's
//! hash (low word, high word).

/// The lines a slot can name: 40 bits (a file of more than a trillion rows is not read).
const LINE_BITS: u32 = 40;
/// Order files, at most: 2^24 (`at` keeps the file's index above the line).
pub const MAX_FILES: usize = 1 << (64 - LINE_BITS);

/// Where and how an order id was first seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirstSeen {
    /// Index of its file among the order files read.
    pub file: u32,
    pub line: u64,
    /// The 64-bit hash of the order's contents.
    pub fingerprint: u64,
}

#[derive(Default)]
pub struct SeenIds {
    /// A power of two of slots (or none), at most three quarters of them taken.
    slots: Vec<[u64; 4]>,
    len: usize,
}

impl SeenIds {
    /// Room for `n` more ids without growing.
    pub fn reserve(&mut self, n: usize) {
        let want = room(self.len + n);
        if want > self.slots.len() {
            self.rebuild(want);
        }
    }

    /// The first sighting of `id`, or `None` after recording this one as its first.
    pub fn first_or_insert(&mut self, id: u128, seen: FirstSeen) -> Option<FirstSeen> {
        assert!(
            seen.line > 0 && seen.line < 1 << LINE_BITS && (seen.file as usize) < MAX_FILES,
            "an order's place fits its slot"
        );
        if room(self.len + 1) > self.slots.len() {
            self.rebuild(room(self.len + 1).max(16));
        }
        let (lo, hi) = (id as u64, (id >> 64) as u64);
        let mask = self.slots.len() - 1;
        let mut i = lo as usize & mask;
        loop {
            let slot = &mut self.slots[i];
            if slot[0] == 0 {
                *slot = [
                    u64::from(seen.file) << LINE_BITS | seen.line,
                    seen.fingerprint,
                    lo,
                    hi,
                ];
                self.len += 1;
                return None;
            }
            if slot[2] == lo && slot[3] == hi {
                return Some(FirstSeen {
                    file: (slot[0] >> LINE_BITS) as u32,
                    line: slot[0] & ((1 << LINE_BITS) - 1),
                    fingerprint: slot[1],
                });
            }
            i = (i + 1) & mask;
        }
    }

    /// Reads the home slots of `ids` (both ends: a slot may straddle two cache lines) in one
    /// tight loop, so that their cache misses overlap, and a [`SeenIds::first_or_insert`] of
    /// each soon after finds its slot in the cache. Changes nothing. (A load of one id a few rows
    /// ahead of its insert did not help: a load, unlike a prefetch, holds up the instructions
    /// after it until it completes, and prefetch instructions need `unsafe`.)
    pub fn warm(&self, ids: &[u128]) {
        let mask = self.slots.len().wrapping_sub(1);
        let mut touched = 0u64;
        for &id in ids {
            if let Some(slot) = self.slots.get(id as u64 as usize & mask) {
                touched ^= slot[0] ^ slot[3];
            }
        }
        std::hint::black_box(touched);
    }

    /// The same ids in `cap` slots.
    fn rebuild(&mut self, cap: usize) {
        // Zeros written, not asked of the allocator: untouched zeroed pages are the kernel's one
        // shared zero page, so [`SeenIds::warm`]'s read and then the insert's write of the same
        // page cost two faults and a TLB shootdown across the cores (10% of reading an orders
        // file when tried).
        let mut slots = Vec::with_capacity(cap);
        slots.resize(cap, [0u64; 4]);
        let old = std::mem::replace(&mut self.slots, slots);
        let mask = cap - 1;
        for slot in old.into_iter().filter(|s| s[0] != 0) {
            let mut i = slot[2] as usize & mask;
            while self.slots[i][0] != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = slot;
        }
    }
}

/// Slots for `n` ids: the power of two at least 4/3 of `n`.
fn room(n: usize) -> usize {
    n.saturating_add(n.div_ceil(3)).next_power_of_two()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn at(file: u32, line: u64, fingerprint: u64) -> FirstSeen {
        FirstSeen {
            file,
            line,
            fingerprint,
        }
    }

    /// Against std's HashMap, with ids that share their low bits (so that they probe past one
    /// another), growing from empty and from a reserve, repeats at every distance.
    #[test]
    fn seen_ids_answer_as_a_hash_map_does() {
        for reserve in [0, 10, 5000] {
            let mut table = SeenIds::default();
            table.reserve(reserve);
            let mut map: HashMap<u128, FirstSeen> = HashMap::new();
            let mut state = 7u64;
            for line in 1..20_000u64 {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                // 3,000 distinct ids, half of them with the same low word.
                let n = u128::from((state >> 33) % 3000);
                let id = if n % 2 == 0 {
                    n << 64 | 5
                } else {
                    n * 0x9E37_79B9
                };
                let here = at((line % 3) as u32, line, state >> 1);
                table.warm(&[id, id ^ 1]);
                let want = match map.get(&id) {
                    Some(first) => Some(*first),
                    None => {
                        map.insert(id, here);
                        None
                    }
                };
                assert_eq!(table.first_or_insert(id, here), want, "line {line}");
            }
            assert_eq!(table.len, map.len());
            assert!(4 * table.len <= 3 * table.slots.len());
        }
    }

    #[test]
    fn a_slot_keeps_the_largest_file_and_line() {
        let mut table = SeenIds::default();
        let far = at((MAX_FILES - 1) as u32, (1 << LINE_BITS) - 1, u64::MAX);
        assert_eq!(table.first_or_insert(u128::MAX, far), None);
        assert_eq!(table.first_or_insert(u128::MAX, at(0, 1, 0)), Some(far));
        // An id hash of zero is an id like any other (emptiness is marked by the place).
        assert_eq!(table.first_or_insert(0, at(0, 1, 0)), None);
        assert_eq!(table.first_or_insert(0, at(1, 2, 3)), Some(at(0, 1, 0)));
    }
}
