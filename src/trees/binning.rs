//! Feature binning for histogram tree learners: every raw `f64` becomes a `u8` code once,
//! before training, so that split finding sums gradients over at most 256 bins instead of
//! sorting values at every node (the LightGBM and forust approach).
//!
//! Code [`MISSING_BIN`] (0) holds NaN; codes `1..=n_bins` hold the other values in ascending
//! order. A [`BinMapper`] is fitted per feature on the training data and stored with the
//! model, so validation data, test data and raw-value prediction all see the same bins.

use rand::rngs::StdRng;
use rand::SeedableRng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The code of a missing value (NaN).
pub const MISSING_BIN: u8 = 0;

/// The most non-missing bins a feature can have: codes `1..=255` fit a `u8` next to
/// [`MISSING_BIN`].
pub const MAX_BINS: usize = 255;

/// Above this many rows, [`BinnedData::fit`] chooses the bins from a seeded sample of this
/// many rows: quantiles of 200,000 values are already far finer than 255 bins need, and
/// sorting every row of a large table would dominate the cost of binning.
pub const BIN_SAMPLE_ROWS: usize = 200_000;

/// The bins of one feature: ascending, distinct upper bounds.
///
/// A non-NaN value `v` gets code `1 + #{t in thresholds : t < v}`, so code `b` covers
/// `(thresholds[b-2], thresholds[b-1]]` and the last code covers everything above the last
/// threshold. NaN gets [`MISSING_BIN`].
///
/// ```
/// use tenantml::trees::binning::BinMapper;
/// let m = BinMapper::fit(&[1.0, 2.0, 2.0, 3.0, f64::NAN], 255);
/// assert_eq!(m.thresholds(), &[1.5, 2.5]);
/// assert_eq!(m.n_bins(), 3);
/// assert_eq!([m.bin(f64::NAN), m.bin(1.0), m.bin(2.0), m.bin(9.0)], [0, 1, 2, 3]);
/// // A split "code <= 2" is the raw-value rule "v <= 2.5".
/// assert_eq!(m.upper_bound(2), 2.5);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawBinMapper")]
pub struct BinMapper {
    thresholds: Vec<f64>,
}

/// The serialised form of [`BinMapper`]; loading goes through [`BinMapper::from_thresholds`]
/// so a hand-edited or damaged model cannot carry unsorted or NaN thresholds.
#[derive(Deserialize)]
struct RawBinMapper {
    thresholds: Vec<f64>,
}

impl TryFrom<RawBinMapper> for BinMapper {
    type Error = Error;

    fn try_from(raw: RawBinMapper) -> Result<Self> {
        BinMapper::from_thresholds(raw.thresholds)
    }
}

impl BinMapper {
    /// Chooses at most `max_bins` bins for `values`. NaN values are ignored; `±inf` are
    /// ordinary values.
    ///
    /// With at most `max_bins` distinct values every value gets its own bin, split at the
    /// midpoints between neighbours. Otherwise the bins hold roughly equal numbers of values,
    /// and a value that alone holds more than `1/max_bins` of them gets a bin of its own (as
    /// long as there are enough bins to also give each run of values between such heavy
    /// values a bin). A constant or all-NaN feature gets a single bin.
    ///
    /// # Panics
    ///
    /// If `max_bins` is outside `2..=MAX_BINS`; [`BinnedData::fit`] checks this and returns an
    /// error instead.
    ///
    /// ```
    /// use tenantml::trees::binning::BinMapper;
    /// let values: Vec<f64> = (0..100).map(f64::from).collect();
    /// let m = BinMapper::fit(&values, 4);
    /// assert_eq!(m.thresholds(), &[24.5, 49.5, 74.5]);
    /// ```
    pub fn fit(values: &[f64], max_bins: usize) -> BinMapper {
        assert!(
            (2..=MAX_BINS).contains(&max_bins),
            "max_bins must be in 2..={MAX_BINS}, got {max_bins}"
        );
        // Sorting integer keys with the same order is about twice as fast as sorting f64 with
        // a comparison closure, and sorting is most of the cost of fitting.
        let mut keys: Vec<u64> = values
            .iter()
            .filter(|v| !v.is_nan())
            .map(|&v| order_key(v))
            .collect();
        keys.sort_unstable();
        let mut distinct: Vec<f64> = Vec::new();
        let mut counts: Vec<u64> = Vec::new();
        for v in keys.into_iter().map(from_order_key) {
            // `==` merges -0.0 (sorted right before 0.0) with 0.0, as `bin` does.
            match distinct.last() {
                Some(&last) if last == v => {
                    *counts.last_mut().expect("counts follow distinct") += 1
                }
                _ => {
                    distinct.push(v);
                    counts.push(1);
                }
            }
        }
        let cuts: Vec<usize> = if distinct.len() <= max_bins {
            (0..distinct.len().saturating_sub(1)).collect()
        } else {
            quantile_cuts(&counts, max_bins)
        };
        let thresholds: Vec<f64> = cuts
            .iter()
            .map(|&i| separator(distinct[i], distinct[i + 1]))
            .collect();
        debug_assert!(thresholds.windows(2).all(|w| w[0] < w[1]));
        BinMapper { thresholds }
    }

