//! Int8 matrix products for the quantised encoder: `y = x · Wᵀ + b` with `W` int8 and one
//! scale per output row, `x` quantised per row at run time, products summed in i32, and
//! the scales and bias applied in the output.
//!
//! Why our own kernel: Candle's `QMatMul` (ggml's block formats) was slower than f32 at
//! batch sizes here, and of the crates that offer int8 GEMM, `rten-gemm` was measured
//! against this one (docs/encoder.md, "Int8 kernels"). The kernel works on a packed weight layout
//! (blocks of 16 output columns × 4 inputs, the shape of one `vpdpbusd`), so the inner
//! loop is broadcast-and-accumulate with no horizontal sums.
//!
//! Kernels, chosen once at run time: AVX-512 VNNI, AVX-VNNI (256-bit), AVX2 (`vpmaddubsw`
//! with the sign trick) and a portable scalar one. The VNNI instructions multiply unsigned
//! by signed bytes, so for them activations are stored as `q + 128` and `128 · Σ w` is
//! taken off each sum; the AVX2 and scalar kernels take activations as signed bytes.
//! `unsafe` lives only in `x86_64.rs`, behind [`Int8Matrix::forward`].

#[cfg(target_arch = "x86_64")]
mod x86_64;
// The machine's peak rates, for the encoder benchmark's ratios only.
#[cfg(feature = "bench-internals")]
mod peak;
#[cfg(feature = "bench-internals")]
pub use peak::{peak_rate, Peak};

use rayon::prelude::*;

use super::wide::wide;

/// Output columns per packed block (one 512-bit register of i32 sums).
const BLOCK_COLS: usize = 16;
/// Inputs summed per lane by one dot-product instruction.
const GROUP: usize = 4;
/// Inputs that share one activation scale: a row of activations is quantised in groups of
/// this many, so an outlier (layer-norm outputs have a few large dimensions) coarsens only
/// its own group. A multiple of [`GROUP`].
pub const ACTIVATION_GROUP: usize = 128;
/// Rows of the output one task computes (a multiple of every kernel's row tile).
const ROW_CHUNK: usize = 48;
/// Multiply-accumulates below which a product runs on the calling thread alone (about
/// 20 µs of one core: a query's products).
const SMALL_PRODUCT: usize = 1 << 25;

/// Which kernel runs the products.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// `vpdpbusd` on 512-bit registers (AVX-512 VNNI).
    Avx512Vnni,
    /// `vpdpbusd` on 256-bit registers (AVX-VNNI).
    AvxVnni,
    /// `vpmaddubsw` + `vpmaddwd` on 256-bit registers (AVX2).
    Avx2,
    /// Plain Rust (every other CPU; aarch64 too, where NEON `sdot` is not written yet).
    Scalar,
}

impl Kernel {
    /// The fastest kernel this CPU runs.
    pub fn detect() -> Kernel {
        static DETECTED: std::sync::OnceLock<Kernel> = std::sync::OnceLock::new();
        *DETECTED.get_or_init(|| Kernel::available().into_iter().next().unwrap_or(Kernel::Scalar))
    }

    /// Whether this CPU runs the kernel (cached: the kernels ask on every tile).
    pub fn runs_here(self) -> bool {
        static AVAILABLE: std::sync::OnceLock<Vec<Kernel>> = std::sync::OnceLock::new();
        AVAILABLE.get_or_init(Kernel::available).contains(&self)
    }

    /// Every kernel this CPU runs, fastest first (the scalar one last).
    pub fn available() -> Vec<Kernel> {
        let mut kernels = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx512bw")
                && is_x86_feature_detected!("avx512vnni")
            {
                kernels.push(Kernel::Avx512Vnni);
            }
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("avxvnni") {
                kernels.push(Kernel::AvxVnni);
            }
            if is_x86_feature_detected!("avx2") {
                kernels.push(Kernel::Avx2);
            }
        }
        kernels.push(Kernel::Scalar);
        kernels
    }

    /// Whether activations are stored as unsigned `q + 128` (the VNNI instructions).
    fn unsigned_activations(self) -> bool {
        matches!(self, Kernel::Avx512Vnni | Kernel::AvxVnni)
    }

    /// Rows of the output one call of the kernel computes.
    fn row_tile(self) -> usize {
        match self {
            Kernel::Avx512Vnni => 6,
            Kernel::AvxVnni | Kernel::Avx2 => 4,
            Kernel::Scalar => 4,
        }
    }

    /// Packed column blocks one call of the kernel computes.
    fn block_tile(self) -> usize {
        match self {
            Kernel::Avx512Vnni => 4,
            _ => 1,
        }
    }
}

