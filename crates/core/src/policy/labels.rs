//! Keeps exactly one size label on a PR.
use crate::domain::SizeLabel;

/// Whether `name` is one of the size labels the bot keeps. Label names compare
/// case-insensitively, as forges do.
pub fn is_size_label(name: &str) -> bool {
    name.get(..5)
        .is_some_and(|p| p.eq_ignore_ascii_case("size/"))
}

/// What to change so that exactly `wanted` remains among the size labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelPlan {
    pub add: Option<SizeLabel>,
    pub remove: Vec<String>,
}

pub fn plan(current: &[String], wanted: SizeLabel) -> LabelPlan {
    let wanted_name = wanted.name();
    let remove = current
        .iter()
        .filter(|l| is_size_label(l) && !l.eq_ignore_ascii_case(wanted_name))
        .cloned()
        .collect();
    let present = current.iter().any(|l| l.eq_ignore_ascii_case(wanted_name));
    LabelPlan {
        add: (!present).then_some(wanted),
        remove,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn plan_adds_the_wanted_label_when_absent() {
        let p = plan(&labels(&["bug"]), SizeLabel::M);
        assert_eq!(
            p,
            LabelPlan {
                add: Some(SizeLabel::M),
                remove: vec![]
            }
        );
    }

    #[test]
    fn plan_removes_every_other_size_label() {
        let p = plan(
            &labels(&["size/XS", "bug", "size/M", "Size/XXL", "sizeable"]),
            SizeLabel::M,
        );
        assert_eq!(
            p,
            LabelPlan {
                add: None,
                remove: labels(&["size/XS", "Size/XXL"])
            }
        );
    }

    #[test]
    fn plan_matches_names_case_insensitively() {
        let p = plan(&labels(&["size/l"]), SizeLabel::L);
        assert_eq!(
            p,
            LabelPlan {
                add: None,
                remove: vec![]
            }
        );
    }
}
