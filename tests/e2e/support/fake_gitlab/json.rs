//! GitLab's answers, shaped like the real ones (`fixtures/gitlab/api/`).
use super::*;
use serde_json::{json, Value};
use wiremock::{Request, ResponseTemplate};

pub(super) fn commit_json(s: &State, sha: &str, title: &str) -> Value {
    json!({
        "id": sha,
        "short_id": &sha[..8.min(sha.len())],
        "created_at": "2026-11-27T07:00:00.000+00:00",
        "parent_ids": [],
        "title": title,
        "message": format!("{title}\n"),
        "author_name": "Alice",
        "author_email": "alice@example.com",
        "authored_date": "2026-11-27T07:00:00.000+00:00",
        "committer_name": "Alice",
        "committer_email": "alice@example.com",
        "committed_date": "2026-11-27T07:00:00.000+00:00",
        "trailers": {},
        "extended_trailers": {},
        "web_url": format!("https://gitlab.example.com/{}/-/commit/{sha}", s.project),
    })
}

/// The page of `items` the call asks for (`page`, `per_page`: 1 and 20 by default).
pub(super) fn requested_page(req: &Request, items: Vec<Value>) -> ResponseTemplate {
    let number = |key, default| {
        query(req, key)
            .and_then(|p| p.parse().ok())
            .unwrap_or(default)
    };
    page_of(items, number("page", 1), number("per_page", 20))
}

/// One page of a list with GitLab's offset-pagination headers.
pub(super) fn page_of(items: Vec<Value>, page: usize, per: usize) -> ResponseTemplate {
    let per = per.max(1);
    let total = items.len();
    let pages = total.div_ceil(per).max(1);
    let slice: Vec<Value> = items.into_iter().skip((page - 1) * per).take(per).collect();
    let next = if page < pages {
        (page + 1).to_string()
    } else {
        String::new()
    };
    let prev = if page > 1 {
        (page - 1).to_string()
    } else {
        String::new()
    };
    ResponseTemplate::new(200)
        .insert_header("x-page", page.to_string().as_str())
        .insert_header("x-per-page", per.to_string().as_str())
        .insert_header("x-total", total.to_string().as_str())
        .insert_header("x-total-pages", pages.to_string().as_str())
        .insert_header("x-next-page", next.as_str())
        .insert_header("x-prev-page", prev.as_str())
        .set_body_json(slice)
}

pub(super) fn user_id(username: &str) -> u64 {
    username
        .bytes()
        .fold(7, |h, b| h * 31 % 1_000_003 + u64::from(b))
}

/// A user as GitLab embeds one (`author`, `approved_by[].user`, `reviewers[].user`).
pub(super) fn account_json(username: &str) -> Value {
    json!({
        "id": user_id(username),
        "username": username,
        "name": username,
        "state": "active",
        "locked": false,
        "avatar_url": format!("https://secure.gravatar.com/avatar/{username}?s=80&d=identicon"),
        "web_url": format!("https://gitlab.example.com/{username}"),
    })
}

/// `GET /user` for the token's bot account.
pub(super) fn user_json() -> Value {
    let mut v = account_json(BOT_USERNAME);
    v["name"] = json!("smallbatch");
    v["bot"] = json!(true);
    v["created_at"] = json!("2026-01-05T10:00:00.000Z");
    v["bio"] = json!("");
    v["public_email"] = Value::Null;
    v
}

pub(super) fn timestamp(version: u64) -> String {
    format!(
        "2026-11-27T10:{:02}:{:02}.000Z",
        version / 60 % 60,
        version % 60
    )
}

/// The real `get_merge_request.json` with our MR's values; every other field as
/// GitLab sent it.
pub(super) fn mr_json(s: &State, mr: &FakeMr) -> Value {
    let mut v = s.template_mr.clone();
    let web_url = format!(
        "https://gitlab.example.com/{}/-/merge_requests/{}",
        s.project, mr.iid
    );
    v["id"] = json!(100_000 + mr.iid);
    v["iid"] = json!(mr.iid);
    v["project_id"] = json!(42);
    v["source_project_id"] = json!(42);
    v["target_project_id"] = json!(42);
    v["title"] = json!(mr.title);
    v["description"] = json!(mr.description);
    v["state"] = json!(mr.state);
    v["updated_at"] = json!(timestamp(mr.version));
    v["target_branch"] = json!(mr.target_branch);
    v["source_branch"] = json!(mr.source_branch);
    v["author"] = account_json(&mr.author);
    v["assignee"] = Value::Null;
    v["assignees"] = json!([]);
    v["reviewers"] = json!(mr
        .reviewers
        .iter()
        .map(|r| account_json(&r.username))
        .collect::<Vec<_>>());
    v["labels"] = json!(mr.labels);
    v["draft"] = json!(mr.draft);
    v["work_in_progress"] = json!(mr.draft);
    v["milestone"] = Value::Null;
    v["sha"] = json!(mr.head_sha);
    v["reference"] = json!(format!("!{}", mr.iid));
    v["web_url"] = json!(web_url);
    v["changes_count"] = json!(mr.files.len().to_string());
    // No CI on this project: no pipeline, so the status goes to the source branch.
    v["pipeline"] = Value::Null;
    v["head_pipeline"] = Value::Null;
    v["has_conflicts"] = json!(false);
    v["detailed_merge_status"] = json!(mr.detailed_merge_status);
    v["merge_commit_sha"] = json!(mr.merge_commit_sha);
    if mr.state == "merged" {
        v["merged_at"] = json!(timestamp(mr.version));
        v["merge_status"] = json!("merged");
    }
    v["user_notes_count"] = json!(s.notes.iter().filter(|n| n.iid == mr.iid).count());
    v["diff_refs"] = json!({
        "base_sha": mr.base_sha,
        "head_sha": mr.head_sha,
        "start_sha": mr.base_sha,
    });
    v
}

