//! Crate doc.
use std::collections::HashMap;
use crate::net::{Client, Request};

/// Retries with backoff.
#[inline]
pub fn backoff_send(client: &Client, tries: u32) -> Result<(), Error> {
    for i in 0..tries {
        if client.send().is_ok() && i > 0 {
            return Ok(());
        }
    }
    let x = compute()?;
    match x {
        1 => println!("one"),
        2 | 3 => {}
        _ => {}
    }
    Ok(())
}

pub(crate) struct Server { port: u16 }

impl Server {
    /// Runs it.
    pub fn run(&self) { helper(); }
    fn stop(&self) {}
}

trait Handler { fn handle(&self); }
mod inner { pub const LIMIT: usize = 3; }
macro_rules! m { () => {} }
