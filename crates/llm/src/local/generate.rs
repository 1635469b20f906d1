//! One request's generation, on a thread of its own: the prompt in batches, then token by token
//! until the model ends its turn or the output limit is reached, every event sent through a
//! channel the request's stream reads. When tools are offered, the text goes through a
//! [`ToolCallScanner`] first: calls are sent as [`ChatEvent::ToolCall`]s at the end (as the OpenAI
//! client sends them), before the usage, with [`FinishReason::ToolCalls`].

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use candle_transformers::generation::LogitsProcessor;
use candle_transformers::models::quantized_llama::ModelWeights;
use tokio::sync::mpsc;

use super::Inner;
use super::tokenizer::Utf8Decoder;
use super::tools::{Piece, ToolCallScanner};
use crate::{ChatEvent, Error, FinishReason, Result, ToolCall, Usage};

/// A generation ready to run.
pub(super) struct Generation {
    inner: Arc<Inner>,
    /// The shared weights with a KV cache of this request's own.
    weights: ModelWeights,
    prompt: Vec<u32>,
    max_output: usize,
    temperature: Option<f32>,
    events: mpsc::Sender<Result<ChatEvent>>,
    /// Finds tool calls in the text, when tools are offered.
    scanner: Option<ToolCallScanner>,
    /// The well-formed calls found so far, sent when the generation ends.
    calls: Vec<ToolCall>,
    /// Counts the generation as active until it is dropped.
    _active: ActiveGuard,
}

/// How a generation ended without an error.
enum Outcome {
    /// It sent its last event.
    Finished,
    /// The stream was dropped.
    Cancelled,
}

/// Counts one generation in [`Stats::active`](super::Stats) while it lives.
struct ActiveGuard(Arc<Inner>);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.stats.active.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Generation {
    /// A generation of at most `max_output` tokens answering `prompt`, counted as active from now;
    /// `scanner` finds the calls of the tools offered.
    pub(super) fn new(
        inner: Arc<Inner>,
        prompt: Vec<u32>,
        max_output: usize,
        temperature: Option<f32>,
        events: mpsc::Sender<Result<ChatEvent>>,
        scanner: Option<ToolCallScanner>,
    ) -> Self {
        inner.stats.active.fetch_add(1, Ordering::SeqCst);
        Generation {
            weights: inner.weights.clone(),
            _active: ActiveGuard(Arc::clone(&inner)),
            inner,
            prompt,
            max_output,
            temperature,
            events,
            scanner,
            calls: Vec::new(),
        }
    }

    /// Generates, sending every event; blocks the thread until the answer ends or its stream is
    /// dropped.
    pub(super) fn run(mut self) {
        let started = Instant::now();
        match self.generate() {
            Ok(Outcome::Finished) => {
                tracing::debug!(elapsed = ?started.elapsed(), "local generation finished");
            }
            Ok(Outcome::Cancelled) => {
                self.inner.stats.cancelled.fetch_add(1, Ordering::SeqCst);
                tracing::debug!(elapsed = ?started.elapsed(), "local generation cancelled: its stream was dropped");
            }
            Err(error) => {
                tracing::warn!(%error, "local generation failed");
                // The reader may be gone already; then nobody needs the error.
                let _ = self
                    .events
                    .blocking_send(Err(Error::Inference(error.to_string())));
            }
        }
    }

    fn generate(&mut self) -> candle_core::Result<Outcome> {
        let prompt_tokens = self.prompt.len();
        let usage = |completion_tokens: usize| Usage {
            prompt_tokens: prompt_tokens as u32,
            completion_tokens: completion_tokens as u32,
        };
        if self.max_output == 0 {
            return Ok(self.finish(String::new(), usage(0), FinishReason::Length));
        }

        let started = Instant::now();
        let mut logits = None;
        let mut position = 0;
        let prompt = std::mem::take(&mut self.prompt);
        for batch in prompt.chunks(self.inner.config.prompt_batch_size) {
            if self.events.is_closed() {
                return Ok(Outcome::Cancelled);
            }
            logits = Some(self.forward(batch, position)?);
            position += batch.len();
        }
        let mut logits = logits.expect("a rendered prompt is never empty");
        tracing::trace!(prompt_tokens, elapsed = ?started.elapsed(), "local prompt evaluated");

        let inner = Arc::clone(&self.inner);
        let config = &inner.config;
        let mut sampler = LogitsProcessor::new(config.seed, self.temperature.map(f64::from), None);
        let mut history = prompt;
        let mut decoder = Utf8Decoder::default();
        let mut generated = 0;
        loop {
            let recent = &history[history.len().saturating_sub(config.repeat_last_n)..];
            let penalty = config.repeat_penalty;
            let next = sampler.sample_f(&logits, |logits| penalise_repeats(logits, recent, penalty))?;
            generated += 1;
            if inner.stop.contains(&next) {
                return Ok(self.finish(decoder.finish(), usage(generated), FinishReason::Stop));
            }
            history.push(next);
            let text = decoder.push(inner.tokenizer.token_bytes(next));
            if !text.is_empty() && !self.send_text(&text) {
                return Ok(Outcome::Cancelled);
            }
            if self.scanner.as_ref().is_some_and(ToolCallScanner::ended) {
                // The model went on after its calls: they are to be run first.
                return Ok(self.finish(String::new(), usage(generated), FinishReason::ToolCalls));
            }
            if generated == self.max_output {
                return Ok(self.finish(decoder.finish(), usage(generated), FinishReason::Length));
            }
            if self.events.is_closed() {
                return Ok(Outcome::Cancelled);
            }
            logits = self.forward(&[next], position)?;
            position += 1;
        }
    }

