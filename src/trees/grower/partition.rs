//! Stable partition of a leaf's rows by its split, on both workers for large leaves.

use rayon::prelude::*;

use super::super::binning::MISSING_BIN;

/// Rows per piece of a parallel partition; leaves under two pieces go serially.
const PIECE: usize = 8 * 1024;

/// Stable partition of `rows` by the split; returns the number of rows going left. A stable
/// partition is unique, so cutting the work into pieces cannot change the result: each piece
/// is partitioned on its own (in parallel), then the pieces' left parts are gathered in
/// order ahead of their right parts.
pub(super) fn partition(
    rows: &mut [u32],
    codes: &[u8],
    bin: u8,
    default_left: bool,
    scratch: &mut Vec<u32>,
) -> usize {
    if rows.len() < 2 * PIECE {
        return partition_serial(rows, codes, bin, default_left, scratch);
    }
    let lefts: Vec<usize> = rows
        .par_chunks_mut(PIECE)
        .map_init(Vec::new, |s, piece| {
            partition_serial(piece, codes, bin, default_left, s)
        })
        .collect();
    scratch.clear();
    scratch.resize(rows.len(), 0);
    let n_left: usize = lefts.iter().sum();
    let (mut l, mut r) = (0, n_left);
    for (piece, &k) in rows.chunks(PIECE).zip(&lefts) {
        scratch[l..l + k].copy_from_slice(&piece[..k]);
        scratch[r..r + piece.len() - k].copy_from_slice(&piece[k..]);
        l += k;
        r += piece.len() - k;
    }
    rows.copy_from_slice(scratch);
    n_left
}

/// Stable partition of `rows` by the split; returns the number of rows going left.
/// Branch-free: which side a row goes is a coin toss to the CPU, and a mispredicted branch
/// per row cost more than writing every row to both sides.
fn partition_serial(
    rows: &mut [u32],
    codes: &[u8],
    bin: u8,
    default_left: bool,
    scratch: &mut Vec<u32>,
) -> usize {
    scratch.clear();
    scratch.resize(rows.len(), 0);
    let (mut n_left, mut n_right) = (0, 0);
    for i in 0..rows.len() {
        let r = rows[i];
        let code = codes[r as usize];
        // Codes 1..=bin go left; the missing code 0 wraps to 255 and never passes.
        let left = (code.wrapping_sub(1) < bin) | ((code == MISSING_BIN) & default_left);
        rows[n_left] = r;
        scratch[n_right] = r;
        n_left += usize::from(left);
        n_right += usize::from(!left);
    }
    rows[n_left..].copy_from_slice(&scratch[..n_right]);
    n_left
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_partition_like_one_pass() {
        let n = 5 * PIECE + 123;
        let codes: Vec<u8> = (0..n).map(|i| (i * 7919 % 251) as u8).collect();
        for (bin, default_left) in [(0, true), (100, false), (100, true), (250, false)] {
            let mut rows: Vec<u32> = (0..n as u32).rev().collect();
            let mut want = rows.clone();
            let mut scratch = Vec::new();
            let k = partition(&mut rows, &codes, bin, default_left, &mut scratch);
            let k_want = partition_serial(&mut want, &codes, bin, default_left, &mut scratch);
            assert_eq!((k, &rows), (k_want, &want));
        }
    }
}
