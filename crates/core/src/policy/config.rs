//! The repository's policy file. Read from the base branch, so a PR cannot loosen its own gate.
pub use super::budgets::PathBudget;
pub use super::exempt::ExemptConfig;
use super::globs::PathGlobs;
pub use super::owners_config::{OwnersSource, ReviewRule};
use crate::domain::{MergeMethod, Permission};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Where the policy file is looked for on GitHub, in order.
pub const CONFIG_PATHS: [&str; 2] = [".github/smallbatch.yml", ".smallbatch.yml"];
/// Where the policy file is looked for on GitLab, in order.
pub const GITLAB_CONFIG_PATHS: [&str; 2] = [".gitlab/smallbatch.yml", ".smallbatch.yml"];

/// The policy file locations for a forge, in the order they are tried.
pub fn config_paths(forge: crate::domain::ForgeKind) -> [&'static str; 2] {
    match forge {
        crate::domain::ForgeKind::GitHub => CONFIG_PATHS,
        crate::domain::ForgeKind::GitLab => GITLAB_CONFIG_PATHS,
    }
}

// Not `Eq`: metric bounds are `f64`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RepoConfig {
    pub size: SizeConfig,
    pub reviews: ReviewsConfig,
    pub tests: TestsConfig,
    pub exempt: ExemptConfig,
    pub commands: CommandsConfig,
    pub ship: ShipConfig,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SizeConfig {
    pub max_lines: u64,
    pub warn_lines: u64,
    pub max_files: Option<u64>,
    pub ignore: Vec<String>,
    /// Paths with a line budget of their own (see [`PathBudget`]).
    pub paths: Vec<PathBudget>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ReviewsConfig {
    pub required_approvals: u32,
    pub stale: StaleReviews,
    pub owners: OwnersSource,
    pub rules: Vec<ReviewRule>,
}

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum StaleReviews {
    #[default]
    Keep,
    Dismiss,
    Changed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TestsConfig {
    pub min_lines: u64,
    pub required: bool,
    /// Replaces the default test-file patterns when set.
    pub patterns: Option<Vec<String>>,
}

/// Who may use the chat commands that act on a pull request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CommandsConfig {
    /// Needed to let a PR through the gate despite the policy.
    pub override_permission: Permission,
    /// Needed for `/ship`: merge, deploy and watch.
    pub ship_permission: Permission,
}

/// What `/ship` does after the merge: where it deploys and how it judges the deploy.
///
/// The telemetry server itself is server configuration, never repository configuration,
/// so a repository cannot make the bot query a host of its choosing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ShipConfig {
    pub merge_method: MergeMethod,
    pub environment: String,
    /// The order changes go through, e.g. `[staging, production]`: shipping to one needs a
    /// healthy ship of the same commit to each before it. Empty: any environment, no order.
    pub environments: Vec<String>,
    /// How long production is watched after the deploy.
    #[serde(with = "duration_text")]
    #[schemars(with = "DurationText")]
    pub watch: Duration,
    /// How often the metrics are read while watching.
    #[serde(with = "duration_text")]
    #[schemars(with = "DurationText")]
    pub interval: Duration,
    pub on_regression: OnRegression,
    pub metrics: Vec<MetricSpec>,
}

/// What to do when a watched metric crosses its bound.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum OnRegression {
    /// Redeploy the environment's last healthy deployment at once, then open the revert:
    /// service comes back in minutes, the revert makes the code match it.
    #[default]
    Rollback,
    /// Only open a revert of the shipped PR.
    Revert,
    /// Only tell the PR's people.
    Notify,
}

/// One PromQL query and the bound its value must keep after a deploy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawMetric", into = "RawMetric")]
pub struct MetricSpec {
    pub name: String,
    pub query: String,
    pub bound: Bound,
    /// Consecutive breaching readings before the metric fails: one spike is not a regression.
    pub failures: u32,
    /// How much data a reading or the watch needs before it can count as healthy.
    pub min_samples: Option<MinSamples>,
    /// A series running beside the new version (the previous version's pods): with
    /// `max_increase`, the factor applies to its value read at the same time.
    pub baseline: Option<String>,
}

/// Too little data makes a metric inconclusive, never healthy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(
    untagged,
    deny_unknown_fields,
    expecting = "a number of readings, or a mapping with `query` and `count`"
)]
pub enum MinSamples {
    /// Readings that returned a value, over the whole watch.
    Readings(u32),
    /// The sample size behind each reading: `query` (the requests or events the value
    /// rests on) must reach `count`, or the reading is inconclusive.
    Query { query: String, count: f64 },
}

impl MetricSpec {
    /// Consecutive breaching readings before a metric fails, unless it says otherwise.
    pub const DEFAULT_FAILURES: u32 = 2;

    /// A metric with the defaults of everything but its name, query and bound.
    pub fn new(name: impl Into<String>, query: impl Into<String>, bound: Bound) -> Self {
        Self {
            name: name.into(),
            query: query.into(),
            bound,
            failures: Self::DEFAULT_FAILURES,
            min_samples: None,
            baseline: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Bound {
    /// The value must stay at or below this.
    Max(f64),
    /// The value must stay at or above this.
    Min(f64),
    /// The value must stay at or below this factor times its pre-deploy value.
    MaxIncrease(f64),
}

/// A duration as the policy file writes it, for the schema.
#[derive(schemars::JsonSchema)]
#[schemars(
    description = "Whole hours, minutes and seconds, largest unit first: `90s`, `15m`, `1h30m`."
)]
#[allow(dead_code)]
struct DurationText(
    #[schemars(regex(pattern = r"^([0-9]+h)?([0-9]+m)?([0-9]+s)?$"), length(min = 2))] String,
);

/// The schema of a metric is the one of its YAML form.
impl schemars::JsonSchema for MetricSpec {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Metric".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        RawMetric::json_schema(generator)
    }
}

/// A metric as written in YAML: the bound is one of three optional keys.
#[derive(Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawMetric {
    name: String,
    query: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_increase: Option<f64>,
    /// Consecutive breaching readings before the metric fails (default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    failures: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    min_samples: Option<MinSamples>,
    /// PromQL for a series running at the same time (the previous version's pods);
    /// `max_increase` is then relative to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    baseline: Option<String>,
}

