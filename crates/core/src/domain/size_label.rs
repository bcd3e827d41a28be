//! Prow's size labels.
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
/// Serialized as the label's name (`size/M`).
pub enum SizeLabel {
    #[serde(rename = "size/XS")]
    XS,
    #[serde(rename = "size/S")]
    S,
    #[serde(rename = "size/M")]
    M,
    #[serde(rename = "size/L")]
    L,
    #[serde(rename = "size/XL")]
    XL,
    #[serde(rename = "size/XXL")]
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_at_every_boundary() {
        let cases = [
            (0, SizeLabel::XS),
            (9, SizeLabel::XS),
            (10, SizeLabel::S),
            (29, SizeLabel::S),
            (30, SizeLabel::M),
            (99, SizeLabel::M),
            (100, SizeLabel::L),
            (499, SizeLabel::L),
            (500, SizeLabel::XL),
            (999, SizeLabel::XL),
            (1000, SizeLabel::XXL),
            (u64::MAX, SizeLabel::XXL),
        ];
        for (lines, label) in cases {
            assert_eq!(SizeLabel::for_lines(lines), label, "{lines} lines");
        }
    }

    #[test]
    fn names_colours_and_descriptions_are_prows() {
        let all: Vec<_> = SizeLabel::ALL
            .iter()
            .map(|l| (l.name(), l.color()))
            .collect();
        assert_eq!(
            all,
            [
                ("size/XS", "009900"),
                ("size/S", "77bb00"),
                ("size/M", "eebb00"),
                ("size/L", "ee9900"),
                ("size/XL", "ee5500"),
                ("size/XXL", "ee0000"),
            ]
        );
        assert_eq!(
            SizeLabel::XS.description(),
            "Denotes a PR that changes 0-9 lines, ignoring generated files."
        );
        assert_eq!(
            SizeLabel::XXL.description(),
            "Denotes a PR that changes 1000+ lines, ignoring generated files."
        );
    }
}
