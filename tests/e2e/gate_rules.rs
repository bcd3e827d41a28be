//! The policy's exemptions, path budgets and drafts, end to end on both forges: what the
//! gate shows (its state and title, GitHub's summary), the labels and the guidance.
use crate::support::fake_github::{oversized_files, small_files, FakeFile};
use crate::support::sha;
use crate::support::world::{acknowledged, team_world, GateState, World};

/// The one guidance comment on change `n`.
fn guidance<W: World>(w: &W, n: u64) -> String {
    let comments = w.bot_comments(n);
    assert_eq!(comments.len(), 1, "{comments:#?}");
    comments[0].clone()
}

/// The gate's long text on `head`, where the forge shows one, contains `text`.
fn summary_says<W: World>(w: &W, head: &str, text: &str) {
    if let Some(summary) = w.gate_summary(head) {
        assert!(summary.contains(text), "{summary}");
    }
}

/// A dependency update of 3,000 counted lines.
fn dependency_update() -> Vec<FakeFile> {
    vec![
        FakeFile::modified("package.json", 12, 12),
        FakeFile::modified("src/client/generated.ts", 2400, 500),
        FakeFile::modified("tests/client.test.ts", 60, 16),
    ]
}

/// `bot`: the dependency bot's login on the forge.
async fn a_dependency_bots_3000_lines_pass_the_size_rule_but_wait_for_review<W: World>(bot: &str) {
    let w = W::start().await;
    w.put_policy(&format!("exempt:\n  authors: ['{bot}', 'someone-else']\n"));
    let head = sha(1);
    w.add(7, &head, dependency_update());
    w.set_author(7, bot);
    acknowledged(w.send(&w.opened_hook(7)).await);
    w.settle().await;
    assert_eq!(
        w.gate(&head),
        (
            GateState::Waiting,
            format!("3,000 lines: size rule skipped (author @{bot}); needs 1 approval")
        )
    );
    summary_says(
        &w,
        &head,
        &format!("- **Size rule skipped:** the author @{bot} is in `exempt.authors`.\n"),
    );
    assert_eq!(w.labels(7), ["size/XXL"]);
    assert!(w.bot_comments(7).is_empty(), "no size advice to give");

    w.approve(7, "bob").await;
    w.settle().await;
    assert_eq!(
        w.gate(&head),
        (
            GateState::Passed,
            format!("3,000 lines, 1 approval: ready; size rule skipped (author @{bot})")
        )
    );
    w.writes();
    w.assert_quiet();
}

async fn an_exempt_label_passes_the_size_rule_and_is_named_in_the_check<W: World>() {
    let w = W::start().await;
    w.put_policy("exempt:\n  labels: [release-merge]\n");
    let head = sha(1);
    w.open(7, &head, oversized_files()).await;
    w.settle().await;
    assert_eq!(w.gate(&head).0, GateState::Failed);
    assert!(guidance(&w, 7).contains("#### Too large to review well"));

    w.label(7, "release-merge").await;
    w.settle().await;
    assert_eq!(
        w.gate(&head),
        (
            GateState::Waiting,
            "570 lines: size rule skipped (label release-merge); needs 1 approval".into()
        )
    );
    summary_says(
        &w,
        &head,
        "- **Size rule skipped:** label `release-merge` is in `exempt.labels`.\n",
    );
    assert_eq!(w.labels(7), ["size/XL", "release-merge"]);
    let comment = guidance(&w, 7);
    assert!(
        comment.contains(
            "#### Size rule skipped\n\nThe earlier advice no longer applies: label \
             `release-merge` is in `exempt.labels`"
        ),
        "{comment}"
    );
    w.writes();
    w.assert_quiet();
}

async fn a_draft_never_keeps_a_green_check_and_is_scored_again_when_ready<W: World>() {
    let w = team_world::<W>().await;
    let head = sha(1);
    w.open(7, &head, small_files()).await;
    w.settle().await;
    w.approve(7, "bob").await;
    w.settle().await;
    assert_eq!(
        w.gate(&head),
        (GateState::Passed, "30 lines, 1 approval: ready".into())
    );

    w.set_draft(7, true).await;
    w.settle().await;
    assert_eq!(
        w.gate(&head),
        (GateState::Waiting, "30 lines, 1 approval: draft".into())
    );
    w.set_draft(7, false).await;
    w.settle().await;
    assert_eq!(
        w.gate(&head),
        (GateState::Passed, "30 lines, 1 approval: ready".into())
    );

    // An override passes an oversized head, but not while it is a draft.
    let oversized = sha(9);
    w.open(9, &oversized, oversized_files()).await;
    w.settle().await;
    w.say(9, 901, "maya", "/override the migration must land with it")
        .await;
    let overridden = "Overridden by @maya: 570 lines: over the 400-line limit; needs 1 approval";
    assert_eq!(w.gate(&oversized), (GateState::Passed, overridden.into()));
    w.set_draft(9, true).await;
    w.settle().await;
    assert_eq!(
        w.gate(&oversized),
        (
            GateState::Waiting,
            "570 lines: draft; over the 400-line limit; needs 1 approval".into()
        )
    );
    w.set_draft(9, false).await;
    w.settle().await;
    assert_eq!(w.gate(&oversized), (GateState::Passed, overridden.into()));
    w.writes();
    w.assert_quiet();
}

async fn a_path_budget_holds_its_own_lines_and_the_check_shows_its_use<W: World>() {
    let w = W::start().await;
    w.put_policy("size:\n  paths:\n    - paths: ['db/migrations/**']\n      max_lines: 2000\n");
    let head = sha(1);
    let change = |migration: u64| {
        vec![
            FakeFile::added("db/migrations/0042_accounts.sql", migration),
            FakeFile::modified("src/accounts.rs", 20, 4),
            FakeFile::added("tests/accounts_test.rs", 12),
        ]
    };
    w.open(7, &head, change(1500)).await;
    w.settle().await;
    assert_eq!(
        w.gate(&head),
        (GateState::Waiting, "36 lines: needs 1 approval".into())
    );
    summary_says(
        &w,
        &head,
        "- `db/migrations/**`: 1,500 of 2,000 lines in 1 file\n",
    );
    assert_eq!(w.labels(7), ["size/M"]);
    assert!(w.bot_comments(7).is_empty(), "no advice to give");

    let pushed = sha(2);
    w.push(7, &pushed, change(2100)).await;
    w.settle().await;
    assert_eq!(
        w.gate(&pushed),
        (
            GateState::Failed,
            "36 lines: db/migrations/** over its 2,000-line budget; needs 1 approval".into()
        )
    );
    summary_says(
        &w,
        &pushed,
        "- **Over a path budget:** 2,100 lines counted under `db/migrations/**`, over its \
         budget of 2,000 (`size.paths`).\n",
    );
    assert!(guidance(&w, 7).contains(
        "#### Over a path budget\n\n**2,100 lines** under `db/migrations/**` count toward \
         their own budget of **2,000 lines** (`size.paths`)"
    ));
    w.writes();
    w.assert_quiet();
}

on_both_forges!(
    a_dependency_bots_3000_lines_pass_the_size_rule_but_wait_for_review(
        "dependabot[bot]",
        "renovate-bot"
    ),
    an_exempt_label_passes_the_size_rule_and_is_named_in_the_check,
    a_draft_never_keeps_a_green_check_and_is_scored_again_when_ready,
    a_path_budget_holds_its_own_lines_and_the_check_shows_its_use,
);
