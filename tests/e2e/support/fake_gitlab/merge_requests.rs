//! The fake GitLab's merge request routes.
use super::json::*;
use super::routes::Call;
use super::*;
use serde_json::{json, Value};
use wiremock::ResponseTemplate;

/// The project's merge requests: listed, opened (a revert), read, and labelled.
pub(super) fn merge_requests(s: &mut State, call: &Call) -> Option<ResponseTemplate> {
    match (call.method, call.rest) {
        ("GET", ["merge_requests"]) => {
            let state = query(call.req, "state");
            let target = query(call.req, "target_branch");
            let source = query(call.req, "source_branch");
            let list: Vec<Value> = s
                .mrs
                .values()
                .filter(|m| state.as_deref().is_none_or(|st| st == m.state))
                .filter(|m| target.as_deref().is_none_or(|t| t == m.target_branch))
                .filter(|m| source.as_deref().is_none_or(|b| b == m.source_branch))
                .map(|m| mr_json(s, m))
                .collect();
            Some(page_of(list, 1, 100))
        }
        ("POST", ["merge_requests"]) => {
            let b = body(call.req);
            let source = b["source_branch"].as_str()?.to_string();
            let target = b["target_branch"].as_str()?.to_string();
            let title = b["title"].as_str()?.to_string();
            let description = b["description"].as_str().unwrap_or("").to_string();
            if let Some(open) = s
                .mrs
                .values()
                .find(|m| m.state == "opened" && m.source_branch == source)
            {
                return Some(ResponseTemplate::new(409).set_body_json(json!({
                    "message": [format!("Another open merge request already exists for this source branch: !{}", open.iid)]
                })));
            }
            let iid = s.mrs.keys().last().map_or(1, |n| n + 1);
            let head = s.branches.get(&source)?.clone();
            let mr = FakeMr {
                iid,
                title: title.clone(),
                description,
                author: BOT_USERNAME.into(),
                draft: false,
                state: "opened",
                source_branch: source.clone(),
                target_branch: target.clone(),
                head_sha: head,
                base_sha: s.default_head.clone(),
                labels: vec![],
                files: vec![],
                approved_by: vec![],
                reviewers: vec![],
                version: 1,
                detailed_merge_status: "mergeable",
                merge_commit_sha: None,
            };
            let answer = mr_json(s, &mr);
            s.mrs.insert(iid, mr);
            s.writes.push(Write::MrOpened {
                iid,
                source,
                target,
                title,
            });
            Some(ResponseTemplate::new(201).set_body_json(answer))
        }
        ("GET", ["merge_requests", iid]) => {
            let mr = s.mrs.get(&iid.parse().ok()?)?;
            Some(ResponseTemplate::new(200).set_body_json(mr_json(s, mr)))
        }
        ("PUT", ["merge_requests", iid]) => {
            let iid: u64 = iid.parse().ok()?;
            let b = body(call.req);
            let (add, remove) = (
                label_list(&b["add_labels"]),
                label_list(&b["remove_labels"]),
            );
            let fields: Vec<&String> = b.as_object()?.keys().collect();
            if add.is_empty() && remove.is_empty()
                || fields
                    .iter()
                    .any(|f| !matches!(f.as_str(), "add_labels" | "remove_labels"))
            {
                return None;
            }
            if let Some(missing) = add.iter().find(|l| !s.project_labels.contains_key(*l)) {
                // GitLab would create it silently, grey and without a description.
                s.unexpected.push(format!(
                    "PUT merge_requests/{iid}: add_labels {missing} before creating it"
                ));
            }
            let mr = s.mrs.get_mut(&iid)?;
            mr.labels.retain(|l| !remove.contains(l));
            for l in &add {
                if !mr.labels.contains(l) {
                    mr.labels.push(l.clone());
                }
            }
            mr.version += 1;
            s.writes.push(Write::LabelsChanged { iid, add, remove });
            let mr = s.mrs.get(&iid)?;
            Some(ResponseTemplate::new(200).set_body_json(mr_json(s, mr)))
        }
        _ => None,
    }
}

/// What a merge request is made of: its diffs, approvals, reviewers and commits.
pub(super) fn merge_request_parts(s: &mut State, call: &Call) -> Option<ResponseTemplate> {
    match (call.method, call.rest) {
        ("GET", ["merge_requests", iid, "diffs"]) => {
            let mr = s.mrs.get(&iid.parse().ok()?)?;
            let entries = mr.files.iter().map(diff_json).collect();
            Some(requested_page(call.req, entries))
        }
        ("GET", ["merge_requests", iid, "approvals"]) => {
            let mr = s.mrs.get(&iid.parse().ok()?)?;
            Some(ResponseTemplate::new(200).set_body_json(approvals_json(s, mr)))
        }
        ("GET", ["merge_requests", iid, "reviewers"]) => {
            let mr = s.mrs.get(&iid.parse().ok()?)?;
            let list: Vec<Value> = mr
                .reviewers
                .iter()
                .map(|r| {
                    json!({
                        "user": account_json(&r.username),
                        "state": r.state,
                        "created_at": "2026-11-27T09:00:00.000Z",
                    })
                })
                .collect();
            Some(ResponseTemplate::new(200).set_body_json(list))
        }
        ("GET", ["merge_requests", iid, "commits"]) => {
            let mr = s.mrs.get(&iid.parse().ok()?)?;
            let commit = commit_json(s, &mr.head_sha, &mr.title);
            Some(page_of(vec![commit], 1, 100))
        }
        _ => None,
    }
}

