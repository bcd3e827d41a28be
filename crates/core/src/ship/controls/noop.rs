//! `/ship --noop`: every precondition checked, the whole checklist and what `/ship`
//! would do, and nothing changed.
use crate::domain::{ForgeKind, MergeMethod};
use crate::policy::config::{duration_text, Bound, OnRegression, ShipConfig};
use crate::ship::preconditions::Item;
use crate::ship::text::short;
use std::fmt::Write;

/// How the change would reach the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Merged now, with this method.
    Merge(MergeMethod),
    /// Already merged by an earlier ship, as this commit: deployed as it is.
    Merged { merge_sha: String },
}

/// The reply to `/ship … --noop`. `command`: the command as written, without `--noop`.
pub fn dry_run(
    command: &str,
    environment: &str,
    items: &[Item],
    route: &Route,
    ship: &ShipConfig,
    skipped: &[&str],
    forge: ForgeKind,
) -> String {
    let mut out = format!(
        "### Dry run of `{command}`\n\nNothing was changed: this is what `{command}` would \
         check and do now.\n\n"
    );
    for item in items {
        let _ = writeln!(
            out,
            "- [{}] {}",
            if item.met { "x" } else { " " },
            item.text
        );
    }
    let missing = items.iter().filter(|item| !item.met).count();
    out.push('\n');
    if missing == 0 {
        let _ = writeln!(out, "Everything holds, so `{command}` would:\n");
    } else {
        let _ = writeln!(
            out,
            "**It would not ship:** {} missing. Once {} done, it would:\n",
            if missing == 1 {
                "1 item is".to_owned()
            } else {
                format!("{missing} items are")
            },
            if missing == 1 { "it is" } else { "they are" }
        );
    }
    let mut steps = Vec::new();
    if !skipped.is_empty() {
        let names: Vec<String> = skipped.iter().map(|e| format!("**{e}**")).collect();
        steps.push(format!(
            "record the override of the environment order (skipping {}) in the audit log",
            names.join(", ")
        ));
    }
    match route {
        Route::Merge(method) => {
            steps.push(format!(
                "merge the {} with `{}`",
                forge.change_noun(),
                method_name(*method)
            ));
            steps.push(format!("deploy the merge commit to **{environment}**"));
        }
        Route::Merged { merge_sha } => steps.push(format!(
            "deploy `{}`, which an earlier ship merged, to **{environment}**",
            short(merge_sha)
        )),
    }
    steps.push(watch(ship));
    steps.push(match ship.on_regression {
        OnRegression::Rollback => format!(
            "on a regression, mark the deployment failed, roll back to the last healthy \
             deployment, then open a revert {} (`ship.on_regression: rollback`)",
            forge.change_noun()
        ),
        OnRegression::Revert => format!(
            "on a regression, mark the deployment failed and open a revert {} \
             (`ship.on_regression: revert`)",
            forge.change_noun()
        ),
        OnRegression::Notify => "on a regression, mark the deployment failed and tell the people \
             (`ship.on_regression: notify`)"
            .to_owned(),
    });
    for (i, step) in steps.iter().enumerate() {
        let _ = writeln!(out, "{}. {step}.", i + 1);
    }
    out
}

fn method_name(method: MergeMethod) -> &'static str {
    match method {
        MergeMethod::Merge => "merge",
        MergeMethod::Squash => "squash",
        MergeMethod::Rebase => "rebase",
    }
}

fn watch(ship: &ShipConfig) -> String {
    if ship.metrics.is_empty() {
        return "watch nothing: no `ship.metrics` are configured, so the verdict would be \
                *not verified*"
            .to_owned();
    }
    let metrics: Vec<String> = ship
        .metrics
        .iter()
        .map(|m| {
            let bound = match m.bound {
                Bound::Max(v) => format!("≤ {v}"),
                Bound::Min(v) => format!("≥ {v}"),
                Bound::MaxIncrease(v) if m.baseline.is_some() => {
                    format!("≤ {v}× its baseline series")
                }
                Bound::MaxIncrease(v) => format!("≤ {v}× its pre-deploy value"),
            };
            format!("{} ({bound})", m.name)
        })
        .collect();
    format!(
        "watch {} for {}, every {}",
        metrics.join(", "),
        duration_text::format(ship.watch),
        duration_text::format(ship.interval)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::config::MetricSpec;

    fn ship() -> ShipConfig {
        ShipConfig {
            metrics: vec![MetricSpec::new("error rate", "q", Bound::Max(0.01))],
            ..ShipConfig::default()
        }
    }

    #[test]
    fn everything_holds() {
        let items = [
            Item::new(true, "The pull request is open.", ""),
            Item::new(true, "**production** is not locked.", ""),
        ];
        insta::assert_snapshot!(
            dry_run("/ship", "production", &items, &Route::Merge(MergeMethod::Squash), &ship(), &[], ForgeKind::GitHub),
            @r"
        ### Dry run of `/ship`

        Nothing was changed: this is what `/ship` would check and do now.

        - [x] The pull request is open.
        - [x] **production** is not locked.

        Everything holds, so `/ship` would:

        1. merge the pull request with `squash`.
        2. deploy the merge commit to **production**.
        3. watch error rate (≤ 0.01) for 15m, every 1m.
        4. on a regression, mark the deployment failed, roll back to the last healthy deployment, then open a revert pull request (`ship.on_regression: rollback`).
        "
        );
    }

    #[test]
    fn missing_items_and_a_promotion() {
        let items = [
            Item::new(true, "No one holds the merge request.", ""),
            Item::new(false, "", "**production** is not locked by someone else."),
        ];
        let config = ShipConfig {
            on_regression: OnRegression::Notify,
            ..ShipConfig::default()
        };
        let route = Route::Merged {
            merge_sha: "eeee0007eeee".into(),
        };
        insta::assert_snapshot!(
            dry_run("/ship production --override staging is down", "production", &items, &route, &config, &["staging"], ForgeKind::GitLab),
            @r"
        ### Dry run of `/ship production --override staging is down`

        Nothing was changed: this is what `/ship production --override staging is down` would check and do now.

        - [x] No one holds the merge request.
        - [ ] **production** is not locked by someone else.

        **It would not ship:** 1 item is missing. Once it is done, it would:

        1. record the override of the environment order (skipping **staging**) in the audit log.
        2. deploy `eeee000`, which an earlier ship merged, to **production**.
        3. watch nothing: no `ship.metrics` are configured, so the verdict would be *not verified*.
        4. on a regression, mark the deployment failed and tell the people (`ship.on_regression: notify`).
        "
        );
    }
}
