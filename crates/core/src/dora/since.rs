//! `--since 30d`: how far back a report looks.
use time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SinceError {
    #[error("empty duration; expected a number and a unit, e.g. 30d")]
    Empty,
    #[error("`{0}` has no number; expected e.g. 30d")]
    MissingNumber(String),
    #[error("`{0}` has no unit; expected m, h, d or w, e.g. 30d")]
    MissingUnit(String),
    #[error("unknown unit `{unit}` in `{input}`; expected m, h, d or w")]
    UnknownUnit { input: String, unit: String },
    #[error("`{0}` is zero; a report needs a non-empty period")]
    Zero(String),
    #[error("`{0}` is too long")]
    TooLarge(String),
}

/// Parses `<digits><unit>` with unit `m` (minutes), `h`, `d` or `w` (weeks),
/// ignoring surrounding whitespace.
pub fn parse_since(s: &str) -> Result<Duration, SinceError> {
    let input = s.trim();
    if input.is_empty() {
        return Err(SinceError::Empty);
    }
    let split = input
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(input.len());
    let (number, unit) = input.split_at(split);
    if number.is_empty() {
        return Err(SinceError::MissingNumber(input.to_owned()));
    }
    let seconds_per_unit: i64 = match unit {
        "" => return Err(SinceError::MissingUnit(input.to_owned())),
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 604_800,
        _ => {
            return Err(SinceError::UnknownUnit {
                input: input.to_owned(),
                unit: unit.to_owned(),
            })
        }
    };
    let too_large = || SinceError::TooLarge(input.to_owned());
    let count: i64 = number.parse().map_err(|_| too_large())?;
    if count == 0 {
        return Err(SinceError::Zero(input.to_owned()));
    }
    let seconds = count.checked_mul(seconds_per_unit).ok_or_else(too_large)?;
    Ok(Duration::seconds(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit() {
        assert_eq!(parse_since("30d"), Ok(Duration::days(30)));
        assert_eq!(parse_since("7d"), Ok(Duration::days(7)));
        assert_eq!(parse_since("12h"), Ok(Duration::hours(12)));
        assert_eq!(parse_since("90m"), Ok(Duration::minutes(90)));
        assert_eq!(parse_since("2w"), Ok(Duration::days(14)));
        assert_eq!(parse_since(" 1d\n"), Ok(Duration::days(1)));
    }

    #[test]
    fn rejects_malformed_input_with_a_reason() {
        assert_eq!(parse_since(""), Err(SinceError::Empty));
        assert_eq!(parse_since("30"), Err(SinceError::MissingUnit("30".into())));
        assert_eq!(parse_since("d"), Err(SinceError::MissingNumber("d".into())));
        assert_eq!(
            parse_since("-3d"),
            Err(SinceError::MissingNumber("-3d".into()))
        );
        assert_eq!(
            parse_since("3 d"),
            Err(SinceError::UnknownUnit {
                input: "3 d".into(),
                unit: " d".into()
            })
        );
        assert_eq!(
            parse_since("1y"),
            Err(SinceError::UnknownUnit {
                input: "1y".into(),
                unit: "y".into()
            })
        );
        assert_eq!(parse_since("0d"), Err(SinceError::Zero("0d".into())));
        assert_eq!(
            parse_since("99999999999999999999w"),
            Err(SinceError::TooLarge("99999999999999999999w".into()))
        );
        assert_eq!(
            parse_since("9999999999999999w"),
            Err(SinceError::TooLarge("9999999999999999w".into()))
        );
    }

    #[test]
    fn errors_tell_the_user_what_to_type() {
        assert_eq!(
            parse_since("1y").unwrap_err().to_string(),
            "unknown unit `y` in `1y`; expected m, h, d or w"
        );
        assert_eq!(
            parse_since("30").unwrap_err().to_string(),
            "`30` has no unit; expected m, h, d or w, e.g. 30d"
        );
    }
}
