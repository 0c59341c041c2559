//! The machine's peak multiply-accumulate rates (register-only loops), so the encoder
//! benchmark can state its speed against the machine's limit. Built with the
//! `bench-internals` feature only: no search calls it.

/// Which peak rate [`peak_rate`] measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peak {
    /// Int8 multiply-accumulates with AVX-512 VNNI.
    Int8Vnni,
    /// f32 fused multiply-adds with AVX-512.
    F32Fma,
}

/// The machine's peak rate in multiply-accumulates per second, on `threads` threads at
/// once (register-only loops of independent instructions, about 0.3 s); 0 where the CPU
/// lacks the instructions.
pub fn peak_rate(kind: Peak, threads: usize) -> f64 {
    #[cfg(target_arch = "x86_64")]
    {
        let rounds = 20_000_000;
        let start = std::time::Instant::now();
        let work: f64 = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads.max(1))
                .map(|_| s.spawn(move || x86_64::peak(kind, rounds)))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap_or(0.0)).sum()
        });
        work / start.elapsed().as_secs_f64()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (kind, threads);
        0.0
    }
}

#[cfg(target_arch = "x86_64")]
mod x86_64 {
    use std::arch::x86_64::*;

    use super::Peak;

    /// Multiply-accumulates one core does in `rounds` rounds of 16 independent chains of
    /// `vpdpbusd` (AVX-512 VNNI) or `vfmadd` (f32 FMA) on registers: the machine's peak.
    pub(super) fn peak(kind: Peak, rounds: usize) -> f64 {
        match kind {
            Peak::Int8Vnni if is_x86_feature_detected!("avx512vnni") => {
                // SAFETY: the CPU has AVX-512 VNNI (checked above); no memory is touched.
                unsafe { peak_vnni(rounds) }
            }
            Peak::F32Fma if is_x86_feature_detected!("avx512f") => {
                // SAFETY: the CPU has AVX-512F (checked above); no memory is touched.
                unsafe { peak_fma(rounds) }
            }
            _ => 0.0,
        }
    }

    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    unsafe fn peak_vnni(rounds: usize) -> f64 {
        let mut acc = [_mm512_setzero_si512(); 16];
        let a = _mm512_set1_epi8(3);
        let b = _mm512_set1_epi8(-1);
        for _ in 0..rounds {
            for v in acc.iter_mut() {
                *v = _mm512_dpbusd_epi32(*v, a, b);
            }
        }
        let mut total = _mm512_setzero_si512();
        for v in acc {
            total = _mm512_add_epi32(total, v);
        }
        std::hint::black_box(total);
        (rounds * 16 * 64) as f64
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn peak_fma(rounds: usize) -> f64 {
        let mut acc = [_mm512_setzero_ps(); 16];
        let a = _mm512_set1_ps(0.999);
        let b = _mm512_set1_ps(1e-3);
        for _ in 0..rounds {
            for v in acc.iter_mut() {
                *v = _mm512_fmadd_ps(*v, a, b);
            }
        }
        let mut total = _mm512_setzero_ps();
        for v in acc {
            total = _mm512_add_ps(total, v);
        }
        std::hint::black_box(total);
        (rounds * 16 * 16) as f64
    }
}
