//! The numeric kernels under the forward pass: the few-row matrix product ([`skinny_matmul`]),
//! fused in-place passes over candle tensors (masked softmax, bias, bias + residual, bias + GELU)
//! run on rayon's pool, and the branch-free `exp`, GELU and lane folds they are built from.

use candle_core::{CpuStorage, InplaceOp1, InplaceOp2, Layout};
use rayon::prelude::*;

use crate::vector::embedded::dot;

/// Outputs (columns of the product) one task of [`skinny_matmul`] computes.
const OUTPUTS_PER_TASK: usize = 64;
/// Width of the lane blocks the dot products are summed in.
const DOT_LANES: usize = 16;

/// `x · wᵀ` for `x` of `rows × inner` and `w` of `cols × inner` (row-major, one row per output),
/// for a few rows: the product of a search query's tokens, bound by reading the weights rather
/// than by arithmetic. gemm first copies ("packs") the whole weight matrix into its own layout,
/// which for a handful of rows moves more bytes than the product reads. Here outputs are shared
/// out over rayon's pool in blocks of [`OUTPUTS_PER_TASK`]; each output's weights are one
/// contiguous run, read once from memory (four runs side by side, which the prefetcher follows)
/// and again from L1 for each further row.
pub(super) fn skinny_matmul(x: &[f32], rows: usize, w: &[f32], inner: usize, cols: usize) -> Vec<f32> {
    let blocks: Vec<Vec<f32>> = (0..cols.div_ceil(OUTPUTS_PER_TASK))
        .into_par_iter()
        .with_min_len(2)
        .map(|block| {
            let outputs = block * OUTPUTS_PER_TASK..cols.min((block + 1) * OUTPUTS_PER_TASK);
            let mut out = vec![0f32; rows * outputs.len()];
            output_block(
                x,
                rows,
                &w[outputs.start * inner..outputs.end * inner],
                inner,
                &mut out,
            );
            out
        })
        .collect();
    let mut out = vec![0f32; rows * cols];
    for (block, values) in blocks.iter().enumerate() {
        let start = block * OUTPUTS_PER_TASK;
        let width = values.len() / rows.max(1);
        for row in 0..rows {
            out[row * cols + start..][..width].copy_from_slice(&values[row * width..][..width]);
        }
    }
    out
}

/// `x · wᵀ` into `out` (`rows × outputs`) for the outputs whose weight rows `w` holds, four
/// outputs at a time (their weights read once from memory, then from L1 for each row), compiled
/// for AVX-512 and AVX2 as well as plain x86-64, the best one chosen at run time.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2+fma", "aarch64+neon"))]
fn output_block(x: &[f32], rows: usize, w: &[f32], inner: usize, out: &mut [f32]) {
    let outputs = w.len() / inner.max(1);
    let weight_rows: Vec<&[f32]> = w.chunks_exact(inner.max(1)).collect();
    let input_rows: Vec<&[f32]> = x.chunks_exact(inner.max(1)).take(rows).collect();
    for (quad, weights) in weight_rows.chunks(4).enumerate() {
        for (row, input) in input_rows.iter().enumerate() {
            let sums = match weights {
                [a, b, c, d] => dot4(input, [a, b, c, d]),
                _ => std::array::from_fn(|o| weights.get(o).map_or(0.0, |w| dot(input, w))),
            };
            for (o, sum) in sums.into_iter().take(weights.len()).enumerate() {
                out[row * outputs + quad * 4 + o] = sum;
            }
        }
    }
}

