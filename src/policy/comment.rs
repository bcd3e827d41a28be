//! The one guidance comment: built by named constructors, reconciled against what was posted.
use super::Evaluation;

/// Hidden marker that identifies the bot's guidance comment.
pub const GUIDANCE_MARKER: &str = "<!-- smallbatch:guidance -->";

/// The guidance comment for this evaluation, or `None` when there is no guidance to give.
pub fn guidance_comment(eval: &Evaluation) -> Option<String> {
    let _ = eval;
    todo!("policy helper")
}

/// What an earlier guidance comment becomes once its problems are fixed.
pub fn resolved_comment(eval: &Evaluation) -> String {
    let _ = eval;
    todo!("policy helper")
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommentAction {
    Create(String),
    Edit(String),
    Keep,
}

/// Decides what to do given the body last posted (if any).
pub fn reconcile(posted: Option<&str>, eval: &Evaluation) -> CommentAction {
    let _ = (posted, eval);
    todo!("policy helper")
}