impl TryFrom<RawMetric> for MetricSpec {
    type Error = String;

    fn try_from(raw: RawMetric) -> Result<Self, String> {
        let bound = match (raw.max, raw.min, raw.max_increase) {
            (Some(v), None, None) => Bound::Max(v),
            (None, Some(v), None) => Bound::Min(v),
            (None, None, Some(v)) => Bound::MaxIncrease(v),
            _ => {
                return Err(format!(
                    "metric `{}` needs exactly one of `max`, `min` or `max_increase`",
                    raw.name
                ))
            }
        };
        Ok(Self {
            name: raw.name,
            query: raw.query,
            bound,
            failures: raw.failures.unwrap_or(Self::DEFAULT_FAILURES),
            min_samples: raw.min_samples,
            baseline: raw.baseline,
        })
    }
}

impl From<MetricSpec> for RawMetric {
    fn from(spec: MetricSpec) -> Self {
        let (mut max, mut min, mut max_increase) = (None, None, None);
        match spec.bound {
            Bound::Max(v) => max = Some(v),
            Bound::Min(v) => min = Some(v),
            Bound::MaxIncrease(v) => max_increase = Some(v),
        }
        Self {
            name: spec.name,
            query: spec.query,
            max,
            min,
            max_increase,
            failures: Some(spec.failures),
            min_samples: spec.min_samples,
            baseline: spec.baseline,
        }
    }
}

/// Durations as people write them: `90s`, `15m`, `1h`, `1h30m`.
pub mod duration_text {
    use serde::{de, Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    const UNITS: [(char, u64); 3] = [('h', 3600), ('m', 60), ('s', 1)];

    /// Parses whole hours, minutes and seconds, largest unit first, each at most once.
    pub fn parse(text: &str) -> Result<Duration, String> {
        let invalid =
            || format!("invalid duration `{text}`: write it like `90s`, `15m` or `1h30m`");
        let mut rest = text.trim();
        if rest.is_empty() {
            return Err(invalid());
        }
        let mut seconds: u64 = 0;
        let mut units = UNITS.iter();
        while !rest.is_empty() {
            let digits = rest
                .find(|c: char| !c.is_ascii_digit())
                .ok_or_else(invalid)?;
            let number: u64 = rest[..digits].parse().map_err(|_| invalid())?;
            let unit = rest[digits..].chars().next().ok_or_else(invalid)?;
            let &(_, scale) = units.find(|(u, _)| *u == unit).ok_or_else(invalid)?;
            seconds = number
                .checked_mul(scale)
                .and_then(|s| s.checked_add(seconds))
                .ok_or_else(invalid)?;
            rest = &rest[digits + unit.len_utf8()..];
        }
        Ok(Duration::from_secs(seconds))
    }

    /// The form [`parse`] reads back, largest unit first: 5400 seconds are `1h30m`.
    pub fn format(duration: Duration) -> String {
        let mut seconds = duration.as_secs();
        if seconds == 0 {
            return "0s".to_owned();
        }
        let mut text = String::new();
        for (unit, scale) in UNITS {
            if seconds >= scale {
                text.push_str(&format!("{}{unit}", seconds / scale));
                seconds %= scale;
            }
        }
        text
    }

    pub fn serialize<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format(*duration))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        parse(&String::deserialize(deserializer)?).map_err(de::Error::custom)
    }
}

/// A broken policy file, reported to the user with its place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{file}{}: {message}", location(*line, *column))]
pub struct ConfigError {
    pub file: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

fn location(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(":{l}:{c}"),
        (Some(l), None) => format!(":{l}"),
        _ => String::new(),
    }
}

impl RepoConfig {
    /// Parses and validates a policy file. `file` names it in errors.
    ///
    /// An empty file, or one of only comments, means all defaults. Unknown keys, wrong types
    /// and inconsistent values (see [`RepoConfig::validate`]) are errors, never ignored.
    pub fn parse(file: &str, text: &str) -> Result<Self, ConfigError> {
        let located = |err: serde_yaml_ng::Error| {
            let location = err.location();
            let message = without_location(&err.to_string());
            // Our own value errors are located at the enclosing mapping; point at the value.
            if let Some(line) = line_of_bad_value(text, &message) {
                return ConfigError {
                    file: file.to_owned(),
                    line: Some(line),
                    column: None,
                    message,
                };
            }
            ConfigError {
                file: file.to_owned(),
                line: location.as_ref().map(|l| l.line()),
                column: location.as_ref().map(|l| l.column()),
                message,
            }
        };
        // A document with no content deserializes as null, not as an empty mapping.
        let value: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).map_err(located)?;
        if value.is_null() {
            return Ok(Self::default());
        }
        let mut config: Self = serde_yaml_ng::from_str(text).map_err(located)?;
        let warn_given = value
            .get("size")
            .and_then(|s| s.get("warn_lines"))
            .is_some();
        if !warn_given {
            // Lowering only the limit keeps the warning below it, as the defaults do.
            config.size.warn_lines = config.size.warn_lines.min(config.size.max_lines / 2);
        }
        config.validate().map_err(|problem| ConfigError {
            file: file.to_owned(),
            line: problem.key.and_then(|key| match problem.entry {
                Some((list, index)) => line_in_list(text, list, index, key),
                None => line_of_key(text, key),
            }),
            column: None,
            message: problem.message,
        })?;
        Ok(config)
    }

    /// Parses a policy file for a repository on `forge`, refusing settings that forge
    /// cannot honour rather than silently ignoring them.
    pub fn parse_for(
        forge: crate::domain::ForgeKind,
        file: &str,
        text: &str,
    ) -> Result<Self, ConfigError> {
        let config = Self::parse(file, text)?;
        super::owners_config::validate(&config.reviews.rules, forge).map_err(|message| {
            ConfigError {
                file: file.to_owned(),
                line: line_of_key(text, "rules"),
                column: None,
                message,
            }
        })?;
        if forge == crate::domain::ForgeKind::GitLab && config.reviews.stale != StaleReviews::Keep {
            return Err(ConfigError {
                file: file.to_owned(),
                line: line_of_key(text, "stale"),
                column: None,
                message: "reviews.stale: only `keep` works on GitLab, whose approvals do not say \
                          which commit was approved; to drop approvals on a push, turn on the \
                          project setting \"Remove all approvals when commits are added\""
                    .to_owned(),
            });
        }
        Ok(config)
    }

    /// Checks what types alone cannot: limits that contradict each other, globs that don't compile.
    fn validate(&self) -> Result<(), Problem> {
        let size = &self.size;
        if size.max_lines == 0 {
            return Err(Problem::at(
                "max_lines",
                "size.max_lines must be at least 1",
            ));
        }
        if size.warn_lines > size.max_lines {
            return Err(Problem::at(
                "warn_lines",
                format!(
                    "size.warn_lines ({}) must not be greater than size.max_lines ({})",
                    size.warn_lines, size.max_lines
                ),
            ));
        }
        if size.max_files == Some(0) {
            return Err(Problem::at(
                "max_files",
                "size.max_files must be at least 1 (leave it out for no limit)",
            ));
        }
        PathGlobs::new(&size.ignore)
            .map_err(|e| Problem::at("ignore", format!("size.ignore: {e}")))?;
        for (index, budget) in size.paths.iter().enumerate() {
            budget
                .validate()
                .map_err(|(key, message)| Problem::in_entry("paths", index, key, message))?;
        }
        self.exempt
            .validate()
            .map_err(|(key, message)| Problem::at(key, message))?;
        if let Some(patterns) = &self.tests.patterns {
            if patterns.is_empty() {
                return Err(Problem::at(
                    "patterns",
                    "tests.patterns is empty, so no file could count as a test; \
                     leave it out to use the defaults",
                ));
            }
            PathGlobs::new(patterns)
                .map_err(|e| Problem::at("patterns", format!("tests.patterns: {e}")))?;
        }
        // GitLab's terms are the wider (nested groups); `parse_for` holds GitHub to its own.
        super::owners_config::validate(&self.reviews.rules, crate::domain::ForgeKind::GitLab)
            .map_err(|message| Problem::at("rules", message))?;
        self.commands.validate()?;
        self.ship.validate()
    }
}