/// The dot products of `x` with four vectors of its length, each summed in [`DOT_LANES`] lanes
/// (four separate sums the compiler keeps in vector registers).
#[inline(always)]
fn dot4(x: &[f32], w: [&[f32]; 4]) -> [f32; 4] {
    let (xs, x_tail) = x.as_chunks::<DOT_LANES>();
    let (w0, w0_tail) = w[0].as_chunks::<DOT_LANES>();
    let (w1, w1_tail) = w[1].as_chunks::<DOT_LANES>();
    let (w2, w2_tail) = w[2].as_chunks::<DOT_LANES>();
    let (w3, w3_tail) = w[3].as_chunks::<DOT_LANES>();
    // Four separate arrays (not one array of four): each becomes a vector register.
    let (mut s0, mut s1, mut s2, mut s3) = (
        [0f32; DOT_LANES],
        [0f32; DOT_LANES],
        [0f32; DOT_LANES],
        [0f32; DOT_LANES],
    );
    for ((((x, w0), w1), w2), w3) in xs.iter().zip(w0).zip(w1).zip(w2).zip(w3) {
        for lane in 0..DOT_LANES {
            s0[lane] += x[lane] * w0[lane];
            s1[lane] += x[lane] * w1[lane];
            s2[lane] += x[lane] * w2[lane];
            s3[lane] += x[lane] * w3[lane];
        }
    }
    let tail = |w_tail: &[f32]| -> f32 { x_tail.iter().zip(w_tail).map(|(x, w)| x * w).sum() };
    [
        s0.iter().sum::<f32>() + tail(w0_tail),
        s1.iter().sum::<f32>() + tail(w1_tail),
        s2.iter().sum::<f32>() + tail(w2_tail),
        s3.iter().sum::<f32>() + tail(w3_tail),
    ]
}

/// In place over attention scores `(texts · heads, len, len)`: a softmax over each row's first
/// `lengths[text]` entries, zero over the padding after them.
pub(super) struct MaskedSoftmax {
    pub(super) lengths: Vec<usize>,
    /// Score rows per text: heads · len.
    pub(super) rows_per_text: usize,
}

impl InplaceOp1 for MaskedSoftmax {
    fn name(&self) -> &'static str {
        "masked-softmax"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> candle_core::Result<()> {
        let len = layout.dims().last().copied().unwrap_or(1).max(1);
        let data = contiguous_f32(storage, layout)?;
        let rows_per_text = self.rows_per_text.max(1);
        par_rows(data, len, |first_row, rows| {
            for (i, row) in rows.chunks_mut(len).enumerate() {
                let text = (first_row + i) / rows_per_text;
                let valid = self.lengths.get(text).copied().unwrap_or(len).clamp(1, len);
                let (live, padding) = row.split_at_mut(valid);
                let max = lanes(live, f32::NEG_INFINITY, f32::max);
                // Separate passes: each one vectorises, a loop that also summed would not.
                live.iter_mut()
                    .for_each(|value| *value = exp_nonpositive(*value - max));
                let inv = 1.0 / lanes(live, 0.0, |a, b| a + b);
                live.iter_mut().for_each(|value| *value *= inv);
                padding.fill(0.0);
            }
        });
        Ok(())
    }
}

/// In place over `(tokens, width)`: adds the bias.
pub(super) struct AddBias<'a> {
    pub(super) bias: &'a [f32],
}

impl InplaceOp1 for AddBias<'_> {
    fn name(&self) -> &'static str {
        "bias"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> candle_core::Result<()> {
        let data = rows_of(storage, layout, self.bias.len())?;
        par_rows(data, self.bias.len(), |_, rows| {
            for row in rows.chunks_mut(self.bias.len()) {
                row.iter_mut()
                    .zip(self.bias)
                    .for_each(|(value, bias)| *value += bias);
            }
        });
        Ok(())
    }
}

/// In place over `(tokens, width)`: adds the bias and the residual (the second tensor, same shape).
pub(super) struct AddBiasResidual<'a> {
    pub(super) bias: &'a [f32],
}

impl InplaceOp2 for AddBiasResidual<'_> {
    fn name(&self) -> &'static str {
        "bias-residual"
    }

    fn cpu_fwd(
        &self,
        storage: &mut CpuStorage,
        layout: &Layout,
        residual: &CpuStorage,
        residual_layout: &Layout,
    ) -> candle_core::Result<()> {
        let width = self.bias.len();
        if layout.dims() != residual_layout.dims() {
            candle_core::bail!(
                "residual of shape {:?} for a tensor of shape {:?}",
                residual_layout.dims(),
                layout.dims()
            );
        }
        let residual = match (residual, residual_layout.contiguous_offsets()) {
            (CpuStorage::F32(values), Some((start, end))) => values
                .get(start..end)
                .ok_or_else(|| candle_core::Error::Msg("layout outside its storage".into()))?,
            _ => candle_core::bail!("expected a contiguous f32 residual"),
        };
        let data = rows_of(storage, layout, width)?;
        par_rows(data, width, |first_row, rows| {
            let residual = &residual[first_row * width..][..rows.len()];
            for (row, residual) in rows.chunks_mut(width).zip(residual.chunks(width)) {
                for ((value, bias), residual) in row.iter_mut().zip(self.bias).zip(residual) {
                    *value += bias + residual;
                }
            }
        });
        Ok(())
    }
}