/// A weight matrix `[n, k]` (row = output column) as int8 with one scale per row, packed
/// for the kernels, with its bias.
#[derive(Clone)]
pub struct Int8Matrix {
    n: usize,
    k: usize,
    /// `k` rounded up to a multiple of [`GROUP`].
    k_padded: usize,
    /// `[n_padded / 16][k_padded / 4][16][4]`: for each block of 16 columns and each group
    /// of 4 inputs, the 4 weights of every column, one after the other.
    packed: Vec<i8>,
    /// Per output column: weight scale and bias; padded to whole blocks with zeros.
    scales: Vec<f32>,
    bias: Vec<f32>,
    /// `[activation group][column]`: `128 · Σ w` over the group's inputs (the
    /// unsigned-activation correction), columns padded like `scales`.
    offsets: Vec<i32>,
}

impl std::fmt::Debug for Int8Matrix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Int8Matrix({}×{})", self.n, self.k)
    }
}

/// Symmetric int8 quantisation of one row: the scale and the values (`round(v / scale)`,
/// in −127..=127).
pub fn quantize_row(row: &[f32], out: &mut [i8]) -> f32 {
    wide!(quantize_row_wide(row, out))
}

#[inline(always)]
fn quantize_row_wide(row: &[f32], out: &mut [i8]) -> f32 {
    let max = row.iter().fold(0f32, |m, v| m.max(v.abs()));
    if max == 0.0 || !max.is_finite() {
        out.iter_mut().for_each(|q| *q = 0);
        return if max.is_finite() { 0.0 } else { f32::NAN };
    }
    let scale = max / 127.0;
    round_row_wide(row, 1.0 / scale, out);
    scale
}

/// `out = round(row · inverse)`, clamped to −127..=127, ties to even: the values of a row
/// quantised against a scale chosen elsewhere (a model file stores it as f16).
pub fn round_row(row: &[f32], inverse: f32, out: &mut [i8]) {
    wide!(round_row_wide(row, inverse, out))
}

#[inline(always)]
fn round_row_wide(row: &[f32], inverse: f32, out: &mut [i8]) {
    // Rounds to nearest (ties to even) by adding and taking off 1.5·2²³: no call to
    // `roundf`, which the baseline target does not have as an instruction.
    const ROUND: f32 = 12_582_912.0;
    for (q, v) in out.iter_mut().zip(row) {
        // The low byte of `v + 1.5·2²³` is round(v) in two's complement: no float-to-int
        // conversion (Rust's saturating `as` keeps the loop from vectorising).
        *q = ((v * inverse).clamp(-127.0, 127.0) + ROUND).to_bits() as u8 as i8;
    }
}

impl Int8Matrix {
    /// Quantises an f32 weight matrix `[n, k]` (row-major) per row.
    pub fn quantize(weights: &[f32], n: usize, k: usize, bias: &[f32]) -> Int8Matrix {
        assert_eq!(weights.len(), n * k, "weights are n × k");
        let mut values = vec![0i8; n * k];
        let mut scales = Vec::with_capacity(n);
        for (row, out) in weights.chunks_exact(k.max(1)).zip(values.chunks_exact_mut(k.max(1))) {
            scales.push(quantize_row(row, out));
        }
        Int8Matrix::from_int8(&values, &scales, n, k, bias)
    }