impl CommandsConfig {
    fn validate(&self) -> Result<(), Problem> {
        for (key, permission) in [
            ("override_permission", self.override_permission),
            ("ship_permission", self.ship_permission),
        ] {
            if permission == Permission::None {
                return Err(Problem::at(
                    key,
                    format!(
                        "commands.{key}: `none` would let anyone who can comment use it; \
                         the lowest is `read`"
                    ),
                ));
            }
        }
        Ok(())
    }
}

impl ShipConfig {
    const MIN_WATCH: Duration = Duration::from_secs(60);
    const MAX_WATCH: Duration = Duration::from_secs(24 * 3600);
    const MIN_INTERVAL: Duration = Duration::from_secs(10);

    fn validate(&self) -> Result<(), Problem> {
        use duration_text::format;
        if self.environment.trim().is_empty() {
            return Err(Problem::at(
                "environment",
                "ship.environment must not be empty",
            ));
        }
        self.validate_environments()?;
        if !(Self::MIN_WATCH..=Self::MAX_WATCH).contains(&self.watch) {
            return Err(Problem::at(
                "watch",
                format!(
                    "ship.watch ({}) must be between {} and {}",
                    format(self.watch),
                    format(Self::MIN_WATCH),
                    format(Self::MAX_WATCH)
                ),
            ));
        }
        if !(Self::MIN_INTERVAL..=self.watch).contains(&self.interval) {
            return Err(Problem::at(
                "interval",
                format!(
                    "ship.interval ({}) must be between {} and ship.watch ({})",
                    format(self.interval),
                    format(Self::MIN_INTERVAL),
                    format(self.watch)
                ),
            ));
        }
        // Readings one watch takes; the first is one interval after the deploy.
        let readings = (self.watch.as_secs() / self.interval.as_secs().max(1)) as u32;
        for (index, metric) in self.metrics.iter().enumerate() {
            metric.validate(index, readings)?;
            if self.metrics[..index].iter().any(|m| m.name == metric.name) {
                return Err(Problem::in_metric(
                    index,
                    "name",
                    format!(
                        "ship.metrics: the name `{}` is used twice; each metric needs its own",
                        metric.name
                    ),
                ));
            }
        }
        Ok(())
    }
}

impl ShipConfig {
    /// `ship.environments`: distinct names that `/ship` can take as its argument, the
    /// default among them.
    fn validate_environments(&self) -> Result<(), Problem> {
        let list = &self.environments;
        for (index, name) in list.iter().enumerate() {
            if name.trim().is_empty() || name.starts_with('-') {
                return Err(Problem::at(
                    "environments",
                    format!(
                        "ship.environments: `{name}` cannot be an environment's name \
                         (it must not be empty or start with `-`)"
                    ),
                ));
            }
            if list[..index].contains(name) {
                return Err(Problem::at(
                    "environments",
                    format!("ship.environments: `{name}` is listed twice"),
                ));
            }
        }
        if !list.is_empty() && !list.contains(&self.environment) {
            return Err(Problem::at(
                "environments",
                format!(
                    "ship.environments does not list ship.environment (`{}`), where `/ship` \
                     deploys when it names no environment",
                    self.environment
                ),
            ));
        }
        Ok(())
    }

    /// The environments a change must have shipped to, healthy, before `target`: those
    /// listed before it in `ship.environments`.
    pub fn environments_before(&self, target: &str) -> &[String] {
        let at = self.environments.iter().position(|e| e == target);
        &self.environments[..at.unwrap_or(0)]
    }

    /// Whether `/ship` may deploy to `name`: any name when no order is configured.
    pub fn knows_environment(&self, name: &str) -> bool {
        self.environments.is_empty() || self.environments.iter().any(|e| e == name)
    }
}