/// In place over `(tokens, intermediate)`: adds the bias, then GELU with erf (BERT's `gelu`).
pub(super) struct BiasGelu<'a> {
    pub(super) bias: &'a [f32],
}

impl InplaceOp1 for BiasGelu<'_> {
    fn name(&self) -> &'static str {
        "bias-gelu"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> candle_core::Result<()> {
        let width = self.bias.len();
        let data = rows_of(storage, layout, width)?;
        par_rows(data, width, |_, rows| {
            for row in rows.chunks_mut(width) {
                for (value, bias) in row.iter_mut().zip(self.bias) {
                    *value = gelu_erf(*value + bias);
                }
            }
        });
        Ok(())
    }
}

/// The values of a contiguous f32 tensor whose rows are `width` wide (a bias of that width).
fn rows_of<'a>(
    storage: &'a mut CpuStorage,
    layout: &Layout,
    width: usize,
) -> candle_core::Result<&'a mut [f32]> {
    if layout.dims().last() != Some(&width) {
        candle_core::bail!("bias of {width} for a tensor of shape {:?}", layout.dims());
    }
    contiguous_f32(storage, layout)
}

fn contiguous_f32<'a>(storage: &'a mut CpuStorage, layout: &Layout) -> candle_core::Result<&'a mut [f32]> {
    let Some((start, end)) = layout.contiguous_offsets() else {
        candle_core::bail!("expected a contiguous tensor");
    };
    match storage {
        CpuStorage::F32(values) => values
            .get_mut(start..end)
            .ok_or_else(|| candle_core::Error::Msg("layout outside its storage".into())),
        _ => candle_core::bail!("expected f32 values"),
    }
}

/// Below this many values a pass stays on the calling thread: starting threads would cost more than
/// the work (a search query is a few tokens; every layer runs several such passes).
const PARALLEL_MIN_VALUES: usize = 1 << 16;

/// Runs `f(first_row, rows)` over `data` cut into whole rows of `row_len`, one part per thread of
/// the current rayon pool (one part for small data). When the pool's other threads are busy with
/// their own batches, the parts simply run one after the other here.
fn par_rows(data: &mut [f32], row_len: usize, f: impl Fn(usize, &mut [f32]) + Sync) {
    let rows = data.len() / row_len.max(1);
    let threads = if data.len() < PARALLEL_MIN_VALUES {
        1
    } else {
        rayon::current_num_threads().clamp(1, rows.max(1))
    };
    if threads == 1 {
        f(0, data);
        return;
    }
    let rows_per_part = rows.div_ceil(threads);
    data.par_chunks_mut(rows_per_part * row_len)
        .enumerate()
        .for_each(|(part, chunk)| f(part * rows_per_part, chunk));
}

/// `values` folded with `op` in eight independent lanes, then the lanes folded: the lanes let the
/// compiler vectorise a reduction it may not reorder itself (float addition is not associative).
#[inline(always)]
fn lanes(values: &[f32], init: f32, op: impl Fn(f32, f32) -> f32) -> f32 {
    let mut acc = [init; 8];
    let mut chunks = values.chunks_exact(8);
    for chunk in &mut chunks {
        for (lane, &value) in acc.iter_mut().zip(chunk) {
            *lane = op(*lane, value);
        }
    }
    let partial = chunks.remainder().iter().fold(init, |a, &b| op(a, b));
    acc.into_iter().fold(partial, op)
}

/// 1.5·2^23: adding it to a float of magnitude below 2^22 rounds that float to an integer, held in
/// the low bits of the sum's representation.
const ROUNDING_MAGIC: f32 = 12_582_912.0;

