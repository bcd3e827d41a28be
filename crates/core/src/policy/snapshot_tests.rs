//! What users read, frozen: the check run and the guidance comment for typical PRs.
use super::comment::guidance_comment;
use super::config::StaleReviews;
use super::owners::Membership;
use super::render::{check_text, config_error_check};
use super::testing::{pr, PrBuilder, OLD};
use super::{evaluate, BaseFacts, CodeOwners, Evaluation, RepoConfig, Teams};
use crate::domain::{ForgeKind, ReviewState, User};

const GITATTRIBUTES: &str = "/gen/** linguist-generated\n";

fn eval(b: PrBuilder, config: &RepoConfig) -> Evaluation {
    evaluate(
        &b.build(),
        config,
        &BaseFacts::new(ForgeKind::GitHub, Some(GITATTRIBUTES.to_owned())),
    )
}

fn check(eval: &Evaluation) -> String {
    let text = check_text(eval);
    format!("title: {}\n\n{}", text.title, text.summary)
}

fn guidance(eval: &Evaluation) -> String {
    guidance_comment(eval, ForgeKind::GitHub).unwrap_or_else(|| "(no guidance comment)".to_owned())
}

fn clean() -> Evaluation {
    eval(
        pr().file("src/policy/size.rs", 60, 12)
            .added("src/policy/labels.rs", 40)
            .file("tests/size.rs", 25, 3)
            .file("Cargo.lock", 30, 8)
            .approve("bob")
            .approve("carol"),
        &RepoConfig::default(),
    )
}

fn oversized() -> Evaluation {
    let config = RepoConfig::parse("t.yml", "size:\n  ignore: ['*.snap']\n").unwrap();
    eval(
        pr().file("src/api/handlers.rs", 420, 60)
            .added("src/api/routes.rs", 120)
            .file("src/ui/view.rs", 300, 50)
            .renamed("src/ui/old_name.rs", "src/ui/widget.rs", 0, 0)
            .removed("src/legacy.rs", 230)
            .added("docs/guide.md", 150)
            .file("README.md", 10, 3)
            .file("tests/api.rs", 80, 10)
            .binary("assets/logo.png")
            .file("Cargo.lock", 412, 96)
            .added("vendor/left-pad/lib.rs", 40)
            .added("gen/schema.rs", 2000)
            .added("tests/snapshots/api.snap", 75)
            .approve("bob"),
        &config,
    )
}

fn unreviewed() -> Evaluation {
    eval(
        pr().file("src/parser.rs", 60, 5)
            .file("src/parser/tests.rs", 15, 0),
        &RepoConfig::default(),
    )
}

fn changes_requested() -> Evaluation {
    let mut config = RepoConfig::default();
    config.reviews.stale = StaleReviews::Dismiss;
    config.reviews.required_approvals = 2;
    eval(
        pr().file("src/server/routes.rs", 120, 30)
            .file("src/store/queries.rs", 70, 10)
            .added("src/server/routes_test.rs", 20)
            .approve("carol")
            .review(User::human("erin"), ReviewState::Approved, Some(OLD))
            .request_changes("dave"),
        &config,
    )
}

fn untested() -> Evaluation {
    let mut config = RepoConfig::default();
    config.tests.required = true;
    eval(
        pr().file("lib/billing/invoice.rb", 110, 20)
            .added("lib/billing/tax.rb", 50)
            .approve("bob"),
        &config,
    )
}

fn truncated_draft() -> Evaluation {
    let mut b = pr().draft();
    for i in 0..3000 {
        b = b.added(&format!("data/fixtures/case{i:04}.json"), 1);
    }
    eval(b.totals(3200, 3600, 100), &RepoConfig::default())
}

#[test]
fn clean_pr() {
    let e = clean();
    insta::assert_snapshot!("clean_check", check(&e));
    insta::assert_snapshot!("clean_guidance", guidance(&e));
}

