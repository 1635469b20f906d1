//! Reading a GGUF file's weights, converting those candle has no SIMD kernel for.
//!
//! candle's CPU kernels for quantized matrix products are chosen at run time (AVX2/FMA, AVX-512
//! VNNI), but only some block types have them: Q4_0, Q8_0 and the k-quants do; Q4_1, Q5_0 and
//! Q5_1 fall back to scalar loops several times slower. SmolLM2-135M-Instruct's Q4_1 file is
//! such a file. [`WeightFormat`] says what those tensors become while loading: kept as stored,
//! requantized to Q8_0 (each block dequantized and rounded to 8 bits with one scale per 32
//! values, within half a step of 1/127 of the block's largest — far finer than the 4-bit steps
//! they were stored with), or dequantized to f32, whose products candle hands to gemm.

use std::io::Cursor;

use candle_core::quantized::gguf_file::Content;
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};

/// How a [`LocalModel`](super::LocalModel) holds weights stored in a block type without SIMD
/// kernels (Q4_1, Q5_0, Q5_1); weights of other types are used as stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum WeightFormat {
    /// As stored: the least memory, scalar products.
    AsStored,
    /// Converted to Q8_0 (8-bit, one scale per 32 values): SIMD products at 1.7× the memory of
    /// Q4_1, rounding far finer than the stored 4 bits.
    Q8_0,
    /// Dequantized to f32: products by gemm, the fastest prompt evaluation, at 6.4× the memory
    /// of Q4_1 and exactly the stored values.
    #[default]
    F32,
}

impl WeightFormat {
    /// The block type converted tensors become.
    pub(super) fn target(self) -> Option<GgmlDType> {
        match self {
            WeightFormat::AsStored => None,
            WeightFormat::Q8_0 => Some(GgmlDType::Q8_0),
            WeightFormat::F32 => Some(GgmlDType::F32),
        }
    }
}

/// Block types whose products run as scalar loops in candle 0.11 on x86.
const WITHOUT_SIMD_KERNELS: &[GgmlDType] = &[GgmlDType::Q4_1, GgmlDType::Q5_0, GgmlDType::Q5_1];

/// GGUF aligns tensor data to 32 bytes.
const ALIGNMENT: usize = 32;

/// The file's bytes and its parsed header, ready for `ModelWeights::from_gguf`.
pub(super) struct GgufBytes {
    /// The header; with conversion, its tensor infos point at converted data past the file's end.
    pub(super) content: Content,
    /// The file's bytes followed by any converted tensors.
    pub(super) reader: Cursor<Vec<u8>>,
    /// Tensors converted.
    pub(super) converted: usize,
}

/// Parses `bytes` as GGUF and converts every tensor of a type without SIMD kernels to `target`
/// (none with `None`).
pub(super) fn read(bytes: Vec<u8>, target: Option<GgmlDType>) -> Result<GgufBytes, String> {
    let mut reader = Cursor::new(bytes);
    let mut content = Content::read(&mut reader).map_err(|e| format!("not a readable GGUF file: {e}"))?;
    let mut converted = 0;
    if let Some(target) = target {
        let mut names: Vec<String> = content
            .tensor_infos
            .iter()
            .filter(|(_, info)| WITHOUT_SIMD_KERNELS.contains(&info.ggml_dtype))
            .map(|(name, _)| name.clone())
            .collect();
        names.sort();
        let mut appended: Vec<u8> = Vec::new();
        let base = reader.get_ref().len();
        let mut new_offsets = Vec::with_capacity(names.len());
        for name in &names {
            let q8 =
                convert(&content, &mut reader, name, target).map_err(|e| format!("tensor {name}: {e}"))?;
            let data = q8.data().map_err(|e| format!("tensor {name}: {e}"))?;
            let padding = (ALIGNMENT - (base + appended.len()) % ALIGNMENT) % ALIGNMENT;
            appended.resize(appended.len() + padding, 0);
            new_offsets.push(base + appended.len());
            appended.extend_from_slice(&data);
        }
        let data_offset = content.tensor_data_offset as usize;
        reader.get_mut().extend_from_slice(&appended);
        for (name, absolute) in names.iter().zip(new_offsets) {
            let info = content.tensor_infos.get_mut(name).expect("listed above");
            info.ggml_dtype = target;
            info.offset = (absolute - data_offset) as u64;
        }
        converted = names.len();
    }
    Ok(GgufBytes {
        content,
        reader,
        converted,
    })
}

/// Tensor `name` dequantized and requantized as `target`.
fn convert(
    content: &Content,
    reader: &mut Cursor<Vec<u8>>,
    name: &str,
    target: GgmlDType,
) -> candle_core::Result<QTensor> {
    let tensor: Tensor = content
        .tensor(reader, name, &Device::Cpu)?
        .dequantize(&Device::Cpu)?;
    QTensor::quantize(&tensor, target)
}