    /// Packs int8 weights `[n, k]` (row-major) with their per-row scales.
    pub fn from_int8(values: &[i8], scales: &[f32], n: usize, k: usize, bias: &[f32]) -> Int8Matrix {
        assert_eq!(values.len(), n * k, "weights are n × k");
        assert_eq!(scales.len(), n, "one scale per row");
        assert_eq!(bias.len(), n, "one bias per row");
        let k_padded = k.div_ceil(GROUP) * GROUP;
        let blocks = n.div_ceil(BLOCK_COLS);
        let groups = k_padded / GROUP;
        let mut packed = vec![0i8; blocks * BLOCK_COLS * k_padded];
        for j in 0..n {
            let (block, col) = (j / BLOCK_COLS, j % BLOCK_COLS);
            for (i, &w) in values[j * k..(j + 1) * k].iter().enumerate() {
                let (group, lane) = (i / GROUP, i % GROUP);
                packed[((block * groups + group) * BLOCK_COLS + col) * GROUP + lane] = w;
            }
        }
        let padded = blocks * BLOCK_COLS;
        let pad_f32 = |v: &[f32]| {
            let mut p = v.to_vec();
            p.resize(padded, 0.0);
            p
        };
        let mut matrix = Int8Matrix {
            n,
            k,
            k_padded,
            packed,
            scales: pad_f32(scales),
            bias: pad_f32(bias),
            offsets: Vec::new(),
        };
        matrix.offsets = matrix.group_offsets();
        matrix
    }

    /// `128 · Σ w` of every column over each activation group's inputs, read from the
    /// packed weights: `[group][column]`.
    fn group_offsets(&self) -> Vec<i32> {
        let padded = self.scales.len();
        let groups = self.k_padded.div_ceil(ACTIVATION_GROUP).max(1);
        let mut offsets = vec![0i32; groups * padded];
        for (block, weights) in self.packed.chunks_exact(BLOCK_COLS * self.k_padded).enumerate() {
            for (four, columns) in weights.chunks_exact(BLOCK_COLS * GROUP).enumerate() {
                let g = four * GROUP / ACTIVATION_GROUP;
                for (c, w) in columns.chunks_exact(GROUP).enumerate() {
                    offsets[g * padded + block * BLOCK_COLS + c] += 128 * w.iter().map(|&v| i32::from(v)).sum::<i32>();
                }
            }
        }
        offsets
    }

    /// Output columns.
    pub fn rows(&self) -> usize {
        self.n
    }

    /// Inputs.
    pub fn cols(&self) -> usize {
        self.k
    }

    /// Bytes held (weights, scales, corrections, bias).
    pub fn bytes(&self) -> usize {
        self.packed.len() + 8 * self.scales.len() + 4 * self.offsets.len()
    }

    /// `x · Wᵀ + b` for `x` `[m, k]` (row-major): `[m, n]`, with the detected kernel.
    pub fn forward(&self, x: &[f32]) -> Vec<f32> {
        self.forward_with(Kernel::detect(), x)
    }

    /// The same with a given kernel (which must be one of [`Kernel::available`]).
    pub fn forward_with(&self, kernel: Kernel, x: &[f32]) -> Vec<f32> {
        assert!(kernel.runs_here(), "{kernel:?} does not run on this CPU");
        assert_eq!(x.len() % self.k.max(1), 0, "x has k columns");
        let m = x.len().checked_div(self.k).unwrap_or(0);
        let rows = QuantizedRows::new(x, m, self.k, self.k_padded, kernel);
        let mut out = vec![0f32; m * self.n];
        if m == 0 || self.n == 0 {
            return out;
        }
        let blocks = self.n.div_ceil(BLOCK_COLS);
        let chunks = m.div_ceil(ROW_CHUNK);
        let threads = rayon::current_num_threads();
        if m * self.n * self.k < SMALL_PRODUCT {
            // Less work than handing it to another thread costs.
            self.product(kernel, &rows, 0..m, 0..blocks, &mut out, self.n);
        } else if chunks >= threads || blocks < 2 {
            out.par_chunks_mut(ROW_CHUNK * self.n).enumerate().for_each(|(c, out)| {
                let first = c * ROW_CHUNK;
                let count = out.len() / self.n;
                self.product(kernel, &rows, first..first + count, 0..blocks, out, self.n);
            });
        } else {
            // Few rows (a query): split the columns between the threads instead.
            let split = threads.min(blocks);
            let per = blocks.div_ceil(split);
            let parts: Vec<(usize, Vec<f32>)> = (0..split)
                .into_par_iter()
                .filter(|s| s * per < blocks)
                .map(|s| {
                    let range = s * per..((s + 1) * per).min(blocks);
                    let width = (range.end * BLOCK_COLS).min(self.n) - range.start * BLOCK_COLS;
                    let mut part = vec![0f32; m * width];
                    self.product(kernel, &rows, 0..m, range.clone(), &mut part, width);
                    (range.start * BLOCK_COLS, part)
                })
                .collect();
            for (start, part) in parts {
                let width = part.len() / m;
                for (r, row) in part.chunks_exact(width).enumerate() {
                    out[r * self.n + start..r * self.n + start + width].copy_from_slice(row);
                }
            }
        }
        out
    }