#[test]
fn oversized_pr() {
    let e = oversized();
    insta::assert_snapshot!("oversized_check", check(&e));
    insta::assert_snapshot!("oversized_guidance", guidance(&e));
}

#[test]
fn unreviewed_pr() {
    let e = unreviewed();
    insta::assert_snapshot!("unreviewed_check", check(&e));
    insta::assert_snapshot!("unreviewed_guidance", guidance(&e));
}

#[test]
fn changes_requested_pr() {
    let e = changes_requested();
    insta::assert_snapshot!("changes_requested_check", check(&e));
    insta::assert_snapshot!("changes_requested_guidance", guidance(&e));
}

#[test]
fn untested_pr() {
    let e = untested();
    insta::assert_snapshot!("untested_check", check(&e));
    insta::assert_snapshot!("untested_guidance", guidance(&e));
}

#[test]
fn truncated_draft_pr() {
    let e = truncated_draft();
    insta::assert_snapshot!("truncated_draft_check", check(&e));
    insta::assert_snapshot!("truncated_draft_guidance", guidance(&e));
}

#[test]
fn resolved_comment() {
    insta::assert_snapshot!(
        "resolved_comment",
        super::comment::resolved_comment(&clean(), ForgeKind::GitHub)
    );
}

#[test]
fn config_error() {
    let err = RepoConfig::parse(
        ".github/smallbatch.yml",
        "size:\n  max_lines: 300\n  max_line: 100\n",
    )
    .unwrap_err();
    let text = config_error_check(&err, crate::domain::ForgeKind::GitHub);
    insta::assert_snapshot!(
        "config_error_check",
        format!("title: {}\n\n{}", text.title, text.summary)
    );
}

/// A PR whose billing files a team owns, approved by one of its members; its docs wait
/// for their owner, after a non-owner's approval; a rule wants two DBAs for the schema and
/// has one; an owner team that cannot be found and an email owner are named as such.
fn owners_waiting() -> Evaluation {
    let config = RepoConfig::parse(
        "t.yml",
        "reviews:\n  owners: codeowners\n  rules:\n    - paths: ['db/**']\n      \
         required_approvals: 2\n      from: ['dba-ann', 'dba-bo', 'acme/dba']\n",
    )
    .unwrap();
    let codeowners = CodeOwners::parse(
        ".github/CODEOWNERS",
        "# Owners\n* @lead\n/src/billing/ @carol @acme/billing\n*.md @docs-dan jane@example.com\n\
         /db/ @acme/ghost\n",
        ForgeKind::GitHub,
    )
    .unwrap();
    let mut teams = Teams::default();
    teams.insert(
        "acme/billing",
        Membership::Members {
            logins: vec!["erin".into()],
        },
    );
    teams.insert("acme/ghost", Membership::NotFound);
    teams.insert(
        "acme/dba",
        Membership::Members {
            logins: vec!["dba-ann".into()],
        },
    );
    let base = BaseFacts {
        codeowners: Some(codeowners),
        teams,
        ..BaseFacts::new(ForgeKind::GitHub, None)
    };
    evaluate(
        &pr()
            .file("src/billing/invoice.rs", 40, 8)
            .added("src/billing/tax.rs", 30)
            .file("docs/billing.md", 12, 2)
            .file("db/schema.sql", 6, 0)
            .added("tests/billing.rs", 20)
            .approve("bob")
            .approve("erin")
            .approve("dba-ann")
            .build(),
        &config,
        &base,
    )
}

#[test]
fn owners_waiting_pr() {
    let e = owners_waiting();
    insta::assert_snapshot!("owners_waiting_check", check(&e));
    insta::assert_snapshot!("owners_waiting_guidance", guidance(&e));
}

#[test]
fn codeowners_error() {
    let err = CodeOwners::parse(
        "CODEOWNERS",
        "* @lead\n!vendor/ @nobody\n",
        ForgeKind::GitLab,
    )
    .unwrap_err();
    let text = config_error_check(&err, ForgeKind::GitLab);
    insta::assert_snapshot!(
        "codeowners_error_check",
        format!("title: {}\n\n{}", text.title, text.summary)
    );
}

