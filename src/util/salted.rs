//! Salted hashes of ids that any system can recompute (docs/outcomes.md "Holdout arms",
//! docs/propensity.md "Sampling"): the first 8 bytes of SHA-256(`salt:id`) as a big-endian
//! integer, compared with a share of 2^64 to put an id in or out of a group.

use sha2::{Digest, Sha256};

/// The salt a run asked for, else the one it inherits, else `default`.
pub fn salt_or(asked: &Option<String>, inherited: Option<&str>, default: &str) -> String {
    asked
        .as_deref()
        .or(inherited)
        .unwrap_or(default)
        .to_string()
}

/// ceil(share × 2^64), the threshold below which a hash prefix falls in a group of `share`;
/// `share` below 1, so it fits in 64 bits. share × 2^64 is exact in floating point (a
/// power-of-two scaling), so the ceiling is too.
pub fn threshold(share: f64) -> u64 {
    (share * 2f64.powi(64)).ceil() as u64
}

/// The big-endian integer of the first 8 bytes of SHA-256(`salt:id`).
pub fn hash_prefix(salt: &str, id: &str) -> u64 {
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update(b":");
    h.update(id.as_bytes());
    let digest = h.finalize();
    u64::from_be_bytes(digest[..8].try_into().expect("32 bytes"))
}
