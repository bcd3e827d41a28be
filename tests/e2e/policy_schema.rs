//! The policy file's JSON Schema (`smallbatch schema`) held against the parser: every
//! policy example in the README and in `docs/` is accepted by both, and what the parser refuses, the
//! schema refuses too.
use serde_json::Value;
use smallbatch::policy::config::RepoConfig;
use smallbatch::policy::schema::policy_schema;

fn validator() -> jsonschema::Validator {
    jsonschema::validator_for(&policy_schema()).expect("the schema is a valid JSON Schema")
}

fn as_json(yaml: &str) -> Value {
    let value: Value = serde_yaml_ng::from_str(yaml).expect("YAML");
    // An empty file (only comments) is the default policy.
    if value.is_null() {
        Value::Object(Default::default())
    } else {
        value
    }
}

/// The README's and `docs/`'s text.
fn documentation() -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut pages = vec![root.join("README.md")];
    let mut docs: Vec<_> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    pages.extend(docs);
    pages
        .iter()
        .map(|page| std::fs::read_to_string(page).unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The documentation's ```yaml blocks that are policy files (not CI workflows).
fn readme_policies() -> Vec<String> {
    let text = documentation();
    let mut blocks = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "```yaml" {
            let block: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "```").collect();
            if !block.first().is_some_and(|l| l.contains("workflows/")) {
                blocks.push(block.join("\n"));
            }
        }
    }
    blocks
}

#[test]
fn every_policy_example_in_the_documentation_is_valid_for_the_parser_and_the_schema() {
    let validator = validator();
    let examples = readme_policies();
    assert!(examples.len() >= 2, "found {} examples", examples.len());
    for example in examples {
        RepoConfig::parse(".github/smallbatch.yml", &example)
            .unwrap_or_else(|e| panic!("the parser refuses a documented example: {e}\n{example}"));
        let errors: Vec<String> = validator
            .iter_errors(&as_json(&example))
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{errors:?}\n{example}");
    }
}

#[test]
fn the_defaults_are_valid() {
    let defaults = serde_json::to_value(RepoConfig::default()).unwrap();
    assert!(validator().is_valid(&defaults));
    assert!(validator().is_valid(&as_json("# only a comment\n")));
}

#[test]
fn what_the_parser_refuses_the_schema_refuses() {
    let validator = validator();
    let refused = [
        "size:\n  max_line: 400\n",
        "sise:\n  max_lines: 400\n",
        "reviews:\n  stale: sometimes\n",
        "size:\n  max_lines: -1\n",
        "ship:\n  watch: 15 minutes\n",
        "ship:\n  merge_method: fast-forward\n",
        "commands:\n  ship_permission: root\n",
        "reviews:\n  owners: github\n",
        "reviews:\n  rules:\n    - paths: []\n",
        "reviews:\n  rules:\n    - from: [alice]\n",
        "reviews:\n  rules:\n    - paths: ['db/**']\n      required_approvals: 0\n",
        "reviews:\n  rules:\n    - paths: ['db/**']\n      team: dba\n",
        "ship:\n  metrics:\n    - name: errors\n      query: rate(x[5m])\n      maximum: 1\n",
        "size:\n  paths:\n    - paths: []\n      max_lines: 100\n",
        "size:\n  paths:\n    - paths: ['db/**']\n      max_lines: 0\n",
        "size:\n  paths:\n    - paths: ['db/**']\n",
        "exempt:\n  bots: ['dependabot[bot]']\n",
        "exempt:\n  reviews: yes please\n",
    ];
    for text in refused {
        assert!(
            RepoConfig::parse(".github/smallbatch.yml", text).is_err(),
            "the parser accepts:\n{text}"
        );
        assert!(
            !validator.is_valid(&as_json(text)),
            "the schema accepts what the parser refuses:\n{text}"
        );
    }
}