    /// Rows `rows` × column blocks `blocks` of the product into `out` (row stride
    /// `stride`, first column = the first block's).
    fn product(
        &self,
        kernel: Kernel,
        x: &QuantizedRows,
        rows: std::ops::Range<usize>,
        blocks: std::ops::Range<usize>,
        out: &mut [f32],
        stride: usize,
    ) {
        let (row_tile, block_tile) = (kernel.row_tile(), kernel.block_tile());
        let tile_len = row_tile * block_tile * BLOCK_COLS;
        let (mut sums, mut acc) = (vec![0i32; tile_len], vec![0f32; tile_len]);
        let padded = self.scales.len();
        let unsigned = kernel.unsigned_activations();
        let first_col = blocks.start * BLOCK_COLS;
        let mut block = blocks.start;
        while block < blocks.end {
            let tile_blocks = block_tile.min(blocks.end - block);
            let width = tile_blocks * BLOCK_COLS;
            let first = block * BLOCK_COLS;
            let cols = width.min(self.n - first);
            let columns = first..first + cols;
            let mut row = rows.start;
            while row < rows.end {
                let tile_rows = row_tile.min(rows.end - row);
                let (sums, acc) = (&mut sums[..tile_rows * width], &mut acc[..tile_rows * width]);
                // Each activation group's i32 sums, scaled by its activation scale, summed
                // in f32; padding columns are not written.
                for (g, inputs) in (0..self.k_padded).step_by(ACTIVATION_GROUP).enumerate() {
                    let inputs = inputs..(inputs + ACTIVATION_GROUP).min(self.k_padded);
                    self.tile_sums(kernel, x, row, tile_rows, block, tile_blocks, inputs, sums);
                    let offsets = &self.offsets[g * padded..][columns.clone()];
                    let sx = |r: usize| x.scale(row + r, g);
                    wide!(accumulate(sums, &sx, unsigned.then_some(offsets), g == 0, width, acc));
                }
                let out = &mut out[(row - rows.start) * stride + first - first_col..];
                wide!(epilogue(
                    acc,
                    &self.scales[columns.clone()],
                    &self.bias[columns.clone()],
                    width,
                    stride,
                    out
                ));
                row += tile_rows;
            }
            block += tile_blocks;
        }
    }

    /// i32 sums over the inputs `inputs` (whole groups of 4) of `tile_rows` rows from
    /// `row` with `tile_blocks` packed blocks from `block`, into `sums`
    /// (`[tile_rows][tile_blocks · 16]`).
    #[allow(clippy::too_many_arguments)]
    fn tile_sums(
        &self,
        kernel: Kernel,
        x: &QuantizedRows,
        row: usize,
        tile_rows: usize,
        block: usize,
        tile_blocks: usize,
        inputs: std::ops::Range<usize>,
        sums: &mut [i32],
    ) {
        let kp = self.k_padded;
        let block_len = BLOCK_COLS * kp;
        let groups = inputs.len() / GROUP;
        let x_rows = &x.values[row * kp + inputs.start..(row + tile_rows) * kp];
        let w = &self.packed[block * block_len + inputs.start * BLOCK_COLS..(block + tile_blocks) * block_len];
        match kernel {
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512Vnni | Kernel::AvxVnni | Kernel::Avx2 => {
                x86_64::tile(kernel, x_rows, kp, w, block_len, groups, tile_rows, tile_blocks, sums)
            }
            _ => scalar_tile(x_rows, kp, w, block_len, groups, tile_rows, tile_blocks, sums),
        }
    }
}