impl MetricSpec {
    fn validate(&self, index: usize, readings: u32) -> Result<(), Problem> {
        if self.name.trim().is_empty() {
            return Err(Problem::in_metric(
                index,
                "name",
                format!("ship.metrics[{index}].name must not be empty"),
            ));
        }
        let name = &self.name;
        if self.query.trim().is_empty() {
            return Err(Problem::in_metric(
                index,
                "query",
                format!("ship.metrics `{name}`: query must not be empty"),
            ));
        }
        let (key, value) = match self.bound {
            Bound::Max(v) => ("max", v),
            Bound::Min(v) => ("min", v),
            Bound::MaxIncrease(v) => ("max_increase", v),
        };
        if !value.is_finite() {
            return Err(Problem::in_metric(
                index,
                key,
                format!("ship.metrics `{name}`: {key} must be a finite number"),
            ));
        }
        if key == "max_increase" && value <= 1.0 {
            return Err(Problem::in_metric(
                index,
                key,
                format!(
                    "ship.metrics `{name}`: max_increase ({value}) must be greater than 1; \
                     it is a factor of the pre-deploy value (1.5 allows 50% more)"
                ),
            ));
        }
        self.validate_evidence(index, readings)
    }

    /// `failures`, `min_samples` and `baseline`: what makes a verdict trustworthy.
    fn validate_evidence(&self, index: usize, readings: u32) -> Result<(), Problem> {
        let name = &self.name;
        if self.failures == 0 {
            return Err(Problem::in_metric(
                index,
                "failures",
                format!(
                    "ship.metrics `{name}`: failures must be at least 1 \
                     (the consecutive breaching readings that fail the metric)"
                ),
            ));
        }
        match &self.min_samples {
            Some(MinSamples::Readings(0)) => {
                return Err(Problem::in_metric(
                    index,
                    "min_samples",
                    format!("ship.metrics `{name}`: min_samples must be at least 1"),
                ))
            }
            Some(MinSamples::Readings(n)) if *n > readings => {
                return Err(Problem::in_metric(
                    index,
                    "min_samples",
                    format!(
                        "ship.metrics `{name}`: min_samples ({n}) is more readings than one \
                         watch takes ({readings}: ship.watch over ship.interval)"
                    ),
                ))
            }
            Some(MinSamples::Query { query, .. }) if query.trim().is_empty() => {
                return Err(Problem::in_metric(
                    index,
                    "min_samples",
                    format!("ship.metrics `{name}`: min_samples.query must not be empty"),
                ))
            }
            Some(MinSamples::Query { count, .. }) if !(count.is_finite() && *count > 0.0) => {
                return Err(Problem::in_metric(
                    index,
                    "min_samples",
                    format!("ship.metrics `{name}`: min_samples.count must be a number above 0"),
                ))
            }
            _ => {}
        }
        match &self.baseline {
            Some(q) if q.trim().is_empty() => Err(Problem::in_metric(
                index,
                "baseline",
                format!("ship.metrics `{name}`: baseline must not be empty"),
            )),
            Some(_) if !matches!(self.bound, Bound::MaxIncrease(_)) => Err(Problem::in_metric(
                index,
                "baseline",
                format!(
                    "ship.metrics `{name}`: baseline only applies to max_increase \
                     (max and min are absolute bounds)"
                ),
            )),
            _ => Ok(()),
        }
    }
}

/// A semantic error and the key it is about, to point at its line.
struct Problem {
    key: Option<&'static str>,
    /// The key is inside this entry of a list (`metrics`, `paths`), where keys repeat.
    entry: Option<(&'static str, usize)>,
    message: String,
}

impl Problem {
    fn at(key: &'static str, message: impl Into<String>) -> Self {
        Self {
            key: Some(key),
            entry: None,
            message: message.into(),
        }
    }

    fn in_metric(index: usize, key: &'static str, message: impl Into<String>) -> Self {
        Self::in_entry("metrics", index, key, message)
    }

    fn in_entry(
        list: &'static str,
        index: usize,
        key: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self {
            entry: Some((list, index)),
            ..Self::at(key, message)
        }
    }
}

/// The 1-based line where `key:` first appears (block style), if it does.
pub(super) fn line_of_key(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|line| {
            line.trim_start()
                .strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with(':'))
        })
        .map(|i| i + 1)
}

/// For the errors our own deserializers raise (a malformed duration, a metric without exactly
/// one bound), the 1-based line holding the value they name: serde_yaml only knows where the
/// enclosing mapping started.
fn line_of_bad_value(text: &str, message: &str) -> Option<usize> {
    let quoted = |prefix: &str| {
        let rest = &message[message.find(prefix)? + prefix.len()..];
        Some(rest[..rest.find('`')?].to_owned())
    };
    let (keys, value) = if let Some(value) = quoted("invalid duration `") {
        (["watch", "interval"].as_slice(), value)
    } else if let Some(value) = quoted("metric `") {
        (["name"].as_slice(), value)
    } else {
        return None;
    };
    text.lines()
        .position(|line| {
            let line = line.trim_start();
            let line = line.strip_prefix('-').map_or(line, str::trim_start);
            keys.iter().any(|key| {
                line.strip_prefix(key)
                    .and_then(|rest| rest.trim_start().strip_prefix(':'))
                    .is_some_and(|v| {
                        let v = v.split(" #").next().unwrap_or(v).trim();
                        v.trim_matches(|c| c == '\'' || c == '"') == value
                    })
            })
        })
        .map(|i| i + 1)
}

/// The 1-based line of `key:` inside the `index`-th entry of the block list under `metrics:`;
/// that entry's first line when the key is not written there, or `metrics:` itself as a last resort.
#[cfg(test)]
fn line_in_metric(text: &str, index: usize, key: &str) -> Option<usize> {
    line_in_list(text, "metrics", index, key)
}

/// The 1-based line of `key:` inside the `index`-th entry of the block list under `list:`
/// (its first occurrence); that entry's first line when the key is not written there, or
/// `list:` itself as a last resort.
fn line_in_list(text: &str, list_key: &str, index: usize, key: &str) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let list = line_of_key(text, list_key)?; // 1-based: the entries start on the next line
    let indent = |line: &str| line.len() - line.trim_start().len();
    let list_indent = indent(lines[list - 1]);
    let mut entries = Vec::new();
    let mut end = lines.len();
    for (i, line) in lines.iter().enumerate().skip(list) {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let is_item = trimmed == "-" || trimmed.starts_with("- ");
        if indent(line) <= list_indent && !is_item {
            end = i;
            break;
        }
        // Only dashes at the first entry's indent start entries; deeper ones are nested lists.
        if is_item
            && entries
                .first()
                .is_none_or(|&first: &usize| indent(lines[first]) == indent(line))
        {
            entries.push(i);
        }
    }
    let Some(&start) = entries.get(index) else {
        return Some(list);
    };
    let stop = entries.get(index + 1).copied().unwrap_or(end);
    let found = (start..stop).find(|&i| {
        let trimmed = lines[i].trim_start();
        let trimmed = trimmed.strip_prefix('-').map_or(trimmed, str::trim_start);
        trimmed
            .strip_prefix(key)
            .is_some_and(|rest| rest.trim_start().starts_with(':'))
    });
    Some(found.unwrap_or(start) + 1)
}