    /// A mapper with the given thresholds, as stored in a model file. They must be free of
    /// NaN, strictly ascending and at most `MAX_BINS - 1` (so every code fits a `u8`).
    ///
    /// ```
    /// use tenantml::trees::binning::BinMapper;
    /// let m = BinMapper::from_thresholds(vec![1.5, 2.5])?;
    /// assert_eq!(m.bin(2.0), 2);
    /// assert!(BinMapper::from_thresholds(vec![2.5, 1.5]).is_err());
    /// # Ok::<(), tenantml::Error>(())
    /// ```
    pub fn from_thresholds(thresholds: Vec<f64>) -> Result<BinMapper> {
        if thresholds.len() > MAX_BINS - 1 {
            return Err(Error::InvalidArgument(format!(
                "bin thresholds: expected at most {} (for {MAX_BINS} bins), got {}",
                MAX_BINS - 1,
                thresholds.len()
            )));
        }
        if let Some(i) = thresholds.iter().position(|t| t.is_nan()) {
            return Err(Error::InvalidArgument(format!(
                "bin thresholds: expected no NaN, got NaN at index {i}"
            )));
        }
        if let Some(i) = thresholds.windows(2).position(|w| w[0] >= w[1]) {
            return Err(Error::InvalidArgument(format!(
                "bin thresholds: expected strictly ascending values, got {} at index {} followed by {}",
                thresholds[i],
                i,
                thresholds[i + 1]
            )));
        }
        Ok(BinMapper { thresholds })
    }

    /// The ascending upper bounds of codes `1..n_bins`.
    ///
    /// ```
    /// use tenantml::trees::binning::BinMapper;
    /// assert_eq!(BinMapper::fit(&[5.0, 5.0], 255).thresholds(), &[] as &[f64]);
    /// ```
    pub fn thresholds(&self) -> &[f64] {
        &self.thresholds
    }

    /// The number of non-missing bins, `thresholds().len() + 1`: codes `1..=n_bins()` hold
    /// values, code [`MISSING_BIN`] holds NaN.
    ///
    /// ```
    /// use tenantml::trees::binning::BinMapper;
    /// assert_eq!(BinMapper::fit(&[f64::NAN], 255).n_bins(), 1);
    /// assert_eq!(BinMapper::fit(&[1.0, 2.0], 255).n_bins(), 2);
    /// ```
    pub fn n_bins(&self) -> usize {
        self.thresholds.len() + 1
    }

    /// The code of `v`: [`MISSING_BIN`] for NaN, otherwise `1 +` the number of thresholds
    /// below `v`.
    ///
    /// ```
    /// use tenantml::trees::binning::{BinMapper, MISSING_BIN};
    /// let m = BinMapper::from_thresholds(vec![1.5, 2.5])?;
    /// assert_eq!(m.bin(f64::NAN), MISSING_BIN);
    /// assert_eq!([m.bin(f64::NEG_INFINITY), m.bin(1.5), m.bin(1.6), m.bin(f64::INFINITY)], [1, 1, 2, 3]);
    /// # Ok::<(), tenantml::Error>(())
    /// ```
    #[inline]
    pub fn bin(&self, v: f64) -> u8 {
        if v.is_nan() {
            MISSING_BIN
        } else {
            // At most MAX_BINS - 1 thresholds (fit and from_thresholds ensure it): fits a u8.
            1 + self.thresholds.partition_point(|&t| t < v) as u8
        }
    }

    /// The largest value with a code of at most `code`: `thresholds()[code - 1]`, or `+inf`
    /// for the last code (and above). A split sending codes `<= b` left is the raw-value rule
    /// "go left iff `v <= upper_bound(b)`" for every non-NaN `v`.
    ///
    /// # Panics
    ///
    /// If `code` is [`MISSING_BIN`]: no raw-value rule sends only NaN left.
    ///
    /// ```
    /// use tenantml::trees::binning::BinMapper;
    /// let m = BinMapper::from_thresholds(vec![1.5, 2.5])?;
    /// assert_eq!([m.upper_bound(1), m.upper_bound(2), m.upper_bound(3)], [1.5, 2.5, f64::INFINITY]);
    /// # Ok::<(), tenantml::Error>(())
    /// ```
    pub fn upper_bound(&self, code: u8) -> f64 {
        assert!(
            code != MISSING_BIN,
            "upper_bound: code {MISSING_BIN} is the missing bin and has no upper bound; expected 1..={}",
            self.n_bins()
        );
        self.thresholds
            .get(code as usize - 1)
            .copied()
            .unwrap_or(f64::INFINITY)
    }

    fn bin_into(&self, values: &[f64], out: &mut [u8]) {
        for (o, &v) in out.iter_mut().zip(values) {
            *o = self.bin(v);
        }
    }
}

/// A `u64` whose unsigned order is the numeric order of non-NaN `v` (IEEE 754 total order):
/// negative values have their bits flipped, the others their sign bit set.
fn order_key(v: f64) -> u64 {
    let bits = v.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    }
}

/// The inverse of [`order_key`].
fn from_order_key(key: u64) -> f64 {
    f64::from_bits(if key >> 63 == 1 {
        key & !(1 << 63)
    } else {
        !key
    })
}

/// A threshold `t` with `lo <= t < hi` for distinct `lo < hi`: the midpoint when it is
/// representable strictly below `hi`, else `lo` itself. The fallback covers an infinite side
/// (the midpoint would be infinite or NaN), overflow of `lo + hi`, and neighbouring floats
/// whose midpoint rounds up to `hi`.
fn separator(lo: f64, hi: f64) -> f64 {
    let mid = lo / 2.0 + hi / 2.0;
    if lo <= mid && mid < hi {
        mid
    } else {
        lo
    }
}

