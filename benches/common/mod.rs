//! What several benchmarks share.
#![allow(dead_code)]

/// The `p` quantile (0–1) of sorted values, by the nearest rank.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}