/// serde_yaml puts the error's own " at line L column C" in its message; the error carries
/// those separately. A later location (where an enclosing construct started) stays.
fn without_location(message: &str) -> String {
    let Some(start) = message.find(" at line ") else {
        return message.to_owned();
    };
    let rest = &message[start + " at line ".len()..];
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit());
    let rest = rest
        .strip_prefix(" column ")
        .map_or(rest, |r| r.trim_start_matches(|c: char| c.is_ascii_digit()));
    format!("{}{rest}", &message[..start])
}

impl Default for CommandsConfig {
    fn default() -> Self {
        Self {
            override_permission: Permission::Maintain,
            ship_permission: Permission::Write,
        }
    }
}

impl Default for ShipConfig {
    fn default() -> Self {
        Self {
            merge_method: MergeMethod::Squash,
            environment: "production".to_owned(),
            environments: Vec::new(),
            watch: Duration::from_secs(15 * 60),
            interval: Duration::from_secs(60),
            on_regression: OnRegression::Rollback,
            metrics: Vec::new(),
        }
    }
}

impl Default for SizeConfig {
    fn default() -> Self {
        Self {
            max_lines: 400,
            warn_lines: 200,
            max_files: None,
            ignore: Vec::new(),
            paths: Vec::new(),
        }
    }
}

impl Default for ReviewsConfig {
    fn default() -> Self {
        Self {
            required_approvals: 1,
            stale: StaleReviews::Keep,
            owners: OwnersSource::None,
            rules: Vec::new(),
        }
    }
}