/// Cut positions for more distinct values than bins: cut `i` separates distinct value `i`
/// from `i + 1`. `counts[i]` is how often distinct value `i` occurs. Returns at most
/// `max_bins - 1` ascending cuts.
///
/// The values split into pieces: each heavy value (more than `1/max_bins` of the total) is a
/// piece of its own, and each run of light values between them is one piece. Heavy pieces
/// take one bin each; the other bins go to the light pieces, one at a time to the piece whose
/// bins are currently the fullest, so bin sizes come out as equal as the pieces allow. Each
/// light piece is then cut at its own equal-frequency quantiles.
fn quantile_cuts(counts: &[u64], max_bins: usize) -> Vec<usize> {
    let total: u64 = counts.iter().sum();
    let heavy = |c: u64| u128::from(c) * max_bins as u128 > u128::from(total);

    struct Piece {
        start: usize,
        end: usize,
        heavy: bool,
        mass: u64,
        bins: usize,
    }
    let mut pieces: Vec<Piece> = Vec::new();
    for (i, &c) in counts.iter().enumerate() {
        let h = heavy(c);
        match pieces.last_mut() {
            Some(p) if !h && !p.heavy => {
                p.end = i + 1;
                p.mass += c;
            }
            _ => pieces.push(Piece {
                start: i,
                end: i + 1,
                heavy: h,
                mass: c,
                bins: 0,
            }),
        }
    }

    // Fewer than max_bins heavy values exist: max_bins of them would hold more than the total.
    let n_heavy = pieces.iter().filter(|p| p.heavy).count();
    let budget = max_bins - n_heavy;
    for p in pieces.iter_mut().filter(|p| p.heavy) {
        p.bins = 1;
    }
    let mut light: Vec<usize> = (0..pieces.len()).filter(|&i| !pieces[i].heavy).collect();
    if light.len() > budget {
        // Too many gaps between heavy values to give each its own bin: the lightest runs get
        // none (bins = 0) and share the bin of a neighbouring heavy value.
        light.sort_by_key(|&i| (pieces[i].mass, i));
        light.drain(..light.len() - budget);
        light.sort_unstable();
    }
    for &i in &light {
        pieces[i].bins = 1;
    }
    for _ in light.len()..budget {
        // The piece whose bins hold the most values per bin, among those with values left to
        // separate; fractions compared exactly, ties to the leftmost piece for determinism.
        let best = light
            .iter()
            .copied()
            .filter(|&i| pieces[i].bins < pieces[i].end - pieces[i].start)
            .reduce(|a, b| {
                let (pa, pb) = (&pieces[a], &pieces[b]);
                let lhs = u128::from(pb.mass) * pa.bins as u128;
                let rhs = u128::from(pa.mass) * pb.bins as u128;
                if lhs > rhs {
                    b
                } else {
                    a
                }
            });
        match best {
            Some(i) => pieces[i].bins += 1,
            None => break,
        }
    }

    let mut cuts = Vec::with_capacity(max_bins - 1);
    for (k, p) in pieces.iter().enumerate() {
        if p.bins > 1 {
            piece_cuts(&counts[p.start..p.end], p.bins, p.start, &mut cuts);
        }
        let Some(next) = pieces.get(k + 1) else { break };
        // A piece without bins joins the piece before it (the one after if it is first):
        // drop the cut on that side only, so each neighbour keeps its other boundary.
        let joins_next = p.bins == 0 && k == 0;
        let next_joins_me = next.bins == 0;
        if !joins_next && !next_joins_me {
            cuts.push(p.end - 1);
        }
    }
    debug_assert!(cuts.windows(2).all(|w| w[0] < w[1]));
    debug_assert!(cuts.len() < max_bins);
    cuts
}

/// Appends the `bins - 1` cuts that split one piece (`counts`, starting at distinct index
/// `offset`) into `bins` runs of roughly equal total count. Each cut goes to the position
/// nearest its exact quantile, clamped so every later cut still has a position left: the
/// piece always gets exactly `bins` non-empty bins (`bins <= counts.len()`).
fn piece_cuts(counts: &[u64], bins: usize, offset: usize, cuts: &mut Vec<usize>) {
    debug_assert!(2 <= bins && bins <= counts.len());
    // cum[i] = count of values up to and including position i (a cut after i).
    let cum: Vec<u64> = counts
        .iter()
        .scan(0u64, |s, &c| {
            *s += c;
            Some(*s)
        })
        .collect();
    let mass = u128::from(*cum.last().expect("a piece is never empty"));
    let b = bins as u128;
    let mut lowest = 0usize;
    for j in 1..bins {
        let target = j as u128 * mass; // the quantile, scaled by `bins`
        let highest = counts.len() - 1 - (bins - j); // leaves one position per later cut
        let above = cum.partition_point(|&c| u128::from(c) * b < target);
        let distance = |i: usize| (u128::from(cum[i]) * b).abs_diff(target);
        let nearest = if above == 0 {
            0
        } else if above >= cum.len() || distance(above - 1) <= distance(above) {
            above - 1
        } else {
            above
        };
        let cut = nearest.clamp(lowest, highest);
        cuts.push(offset + cut);
        lowest = cut + 1;
    }
}

