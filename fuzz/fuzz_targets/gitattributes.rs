//! `policy::gitattributes::LinguistAttributes` on a `.gitattributes` file and paths.
//!
//! Input: the file's text, then a NUL, then one path per line to classify.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smallbatch::policy::gitattributes::LinguistAttributes;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (attributes, paths) = text.split_once('\0').unwrap_or((&text, "src/main.rs"));
    let attributes = LinguistAttributes::parse(attributes);
    for path in paths.lines() {
        // Pure: the same path gets the same answer.
        assert_eq!(attributes.classify(path), attributes.classify(path));
    }
});
