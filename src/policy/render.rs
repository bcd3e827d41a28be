//! The check run's title and summary.
use super::{ConfigError, Evaluation};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckText {
    pub title: String,
    pub summary: String,
}

pub fn check_text(eval: &Evaluation) -> CheckText {
    let _ = eval;
    todo!("policy helper")
}

pub fn config_error_check(err: &ConfigError) -> CheckText {
    let _ = err;
    todo!("policy helper")
}
