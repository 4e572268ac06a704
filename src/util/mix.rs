//! Seed mixing for random streams: the splitmix64 finaliser, which spreads neighbouring seeds
//! (shopper i and i + 1, resample b and b + 1) into unrelated ones. Shared by the generator's
//! per-shopper streams and the readout's per-resample streams.

/// The splitmix64 finaliser of `z`.
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