impl Default for TestsConfig {
    fn default() -> Self {
        Self {
            min_lines: 50,
            required: false,
            patterns: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = ".github/smallbatch.yml";

    fn err(text: &str) -> ConfigError {
        RepoConfig::parse(FILE, text).unwrap_err()
    }

    #[test]
    fn empty_or_comment_only_files_mean_defaults() {
        for text in ["", "\n\n", "# nothing here\n  # still nothing\n", "---\n"] {
            assert_eq!(
                RepoConfig::parse(FILE, text),
                Ok(RepoConfig::default()),
                "{text:?}"
            );
        }
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let d = RepoConfig::default();
        assert_eq!(
            (d.size.max_lines, d.size.warn_lines, d.size.max_files),
            (400, 200, None)
        );
        assert_eq!(
            (d.reviews.required_approvals, d.reviews.stale),
            (1, StaleReviews::Keep)
        );
        assert_eq!(
            (d.tests.min_lines, d.tests.required, d.tests.patterns),
            (50, false, None)
        );
    }

    #[test]
    fn a_full_file_parses_and_omitted_keys_keep_defaults() {
        let text = "size:\n  max_lines: 800\n  max_files: 40\n  ignore: ['*.snap', 'docs/']\n\
                    reviews:\n  stale: changed\n\
                    tests:\n  required: true\n  patterns: ['checks/**']\n";
        let c = RepoConfig::parse(FILE, text).unwrap();
        assert_eq!(c.size.max_lines, 800);
        assert_eq!(c.size.warn_lines, 200);
        assert_eq!(c.size.max_files, Some(40));
        assert_eq!(c.size.ignore, ["*.snap", "docs/"]);
        assert_eq!(c.reviews.stale, StaleReviews::Changed);
        assert_eq!(c.reviews.required_approvals, 1);
        assert!(c.tests.required);
        assert_eq!(c.tests.patterns, Some(vec!["checks/**".to_owned()]));
    }

    #[test]
    fn an_unknown_key_is_named_with_its_line() {
        let e = err("size:\n  max_lines: 300\n  max_line: 100\n");
        assert_eq!(e.file, FILE);
        assert_eq!((e.line, e.column), (Some(3), Some(3)));
        assert!(
            e.message
                .starts_with("size: unknown field `max_line`, expected one of"),
            "{}",
            e.message
        );
        let e = err("sizes:\n  max_lines: 300\n");
        assert_eq!(e.line, Some(1));
        assert!(
            e.message.starts_with("unknown field `sizes`"),
            "{}",
            e.message
        );
    }

    #[test]
    fn a_wrong_type_is_an_error_with_its_place() {
        let e = err("size:\n  max_lines: lots\n");
        assert_eq!(e.line, Some(2));
        assert!(
            e.message.contains("invalid type: string \"lots\""),
            "{}",
            e.message
        );
        let e = err("reviews:\n  stale: sometimes\n");
        assert_eq!(e.line, Some(2));
        assert!(
            e.message.contains("unknown variant `sometimes`"),
            "{}",
            e.message
        );
    }

    #[test]
    fn gitlab_refuses_stale_modes_it_cannot_enforce() {
        use crate::domain::ForgeKind;
        let text = "reviews:\n  stale: dismiss\n";
        assert!(RepoConfig::parse_for(ForgeKind::GitHub, "f.yml", text).is_ok());
        let e =
            RepoConfig::parse_for(ForgeKind::GitLab, ".gitlab/smallbatch.yml", text).unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(
            e.message
                .starts_with("reviews.stale: only `keep` works on GitLab"),
            "{}",
            e.message
        );
        let keep = "reviews:\n  stale: keep\n";
        assert!(RepoConfig::parse_for(ForgeKind::GitLab, "f.yml", keep).is_ok());
    }

    #[test]
    fn default_warning_follows_a_lowered_limit() {
        let c = RepoConfig::parse("f.yml", "size:\n  max_lines: 150\n").unwrap();
        assert_eq!((c.size.max_lines, c.size.warn_lines), (150, 75));
        let c = RepoConfig::parse("f.yml", "size:\n  max_lines: 1000\n").unwrap();
        assert_eq!((c.size.max_lines, c.size.warn_lines), (1000, 200));
    }

    #[test]
    fn warn_lines_over_max_lines_is_an_error_at_its_line() {
        let e = err("size:\n  max_lines: 100\n  warn_lines: 150\n");
        assert_eq!(
            e,
            ConfigError {
                file: FILE.into(),
                line: Some(3),
                column: None,
                message: "size.warn_lines (150) must not be greater than size.max_lines (100)"
                    .into(),
            }
        );
        assert_eq!(
            e.to_string(),
            ".github/smallbatch.yml:3: size.warn_lines (150) must not be greater than size.max_lines (100)"
        );
    }

    #[test]
    fn zero_limits_are_errors() {
        let e = err("size:\n  max_lines: 0\n  warn_lines: 0\n");
        assert_eq!(
            (e.line, e.message.as_str()),
            (Some(2), "size.max_lines must be at least 1")
        );
        let e = err("size:\n  max_files: 0\n");
        assert_eq!(e.line, Some(2));
        assert_eq!(
            e.message,
            "size.max_files must be at least 1 (leave it out for no limit)"
        );
    }

    #[test]
    fn invalid_globs_are_errors() {
        let e = err("size:\n  ignore:\n    - 'gen/[ab'\n");
        assert_eq!(e.line, Some(2));
        assert_eq!(
            e.message,
            "size.ignore: invalid glob `gen/[ab`: the character class `[` is never closed"
        );
        let e = err("tests:\n  patterns: []\n");
        assert_eq!(e.line, Some(2));
        assert!(
            e.message.starts_with("tests.patterns is empty"),
            "{}",
            e.message
        );
    }

    #[test]
    fn malformed_yaml_is_an_error_with_its_place() {
        let e = err("size:\n  max_lines: [1\n");
        assert_eq!((e.line, e.column), (Some(3), Some(1)));
        assert_eq!(
            e.message,
            "did not find expected ',' or ']', while parsing a flow sequence at line 2 column 14"
        );
    }

    const SHIP_EXAMPLE: &str = "\
commands:
  override_permission: admin
  ship_permission: maintain
ship:
  merge_method: rebase
  environment: staging
  watch: 1h30m
  interval: 90s
  on_regression: notify
  metrics:
    - name: error rate
      query: sum(rate(http_requests_total{code=~\"5..\"}[5m])) / sum(rate(http_requests_total[5m]))
      max: 0.01
    - name: p99 latency
      query: histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))
      max_increase: 1.5
    - name: availability
      query: avg(up{job=\"web\"})
      min: 0.99
";

    /// The example with `from` replaced by `to`, which must occur in it.
    fn example_with(from: &str, to: &str) -> String {
        assert!(SHIP_EXAMPLE.contains(from), "{from:?}");
        SHIP_EXAMPLE.replacen(from, to, 1)
    }

    #[test]
    fn commands_and_ship_defaults_are_the_documented_ones() {
        let d = RepoConfig::default();
        assert_eq!(
            d.commands,
            CommandsConfig {
                override_permission: Permission::Maintain,
                ship_permission: Permission::Write,
            }
        );
        assert_eq!(d.ship.merge_method, MergeMethod::Squash);
        assert_eq!(d.ship.environment, "production");
        assert_eq!(d.ship.watch, Duration::from_secs(900));
        assert_eq!(d.ship.interval, Duration::from_secs(60));
        assert_eq!(d.ship.on_regression, OnRegression::Rollback);
        assert!(d.ship.metrics.is_empty());
        let c = RepoConfig::parse(FILE, "ship:\n  environment: prod-eu\n").unwrap();
        assert_eq!(c.ship.environment, "prod-eu");
        assert_eq!(c.ship.watch, Duration::from_secs(900));
    }

    #[test]
    fn a_full_ship_section_parses() {
        let c = RepoConfig::parse(FILE, SHIP_EXAMPLE).unwrap();
        assert_eq!(
            (c.commands.override_permission, c.commands.ship_permission),
            (Permission::Admin, Permission::Maintain)
        );
        assert_eq!(c.ship.merge_method, MergeMethod::Rebase);
        assert_eq!(c.ship.environment, "staging");
        assert_eq!(c.ship.watch, Duration::from_secs(5400));
        assert_eq!(c.ship.interval, Duration::from_secs(90));
        assert_eq!(c.ship.on_regression, OnRegression::Notify);
        assert_eq!(
            c.ship.metrics,
            [
                MetricSpec::new(
                    "error rate",
                    "sum(rate(http_requests_total{code=~\"5..\"}[5m])) / sum(rate(http_requests_total[5m]))",
                    Bound::Max(0.01),
                ),
                MetricSpec::new(
                    "p99 latency",
                    "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
                    Bound::MaxIncrease(1.5),
                ),
                MetricSpec::new("availability", "avg(up{job=\"web\"})", Bound::Min(0.99)),
            ]
        );
        // Serializing gives back the same file, bounds and durations as written.
        let yaml = serde_yaml_ng::to_string(&c).unwrap();
        assert!(yaml.contains("watch: 1h30m\n"), "{yaml}");
        assert!(yaml.contains("max_increase: 1.5\n"), "{yaml}");
        assert_eq!(RepoConfig::parse(FILE, &yaml), Ok(c));
    }

    #[test]
    fn durations_read_as_people_write_them() {
        use duration_text::{format, parse};
        for (text, secs) in [
            ("90s", 90),
            ("15m", 900),
            ("1h", 3600),
            ("1h30m", 5400),
            ("1h0m5s", 3605),
            ("2m30s", 150),
        ] {
            assert_eq!(parse(text), Ok(Duration::from_secs(secs)), "{text}");
        }
        for text in [
            "", "15", "m", "15min", "1.5h", "30m1h", "1m1m", "-5m", "1h 30m",
        ] {
            assert_eq!(
                parse(text),
                Err(format!(
                    "invalid duration `{text}`: write it like `90s`, `15m` or `1h30m`"
                )),
                "{text}"
            );
        }
        assert_eq!(format(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format(Duration::from_secs(90)), "1m30s");
        assert_eq!(format(Duration::from_secs(86400)), "24h");
        assert_eq!(format(Duration::ZERO), "0s");
    }

    #[test]
    fn a_malformed_duration_is_an_error_at_its_line() {
        let e = err(&example_with("watch: 1h30m", "watch: soon"));
        assert_eq!(e.line, Some(7));
        assert!(
            e.message
                .contains("invalid duration `soon`: write it like `90s`, `15m` or `1h30m`"),
            "{}",
            e.message
        );
    }

    #[test]
    fn watch_and_interval_out_of_range_are_errors_at_their_lines() {
        let e = err(&example_with("watch: 1h30m", "watch: 30s"));
        assert_eq!(
            (e.line, e.message.as_str()),
            (Some(7), "ship.watch (30s) must be between 1m and 24h")
        );
        let e = err(&example_with("watch: 1h30m", "watch: 25h"));
        assert_eq!(
            (e.line, e.message.as_str()),
            (Some(7), "ship.watch (25h) must be between 1m and 24h")
        );
        let e = err(&example_with("interval: 90s", "interval: 5s"));
        assert_eq!(
            (e.line, e.message.as_str()),
            (
                Some(8),
                "ship.interval (5s) must be between 10s and ship.watch (1h30m)"
            )
        );
        let e = err(&example_with("interval: 90s", "interval: 2h"));
        assert_eq!(
            (e.line, e.message.as_str()),
            (
                Some(8),
                "ship.interval (2h) must be between 10s and ship.watch (1h30m)"
            )
        );
        // The bounds themselves are allowed.
        let c = RepoConfig::parse(FILE, "ship:\n  watch: 24h\n  interval: 24h\n").unwrap();
        assert_eq!(c.ship.interval, Duration::from_secs(86400));
        let c = RepoConfig::parse(FILE, "ship:\n  watch: 1m\n  interval: 10s\n").unwrap();
        assert_eq!(c.ship.watch, Duration::from_secs(60));
    }

    #[test]
    fn an_empty_environment_is_an_error() {
        let e = err(&example_with("environment: staging", "environment: ''"));
        assert_eq!(
            (e.line, e.message.as_str()),
            (Some(6), "ship.environment must not be empty")
        );
    }

    #[test]
    fn environments_give_the_order_and_must_hold_the_default() {
        let text = example_with(
            "environment: staging\n",
            "environment: staging\n  environments: [staging, production]\n",
        );
        let c = RepoConfig::parse(FILE, &text).unwrap();
        assert_eq!(c.ship.environments, ["staging", "production"]);
        assert_eq!(c.ship.environments_before("production"), ["staging"]);
        assert!(c.ship.environments_before("staging").is_empty());
        assert!(c.ship.knows_environment("production"));
        assert!(!c.ship.knows_environment("qa"));
        assert!(RepoConfig::default().ship.knows_environment("qa"));

        for (list, message) in [
            (
                "[qa, production]",
                "ship.environments does not list ship.environment (`staging`), where `/ship` \
                 deploys when it names no environment",
            ),
            (
                "[staging, staging]",
                "ship.environments: `staging` is listed twice",
            ),
            (
                "[staging, '--noop']",
                "ship.environments: `--noop` cannot be an environment's name (it must not be \
                 empty or start with `-`)",
            ),
        ] {
            let e = err(&example_with(
                "environment: staging\n",
                &format!("environment: staging\n  environments: {list}\n"),
            ));
            assert_eq!((e.line, e.message.as_str()), (Some(7), message), "{list}");
        }
    }

    #[test]
    fn a_metric_needs_exactly_one_bound() {
        let e = err(&example_with("      min: 0.99\n", ""));
        assert_eq!(e.line, Some(17));
        assert!(
            e.message.contains(
                "metric `availability` needs exactly one of `max`, `min` or `max_increase`"
            ),
            "{}",
            e.message
        );
        let e = err(&example_with(
            "      max: 0.01\n",
            "      max: 0.01\n      min: 0\n",
        ));
        assert_eq!(e.line, Some(11));
        assert!(
            e.message.contains(
                "metric `error rate` needs exactly one of `max`, `min` or `max_increase`"
            ),
            "{}",
            e.message
        );
    }

    #[test]
    fn a_metric_without_name_or_query_is_an_error() {
        let e = err(&example_with(
            "    - name: p99 latency\n      query",
            "    - query",
        ));
        assert_eq!(e.line, Some(14));
        assert!(e.message.contains("missing field `name`"), "{}", e.message);
        let e = err(&example_with("name: availability", "name: ' '"));
        assert_eq!(
            (e.line, e.message.as_str()),
            (Some(17), "ship.metrics[2].name must not be empty")
        );
        let e = err(&example_with("query: avg(up{job=\"web\"})", "query: ''"));
        assert_eq!(
            (e.line, e.message.as_str()),
            (
                Some(18),
                "ship.metrics `availability`: query must not be empty"
            )
        );
    }

    #[test]
    fn metric_names_must_be_unique() {
        let e = err(&example_with("name: availability", "name: error rate"));
        assert_eq!(
            (e.line, e.message.as_str()),
            (
                Some(17),
                "ship.metrics: the name `error rate` is used twice; each metric needs its own"
            )
        );
    }

    #[test]
    fn max_increase_must_be_a_factor_above_one() {
        for factor in ["1", "1.0"] {
            let e = err(&example_with(
                "max_increase: 1.5",
                &format!("max_increase: {factor}"),
            ));
            assert_eq!(e.line, Some(16), "{factor}");
            assert!(
                e.message.starts_with(
                    "ship.metrics `p99 latency`: max_increase (1) must be greater than 1;"
                ),
                "{}",
                e.message
            );
        }
        let e = err(&example_with("max_increase: 1.5", "max_increase: 0.5"));
        assert_eq!(e.line, Some(16));
        assert_eq!(
            e.message,
            "ship.metrics `p99 latency`: max_increase (0.5) must be greater than 1; \
             it is a factor of the pre-deploy value (1.5 allows 50% more)"
        );
    }

    #[test]
    fn bounds_must_be_finite() {
        let e = err(&example_with("max: 0.01", "max: .inf"));
        assert_eq!(
            (e.line, e.message.as_str()),
            (
                Some(13),
                "ship.metrics `error rate`: max must be a finite number"
            )
        );
        let e = err(&example_with("min: 0.99", "min: .nan"));
        assert_eq!(
            (e.line, e.message.as_str()),
            (
                Some(19),
                "ship.metrics `availability`: min must be a finite number"
            )
        );
    }

    #[test]
    fn evidence_keys_parse_with_their_defaults() {
        let c = RepoConfig::parse(
            FILE,
            &example_with(
                "      max_increase: 1.5\n",
                "      max_increase: 1.5\n      failures: 3\n      min_samples:\n        \
                 query: sum(increase(http_requests_total[5m]))\n        count: 100\n      \
                 baseline: histogram_quantile(0.99, sum by (le) (rate(old_bucket[5m])))\n",
            ),
        )
        .unwrap();
        let p99 = &c.ship.metrics[1];
        assert_eq!(p99.failures, 3);
        assert_eq!(
            p99.min_samples,
            Some(MinSamples::Query {
                query: "sum(increase(http_requests_total[5m]))".into(),
                count: 100.0
            })
        );
        assert!(p99.baseline.as_deref().unwrap().contains("old_bucket"));
        // The others keep the defaults: two breaching readings, no minimum, no baseline.
        assert_eq!(c.ship.metrics[0].failures, 2);
        assert_eq!(c.ship.metrics[0].min_samples, None);
        let c = RepoConfig::parse(
            FILE,
            &example_with(
                "      max: 0.01\n",
                "      max: 0.01\n      min_samples: 3\n",
            ),
        )
        .unwrap();
        assert_eq!(c.ship.metrics[0].min_samples, Some(MinSamples::Readings(3)));
        // Serializing gives the same file back.
        let yaml = serde_yaml_ng::to_string(&c).unwrap();
        assert_eq!(RepoConfig::parse(FILE, &yaml), Ok(c));
    }

    #[test]
    fn evidence_keys_that_cannot_work_are_errors_at_their_lines() {
        let e = err(&example_with(
            "      max: 0.01\n",
            "      max: 0.01\n      failures: 0\n",
        ));
        assert_eq!(e.line, Some(14));
        assert!(e
            .message
            .starts_with("ship.metrics `error rate`: failures must be at least 1"));
        // 1h30m every 90s is 60 readings.
        let e = err(&example_with(
            "      max: 0.01\n",
            "      max: 0.01\n      min_samples: 61\n",
        ));
        assert_eq!(
            (e.line, e.message.as_str()),
            (
                Some(14),
                "ship.metrics `error rate`: min_samples (61) is more readings than one watch \
                 takes (60: ship.watch over ship.interval)"
            )
        );
        let e = err(&example_with(
            "      max: 0.01\n",
            "      max: 0.01\n      min_samples: {query: 'x', count: 0}\n",
        ));
        assert_eq!(
            e.message,
            "ship.metrics `error rate`: min_samples.count must be a number above 0"
        );
        let e = err(&example_with(
            "      max: 0.01\n",
            "      max: 0.01\n      min_samples: {query: 'x', count: 5, per: 1m}\n",
        ));
        assert!(
            e.message
                .contains("a number of readings, or a mapping with `query` and `count`"),
            "{}",
            e.message
        );
        let e = err(&example_with(
            "      max: 0.01\n",
            "      max: 0.01\n      min_samples: lots\n",
        ));
        assert!(
            e.message
                .contains("a number of readings, or a mapping with `query` and `count`"),
            "{}",
            e.message
        );
        let e = err(&example_with(
            "      max: 0.01\n",
            "      max: 0.01\n      baseline: errors{version=\"old\"}\n",
        ));
        assert_eq!(
            (e.line, e.message.as_str()),
            (
                Some(14),
                "ship.metrics `error rate`: baseline only applies to max_increase \
                 (max and min are absolute bounds)"
            )
        );
    }

    #[test]
    fn unknown_ship_and_commands_keys_are_errors() {
        let e = err(&example_with("environment: staging", "enviroment: staging"));
        assert_eq!(e.line, Some(6));
        assert!(
            e.message.starts_with("ship: unknown field `enviroment`"),
            "{}",
            e.message
        );
        let e = err(&example_with("max: 0.01", "maximum: 0.01"));
        assert_eq!(e.line, Some(13));
        assert!(
            e.message.contains("unknown field `maximum`"),
            "{}",
            e.message
        );
        let e = err("commands:\n  merge_permission: write\n");
        assert_eq!(e.line, Some(2));
        assert!(
            e.message
                .starts_with("commands: unknown field `merge_permission`"),
            "{}",
            e.message
        );
    }

    #[test]
    fn permissions_and_methods_are_the_forge_names() {
        let e = err("commands:\n  ship_permission: owner\n");
        assert_eq!(e.line, Some(2));
        assert!(
            e.message.contains(
                "unknown variant `owner`, expected one of `none`, `read`, `triage`, `write`, `maintain`, `admin`"
            ),
            "{}",
            e.message
        );
        let e = err("commands:\n  ship_permission: write\n  override_permission: none\n");
        assert_eq!(
            (e.line, e.message.as_str()),
            (
                Some(3),
                "commands.override_permission: `none` would let anyone who can comment use it; \
                 the lowest is `read`"
            )
        );
        let c = RepoConfig::parse(FILE, "commands:\n  ship_permission: read\n").unwrap();
        assert_eq!(c.commands.ship_permission, Permission::Read);
        let e = err("ship:\n  merge_method: fast_forward\n");
        assert_eq!(e.line, Some(2));
        assert!(
            e.message.contains("unknown variant `fast_forward`"),
            "{}",
            e.message
        );
        let e = err("ship:\n  on_regression: ignore\n");
        assert!(
            e.message.contains(
                "unknown variant `ignore`, expected one of `rollback`, `revert`, `notify`"
            ),
            "{}",
            e.message
        );
    }

    #[test]
    fn metric_lines_are_found_in_flush_lists_and_fall_back_to_the_entry() {
        let text = "ship:\n  metrics:\n  - name: a\n    query: x\n    max: 1\n  - query: y\n    name: b\n    max_increase: 1\n";
        let e = err(text);
        assert_eq!(e.line, Some(8), "{}", e.message);
        assert_eq!(line_in_metric(text, 1, "name"), Some(7));
        assert_eq!(line_in_metric(text, 0, "min"), Some(3));
        assert_eq!(line_in_metric(text, 5, "name"), Some(2));
    }
}