/// `acc (+)= (sum − correction) · sx(row)` for a tile (`[rows][width]`, the first
/// `offsets.len()` or `cols` columns used) and one activation group (`first`: the group
/// that starts the sum).
#[inline(always)]
fn accumulate(
    sums: &[i32],
    sx: &dyn Fn(usize) -> f32,
    offsets: Option<&[i32]>,
    first: bool,
    width: usize,
    acc: &mut [f32],
) {
    for (r, (acc, sums)) in acc.chunks_exact_mut(width).zip(sums.chunks_exact(width)).enumerate() {
        let sx = sx(r);
        match (offsets, first) {
            (Some(offsets), true) => {
                for ((a, &s), &c) in acc.iter_mut().zip(sums).zip(offsets) {
                    *a = (s - c) as f32 * sx;
                }
            }
            (Some(offsets), false) => {
                for ((a, &s), &c) in acc.iter_mut().zip(sums).zip(offsets) {
                    *a += (s - c) as f32 * sx;
                }
            }
            (None, true) => acc.iter_mut().zip(sums).for_each(|(a, &s)| *a = s as f32 * sx),
            (None, false) => acc.iter_mut().zip(sums).for_each(|(a, &s)| *a += s as f32 * sx),
        }
    }
}

/// `out = acc · scale + bias` for a tile (`acc` `[rows][width]`, `out` rows `stride`
/// apart; `scales.len()` columns written).
#[inline(always)]
fn epilogue(acc: &[f32], scales: &[f32], bias: &[f32], width: usize, stride: usize, out: &mut [f32]) {
    for (r, acc) in acc.chunks_exact(width).enumerate() {
        let out = &mut out[r * stride..r * stride + scales.len()];
        for (((o, &a), &w), &b) in out.iter_mut().zip(acc).zip(scales).zip(bias) {
            *o = a * w + b;
        }
    }
}

/// The portable kernel: signed activations, the packed layout (arguments as
/// `x86_64::tile`'s).
#[allow(clippy::too_many_arguments)]
fn scalar_tile(
    x: &[i8],
    x_stride: usize,
    w: &[i8],
    block_len: usize,
    groups: usize,
    rows: usize,
    blocks: usize,
    sums: &mut [i32],
) {
    let width = blocks * BLOCK_COLS;
    let span = groups * GROUP;
    sums.iter_mut().for_each(|s| *s = 0);
    for b in 0..blocks {
        let wb = &w[b * block_len..b * block_len + span * BLOCK_COLS];
        for r in 0..rows {
            let xr = &x[r * x_stride..r * x_stride + span];
            let out = &mut sums[r * width + b * BLOCK_COLS..r * width + (b + 1) * BLOCK_COLS];
            for (g, x4) in xr.chunks_exact(GROUP).enumerate() {
                let wg = &wb[g * BLOCK_COLS * GROUP..(g + 1) * BLOCK_COLS * GROUP];
                for (c, s) in out.iter_mut().enumerate() {
                    let w4 = &wg[c * GROUP..(c + 1) * GROUP];
                    *s += x4
                        .iter()
                        .zip(w4)
                        .map(|(&a, &b)| i32::from(a) * i32::from(b))
                        .sum::<i32>();
                }
            }
        }
    }
}

/// Activations `[m, k_padded]` quantised per row and activation group (signed, or
/// `q + 128` stored in the same bytes for the VNNI kernels), with their scales.
struct QuantizedRows {
    values: Vec<i8>,
    /// `[row][activation group]`.
    scales: Vec<f32>,
    groups: usize,
}

impl QuantizedRows {
    fn new(x: &[f32], m: usize, k: usize, k_padded: usize, kernel: Kernel) -> QuantizedRows {
        let group = ACTIVATION_GROUP;
        let groups = k_padded.div_ceil(group).max(1);
        let mut values = vec![0i8; m * k_padded];
        let mut scales = vec![0f32; m * groups];
        let unsigned = kernel.unsigned_activations();
        let quantize = |(r, (out, scales)): (usize, (&mut [i8], &mut [f32]))| {
            let row = &x[r * k..(r + 1) * k];
            for ((inputs, values), scale) in row.chunks(group).zip(out[..k].chunks_mut(group)).zip(scales.iter_mut()) {
                *scale = quantize_row(inputs, values);
            }
            if unsigned {
                // q + 128 as u8 is q with its top bit flipped; padding becomes 128, which
                // meets zero weights.
                out.iter_mut().for_each(|q| *q = (*q as u8 ^ 0x80) as i8);
            }
        };
        if m >= 64 {
            values
                .par_chunks_mut(k_padded)
                .zip(scales.par_chunks_mut(groups))
                .enumerate()
                .for_each(quantize);
        } else {
            values
                .chunks_mut(k_padded)
                .zip(scales.chunks_mut(groups))
                .enumerate()
                .for_each(quantize);
        }
        QuantizedRows { values, scales, groups }
    }

