//! `forge::github::webhook::parse` on an `X-GitHub-Event` name and a body.
//!
//! Input: the event name on the first line, the body after it, so seeds are real
//! deliveries (`pull_request\n{...}`) and the fuzzer mutates both halves.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smallbatch::forge::github::webhook::{parse, Parsed};

fuzz_target!(|data: &[u8]| {
    let (event, body) = split_event(data);
    match parse(event, body) {
        // The reasons and errors reach the delivery log: rendering them must not panic either.
        Ok(Parsed::Events(events)) => drop(format!("{events:?}")),
        Ok(Parsed::Ignored { reason }) => assert!(!reason.is_empty(), "empty ignore reason"),
        Err(error) => drop(error.to_string()),
    }
});

/// The first line (lossily decoded, as a header value would be) and the rest.
fn split_event(data: &[u8]) -> (&str, &[u8]) {
    let newline = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let event = std::str::from_utf8(&data[..newline]).unwrap_or("");
    (event, data.get(newline + 1..).unwrap_or(&[]))
}
