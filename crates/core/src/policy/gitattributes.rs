//! `linguist-generated` / `linguist-vendored` from `.gitattributes`, matched with git's own
//! pattern semantics (gix-attributes): the last line that mentions an attribute wins,
//! `-attr` and `attr=false` unset it, `!attr` makes it unspecified, `[attr]` macros expand,
//! and `!pattern` lines are ignored because git forbids negative patterns there. As in git, a
//! bare directory pattern such as `gen/` does not reach the files inside; write `gen/**`.
use gix_attributes::search::{MetadataCollection, Outcome};
use gix_attributes::{Search, StateRef};
use gix_glob::pattern::Case;

const GENERATED: &str = "linguist-generated";
const VENDORED: &str = "linguist-vendored";

/// What GitHub Linguist would call a file, when it is not hand-written source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linguist {
    Generated,
    Vendored,
}

/// The linguist attributes of one `.gitattributes` file (the repository root's).
pub struct LinguistAttributes {
    search: Search,
    collection: MetadataCollection,
}

impl LinguistAttributes {
    pub fn parse(text: &str) -> Self {
        let mut collection = MetadataCollection::default();
        let mut search = Search::default();
        search.add_patterns_buffer(
            text.as_bytes(),
            ".gitattributes".into(),
            None,
            &mut collection,
            true,
        );
        Self { search, collection }
    }

    /// `Generated` wins over `Vendored` when a file is both. A leading `/` is ignored: paths
    /// are relative to the repository root either way.
    pub fn classify(&self, path: &str) -> Option<Linguist> {
        // gix asserts (in debug builds) that the path is relative.
        let path = path.trim_start_matches('/');
        let mut out = Outcome::default();
        out.initialize_with_selection(&self.collection, [GENERATED, VENDORED]);
        self.search.pattern_matching_relative_path(
            path.as_bytes().into(),
            Case::Sensitive,
            Some(false),
            &mut out,
        );
        let mut generated = false;
        let mut vendored = false;
        for m in out.iter_selected() {
            let on = is_true(m.assignment.state);
            match m.assignment.name.as_str() {
                GENERATED => generated = on,
                VENDORED => vendored = on,
                _ => {}
            }
        }
        if generated {
            Some(Linguist::Generated)
        } else if vendored {
            Some(Linguist::Vendored)
        } else {
            None
        }
    }
}

/// Linguist reads `attr` and `attr=true` as set; `-attr`, `attr=false` and anything else as not.
fn is_true(state: StateRef<'_>) -> bool {
    match state {
        StateRef::Set => true,
        StateRef::Value(v) => <[u8]>::eq(v.as_bstr(), b"true"),
        StateRef::Unset | StateRef::Unspecified => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(attrs: &str, path: &str) -> Option<Linguist> {
        LinguistAttributes::parse(attrs).classify(path)
    }

    #[test]
    fn plain_and_true_values_mark_generated() {
        assert_eq!(
            classify("*.pb.go linguist-generated\n", "api/x.pb.go"),
            Some(Linguist::Generated)
        );
        assert_eq!(
            classify("*.pb.go linguist-generated=true\n", "x.pb.go"),
            Some(Linguist::Generated)
        );
        assert_eq!(classify("*.pb.go linguist-generated\n", "x.go"), None);
    }

    /// Found by fuzzing: gix panicked in debug builds on a path starting with `/`.
    #[test]
    fn a_leading_slash_names_the_same_file() {
        let attrs = "/gen/*.rs linguist-generated\n*.min.js linguist-vendored\n";
        assert_eq!(classify(attrs, "/gen/a.rs"), Some(Linguist::Generated));
        assert_eq!(classify(attrs, "//lib/x.min.js"), Some(Linguist::Vendored));
        assert_eq!(classify(attrs, "/"), None);
    }

    #[test]
    fn vendored_is_recognised() {
        assert_eq!(
            classify("deps/** linguist-vendored\n", "deps/a/b.c"),
            Some(Linguist::Vendored)
        );
    }

    #[test]
    fn later_line_unsets_with_minus_or_false() {
        let attrs = "gen/** linguist-generated\ngen/keep.rs -linguist-generated\n";
        assert_eq!(classify(attrs, "gen/a.rs"), Some(Linguist::Generated));
        assert_eq!(classify(attrs, "gen/keep.rs"), None);
        let attrs = "*.rs linguist-generated\nhand.rs linguist-generated=false\n";
        assert_eq!(classify(attrs, "src/hand.rs"), None);
        assert_eq!(classify(attrs, "src/other.rs"), Some(Linguist::Generated));
    }

    #[test]
    fn later_line_overrides_earlier_either_way() {
        let attrs = "keep.rs -linguist-generated\n*.rs linguist-generated\n";
        assert_eq!(classify(attrs, "keep.rs"), Some(Linguist::Generated));
    }

    #[test]
    fn double_star_matches_at_any_depth() {
        let attrs = "**/generated/** linguist-generated\n";
        assert_eq!(classify(attrs, "generated/a.rs"), Some(Linguist::Generated));
        assert_eq!(
            classify(attrs, "a/b/generated/c/d.rs"),
            Some(Linguist::Generated)
        );
        assert_eq!(classify(attrs, "a/generatedx/d.rs"), None);
    }

    #[test]
    fn leading_slash_anchors_at_the_root() {
        let attrs = "/gen/** linguist-generated\n";
        assert_eq!(classify(attrs, "gen/a.rs"), Some(Linguist::Generated));
        assert_eq!(classify(attrs, "src/gen/a.rs"), None);
    }

    #[test]
    fn bare_directory_pattern_does_not_reach_files_as_in_git() {
        assert_eq!(classify("/gen/ linguist-generated\n", "gen/a.rs"), None);
    }

    #[test]
    fn pattern_without_slash_matches_basename_anywhere() {
        assert_eq!(
            classify("schema.rs linguist-generated\n", "a/b/schema.rs"),
            Some(Linguist::Generated)
        );
    }

    #[test]
    fn negative_patterns_are_ignored_as_git_does() {
        let attrs = "*.rs linguist-generated\n!keep.rs linguist-generated\n";
        assert_eq!(classify(attrs, "keep.rs"), Some(Linguist::Generated));
    }

    #[test]
    fn macros_expand() {
        let attrs = "[attr]machine linguist-generated -diff\n*.gen.ts machine\n";
        assert_eq!(classify(attrs, "web/api.gen.ts"), Some(Linguist::Generated));
    }

    #[test]
    fn generated_wins_over_vendored_and_unrelated_attributes_are_ignored() {
        let attrs = "*.js linguist-vendored linguist-generated\n*.md text eol=lf\n";
        assert_eq!(classify(attrs, "a.js"), Some(Linguist::Generated));
        assert_eq!(classify(attrs, "README.md"), None);
    }
}
