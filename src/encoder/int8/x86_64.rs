//! The x86-64 kernels. Each computes a tile of i32 sums: `R` rows of activations against
//! `C` packed blocks of 16 columns, over all of `k`, with every sum in a register. For each
//! group of 4 inputs it loads the blocks' 64 weight bytes once and broadcasts each row's 4
//! activation bytes, so a row × block costs one `vpdpbusd` (AVX-512 VNNI), two (AVX-VNNI)
//! or eight AVX2 instructions.
//!
//! [`tile`] is the only way in: it checks every length the kernels read or write, and
//! that the CPU has the instructions, before it calls them.

use std::arch::x86_64::*;

use super::{Kernel, BLOCK_COLS, GROUP};

/// Calls `$kernel::<rows, ...>` for a row count known only at run time (1 to 6).
macro_rules! by_rows {
    ($rows:expr, $kernel:ident, $($args:tt)*) => {
        by_rows!(@call $rows, $kernel, [$($args)*])
    };
    (@call $rows:expr, $kernel:ident, [$c:literal, $($args:expr),*]) => {
        match $rows {
            1 => $kernel::<1, $c>($($args),*),
            2 => $kernel::<2, $c>($($args),*),
            3 => $kernel::<3, $c>($($args),*),
            4 => $kernel::<4, $c>($($args),*),
            5 => $kernel::<5, $c>($($args),*),
            6 => $kernel::<6, $c>($($args),*),
            r => unreachable!("row tile {r}"),
        }
    };
    (@call $rows:expr, $kernel:ident, [$($args:expr),*]) => {
        match $rows {
            1 => $kernel::<1>($($args),*),
            2 => $kernel::<2>($($args),*),
            3 => $kernel::<3>($($args),*),
            4 => $kernel::<4>($($args),*),
            r => unreachable!("row tile {r}"),
        }
    };
}

/// How far ahead in a weight panel the AVX-512 kernel prefetches (bytes).
const PREFETCH_AHEAD: usize = 512;

/// i32 sums over `groups` groups of 4 inputs: `rows` rows of `x` (row `r` starts at
/// `r · x_stride`) with `blocks` packed blocks of `w` (block `b` starts at `b · block_len`,
/// laid out `[groups][16][4]` from there) into `sums` (`[rows][blocks · 16]`).
#[allow(clippy::too_many_arguments)]
pub(super) fn tile(
    kernel: Kernel,
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
    assert!(rows >= 1 && blocks >= 1 && span <= x_stride && span * BLOCK_COLS <= block_len);
    assert!(x.len() >= (rows - 1) * x_stride + span, "x holds every row's inputs");
    assert!(
        w.len() >= (blocks - 1) * block_len + span * BLOCK_COLS,
        "w holds every block"
    );
    assert!(sums.len() >= rows * width);
    assert!(kernel.runs_here());
    // SAFETY: the lengths are checked above, and `kernel` is one this CPU runs.
    unsafe {
        match kernel {
            Kernel::Avx512Vnni => {
                let mut b = 0;
                while b < blocks {
                    let (x, w, out) = (
                        x.as_ptr(),
                        w.as_ptr().add(b * block_len),
                        sums.as_mut_ptr().add(b * BLOCK_COLS),
                    );
                    if blocks - b >= 4 {
                        by_rows!(rows, avx512_vnni, 4, x, x_stride, w, block_len, groups, out, width);
                        b += 4;
                    } else {
                        by_rows!(rows, avx512_vnni, 1, x, x_stride, w, block_len, groups, out, width);
                        b += 1;
                    }
                }
            }
            Kernel::AvxVnni | Kernel::Avx2 => {
                for b in 0..blocks {
                    let (x, w, out) = (
                        x.as_ptr(),
                        w.as_ptr().add(b * block_len),
                        sums.as_mut_ptr().add(b * BLOCK_COLS),
                    );
                    if kernel == Kernel::AvxVnni {
                        by_rows!(rows, avx_vnni, x, x_stride, w, groups, out, width);
                    } else {
                        by_rows!(rows, avx2, x, x_stride, w, groups, out, width);
                    }
                }
            }
            Kernel::Scalar => unreachable!("the scalar kernel is not in this module"),
        }
    }
}

