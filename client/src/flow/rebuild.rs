//! From released shares to a key that opens the record: any `threshold` honest shares
//! do, whatever the others say, and a share that does not fit the key is named.

use super::{FlowError, Result};
use crate::RecordKey;
use medconsent_keyrelease::shamir::{self, Share};

/// What rebuilding the key took: how many shares, and which of the others (indices into
/// the shares given) do not fit the key that opened the record.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Rebuilt {
    pub used: usize,
    pub misfits: Vec<usize>,
}

/// Rebuilds the key from `threshold` of `shares` and hands it to `open`, trying other
/// subsets while the key does not decrypt: any `threshold` honest shares rebuild it, so
/// one lying server's share costs tries, not the read. Once a key opens (the AEAD vouches
/// for it), every share left out is checked against it: one that, with `threshold - 1` of
/// the good ones, rebuilds another key (or none) came from a server that lied.
pub(super) fn open_with_shares(
    shares: &[Share],
    threshold: u8,
    mut open: impl FnMut(&RecordKey) -> crate::Result<()>,
) -> Result<Rebuilt> {
    let t = usize::from(threshold);
    for subset in subsets(shares.len(), t) {
        let chosen: Vec<Share> = subset.iter().map(|&i| shares[i].clone()).collect();
        // A lying server can claim another's index (or 0): that subset rebuilds nothing,
        // the others still may.
        let Ok(key) = shamir::combine(&chosen, threshold) else {
            continue;
        };
        match open(&key) {
            Ok(()) => {
                let misfits = (0..shares.len())
                    .filter(|i| !subset.contains(i))
                    .filter(|&i| {
                        let mut probe = chosen[..t.saturating_sub(1)].to_vec();
                        probe.push(shares[i].clone());
                        shamir::combine(&probe, threshold).map_or(true, |other| *other != *key)
                    })
                    .collect();
                return Ok(Rebuilt {
                    used: chosen.len(),
                    misfits,
                });
            }
            Err(crate::Error::DecryptionFailed) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(FlowError::SharesDisagree)
}

/// Index sets of size `k` out of `0..n`, in lexicographic order.
fn subsets(n: usize, k: usize) -> Vec<Vec<usize>> {
    let mut all = Vec::new();
    let mut current = Vec::with_capacity(k);
    fn walk(start: usize, n: usize, k: usize, current: &mut Vec<usize>, all: &mut Vec<Vec<usize>>) {
        if current.len() == k {
            all.push(current.clone());
            return;
        }
        for i in start..n {
            current.push(i);
            walk(i.saturating_add(1), n, k, current, all);
            current.pop();
        }
    }
    walk(0, n, k, &mut current, &mut all);
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subsets_cover_every_choice_once() {
        assert_eq!(subsets(3, 2), vec![vec![0, 1], vec![0, 2], vec![1, 2]]);
        assert_eq!(subsets(4, 4), vec![vec![0, 1, 2, 3]]);
        assert!(subsets(1, 2).is_empty());
    }

    const KEY: [u8; 32] = [0x42; 32];

    /// Three 2-of-3 shares of `KEY`.
    fn honest_shares() -> Vec<Share> {
        shamir::split(&KEY, 2, 3, &mut rand_core::OsRng).unwrap()
    }

    /// Opens with `shares` as a read does, where only `KEY` decrypts (as with
    /// `open_verified`): what was rebuilt, and how many keys were tried.
    fn rebuild(shares: &[Share]) -> (Result<Rebuilt>, usize) {
        let mut tries = 0;
        let rebuilt = open_with_shares(shares, 2, |candidate| {
            tries += 1;
            if **candidate == KEY {
                Ok(())
            } else {
                Err(crate::Error::DecryptionFailed)
            }
        });
        (rebuilt, tries)
    }

    fn two_used(misfits: Vec<usize>) -> Rebuilt {
        Rebuilt { used: 2, misfits }
    }

    #[test]
    fn a_lying_servers_share_costs_tries_not_the_read() {
        let mut shares = honest_shares();
        // The first server lies about its share.
        shares[0].value[5] ^= 0x80;
        let (rebuilt, tries) = rebuild(&shares);
        assert_eq!(rebuilt.unwrap(), two_used(vec![0]));
        // {0,1} and {0,2} fail, {1,2} opens.
        assert_eq!(tries, 3);
    }

    #[test]
    fn a_lying_share_not_needed_is_still_named_and_an_honest_one_never() {
        let honest = honest_shares();
        assert_eq!(rebuild(&honest).0.unwrap(), two_used(vec![]));
        // The last server lies: {0,1} opens at once, and its share is found out.
        let mut shares = honest.clone();
        shares[2].value[9] ^= 0x01;
        let (rebuilt, tries) = rebuild(&shares);
        assert_eq!(rebuilt.unwrap(), two_used(vec![2]));
        assert_eq!(tries, 1);
    }

    #[test]
    fn a_server_claiming_another_index_costs_tries_not_the_read() {
        let honest = honest_shares();
        for (claimed, expected_tries) in [(honest[1].index, 2), (0, 1)] {
            // The first server answers with another server's index (or 0), which no
            // Lagrange basis can take: that subset is skipped, not the whole read.
            let mut shares = honest.clone();
            shares[0].index = claimed;
            let (rebuilt, tries) = rebuild(&shares);
            assert_eq!(rebuilt.unwrap(), two_used(vec![0]), "index {claimed}");
            // Index 2: {0,1} cannot be combined, {0,2} decrypts wrong, {1,2} opens. Index
            // 0: neither subset with share 0 can be combined, {1,2} opens.
            assert_eq!(tries, expected_tries, "index {claimed}");
        }
    }

    #[test]
    fn shares_that_never_decrypt_are_an_error_not_a_wrong_key() {
        let mut shares = honest_shares();
        shares[0].value[0] ^= 1;
        shares[1].value[0] ^= 1;
        let (rebuilt, tries) = rebuild(&shares);
        assert!(matches!(rebuilt, Err(FlowError::SharesDisagree)));
        assert_eq!(tries, 3);
        // One share alone rebuilds nothing.
        let (rebuilt, tries) = rebuild(&shares[2..]);
        assert!(matches!(rebuilt, Err(FlowError::SharesDisagree)));
        assert_eq!(tries, 0);
    }
}
