//! rten-gemm's int8 GEMM (u8 × i8 → i32, prepacked weights) against mlsearch's int8
//! kernel (f32 in, per-row quantisation, i32 sums, f32 out) on the encoder's shapes.
#[allow(dead_code, missing_docs)]
#[path = "../../../src/encoder/wide.rs"]
mod wide;
#[allow(dead_code, missing_docs)]
#[path = "../../../src/encoder/int8/mod.rs"]
mod int8;

use rten_gemm::{GemmExecutor, GemmInputA, GemmInputB, GemmOptions};
use rten_tensor::prelude::*;
use rten_tensor::NdTensor;
use std::time::Instant;

fn main() {
    let shapes = [(2048usize, 384usize, 1152usize), (2048, 384, 1536), (2048, 1536, 384), (17, 384, 1152), (17, 1536, 384)];
    println!("| m × k × n | rten-gemm u8×i8→i32 GMAC/s | mlsearch int8 f32→f32 GMAC/s | rten-gemm f32 GMAC/s |");
    println!("|---|---|---|---|");
    for (m, k, n) in shapes {
        let reps = (2e10 / (m * k * n) as f64).max(3.0) as usize;
        let a: Vec<u8> = (0..m * k).map(|i| (i * 31 % 251) as u8).collect();
        let b: Vec<i8> = (0..k * n).map(|i| ((i * 17 % 255) as i32 - 127) as i8).collect();
        let a_t = NdTensor::from_data([m, k], a);
        let b_t = NdTensor::from_data([k, n], b);
        let exec = GemmExecutor::<u8, i8, i32>::default();
        let packed = exec.prepack_b(b_t.view());
        let mut out = vec![0i32; m * n];
        let run = |out: &mut [i32]| {
            exec.gemm(out, GemmInputA::Unpacked(a_t.view()), GemmInputB::Packed(&packed), GemmOptions::default()).unwrap();
        };
        run(&mut out);
        let t = Instant::now();
        for _ in 0..reps { run(&mut out); }
        let rten = (m * k * n * reps) as f64 / t.elapsed().as_secs_f64() / 1e9;

        let x: Vec<f32> = (0..m * k).map(|i| ((i * 13 % 97) as f32 - 48.0) / 50.0).collect();
        let w: Vec<f32> = (0..n * k).map(|i| ((i * 7 % 89) as f32 - 44.0) / 400.0).collect();
        let ours_m = int8::Int8Matrix::quantize(&w, n, k, &vec![0.0; n]);
        let _ = ours_m.forward(&x);
        let t = Instant::now();
        for _ in 0..reps { std::hint::black_box(ours_m.forward(&x)); }
        let ours = (m * k * n * reps) as f64 / t.elapsed().as_secs_f64() / 1e9;

        let af = NdTensor::from_data([m, k], x.clone());
        let bf = NdTensor::from_data([k, n], w.clone());
        let ef = GemmExecutor::<f32, f32, f32>::default();
        let pf = ef.prepack_b(bf.view());
        let mut of = vec![0f32; m * n];
        ef.gemm(&mut of, GemmInputA::Unpacked(af.view()), GemmInputB::Packed(&pf), GemmOptions::default()).unwrap();
        let t = Instant::now();
        for _ in 0..reps {
            ef.gemm(&mut of, GemmInputA::Unpacked(af.view()), GemmInputB::Packed(&pf), GemmOptions::default()).unwrap();
        }
        let f = (m * k * n * reps) as f64 / t.elapsed().as_secs_f64() / 1e9;
        println!("| {m} × {k} × {n} | {rten:.0} | {ours:.0} | {f:.0} |");
    }
}