/// AVX-512 VNNI: activations are unsigned (`q + 128`).
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn avx512_vnni<const R: usize, const C: usize>(
    x: *const i8,
    x_stride: usize,
    w: *const i8,
    block_len: usize,
    groups: usize,
    sums: *mut i32,
    stride: usize,
) {
    let mut acc = [[_mm512_setzero_si512(); C]; R];
    for g in 0..groups {
        let mut weights = [_mm512_setzero_si512(); C];
        for (c, v) in weights.iter_mut().enumerate() {
            let at = w.add(c * block_len + g * BLOCK_COLS * GROUP);
            // A query's weights come from L3 (every layer's are read once): ask for them
            // ahead. Past the end this only asks for lines nobody reads.
            _mm_prefetch::<_MM_HINT_T0>(at.wrapping_add(PREFETCH_AHEAD));
            *v = _mm512_loadu_si512(at as *const __m512i);
        }
        for (r, acc) in acc.iter_mut().enumerate() {
            let four = _mm512_set1_epi32((x.add(r * x_stride + g * GROUP) as *const i32).read_unaligned());
            for (a, v) in acc.iter_mut().zip(&weights) {
                *a = _mm512_dpbusd_epi32(*a, four, *v);
            }
        }
    }
    for (r, acc) in acc.iter().enumerate() {
        for (c, a) in acc.iter().enumerate() {
            _mm512_storeu_si512(sums.add(r * stride + c * BLOCK_COLS) as *mut __m512i, *a);
        }
    }
}

/// AVX-VNNI: one block as two 256-bit halves of 8 columns; activations unsigned.
#[target_feature(enable = "avx2,avxvnni")]
unsafe fn avx_vnni<const R: usize>(
    x: *const i8,
    x_stride: usize,
    w: *const i8,
    groups: usize,
    sums: *mut i32,
    stride: usize,
) {
    let mut acc = [[_mm256_setzero_si256(); 2]; R];
    for g in 0..groups {
        let base = w.add(g * BLOCK_COLS * GROUP);
        let halves = [
            _mm256_loadu_si256(base as *const __m256i),
            _mm256_loadu_si256(base.add(32) as *const __m256i),
        ];
        for (r, acc) in acc.iter_mut().enumerate() {
            let four = _mm256_set1_epi32((x.add(r * x_stride + g * GROUP) as *const i32).read_unaligned());
            for (a, v) in acc.iter_mut().zip(&halves) {
                *a = _mm256_dpbusd_avx_epi32(*a, four, *v);
            }
        }
    }
    store_halves(&acc, sums, stride);
}

/// AVX2: `vpmaddubsw` multiplies unsigned by signed bytes with 16-bit saturation, so it is
/// given |x| and w with x's sign (|x|, |w| ≤ 127: a pair sums to at most 32,258).
#[target_feature(enable = "avx2")]
unsafe fn avx2<const R: usize>(
    x: *const i8,
    x_stride: usize,
    w: *const i8,
    groups: usize,
    sums: *mut i32,
    stride: usize,
) {
    let ones = _mm256_set1_epi16(1);
    let mut acc = [[_mm256_setzero_si256(); 2]; R];
    for g in 0..groups {
        let base = w.add(g * BLOCK_COLS * GROUP);
        let halves = [
            _mm256_loadu_si256(base as *const __m256i),
            _mm256_loadu_si256(base.add(32) as *const __m256i),
        ];
        for (r, acc) in acc.iter_mut().enumerate() {
            let four = _mm256_set1_epi32((x.add(r * x_stride + g * GROUP) as *const i32).read_unaligned());
            let magnitude = _mm256_abs_epi8(four);
            for (a, v) in acc.iter_mut().zip(&halves) {
                let pairs = _mm256_maddubs_epi16(magnitude, _mm256_sign_epi8(*v, four));
                *a = _mm256_add_epi32(*a, _mm256_madd_epi16(pairs, ones));
            }
        }
    }
    store_halves(&acc, sums, stride);
}

#[target_feature(enable = "avx2")]
unsafe fn store_halves<const R: usize>(acc: &[[__m256i; 2]; R], sums: *mut i32, stride: usize) {
    for (r, halves) in acc.iter().enumerate() {
        for (h, a) in halves.iter().enumerate() {
            _mm256_storeu_si256(sums.add(r * stride + h * 8) as *mut __m256i, *a);
        }
    }
}