/// An entry of `merge_requests/:iid/diffs`, with the fields of
/// `list_merge_request_diff.json`.
pub(super) fn diff_json(f: &FakeFile) -> Value {
    let (new_file, deleted_file) = (f.status == "added", f.status == "removed");
    json!({
        "old_path": f.previous.as_deref().unwrap_or(&f.path),
        "new_path": f.path,
        "a_mode": if new_file { "0" } else { "100644" },
        "b_mode": if deleted_file { "0" } else { "100644" },
        "diff": unified_diff(f),
        "new_file": new_file,
        "renamed_file": f.status == "renamed",
        "deleted_file": deleted_file,
    })
}

pub(super) fn approvals_json(s: &State, mr: &FakeMr) -> Value {
    let approved: Vec<Value> = mr
        .approved_by
        .iter()
        .map(|u| json!({ "user": account_json(u) }))
        .collect();
    json!({
        "id": 100_000 + mr.iid,
        "iid": mr.iid,
        "project_id": 42,
        "title": mr.title,
        "description": "",
        "state": mr.state,
        "created_at": "2026-11-27T09:00:00.000Z",
        "updated_at": timestamp(mr.version),
        "merge_status": "can_be_merged",
        "approved": !approved.is_empty(),
        "approvals_required": 0,
        "approvals_left": 0,
        "require_password_to_approve": false,
        "approved_by": approved,
        "suggested_approvers": [],
        "approvers": [],
        "approver_groups": [],
        "user_has_approved": false,
        "user_can_approve": false,
        "approval_rules_left": [],
        "has_approval_rules": false,
        "merge_request_approvers_available": false,
        "multiple_approval_rules_available": false,
        "invalid_approvers_rules": [],
        "web_url": format!("https://gitlab.example.com/{}/-/merge_requests/{}", s.project, mr.iid),
    })
}

pub(super) fn note_json(s: &State, n: &FakeNote) -> Value {
    json!({
        "id": n.id,
        "type": null,
        "body": n.body,
        "attachment": null,
        "author": account_json(&n.author),
        "created_at": "2026-11-27T10:00:00.000Z",
        "updated_at": "2026-11-27T10:00:00.000Z",
        "system": n.system,
        "noteable_id": 100_000 + n.iid,
        "noteable_type": "MergeRequest",
        "project_id": 42,
        "resolvable": false,
        "confidential": false,
        "internal": false,
        "imported": false,
        "imported_from": "none",
        "noteable_iid": n.iid,
        "commands_changes": {},
        "web_url": format!("https://gitlab.example.com/{}/-/merge_requests/{}#note_{}", s.project, n.iid, n.id),
    })
}

pub(super) fn status_json(st: &FakeStatus) -> Value {
    json!({
        "id": st.id,
        "sha": st.sha,
        "ref": st.git_ref,
        "status": st.state,
        "name": st.name,
        "target_url": st.target_url,
        "description": st.description,
        "created_at": "2026-11-27T10:00:00.000Z",
        "started_at": null,
        "finished_at": null,
        "allow_failure": false,
        "coverage": null,
        "pipeline_id": st.pipeline_id.unwrap_or(900_000 + st.id),
        "author": account_json(BOT_USERNAME),
    })
}

pub(super) fn branch_json(s: &State, branch: &str, sha: &str) -> Value {
    json!({
        "name": branch,
        "merged": false,
        "protected": true,
        "default": branch == "main",
        "developers_can_push": false,
        "developers_can_merge": false,
        "can_push": true,
        "web_url": format!("https://gitlab.example.com/{}/-/tree/{branch}", s.project),
        "commit": {
            "id": sha,
            "short_id": &sha[..8.min(sha.len())],
            "created_at": "2026-11-27T09:00:00.000+00:00",
            "parent_ids": [],
            "title": "Update policy",
            "message": "Update policy\n",
            "author_name": "Alice",
            "author_email": "alice@example.com",
            "authored_date": "2026-11-27T09:00:00.000+00:00",
            "committer_name": "Alice",
            "committer_email": "alice@example.com",
            "committed_date": "2026-11-27T09:00:00.000+00:00",
            "trailers": {},
            "extended_trailers": {},
            "web_url": format!("https://gitlab.example.com/{}/-/commit/{sha}", s.project),
        }
    })
}
