//! Analysis throughput on a real corpus, next to bare tree-sitter parsing of the same files.
//!
//! `cargo bench -p reposage-analysis --bench analysis -- [DIR] [MAX_MB]` reads up to MAX_MB
//! (default 270) of source files in languages with a grammar from DIR (default: the cargo registry
//! sources, `~/.cargo/registry/src`), then times, over the same files:
//! - bare parsing (`code::parse`: tree-sitter only);
//! - the analysis the index pipeline runs per file (skip classification, language detection, line
//!   counts, `code::analyze`: parse + symbols + imports + calls + metrics).
//!
//! It prints MB/s and files/s of both, their ratio, and the peak RSS of the process. Fetching,
//! embedding and the database are excluded (the pipeline benchmark covers those).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use reposage_analysis::code;
use reposage_analysis::{Classifier, Language, LineStats};

const DEADLINE: Duration = Duration::from_secs(10);

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let dir = args.next().map(PathBuf::from).unwrap_or_else(default_corpus);
    let max_bytes = args.next().and_then(|mb| mb.parse::<usize>().ok()).unwrap_or(270) * 1024 * 1024;
    let files = collect(&dir, max_bytes);
    let bytes: usize = files.iter().map(|(_, _, text)| text.len()).sum();
    println!(
        "corpus: {} files, {:.1} MB of {} languages from {}",
        files.len(),
        bytes as f64 / 1e6,
        {
            let mut langs: Vec<&str> = files.iter().map(|(_, l, _)| *l).collect();
            langs.sort();
            langs.dedup();
            langs.len()
        },
        dir.display()
    );

    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "threads: {threads} (files are dealt to threads round-robin; both measurements use all of them)"
    );

    let started = Instant::now();
    let nodes: usize = on_threads(&files, threads, |(_, language, text)| {
        code::parse(language, text, DEADLINE).map_or(0, |tree| tree.root_node().descendant_count())
    });
    let parse = started.elapsed();

    let classifier = Classifier::new(&[], &[], 1024 * 1024).expect("no patterns");
    let started = Instant::now();
    let outcomes: Vec<(usize, usize, usize)> = on_threads_collect(&files, threads, |(path, _, text)| {
        if classifier.by_path(path, text.len() as u64).is_some()
            || classifier.by_content(text.as_bytes()).is_some()
        {
            return (0, 1, 0);
        }
        let language = Language::detect(path, text.lines().next()).expect("collected by language");
        std::hint::black_box(LineStats::count(text, Some(language)));
        match code::analyze(language.name, text, DEADLINE) {
            Ok(analysis) => (analysis.symbols.len(), 0, 0),
            Err(_) => (0, 0, 1),
        }
    });
    let analysis = started.elapsed();
    let (symbols, skipped, failures) = outcomes
        .iter()
        .fold((0, 0, 0), |acc, o| (acc.0 + o.0, acc.1 + o.1, acc.2 + o.2));

    let mb = bytes as f64 / 1e6;
    let rate = |d: Duration| (mb / d.as_secs_f64(), files.len() as f64 / d.as_secs_f64());
    let (parse_mbs, parse_fps) = rate(parse);
    let (analysis_mbs, analysis_fps) = rate(analysis);
    println!("bare parse : {parse:>8.2?}  {parse_mbs:>6.2} MB/s  {parse_fps:>8.0} files/s  ({nodes} nodes)");
    println!(
        "analysis   : {analysis:>8.2?}  {analysis_mbs:>6.2} MB/s  {analysis_fps:>8.0} files/s  ({symbols} symbols, {skipped} skipped, {failures} failed)"
    );
    println!(
        "analysis / bare parse throughput: {:.0}%",
        analysis_mbs / parse_mbs * 100.0
    );
    println!(
        "peak RSS: {} MB (the corpus itself is held in memory)",
        peak_rss_kb() / 1024
    );
}

type SourceFile = (String, &'static str, String);

/// Sums `f` over `files` on `threads` threads.
fn on_threads(files: &[SourceFile], threads: usize, f: impl Fn(&SourceFile) -> usize + Sync) -> usize {
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let f = &f;
                scope.spawn(move || files.iter().skip(t).step_by(threads).map(f).sum::<usize>())
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("bench thread")).sum()
    })
}

/// `f` of every file, computed on `threads` threads.
fn on_threads_collect<T: Send>(
    files: &[SourceFile],
    threads: usize,
    f: impl Fn(&SourceFile) -> T + Sync,
) -> Vec<T> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let f = &f;
                scope.spawn(move || files.iter().skip(t).step_by(threads).map(f).collect::<Vec<T>>())
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("bench thread"))
            .collect()
    })
}

fn default_corpus() -> PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cargo"));
    home.join("registry/src")
}

/// Source files with a grammar under `dir`, in a stable order, until `max_bytes`.
fn collect(dir: &Path, max_bytes: usize) -> Vec<SourceFile> {
    let mut paths = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        let mut entries: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        entries.sort();
        for path in entries.into_iter().rev() {
            if path.is_symlink() {
                continue;
            } else if path.is_dir() {
                pending.push(path);
            } else {
                paths.push(path);
            }
        }
    }
    let mut files = Vec::new();
    let mut total = 0;
    for path in paths {
        // repository-relative, as the pipeline sees paths (absolute ones are refused as unsafe)
        let name = path
            .strip_prefix(dir)
            .unwrap_or(&path)
            .to_string_lossy()
            .into_owned();
        let Some(language) = Language::detect(&name, None).filter(|l| code::supports(l.name)) else {
            continue;
        };
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        if text.len() > 1024 * 1024 {
            continue;
        }
        total += text.len();
        files.push((name, language.name, text));
        if total >= max_bytes {
            break;
        }
    }
    files
}

fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}
