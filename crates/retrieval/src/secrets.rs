//! Secret detection and redaction (filled in by the secrets scanner work).
