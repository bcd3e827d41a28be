//! Prow's size labels.
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum SizeLabel {
    XS,
    S,
    M,
    L,
    XL,
    XXL,
}

impl SizeLabel {
    pub const ALL: [SizeLabel; 6] = [Self::XS, Self::S, Self::M, Self::L, Self::XL, Self::XXL];

    /// Prow's thresholds: XS < 10 <= S < 30 <= M < 100 <= L < 500 <= XL < 1000 <= XXL.
    pub fn for_lines(lines: u64) -> Self {
        match lines {
            0..10 => Self::XS,
            10..30 => Self::S,
            30..100 => Self::M,
            100..500 => Self::L,
            500..1000 => Self::XL,
            _ => Self::XXL,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::XS => "size/XS",
            Self::S => "size/S",
            Self::M => "size/M",
            Self::L => "size/L",
            Self::XL => "size/XL",
            Self::XXL => "size/XXL",
        }
    }

    /// Hex colour without `#`.
    pub fn color(self) -> &'static str {
        match self {
            Self::XS => "009900",
            Self::S => "77bb00",
            Self::M => "eebb00",
            Self::L => "ee9900",
            Self::XL => "ee5500",
            Self::XXL => "ee0000",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Self::XS => "Denotes a PR that changes 0-9 lines, ignoring generated files.",
            Self::S => "Denotes a PR that changes 10-29 lines, ignoring generated files.",
            Self::M => "Denotes a PR that changes 30-99 lines, ignoring generated files.",
            Self::L => "Denotes a PR that changes 100-499 lines, ignoring generated files.",
            Self::XL => "Denotes a PR that changes 500-999 lines, ignoring generated files.",
            Self::XXL => "Denotes a PR that changes 1000+ lines, ignoring generated files.",
        }
    }
}

/// Label names compare case-insensitively, as forges do.
fn is_size_label(name: &str) -> bool {
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
