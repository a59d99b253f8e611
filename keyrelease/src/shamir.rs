//! Shamir's secret sharing of a 32-byte record key over GF(2^8) (the AES field,
//! x^8 + x^4 + x^3 + x + 1): each byte of the key is the constant term of its own random
//! polynomial of degree t-1, and share i holds every polynomial's value at x = i. Any t
//! shares give the key back by Lagrange interpolation at 0; fewer than t are uniformly
//! distributed whatever the key, so they say nothing about it.
//!
//! Field arithmetic is branch-free on secret data (no lookup tables indexed by it).

use rand_core::{CryptoRng, RngCore};
use zeroize::{Zeroize, Zeroizing};

/// Bytes of a record key, and of every share's value.
pub const KEY_LEN: usize = 32;

/// One server's share: its x coordinate (1..=n, never 0: 0 is where the key is) and the
/// polynomials' values there.
#[derive(Clone, PartialEq, Eq, Zeroize)]
#[zeroize(drop)]
pub struct Share {
    pub index: u8,
    pub value: [u8; KEY_LEN],
}

impl core::fmt::Debug for Share {
    // A share is secret material: its value is never printed.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Share")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ShamirError {
    #[error("the threshold must be at least 2 and at most the number of shares ({shares}), got {threshold}")]
    BadThreshold { threshold: u8, shares: u8 },
    #[error("{got} distinct shares given, {needed} needed")]
    TooFewShares { got: usize, needed: u8 },
    #[error("share index {0} is not usable (0, or given twice)")]
    BadIndex(u8),
}