/// Merging, pinned to the head the bot saw.
pub(super) fn merge(s: &mut State, call: &Call) -> Option<ResponseTemplate> {
    match (call.method, call.rest) {
        ("PUT", ["merge_requests", iid, "merge"]) => {
            let iid: u64 = iid.parse().ok()?;
            let b = body(call.req);
            let mr = s.mrs.get_mut(&iid)?;
            if mr.state != "opened" {
                return Some(message(405, "405 Method Not Allowed"));
            }
            if b["sha"].as_str().is_some_and(|sha| sha != mr.head_sha) {
                return Some(message(409, "SHA does not match HEAD of source branch"));
            }
            if mr.detailed_merge_status != "mergeable" {
                return Some(message(422, "Branch cannot be merged"));
            }
            mr.state = "merged";
            mr.detailed_merge_status = "not_open";
            mr.merge_commit_sha = Some(merge_commit_sha(iid));
            mr.version += 1;
            let head = mr.head_sha.clone();
            s.writes.push(Write::Merged {
                iid,
                head,
                squash: b["squash"].as_bool().unwrap_or(false),
            });
            let mr = s.mrs.get(&iid)?;
            Some(ResponseTemplate::new(200).set_body_json(mr_json(s, mr)))
        }
        _ => None,
    }
}

/// A merge request's notes: listed, posted, edited, and awarded an emoji.
pub(super) fn notes(s: &mut State, call: &Call) -> Option<ResponseTemplate> {
    match (call.method, call.rest) {
        ("GET", ["merge_requests", iid, "notes"]) => {
            let iid: u64 = iid.parse().ok()?;
            let mut notes: Vec<&FakeNote> = s.notes.iter().filter(|n| n.iid == iid).collect();
            // GitLab's default order is newest first.
            if query(call.req, "sort").as_deref() != Some("asc") {
                notes.reverse();
            }
            let list = notes.iter().map(|n| note_json(s, n)).collect();
            Some(requested_page(call.req, list))
        }
        ("POST", ["merge_requests", iid, "notes"]) => {
            let iid: u64 = iid.parse().ok()?;
            s.mrs.get(&iid)?;
            let text = body(call.req)["body"].as_str()?.to_string();
            s.next_id += 1;
            let note = FakeNote {
                id: s.next_id,
                iid,
                author: BOT_USERNAME.into(),
                body: text,
                system: false,
            };
            s.writes.push(Write::NoteCreated { iid, id: note.id });
            s.note_history.push((note.id, note.body.clone()));
            let answer = note_json(s, &note);
            s.notes.push(note);
            Some(ResponseTemplate::new(201).set_body_json(answer))
        }
        ("PUT", ["merge_requests", iid, "notes", id]) => {
            let iid: u64 = iid.parse().ok()?;
            let id: u64 = id.parse().ok()?;
            let text = body(call.req)["body"].as_str()?.to_string();
            let Some(note) = s.notes.iter_mut().find(|n| n.id == id && n.iid == iid) else {
                return Some(message(404, "404 Note Not Found"));
            };
            note.body = text;
            let note = note.clone();
            s.note_history.push((id, note.body.clone()));
            s.writes.push(Write::NoteEdited { id });
            Some(ResponseTemplate::new(200).set_body_json(note_json(s, &note)))
        }
        ("POST", ["merge_requests", iid, "notes", note, "award_emoji"]) => {
            let (iid, note): (u64, u64) = (iid.parse().ok()?, note.parse().ok()?);
            let name = body(call.req)["name"].as_str()?.to_string();
            if !s.notes.iter().any(|n| n.id == note && n.iid == iid) {
                return Some(message(404, "404 Note Not Found"));
            }
            if s.awards.contains(&(note, name.clone())) {
                return Some(message(404, "Award Emoji Name has already been taken"));
            }
            s.awards.push((note, name.clone()));
            s.writes.push(Write::Awarded {
                note,
                name: name.clone(),
            });
            s.next_id += 1;
            Some(ResponseTemplate::new(201).set_body_json(json!({
                "id": s.next_id,
                "name": name,
                "user": account_json(BOT_USERNAME),
                "created_at": "2026-11-27T10:00:00.000Z",
                "updated_at": "2026-11-27T10:00:00.000Z",
                "awardable_id": note,
                "awardable_type": "Note",
            })))
        }
        _ => None,
    }
}
