//! Integration tests of repository analysis on real git repositories built with git2.

mod chunk;
mod code;
mod fetch;
mod tree;
