//! Loops compiled wide: the binary targets baseline x86-64 (SSE2, four f32 lanes), so the
//! encoder's elementwise loops (layer norm, GELU, softmax, quantisation) are written as
//! `#[inline(always)]` functions and run through [`wide!`], which compiles them again for
//! AVX-512 and for AVX2 + FMA and picks one at run time.

/// Runs an `#[inline(always)]` function compiled for AVX-512 (or AVX2 + FMA) when the CPU
/// has it: the binary is built for baseline x86-64 (SSE2), which would leave these loops
/// four lanes wide.
macro_rules! wide {
    ($f:ident($($arg:expr),*)) => {{
        #[cfg(target_arch = "x86_64")]
        {
            #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
            unsafe fn avx512<R>(f: impl FnOnce() -> R) -> R {
                f()
            }
            #[target_feature(enable = "avx2,fma")]
            unsafe fn avx2<R>(f: impl FnOnce() -> R) -> R {
                f()
            }
            if std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512dq") {
                // SAFETY: the CPU has the features (checked above).
                unsafe { avx512(|| $f($($arg),*)) }
            } else if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                // SAFETY: as above.
                unsafe { avx2(|| $f($($arg),*)) }
            } else {
                $f($($arg),*)
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            $f($($arg),*)
        }
    }};
}

pub(crate) use wide;