    /// The scale of row `row`'s activation group `group`.
    fn scale(&self, row: usize, group: usize) -> f32 {
        self.scales[row * self.groups + group]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (xorshift), so failures reproduce.
    struct Random(u64);

    impl Random {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn uniform(&mut self) -> f32 {
            (self.next() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// The reference: the same quantisation (per row and activation group), products
    /// summed in i64, nothing packed.
    fn reference(x: &[f32], m: usize, k: usize, values: &[i8], scales: &[f32], bias: &[f32], group: usize) -> Vec<f32> {
        let n = scales.len();
        let mut out = vec![0f32; m * n];
        let mut q = vec![0i8; k];
        for r in 0..m {
            let row = &x[r * k..(r + 1) * k];
            let sx: Vec<f32> = row
                .chunks(group)
                .zip(q.chunks_mut(group))
                .map(|(inputs, values)| quantize_row(inputs, values))
                .collect();
            for j in 0..n {
                let sum: f64 = (0..k)
                    .step_by(group)
                    .enumerate()
                    .map(|(g, start)| {
                        let end = (start + group).min(k);
                        let s: i64 = (start..end)
                            .map(|i| i64::from(q[i]) * i64::from(values[j * k + i]))
                            .sum();
                        s as f64 * f64::from(sx[g])
                    })
                    .sum();
                out[r * n + j] = (sum * f64::from(scales[j])) as f32 + bias[j];
            }
        }
        out
    }

    #[test]
    fn every_kernel_matches_the_scalar_reference_on_random_shapes() {
        let mut rng = Random(0x9E37_79B9_7F4A_7C15);
        let mut shapes = vec![
            (1, 384, 384),
            (1, 67, 31),
            (7, 1, 1),
            (13, 130, 17),
            (50, 384, 1536),
            (3, 1537, 40),
        ];
        for _ in 0..12 {
            shapes.push((1 + rng.below(60), 1 + rng.below(400), 1 + rng.below(90)));
        }
        for (m, k, n) in shapes {
            let x: Vec<f32> = (0..m * k).map(|_| rng.uniform() * 3.0).collect();
            let weights: Vec<f32> = (0..n * k).map(|_| rng.uniform()).collect();
            let bias: Vec<f32> = (0..n).map(|_| rng.uniform()).collect();
            let mut values = vec![0i8; n * k];
            let scales: Vec<f32> = (0..n)
                .map(|j| quantize_row(&weights[j * k..(j + 1) * k], &mut values[j * k..(j + 1) * k]))
                .collect();
            let matrix = Int8Matrix::quantize(&weights, n, k, &bias);
            {
                let group = ACTIVATION_GROUP;
                let want = reference(&x, m, k, &values, &scales, &bias, group);
                for kernel in Kernel::available() {
                    let got = matrix.forward_with(kernel, &x);
                    assert_eq!(got.len(), want.len());
                    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                        // Same integer sums; only the order of the float sums differs.
                        assert!(
                            (g - w).abs() <= 2e-5 * (1.0 + w.abs()),
                            "{kernel:?} group {group} m={m} k={k} n={n} at {i}: {g} vs {w}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn int8_products_are_close_to_f32_products() {
        let mut rng = Random(42);
        let (m, k, n) = (9, 384, 40);
        let x: Vec<f32> = (0..m * k).map(|_| rng.uniform()).collect();
        let w: Vec<f32> = (0..n * k).map(|_| rng.uniform() * 0.1).collect();
        let bias = vec![0f32; n];
        let got = Int8Matrix::quantize(&w, n, k, &bias).forward(&x);
        for r in 0..m {
            for j in 0..n {
                let exact: f32 = (0..k).map(|i| x[r * k + i] * w[j * k + i]).sum();
                assert!((got[r * n + j] - exact).abs() < 0.02, "{} vs {exact}", got[r * n + j]);
            }
        }
    }

    #[test]
    fn zero_and_empty_inputs() {
        let m = Int8Matrix::quantize(&[0.0; 6], 2, 3, &[1.0, -1.0]);
        assert_eq!(m.forward(&[0.0; 3]), vec![1.0, -1.0]);
        assert_eq!(m.forward(&[]), Vec::<f32>::new());
        let mut q = [5i8; 3];
        assert_eq!(quantize_row(&[0.0; 3], &mut q), 0.0);
        assert_eq!(q, [0; 3]);
    }
}