/// A feature matrix as bin codes, feature-major: the codes of feature `f` are one contiguous
/// slice, which is what histogram building reads.
///
/// ```
/// use ndarray::array;
/// use tenantml::trees::binning::BinnedData;
/// let x = array![[1.0, 10.0], [2.0, f64::NAN], [2.0, 30.0], [3.0, 10.0]];
/// let data = BinnedData::fit(x.view(), 255, 0)?;
/// assert_eq!((data.n_rows(), data.n_features()), (4, 2));
/// assert_eq!(data.feature(0), &[1, 2, 2, 3]);
/// assert_eq!(data.feature(1), &[1, 0, 2, 1]);
/// assert_eq!(data.mappers()[1].thresholds(), &[20.0]);
/// # Ok::<(), tenantml::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct BinnedData {
    n_rows: usize,
    n_features: usize,
    /// `codes[f * n_rows + r]` is the code of row `r`, feature `f`.
    codes: Vec<u8>,
    mappers: Vec<BinMapper>,
    /// The same codes row by row, made on first use by histogram building.
    row_major: std::sync::OnceLock<Vec<u8>>,
}

impl BinnedData {
    /// Fits one [`BinMapper`] per feature of `x` (at most `max_bins` bins each) and codes
    /// `x` with them. Above [`BIN_SAMPLE_ROWS`] rows the bins come from a sample of that many
    /// rows drawn with `seed`; every row is still coded. Features are binned in parallel and
    /// the result does not depend on the number of threads.
    ///
    /// `x` may have any memory layout; row-major is read one column at a time.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] if `x` has no rows or no features, more than `u32::MAX`
    /// rows, or `max_bins` is outside `2..=MAX_BINS`.
    ///
    /// ```
    /// use ndarray::Array2;
    /// use tenantml::trees::binning::BinnedData;
    /// let x = Array2::from_shape_fn((1000, 3), |(r, f)| (r * (f + 1)) as f64);
    /// let data = BinnedData::fit(x.view(), 16, 42)?;
    /// assert!(data.mappers().iter().all(|m| m.n_bins() == 16));
    /// assert!(BinnedData::fit(x.view(), 1, 42).is_err());
    /// # Ok::<(), tenantml::Error>(())
    /// ```
    pub fn fit(x: ndarray::ArrayView2<f64>, max_bins: usize, seed: u64) -> Result<BinnedData> {
        check_shape(x)?;
        if !(2..=MAX_BINS).contains(&max_bins) {
            return Err(Error::InvalidArgument(format!(
                "max_bins: expected 2..={MAX_BINS}, got {max_bins}"
            )));
        }
        let n_rows = x.nrows();
        // One sample of rows for every feature, drawn before the parallel part so that the
        // result does not depend on scheduling. Sorted so the gather below walks forward.
        let sample: Option<Vec<usize>> = (n_rows > BIN_SAMPLE_ROWS).then(|| {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut rows = rand::seq::index::sample(&mut rng, n_rows, BIN_SAMPLE_ROWS).into_vec();
            rows.sort_unstable();
            rows
        });
        let mut codes = vec![MISSING_BIN; n_rows * x.ncols()];
        let mappers: Vec<BinMapper> = codes
            .par_chunks_mut(n_rows)
            .enumerate()
            .map(|(f, out)| {
                let column = gather_column(x, f);
                let mapper = match &sample {
                    Some(rows) => {
                        let values: Vec<f64> = rows.iter().map(|&r| column[r]).collect();
                        BinMapper::fit(&values, max_bins)
                    }
                    None => BinMapper::fit(&column, max_bins),
                };
                mapper.bin_into(&column, out);
                mapper
            })
            .collect();
        Ok(BinnedData {
            n_rows,
            n_features: x.ncols(),
            codes,
            mappers,
            row_major: std::sync::OnceLock::new(),
        })
    }

    /// Codes `x` with existing mappers, one per column: validation and test data binned
    /// exactly like the training data.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] if `x` has no rows or no features, more than `u32::MAX`
    /// rows, or a number of columns other than `mappers.len()`.
    ///
    /// ```
    /// use ndarray::array;
    /// use tenantml::trees::binning::BinnedData;
    /// let train = BinnedData::fit(array![[1.0], [2.0], [3.0]].view(), 255, 0)?;
    /// let valid = BinnedData::with_mappers(array![[0.0], [2.2], [f64::NAN]].view(), train.mappers())?;
    /// assert_eq!(valid.feature(0), &[1, 2, 0]);
    /// # Ok::<(), tenantml::Error>(())
    /// ```
    pub fn with_mappers(x: ndarray::ArrayView2<f64>, mappers: &[BinMapper]) -> Result<BinnedData> {
        check_shape(x)?;
        if x.ncols() != mappers.len() {
            return Err(Error::InvalidArgument(format!(
                "x has {} features but {} bin mappers were given; expected one mapper per feature",
                x.ncols(),
                mappers.len()
            )));
        }
        let n_rows = x.nrows();
        let mut codes = vec![MISSING_BIN; n_rows * mappers.len()];
        codes
            .par_chunks_mut(n_rows)
            .zip(mappers.par_iter())
            .enumerate()
            .for_each(|(f, (out, mapper))| mapper.bin_into(&gather_column(x, f), out));
        Ok(BinnedData {
            n_rows,
            n_features: mappers.len(),
            codes,
            mappers: mappers.to_vec(),
            row_major: std::sync::OnceLock::new(),
        })
    }

    /// The number of rows.
    ///
    /// ```
    /// # use tenantml::trees::binning::BinnedData;
    /// let data = BinnedData::fit(ndarray::array![[1.0, 2.0]].view(), 255, 0)?;
    /// assert_eq!(data.n_rows(), 1);
    /// # Ok::<(), tenantml::Error>(())
    /// ```
    pub fn n_rows(&self) -> usize {
        self.n_rows
    }