/// e^x for x ≤ 0 (relative error about 2e-7), branch-free so the loops around it vectorise: 2^(x·log2 e)
/// split into an integer power, set in the exponent bits, and a degree-6 polynomial on [-½, ½].
#[inline(always)]
fn exp_nonpositive(x: f32) -> f32 {
    let y = (x * std::f32::consts::LOG2_E).max(-126.0);
    // Round to nearest with the magic number (no SSE4.1 round instruction needed); the integer is
    // read back from the sum's bits, which vectorises where a float-to-int cast does not.
    let shifted = y + ROUNDING_MAGIC;
    let n = shifted - ROUNDING_MAGIC;
    let f = (y - n) * std::f32::consts::LN_2;
    let p = 1.0
        + f * (1.0 + f * (0.5 + f * (1.0 / 6.0 + f * (1.0 / 24.0 + f * (1.0 / 120.0 + f * (1.0 / 720.0))))));
    let exponent = shifted
        .to_bits()
        .wrapping_sub(ROUNDING_MAGIC.to_bits())
        .wrapping_add(127);
    p * f32::from_bits(exponent << 23)
}

/// x·Φ(x) with erf from Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7).
#[inline(always)]
fn gelu_erf(x: f32) -> f32 {
    let z = x.abs() * std::f32::consts::FRAC_1_SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * z);
    let poly =
        t * (0.254_829_6 + t * (-0.284_496_72 + t * (1.421_413_8 + t * (-1.453_152 + t * 1.061_405_4))));
    let erf_abs = 1.0 - poly * exp_nonpositive(-z * z);
    let erf = erf_abs.copysign(x);
    0.5 * x * (1.0 + erf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_skinny_product_matches_a_plain_one() {
        // Row and output counts around the groups of four, inner sizes with and without a partial
        // lane block, and more outputs than one task takes.
        for (rows, inner, cols) in [(1, 7, 32), (5, 48, 64), (9, 40, 70), (3, 1, 5), (10, 384, 130)] {
            let x: Vec<f32> = (0..rows * inner)
                .map(|i| ((i * 7 % 13) as f32 - 6.0) / 5.0)
                .collect();
            let w: Vec<f32> = (0..cols * inner)
                .map(|i| ((i * 5 % 11) as f32 - 5.0) / 3.0)
                .collect();
            let product = skinny_matmul(&x, rows, &w, inner, cols);
            for row in 0..rows {
                for col in 0..cols {
                    let expected: f32 = (0..inner).map(|i| x[row * inner + i] * w[col * inner + i]).sum();
                    let got = product[row * cols + col];
                    assert!(
                        (got - expected).abs() <= 1e-4,
                        "({row}, {col}): {got} vs {expected}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_fast_exp_matches_the_standard_one() {
        for i in 0..=20_000 {
            let x = -(i as f32) * 0.005;
            let (fast, exact) = (exp_nonpositive(x), x.exp());
            assert!(
                (fast - exact).abs() <= exact * 4e-6 + 1e-30,
                "e^{x}: {fast} vs {exact}"
            );
        }
        assert_eq!(
            exp_nonpositive(-1e4),
            exp_nonpositive(-126.0 / std::f32::consts::LOG2_E)
        );
    }

    #[test]
    fn lane_folds_match_plain_folds() {
        for len in 0..40 {
            let values: Vec<f32> = (0..len).map(|i| ((i * 37 % 11) as f32 - 5.0) * 0.25).collect();
            let sum: f32 = values.iter().sum();
            assert!(
                (lanes(&values, 0.0, |a, b| a + b) - sum).abs() < 1e-5,
                "sum of {len}"
            );
            let max = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            assert_eq!(lanes(&values, f32::NEG_INFINITY, f32::max), max, "max of {len}");
        }
    }

    #[test]
    fn the_fast_gelu_matches_gelu_with_erf() {
        for i in -4_000..=4_000 {
            let x = i as f32 * 0.001;
            let exact = 0.5 * f64::from(x) * (1.0 + erf(f64::from(x) / std::f64::consts::SQRT_2));
            let fast = f64::from(gelu_erf(x));
            assert!((fast - exact).abs() < 1e-6, "gelu({x}): {fast} vs {exact}");
        }
        assert!((gelu_erf(10.0) - 10.0).abs() < 1e-6 && gelu_erf(-10.0).abs() < 1e-6);
    }

    /// erf by its Taylor series, exact enough for |x| ≤ 3 in f64.
    fn erf(x: f64) -> f64 {
        let (mut term, mut sum) = (x, x);
        for n in 1..200 {
            term *= -x * x / n as f64;
            sum += term / (2 * n + 1) as f64;
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    }
}
