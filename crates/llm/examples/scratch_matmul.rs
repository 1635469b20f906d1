//! Temporary measurement (deleted after use).
use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{DType, Device, Module, Tensor};
use std::time::Instant;

fn main() {
    let dev = Device::Cpu;
    for (m, k, n) in [(512usize, 576usize, 1536usize), (1, 576, 1536), (512, 1536, 576)] {
        let w = Tensor::randn(0f32, 1.0, (n, k), &dev).unwrap();
        let x = Tensor::randn(0f32, 1.0, (1, m, k), &dev).unwrap();
        for dt in [
            GgmlDType::Q4_1,
            GgmlDType::Q8_0,
            GgmlDType::Q4_0,
            GgmlDType::F32,
            GgmlDType::F16,
        ] {
            let q = QMatMul::from_qtensor(QTensor::quantize(&w, dt).unwrap()).unwrap();
            let _ = q.forward(&x).unwrap();
            let reps = if m == 1 { 200 } else { 5 };
            let t = Instant::now();
            for _ in 0..reps {
                let _ = q.forward(&x).unwrap();
            }
            let el = t.elapsed().as_secs_f64() / reps as f64;
            println!(
                "m={m} k={k} n={n} {dt:?}: {:.3} ms, {:.1} GMAC/s",
                el * 1e3,
                (m * k * n) as f64 / el / 1e9
            );
        }
        let wf16 = w.to_dtype(DType::F16).unwrap();
        let xf16 = x.to_dtype(DType::F16).unwrap();
        let t = Instant::now();
        for _ in 0..5 {
            let _ = xf16.broadcast_matmul(&wf16.t().unwrap()).unwrap();
        }
        let el = t.elapsed().as_secs_f64() / 5.0;
        println!(
            "m={m} f16xf16 gemm: {:.3} ms, {:.1} GMAC/s",
            el * 1e3,
            (m * k * n) as f64 / el / 1e9
        );
    }
}