    /// The number of features (columns).
    ///
    /// ```
    /// # use tenantml::trees::binning::BinnedData;
    /// let data = BinnedData::fit(ndarray::array![[1.0, 2.0]].view(), 255, 0)?;
    /// assert_eq!(data.n_features(), 2);
    /// # Ok::<(), tenantml::Error>(())
    /// ```
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// The codes of feature `f`, one per row.
    ///
    /// # Panics
    ///
    /// If `f >= n_features()`.
    ///
    /// ```
    /// # use tenantml::trees::binning::BinnedData;
    /// let data = BinnedData::fit(ndarray::array![[3.0], [1.0], [f64::NAN]].view(), 255, 0)?;
    /// assert_eq!(data.feature(0), &[2, 1, 0]);
    /// # Ok::<(), tenantml::Error>(())
    /// ```
    #[inline]
    pub fn feature(&self, f: usize) -> &[u8] {
        assert!(
            f < self.n_features,
            "feature {f} out of range: {} features",
            self.n_features
        );
        &self.codes[f * self.n_rows..(f + 1) * self.n_rows]
    }

    /// All codes row by row: `row_major()[r * n_features() + f]` is the code of row `r`,
    /// feature `f`. Built once on first call (it doubles the memory of the codes); a node's
    /// histograms read each of its rows' codes from one cache line this way.
    ///
    /// ```
    /// # use tenantml::trees::binning::BinnedData;
    /// let data = BinnedData::fit(ndarray::array![[1.0, 5.0], [2.0, f64::NAN]].view(), 255, 0)?;
    /// assert_eq!(data.row_major(), &[1, 1, 2, 0]);
    /// # Ok::<(), tenantml::Error>(())
    /// ```
    pub fn row_major(&self) -> &[u8] {
        self.row_major.get_or_init(|| {
            let (n, nf) = (self.n_rows, self.n_features);
            let mut out = vec![MISSING_BIN; n * nf];
            // Blocks of rows keep both the read and the write side in cache.
            const BLOCK: usize = 1024;
            for start in (0..n).step_by(BLOCK) {
                let end = (start + BLOCK).min(n);
                for f in 0..nf {
                    let col = &self.codes[f * n + start..f * n + end];
                    for (i, &c) in col.iter().enumerate() {
                        out[(start + i) * nf + f] = c;
                    }
                }
            }
            out
        })
    }

    /// One mapper per feature: store them with a model to bin new data the same way.
    ///
    /// ```
    /// # use tenantml::trees::binning::BinnedData;
    /// let data = BinnedData::fit(ndarray::array![[1.0], [2.0]].view(), 255, 0)?;
    /// assert_eq!(data.mappers()[0].thresholds(), &[1.5]);
    /// # Ok::<(), tenantml::Error>(())
    /// ```
    pub fn mappers(&self) -> &[BinMapper] {
        &self.mappers
    }
}

fn check_shape(x: ndarray::ArrayView2<f64>) -> Result<()> {
    if x.nrows() == 0 {
        return Err(Error::InvalidArgument(
            "x has 0 rows; expected at least 1".to_string(),
        ));
    }
    if x.ncols() == 0 {
        return Err(Error::InvalidArgument(
            "x has 0 features; expected at least 1".to_string(),
        ));
    }
    // Tree growers index rows with u32 to halve the memory of their row lists.
    if x.nrows() > u32::MAX as usize {
        return Err(Error::InvalidArgument(format!(
            "x has {} rows; expected at most {}",
            x.nrows(),
            u32::MAX
        )));
    }
    Ok(())
}

