//! OpenAI-compatible embeddings with async-openai (being written).
