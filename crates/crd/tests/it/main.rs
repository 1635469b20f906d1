//! Integration tests of the CRD types: generated YAML, samples, validation.

mod drift;
mod samples;
mod validation;