/// Column `f` of `x` as a contiguous vector. Row-major input (the common case) is read row
/// by row from its slice, which compiles to a plain strided loop about three times faster
/// than ndarray's generic column iterator; each feature's worker reads only its column, so
/// no transposed copy of the whole of `x` is ever held.
fn gather_column(x: ndarray::ArrayView2<f64>, f: usize) -> Vec<f64> {
    if let Some(all) = x.as_slice() {
        return all.chunks_exact(x.ncols()).map(|row| row[f]).collect();
    }
    let column = x.column(f);
    match column.as_slice() {
        Some(s) => s.to_vec(),
        None => column.iter().copied().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array2, ShapeBuilder};
    use rand::Rng;

    fn column(values: &[f64]) -> Array2<f64> {
        Array2::from_shape_vec((values.len(), 1), values.to_vec()).unwrap()
    }

    fn message(e: Error) -> String {
        match e {
            Error::InvalidArgument(m) => m,
            other => panic!("expected InvalidArgument, got {other:?}"),
        }
    }

    /// Number of values per code 1..=n_bins.
    fn bin_counts(m: &BinMapper, values: &[f64]) -> Vec<usize> {
        let mut counts = vec![0; m.n_bins() + 1];
        for &v in values {
            counts[m.bin(v) as usize] += 1;
        }
        counts[1..].to_vec()
    }

    #[test]
    fn few_distinct_values_get_midpoints() {
        let m = BinMapper::fit(&[1.0, 2.0, 2.0, 3.0], 255);
        assert_eq!(m.thresholds(), &[1.5, 2.5]);
        assert_eq!(m.n_bins(), 3);
        let data = BinnedData::fit(column(&[3.0, 1.0, 2.0, 2.0]).view(), 255, 0).unwrap();
        assert_eq!(data.feature(0), &[3, 1, 2, 2]);
        // Order and repetition do not matter, only the distinct values.
        let m2 = BinMapper::fit(&[-1.0, 10.0, 4.0, 4.0, 4.0, -1.0], 255);
        assert_eq!(m2.thresholds(), &[1.5, 7.0]);
    }

    #[test]
    fn exactly_max_bins_distinct_values_each_get_a_bin() {
        let values: Vec<f64> = (0..255).map(f64::from).collect();
        let m = BinMapper::fit(&values, 255);
        assert_eq!(m.n_bins(), 255);
        assert_eq!(m.bin(0.0), 1);
        assert_eq!(m.bin(254.0), 255);
        let m = BinMapper::fit(&values[..3], 2);
        assert_eq!(m.n_bins(), 2);
    }

    #[test]
    fn nan_gets_the_missing_bin() {
        let data = BinnedData::fit(
            array![[f64::NAN, 1.0], [1.0, f64::NAN], [2.0, 2.0]].view(),
            255,
            0,
        )
        .unwrap();
        assert_eq!(data.feature(0), &[MISSING_BIN, 1, 2]);
        assert_eq!(data.feature(1), &[1, MISSING_BIN, 2]);
        // NaN does not take part in choosing thresholds.
        assert_eq!(data.mappers()[0].thresholds(), &[1.5]);
    }

    #[test]
    fn infinities_are_ordinary_values() {
        let (inf, ninf) = (f64::INFINITY, f64::NEG_INFINITY);
        let m = BinMapper::fit(&[inf, 1.0, ninf, 2.0], 255);
        // Next to an infinity the lower value is the threshold: -inf | 1 | 2 | +inf.
        assert_eq!(m.thresholds(), &[ninf, 1.5, 2.0]);
        assert_eq!(
            [m.bin(ninf), m.bin(1.0), m.bin(2.0), m.bin(inf)],
            [1, 2, 3, 4]
        );
        assert_eq!([m.bin(-1e308), m.bin(1.7), m.bin(1e308)], [2, 3, 4]);
        let m = BinMapper::fit(&[ninf, inf], 255);
        assert_eq!(m.thresholds(), &[ninf]);
        assert_eq!([m.bin(ninf), m.bin(0.0), m.bin(inf)], [1, 2, 2]);
    }

    #[test]
    fn extreme_and_neighbouring_floats_stay_separated() {
        let (a, b) = (1.0f64, 1.0f64.next_up());
        let m = BinMapper::fit(&[a, b], 255);
        assert!(m.bin(a) < m.bin(b), "thresholds {:?}", m.thresholds());
        let m = BinMapper::fit(&[f64::MAX, f64::MAX.next_down()], 255);
        assert_eq!(m.n_bins(), 2);
        assert!(m.thresholds()[0].is_finite());
        let m = BinMapper::fit(&[-f64::MAX, f64::MAX], 255);
        assert_eq!(m.thresholds(), &[0.0]);
        let tiny = f64::from_bits(1); // the smallest subnormal
        let m = BinMapper::fit(&[0.0, tiny], 255);
        assert_eq!([m.bin(0.0), m.bin(tiny)], [1, 2]);
        // -0.0 and 0.0 are one value, as comparisons see them.
        assert_eq!(BinMapper::fit(&[-0.0, 0.0, 0.0], 255).n_bins(), 1);
    }

    #[test]
    fn order_keys_sort_like_the_values() {
        let values = [
            f64::NEG_INFINITY,
            -f64::MAX,
            -1.0,
            -f64::MIN_POSITIVE,
            -f64::from_bits(1),
            -0.0,
            0.0,
            f64::from_bits(1),
            1.0,
            f64::MAX,
            f64::INFINITY,
        ];
        for w in values.windows(2) {
            assert!(
                order_key(w[0]) < order_key(w[1]),
                "{} before {}",
                w[0],
                w[1]
            );
        }
        for v in values {
            assert_eq!(from_order_key(order_key(v)).to_bits(), v.to_bits());
        }
    }

    #[test]
    fn constant_and_all_nan_features_get_one_bin() {
        let data = BinnedData::fit(
            array![[7.0, f64::NAN], [7.0, f64::NAN], [7.0, f64::NAN]].view(),
            255,
            0,
        )
        .unwrap();
        assert_eq!(data.mappers()[0].thresholds(), &[] as &[f64]);
        assert_eq!(data.mappers()[0].n_bins(), 1);
        assert_eq!(data.feature(0), &[1, 1, 1]);
        assert_eq!(data.mappers()[1].n_bins(), 1);
        assert_eq!(data.feature(1), &[0, 0, 0]);
        assert_eq!(data.mappers()[1].upper_bound(1), f64::INFINITY);
        assert_eq!(BinMapper::fit(&[], 255).n_bins(), 1);
    }

    #[test]
    fn many_distinct_values_get_equal_frequency_bins() {
        let mut rng = StdRng::seed_from_u64(3);
        // 10,000 distinct values, skewed (squares) and shuffled: binning must follow the ranks.
        let mut values: Vec<f64> = (0..10_000).map(|i| (f64::from(i) * 0.01).powi(2)).collect();
        for i in (1..values.len()).rev() {
            values.swap(i, rng.gen_range(0..=i));
        }
        for max_bins in [2, 3, 7, 32, 100, 255] {
            let m = BinMapper::fit(&values, max_bins);
            assert_eq!(m.n_bins(), max_bins);
            // Each cut sits at the rank nearest its exact quantile (all counts are 1 and there
            // is a single run), so every boundary is within half a row of where exact
            // quantiles would put it and each bin within one row of n / max_bins.
            let ideal = values.len() as f64 / max_bins as f64;
            for (b, &count) in bin_counts(&m, &values).iter().enumerate() {
                assert!(
                    (count as f64 - ideal).abs() <= 1.0,
                    "max_bins {max_bins}, bin {b}: {count} values, ideal {ideal}"
                );
            }
        }
    }

    #[test]
    fn a_heavy_value_gets_its_own_bin() {
        let mut rng = StdRng::seed_from_u64(5);
        // 30% zeros inside continuous values on both sides.
        let values: Vec<f64> = (0..10_000)
            .map(|i| {
                if i % 10 < 3 {
                    0.0
                } else {
                    rng.gen_range(-1.0..1.0)
                }
            })
            .collect();
        for max_bins in [4, 16, 255] {
            let m = BinMapper::fit(&values, max_bins);
            assert!(m.n_bins() <= max_bins);
            let zero = m.bin(0.0);
            assert!(
                values.iter().all(|&v| (m.bin(v) == zero) == (v == 0.0)),
                "max_bins {max_bins}: {:?}",
                m.thresholds()
            );
        }
        // With 255 bins the other 254 share the remaining 7,000 rows about equally: within one
        // row from rounding each run's quantiles, plus under one row because the two runs
        // (below and above zero) split the bins in whole numbers (~27.6 rows per bin, so one
        // bin more or less on a side of ~127 bins moves its average by ~0.2 row).
        let m = BinMapper::fit(&values, 255);
        let zero = m.bin(0.0) as usize;
        let ideal = 7_000.0 / 254.0;
        for (b, &c) in bin_counts(&m, &values)
            .iter()
            .enumerate()
            .filter(|&(b, _)| b + 1 != zero)
        {
            assert!(
                (c as f64 - ideal).abs() <= 2.0,
                "bin {b}: {c} rows, ideal {ideal}"
            );
        }
        // At the edges, and several heavy values at once.
        let mut values: Vec<f64> = (0..1000).map(f64::from).collect();
        values.extend([-5.0; 300]);
        values.extend([2000.0; 300]);
        values.extend([500.5; 250]); // all three above 1/8 of the 1,850 values
        let m = BinMapper::fit(&values, 8);
        assert_eq!(m.n_bins(), 8);
        for heavy in [-5.0, 500.5, 2000.0] {
            let code = m.bin(heavy);
            assert!(
                values.iter().all(|&v| (m.bin(v) == code) == (v == heavy)),
                "{heavy}: {:?}",
                m.thresholds()
            );
        }
    }

    #[test]
    fn too_many_heavy_values_still_respect_max_bins() {
        // Three heavy values with a single light value in every gap: 4 bins cannot isolate
        // them all, and the lightest gaps are merged instead of exceeding max_bins.
        let mut values = vec![0.0, 2.0, 4.0, 6.0];
        for h in [1.0, 3.0, 5.0] {
            values.extend([h; 26]);
        }
        let m = BinMapper::fit(&values, 4);
        assert!(m.n_bins() <= 4);
        assert!(m.thresholds().windows(2).all(|w| w[0] < w[1]));
        let codes: Vec<u8> = [1.0, 3.0, 5.0].iter().map(|&h| m.bin(h)).collect();
        assert!(
            codes[0] < codes[1] && codes[1] < codes[2],
            "heavy values stay apart: {codes:?}"
        );
    }

    #[test]
    fn fitting_is_deterministic_and_thread_count_independent() {
        // Above BIN_SAMPLE_ROWS, so the seeded sample is exercised too.
        let mut rng = StdRng::seed_from_u64(11);
        let n = BIN_SAMPLE_ROWS + 1_000;
        let x = Array2::from_shape_fn((n, 3), |(_, f)| match f {
            0 => rng.gen::<f64>(),
            1 => rng.gen_range(0..50) as f64,
            _ => rng.gen::<f64>().ln(),
        });
        let on = |threads: usize, seed: u64| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| BinnedData::fit(x.view(), 255, seed).unwrap())
        };
        let one = on(1, 7);
        let four = on(4, 7);
        assert_eq!(one.mappers(), four.mappers());
        assert_eq!(one.codes, four.codes);
        assert_eq!(on(2, 7).mappers(), one.mappers());
        // The sample depends on the seed, so the quantiles do (slightly).
        assert_ne!(on(2, 8).mappers()[0], one.mappers()[0]);
        // Few distinct values: the sample sees them all, so every seed agrees.
        assert_eq!(on(2, 8).mappers()[1], one.mappers()[1]);
        assert_eq!(one.mappers()[1].n_bins(), 50);
    }

    #[test]
    fn upper_bound_agrees_with_bin() {
        let mut rng = StdRng::seed_from_u64(13);
        let train: Vec<f64> = (0..5_000)
            .map(|i| match i % 50 {
                0 => f64::INFINITY,
                1 => f64::NEG_INFINITY,
                2 => f64::NAN,
                3..=9 => 1.0,
                _ => rng.gen::<f64>() * 100.0 - 50.0,
            })
            .collect();
        let mappers = [
            BinMapper::fit(&train, 255),
            BinMapper::fit(&train, 10),
            BinMapper::fit(&train[..40], 255),
        ];
        for m in &mappers {
            let mut probes: Vec<f64> = (0..2_000)
                .map(|_| rng.gen::<f64>() * 120.0 - 60.0)
                .collect();
            for &t in m.thresholds() {
                probes.extend([t, t.next_up(), t.next_down()]);
            }
            probes.extend([
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::MAX,
                -f64::MAX,
                0.0,
                1.0,
            ]);
            for &v in &probes {
                for b in 1..=m.n_bins() as u8 {
                    assert_eq!(
                        v <= m.upper_bound(b),
                        m.bin(v) <= b,
                        "v {v}, code {b}, thresholds {:?}",
                        m.thresholds()
                    );
                }
            }
        }
    }

    #[test]
    #[should_panic(expected = "missing bin")]
    fn upper_bound_of_the_missing_bin_panics() {
        BinMapper::fit(&[1.0, 2.0], 255).upper_bound(MISSING_BIN);
    }

    #[test]
    fn with_mappers_reproduces_the_training_codes() {
        let mut rng = StdRng::seed_from_u64(17);
        let x = Array2::from_shape_fn((3_000, 4), |(r, f)| match f {
            0 => rng.gen::<f64>(),
            1 if r % 7 == 0 => f64::NAN,
            1 => (r % 13) as f64,
            2 => 4.0,
            _ => rng.gen_range(-3.0f64..3.0).exp(),
        });
        let train = BinnedData::fit(x.view(), 64, 1).unwrap();
        let again = BinnedData::with_mappers(x.view(), train.mappers()).unwrap();
        assert_eq!(again.codes, train.codes);
        assert_eq!(again.mappers(), train.mappers());
        // Any layout gives the same codes: column-major and a strided view.
        let mut fortran = Array2::zeros(x.dim().f());
        fortran.assign(&x);
        assert_eq!(
            BinnedData::fit(fortran.view(), 64, 1).unwrap().codes,
            train.codes
        );
        let every_other = x.slice(ndarray::s![..;2, ..]);
        let sub = BinnedData::with_mappers(every_other, train.mappers()).unwrap();
        for f in 0..4 {
            let expected: Vec<u8> = train.feature(f).iter().step_by(2).copied().collect();
            assert_eq!(sub.feature(f), expected.as_slice());
        }
    }

    #[test]
    fn mappers_round_trip_through_json_and_validate_on_load() {
        let m = BinMapper::fit(&[1.0, 2.0, 3.0], 255);
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, r#"{"thresholds":[1.5,2.5]}"#);
        assert_eq!(serde_json::from_str::<BinMapper>(&json).unwrap(), m);
        let err = serde_json::from_str::<BinMapper>(r#"{"thresholds":[2.5,1.5]}"#).unwrap_err();
        assert!(err.to_string().contains("strictly ascending"), "{err}");
    }

    #[test]
    fn from_thresholds_validates() {
        assert_eq!(BinMapper::from_thresholds(vec![]).unwrap().n_bins(), 1);
        assert_eq!(
            BinMapper::from_thresholds(vec![f64::NEG_INFINITY, 0.0])
                .unwrap()
                .bin(-1.0),
            2
        );
        assert_eq!(
            message(BinMapper::from_thresholds(vec![1.0, f64::NAN]).unwrap_err()),
            "bin thresholds: expected no NaN, got NaN at index 1"
        );
        assert_eq!(
            message(BinMapper::from_thresholds(vec![1.0, 2.0, 2.0]).unwrap_err()),
            "bin thresholds: expected strictly ascending values, got 2 at index 1 followed by 2"
        );
        assert_eq!(
            message(BinMapper::from_thresholds((0..255).map(f64::from).collect()).unwrap_err()),
            "bin thresholds: expected at most 254 (for 255 bins), got 255"
        );
        let most: Vec<f64> = (0..254).map(f64::from).collect();
        assert_eq!(BinMapper::from_thresholds(most).unwrap().bin(1e9), 255);
    }

    #[test]
    fn bad_shapes_and_arguments_are_rejected() {
        let x = array![[1.0, 2.0], [3.0, 4.0]];
        assert_eq!(
            message(BinnedData::fit(Array2::zeros((0, 3)).view(), 255, 0).unwrap_err()),
            "x has 0 rows; expected at least 1"
        );
        assert_eq!(
            message(BinnedData::fit(Array2::zeros((3, 0)).view(), 255, 0).unwrap_err()),
            "x has 0 features; expected at least 1"
        );
        for bad in [0, 1, 256] {
            assert_eq!(
                message(BinnedData::fit(x.view(), bad, 0).unwrap_err()),
                format!("max_bins: expected 2..=255, got {bad}")
            );
        }
        let mappers = BinnedData::fit(x.view(), 255, 0)
            .unwrap()
            .mappers()
            .to_vec();
        assert_eq!(
            message(
                BinnedData::with_mappers(array![[1.0, 2.0, 3.0]].view(), &mappers).unwrap_err()
            ),
            "x has 3 features but 2 bin mappers were given; expected one mapper per feature"
        );
        assert_eq!(
            message(BinnedData::with_mappers(Array2::zeros((0, 2)).view(), &mappers).unwrap_err()),
            "x has 0 rows; expected at least 1"
        );
    }

    #[test]
    #[should_panic(expected = "max_bins must be in 2..=255, got 1")]
    fn mapper_fit_panics_on_bad_max_bins() {
        BinMapper::fit(&[1.0], 1);
    }
}
