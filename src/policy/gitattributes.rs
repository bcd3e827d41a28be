//! `linguist-generated` / `linguist-vendored` from `.gitattributes`, matched with git's own
//! pattern semantics.