/// Splits `key` into `shares` shares, any `threshold` of which recover it.
pub fn split(
    key: &[u8; KEY_LEN],
    threshold: u8,
    shares: u8,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<Vec<Share>, ShamirError> {
    if threshold < 2 || threshold > shares {
        return Err(ShamirError::BadThreshold { threshold, shares });
    }
    // coefficients[k][b]: coefficient of x^k of byte b's polynomial; [0] is the key.
    let mut coefficients = Zeroizing::new(vec![[0u8; KEY_LEN]; usize::from(threshold)]);
    coefficients[0] = *key;
    for row in coefficients.iter_mut().skip(1) {
        rng.fill_bytes(row);
    }
    Ok((1..=shares)
        .map(|index| {
            let mut value = [0u8; KEY_LEN];
            for (b, out) in value.iter_mut().enumerate() {
                // Horner's rule from the highest coefficient down.
                *out = coefficients
                    .iter()
                    .rev()
                    .fold(0, |acc, row| mul(acc, index) ^ row[b]);
            }
            Share { index, value }
        })
        .collect())
}

/// Recovers the key from at least `threshold` shares (the first `threshold` distinct
/// ones are used). Shares of another key, or altered ones, give a wrong key: the caller
/// checks what it decrypts (the record's content hash and AEAD tag do).
pub fn combine(shares: &[Share], threshold: u8) -> Result<Zeroizing<[u8; KEY_LEN]>, ShamirError> {
    if threshold < 2 {
        let given = u8::try_from(shares.len()).unwrap_or(u8::MAX);
        return Err(ShamirError::BadThreshold {
            threshold,
            shares: given,
        });
    }
    let mut used: Vec<&Share> = Vec::with_capacity(usize::from(threshold));
    for share in shares {
        if share.index == 0 || used.iter().any(|s| s.index == share.index) {
            return Err(ShamirError::BadIndex(share.index));
        }
        if used.len() < usize::from(threshold) {
            used.push(share);
        }
    }
    if used.len() < usize::from(threshold) {
        return Err(ShamirError::TooFewShares {
            got: used.len(),
            needed: threshold,
        });
    }
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    for (j, share) in used.iter().enumerate() {
        // Lagrange basis polynomial j at 0: prod over m != j of x_m / (x_m - x_j), and
        // subtraction is xor in GF(2^8).
        let mut basis = 1u8;
        for (m, other) in used.iter().enumerate() {
            if m != j {
                basis = mul(basis, mul(other.index, inverse(other.index ^ share.index)));
            }
        }
        for (out, byte) in key.iter_mut().zip(share.value) {
            *out ^= mul(basis, byte);
        }
    }
    Ok(key)
}

/// Product in GF(2^8), in constant time (eight rounds whatever the operands).
fn mul(mut a: u8, mut b: u8) -> u8 {
    let mut product = 0u8;
    for _ in 0..8 {
        product ^= a & 0u8.wrapping_sub(b & 1);
        let carry = 0u8.wrapping_sub(a >> 7);
        a = (a << 1) ^ (0x1b & carry);
        b >>= 1;
    }
    product
}

/// Multiplicative inverse (a^254; 0 maps to 0, which `combine` never asks for).
fn inverse(a: u8) -> u8 {
    let mut result = 1u8;
    let mut power = a;
    let mut exponent = 254u8;
    while exponent > 0 {
        if exponent & 1 == 1 {
            result = mul(result, power);
        }
        power = mul(power, power);
        exponent >>= 1;
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::OsRng;

    fn key() -> [u8; KEY_LEN] {
        core::array::from_fn(|i| u8::try_from(i).unwrap().wrapping_mul(37).wrapping_add(11))
    }

    #[test]
    fn field_arithmetic_matches_the_aes_field() {
        // FIPS-197 section 4.2: {57} x {83} = {c1}, {57} x {13} = {fe}.
        assert_eq!(mul(0x57, 0x83), 0xc1);
        assert_eq!(mul(0x57, 0x13), 0xfe);
        for a in 1..=255u8 {
            assert_eq!(mul(a, inverse(a)), 1, "inverse of {a:#04x}");
            assert_eq!(mul(a, 1), a);
            assert_eq!(mul(a, 0), 0);
        }
    }

    #[test]
    fn every_threshold_subset_recovers_the_key() {
        let key = key();
        for (threshold, n) in [(2u8, 3u8), (3, 5), (2, 2), (5, 5)] {
            let shares = split(&key, threshold, n, &mut OsRng).unwrap();
            assert_eq!(shares.len(), usize::from(n));
            assert!(
                shares.iter().all(|s| s.value != key),
                "a share is not the key"
            );
            // Every subset of exactly `threshold` shares, in every order it comes in.
            for mask in 0u32..(1 << n) {
                if mask.count_ones() != u32::from(threshold) {
                    continue;
                }
                let mut subset: Vec<Share> = shares
                    .iter()
                    .filter(|s| mask & (1 << (s.index - 1)) != 0)
                    .cloned()
                    .collect();
                assert_eq!(*combine(&subset, threshold).unwrap(), key, "{mask:b}");
                subset.reverse();
                assert_eq!(
                    *combine(&subset, threshold).unwrap(),
                    key,
                    "{mask:b} reversed"
                );
            }
        }
    }

    #[test]
    fn fewer_than_threshold_shares_say_nothing_about_the_key() {
        // 2 of 3: one share, byte by byte, is key + a * x for a uniform a, x != 0. For
        // any share value seen, every key byte is explained by exactly one coefficient:
        // the share is equally likely under every key.
        for x in 1..=3u8 {
            for seen in 0..=255u8 {
                for k in 0..=255u8 {
                    let coefficients = (0..=255u8).filter(|&a| k ^ mul(a, x) == seen).count();
                    assert_eq!(coefficients, 1, "x={x} seen={seen} key byte={k}");
                }
            }
        }
        // And combining fewer than the threshold is refused rather than guessed.
        let shares = split(&key(), 3, 5, &mut OsRng).unwrap();
        assert_eq!(
            combine(&shares[..2], 3).unwrap_err(),
            ShamirError::TooFewShares { got: 2, needed: 3 }
        );
    }

    #[test]
    fn bad_parameters_and_shares_are_refused() {
        let key = key();
        for (threshold, n) in [(0u8, 3u8), (1, 3), (4, 3)] {
            assert_eq!(
                split(&key, threshold, n, &mut OsRng).unwrap_err(),
                ShamirError::BadThreshold {
                    threshold,
                    shares: n
                }
            );
        }
        let shares = split(&key, 2, 3, &mut OsRng).unwrap();
        // A threshold of one would make a single share the key: never combined.
        assert_eq!(
            combine(&shares, 1).unwrap_err(),
            ShamirError::BadThreshold {
                threshold: 1,
                shares: 3
            }
        );
        let twice = vec![shares[0].clone(), shares[0].clone()];
        assert_eq!(combine(&twice, 2).unwrap_err(), ShamirError::BadIndex(1));
        let mut zero = shares[1].clone();
        zero.index = 0;
        assert_eq!(
            combine(&[shares[0].clone(), zero], 2).unwrap_err(),
            ShamirError::BadIndex(0)
        );
        // An altered share gives another key, never the right one.
        let mut altered = shares[1].clone();
        altered.value[0] ^= 1;
        assert_ne!(*combine(&[shares[0].clone(), altered], 2).unwrap(), key);
        // The debug form never shows a share's value.
        assert_eq!(format!("{:?}", shares[0]), "Share { index: 1, .. }");
    }
}