    /// The logits of the token after `tokens`, which start at `position` of the sequence.
    fn forward(&mut self, tokens: &[u32], position: usize) -> candle_core::Result<Tensor> {
        let input = Tensor::new(tokens, &Device::Cpu)?.unsqueeze(0)?;
        self.weights
            .forward(&input, position)?
            .squeeze(0)?
            .to_dtype(DType::F32)
    }

    /// Sends generated text: as it is, or what the tool-call scanner makes of it. False when the
    /// stream was dropped.
    fn send_text(&mut self, text: &str) -> bool {
        let Some(scanner) = &mut self.scanner else {
            return self
                .events
                .blocking_send(Ok(ChatEvent::Delta(text.to_string())))
                .is_ok();
        };
        let pieces = scanner.push(text);
        self.send_pieces(pieces)
    }

    /// Sends text pieces as deltas (a garbled call as the text it was) and keeps the calls.
    fn send_pieces(&mut self, pieces: Vec<Piece>) -> bool {
        for piece in pieces {
            let text = match piece {
                Piece::Text(text) => text,
                Piece::Call(call) => {
                    tracing::debug!(name = %call.name, arguments = %call.arguments, "local model called a tool");
                    self.calls.push(call);
                    continue;
                }
                Piece::Garbled { text, problem } => {
                    tracing::debug!(%problem, text = %text, "local model wrote a tool call that cannot be used");
                    text
                }
            };
            if self.events.blocking_send(Ok(ChatEvent::Delta(text))).is_err() {
                return false;
            }
        }
        true
    }

    /// Sends the last text (if any), the tool calls, the usage and the finish reason
    /// ([`FinishReason::ToolCalls`] when there are calls).
    fn finish(&mut self, rest: String, usage: Usage, reason: FinishReason) -> Outcome {
        let mut pieces = Vec::new();
        match &mut self.scanner {
            Some(scanner) => {
                pieces.extend(scanner.push(&rest));
                pieces.extend(scanner.finish());
            }
            None if !rest.is_empty() => pieces.push(Piece::Text(rest)),
            None => {}
        }
        if !self.send_pieces(pieces) {
            return Outcome::Cancelled;
        }
        let calls = std::mem::take(&mut self.calls);
        let reason = if calls.is_empty() {
            reason
        } else {
            FinishReason::ToolCalls
        };
        let mut events: Vec<ChatEvent> = calls.into_iter().map(ChatEvent::ToolCall).collect();
        events.push(ChatEvent::Usage(usage));
        events.push(ChatEvent::Finished(reason));
        for event in events {
            if self.events.blocking_send(Ok(event)).is_err() {
                return Outcome::Cancelled;
            }
        }
        Outcome::Finished
    }
}

/// llama.cpp's repetition penalty: every distinct token of `recent` has its logit divided by
/// `penalty` when positive, multiplied when negative (so it always becomes less likely).
fn penalise_repeats(logits: &mut [f32], recent: &[u32], penalty: f32) {
    if penalty == 1.0 {
        return;
    }
    let mut seen = std::collections::HashSet::with_capacity(recent.len());
    for &token in recent {
        if !seen.insert(token) {
            continue;
        }
        if let Some(logit) = logits.get_mut(token as usize) {
            if *logit >= 0.0 {
                *logit /= penalty;
            } else {
                *logit *= penalty;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_tokens_become_less_likely_once_each() {
        let mut logits = [2.0, -2.0, 1.0];
        penalise_repeats(&mut logits, &[0, 1, 0, 0], 2.0);
        assert_eq!(logits, [1.0, -4.0, 1.0]);
    }

    #[test]
    fn a_penalty_of_one_changes_nothing() {
        let mut logits = [2.0, -2.0];
        penalise_repeats(&mut logits, &[0, 1], 1.0);
        assert_eq!(logits, [2.0, -2.0]);
    }
}
