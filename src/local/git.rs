//! The repository side of `smallbatch check`: find the repo, resolve the base, compute the
//! merge-base and read files as they are in a commit. No policy here.
use super::LocalError;
use git2::{ErrorCode, ObjectType, Oid, Repository};
use std::path::Path;

/// Default bases, in the order they are tried when `--base` is not given:
/// what `origin/HEAD` points to comes first (see [`default_base`]), then these.
const DEFAULT_BRANCHES: [&str; 4] = [
    "refs/heads/main",
    "refs/heads/master",
    "refs/remotes/origin/main",
    "refs/remotes/origin/master",
];

const ORIGIN_HEAD: &str = "refs/remotes/origin/HEAD";

/// A commit that the base was resolved to, with the name the user will recognise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Base {
    /// `main`, `origin/main`, or the revspec passed with `--base`.
    pub name: String,
    pub commit: Oid,
}

/// The committed work being scored: from the merge-base of HEAD and the base, to HEAD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    pub base: Base,
    pub merge_base: Oid,
    pub head: Oid,
}

/// Opens the repository containing `path` (searching parent directories, like git does).
pub fn open(path: &Path) -> Result<Repository, LocalError> {
    Repository::discover(path).map_err(|err| match err.code() {
        ErrorCode::NotFound => LocalError::NotARepository {
            path: path.to_path_buf(),
        },
        _ => LocalError::Git(err),
    })
}

/// Resolves HEAD, the base (`base`, or the default branch) and their merge-base.
pub fn range(repo: &Repository, base: Option<&str>) -> Result<Range, LocalError> {
    let head = head_commit(repo)?;
    let base = match base {
        Some(spec) => named_base(repo, spec)?,
        None => default_base(repo)?,
    };
    let merge_base = repo
        .merge_base(head, base.commit)
        .map_err(|err| match err.code() {
            ErrorCode::NotFound => LocalError::NoMergeBase {
                base: base.name.clone(),
            },
            _ => LocalError::Git(err),
        })?;
    Ok(Range {
        base,
        merge_base,
        head,
    })
}

/// The commit HEAD points to (a branch or a detached HEAD).
pub fn head_commit(repo: &Repository) -> Result<Oid, LocalError> {
    let head = repo.head().map_err(|err| match err.code() {
        ErrorCode::UnbornBranch | ErrorCode::NotFound => LocalError::UnbornHead,
        _ => LocalError::Git(err),
    })?;
    Ok(head.peel_to_commit()?.id())
}

/// Resolves any revspec git understands (`main`, `origin/main`, `v1.2`, `HEAD~3`, a sha).
pub fn named_base(repo: &Repository, spec: &str) -> Result<Base, LocalError> {
    let not_found = || LocalError::BaseNotFound {
        reference: spec.to_owned(),
    };
    let object = repo.revparse_single(spec).map_err(|err| match err.code() {
        ErrorCode::NotFound | ErrorCode::Ambiguous | ErrorCode::InvalidSpec => not_found(),
        _ => LocalError::Git(err),
    })?;
    // A tag or tree-ish that does not lead to a commit is no base either.
    let commit = object.peel_to_commit().map_err(|_| not_found())?;
    Ok(Base {
        name: spec.to_owned(),
        commit: commit.id(),
    })
}

/// The default branch: what `origin/HEAD` points to, else `main`, `master`, `origin/main`,
/// `origin/master`, the first that exists.
pub fn default_base(repo: &Repository) -> Result<Base, LocalError> {
    if let Some(base) = origin_head(repo)? {
        return Ok(base);
    }
    for name in DEFAULT_BRANCHES {
        if let Some(base) = existing_ref(repo, name)? {
            return Ok(base);
        }
    }
    Err(LocalError::NoDefaultBranch)
}

/// `origin/HEAD`, named after the branch it points to (`origin/main`). A dangling
/// `origin/HEAD` (its branch was pruned) is skipped rather than fatal.
fn origin_head(repo: &Repository) -> Result<Option<Base>, LocalError> {
    let reference = match repo.find_reference(ORIGIN_HEAD) {
        Ok(reference) => reference,
        Err(err) if err.code() == ErrorCode::NotFound => return Ok(None),
        Err(err) => return Err(err.into()),
    };
    let resolved = match reference.resolve() {
        Ok(resolved) => resolved,
        Err(err) if err.code() == ErrorCode::NotFound => return Ok(None),
        Err(err) => return Err(err.into()),
    };
    let name = resolved.shorthand().unwrap_or("origin/HEAD").to_owned();
    Ok(Some(Base {
        name,
        commit: resolved.peel_to_commit()?.id(),
    }))
}

fn existing_ref(repo: &Repository, name: &str) -> Result<Option<Base>, LocalError> {
    match repo.find_reference(name) {
        Ok(reference) => Ok(Some(Base {
            name: reference.shorthand().unwrap_or(name).to_owned(),
            commit: reference.peel_to_commit()?.id(),
        })),
        Err(err) if err.code() == ErrorCode::NotFound => Ok(None),
        Err(err) => Err(err.into()),
    }
}

/// The text of `path` in `commit`, or `None` when no such file exists there.
/// Invalid UTF-8 is replaced rather than refused: the parsers report what they can't read.
pub fn read_text_at(
    repo: &Repository,
    commit: Oid,
    path: &str,
) -> Result<Option<String>, LocalError> {
    let tree = repo.find_commit(commit)?.tree()?;
    let entry = match tree.get_path(Path::new(path)) {
        Ok(entry) => entry,
        Err(err) if err.code() == ErrorCode::NotFound => return Ok(None),
        Err(err) => return Err(err.into()),
    };
    // A directory (or submodule) with the file's name is not the file.
    if entry.kind() != Some(ObjectType::Blob) {
        return Ok(None);
    }
    let blob = repo.find_blob(entry.id())?;
    Ok(Some(String::from_utf8_lossy(blob.content()).into_owned()))
}
