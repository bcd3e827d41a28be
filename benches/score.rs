//! Time to score a PR at GitHub's 3,000-file listing cap.
use criterion::{criterion_group, criterion_main, Criterion};
use smallbatch::domain::*;
use smallbatch::policy::{self, RepoConfig};

fn snapshot(files: usize) -> PrSnapshot {
    let dirs = ["api", "billing", "web/src", "vendor/lib", "docs", "tests"];
    let files: Vec<FileChange> = (0..files)
        .map(|i| FileChange {
            path: match i % 50 {
                0 => format!("pkg{i}/package-lock.json"),
                1 => format!("gen/schema_{i}.pb.go"),
                _ => format!("{}/module_{}/file_{i}.rs", dirs[i % dirs.len()], i % 40),
            },
            previous_path: None,
            status: FileStatus::Modified,
            additions: (i % 17) as u64,
            deletions: (i % 5) as u64,
            binary: false,
        })
        .collect();
    PrSnapshot {
        number: PrNumber(1),
        title: "A big one".into(),
        html_url: "https://github.com/o/r/pull/1".into(),
        author: User::human("alice"),
        state: PrState::Open,
        draft: false,
        head_sha: CommitSha::new("a".repeat(40)),
        head_ref: None,
        base_ref: "main".into(),
        base_sha: CommitSha::new("b".repeat(40)),
        labels: vec![],
        updated_at: "2026-11-27T10:00:00Z".into(),
        total_files: files.len() as u64,
        total_additions: files.iter().map(|f| f.additions).sum(),
        total_deletions: files.iter().map(|f| f.deletions).sum(),
        files,
        reviews: vec![Review {
            reviewer: User::human("bob"),
            state: ReviewState::Approved,
            commit: Some(CommitSha::new("a".repeat(40))),
        }],
        unchanged_since: vec![],
        estimated: vec![],
        status_target: None,
    }
}

const GITATTRIBUTES: &str =
    "gen/** linguist-generated\n*.pb.go linguist-generated\ndocs/** -linguist-vendored\n";

fn bench(c: &mut Criterion) {
    let pr = snapshot(3000);
    let config =
        RepoConfig::parse(".github/smallbatch.yml", "size:\n  ignore: ['**/*.snap']\n").unwrap();
    let base = policy::BaseFacts::new(ForgeKind::GitHub, Some(GITATTRIBUTES.to_owned()));
    c.bench_function("evaluate 3000-file PR", |b| {
        b.iter(|| policy::evaluate(std::hint::black_box(&pr), &config, &base))
    });
    let eval = policy::evaluate(&pr, &config, &base);
    c.bench_function("render check + comment for 3000-file PR", |b| {
        b.iter(|| {
            (
                policy::render::check_text(std::hint::black_box(&eval)),
                policy::comment::guidance_comment(&eval, ForgeKind::GitHub),
            )
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
