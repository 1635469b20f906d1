//! Integration tests of repository analysis on real git repositories built with git2.

mod fetch;
mod tree;