#[test]
fn evaluation_as_json() {
    insta::assert_json_snapshot!("unreviewed_evaluation_json", unreviewed());
}

#[test]
fn estimated_sizes_are_owned_up_to_in_the_check_and_the_comment() {
    let e = eval(
        pr().file("db/seed.sql", 700, 0)
            .file("src/a.rs", 10, 2)
            .estimated("db/seed.sql"),
        &RepoConfig::default(),
    );
    let note = "1 file was too large for GitLab to show a diff; it is counted at its full length.";
    assert!(
        check(&e).contains(&format!("\n> **Estimated:** {note}\n")),
        "{}",
        check(&e)
    );
    assert!(
        guidance(&e).contains(&format!("\n#### Sizes estimated\n\n{note}\n")),
        "{}",
        guidance(&e)
    );
}

/// A 3,000-line dependency update by Dependabot, which `exempt.authors` lists.
fn dependabot() -> Evaluation {
    let config = RepoConfig::parse(
        "t.yml",
        "exempt:\n  authors: ['dependabot[bot]', 'renovate[bot]']\n",
    )
    .unwrap();
    eval(
        pr().author(User::bot("dependabot[bot]"))
            .label("dependencies")
            .file("package.json", 12, 12)
            .file("vendor/modules.txt", 400, 300)
            .added("third_party/grpc/api.pb.go", 1500)
            .file("internal/client/retry.go", 40, 30)
            .file("internal/client/retry_test.go", 20, 10)
            .added("internal/client/generated.go", 1200)
            .file("go.sum", 2000, 1800),
        &config,
    )
}

#[test]
fn exempt_author() {
    let e = dependabot();
    insta::assert_snapshot!("exempt_author_check", check(&e));
    insta::assert_snapshot!("exempt_author_guidance", guidance(&e));
}

#[test]
fn exempt_label() {
    let config = RepoConfig::parse("t.yml", "exempt:\n  labels: [release-merge]\n").unwrap();
    let e = eval(
        pr().label("release-merge")
            .file("src/billing/invoice.rs", 600, 200)
            .file("tests/invoice.rs", 90, 10)
            .approve("bob"),
        &config,
    );
    insta::assert_snapshot!("exempt_label_check", check(&e));
    assert_eq!(guidance(&e), "(no guidance comment)");
}

#[test]
fn path_budgets() {
    let config = RepoConfig::parse(
        "t.yml",
        "size:\n  paths:\n    - paths: ['db/migrations/**']\n      max_lines: 2000\n    - paths: ['docs/**']\n      max_lines: 1000\n",
    )
    .unwrap();
    let e = eval(
        pr().added("db/migrations/0042_accounts.sql", 1200)
            .added("db/migrations/0043_ledger.sql", 1100)
            .file("docs/accounts.md", 120, 40)
            .file("src/accounts/ledger.rs", 140, 20)
            .file("tests/ledger.rs", 30, 0)
            .approve("bob"),
        &config,
    );
    insta::assert_snapshot!("path_budgets_check", check(&e));
    insta::assert_snapshot!("path_budgets_guidance", guidance(&e));
}

#[test]
fn stacked_pr() {
    use crate::domain::PrNumber;
    use crate::policy::StackedPr;
    let e = eval(
        pr().file("src/export/csv.rs", 5, 3)
            .file("tests/export.rs", 12, 0),
        &RepoConfig::default(),
    )
    .with_stack(vec![
        StackedPr {
            number: PrNumber(12),
            branch: "export-writer".into(),
            lines: 180,
        },
        StackedPr {
            number: PrNumber(11),
            branch: "export-model".into(),
            lines: 95,
        },
    ]);
    insta::assert_snapshot!("stacked_guidance", guidance(&e));
    insta::assert_snapshot!(
        "stacked_guidance_gitlab",
        guidance_comment(&e, ForgeKind::GitLab).unwrap()
    );
}
