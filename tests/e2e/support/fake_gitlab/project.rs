//! The fake GitLab's project routes besides merge requests.
use super::json::*;
use super::routes::Call;
use super::*;
use serde_json::{json, Value};
use wiremock::ResponseTemplate;

/// The repository: files at a ref, branches, a commit's statuses and its revert.
pub(super) fn repository(s: &mut State, call: &Call) -> Option<ResponseTemplate> {
    match (call.method, call.rest) {
        ("GET", ["repository", "files", path, "raw"]) => {
            let git_ref = query(call.req, "ref").unwrap_or_default();
            match s.files.get(&(git_ref, (*path).to_string())) {
                Some(text) => Some(
                    ResponseTemplate::new(200)
                        .insert_header("content-type", "text/plain; charset=utf-8")
                        .set_body_string(text.clone()),
                ),
                None => Some(message(404, "404 File Not Found")),
            }
        }
        ("GET", ["repository", "branches", branch]) => {
            let sha = s
                .branches
                .get(*branch)
                .cloned()
                .unwrap_or_else(|| s.default_head.clone());
            Some(ResponseTemplate::new(200).set_body_json(branch_json(s, branch, &sha)))
        }
        ("POST", ["repository", "branches"]) => {
            let name = query(call.req, "branch")?;
            let from = query(call.req, "ref")?;
            if s.branches.contains_key(&name) {
                return Some(message(400, "Branch already exists"));
            }
            let sha = s
                .branches
                .get(&from)
                .cloned()
                .unwrap_or_else(|| s.default_head.clone());
            s.branches.insert(name.clone(), sha.clone());
            s.writes.push(Write::BranchCreated {
                name: name.clone(),
                from,
            });
            Some(ResponseTemplate::new(201).set_body_json(branch_json(s, &name, &sha)))
        }
        ("GET", ["repository", "commits", sha, "statuses"]) => {
            let list = s
                .statuses
                .iter()
                .filter(|st| st.sha == *sha)
                .map(status_json)
                .collect();
            Some(requested_page(call.req, list))
        }
        ("POST", ["repository", "commits", sha, "revert"]) => {
            let branch = body(call.req)["branch"].as_str()?.to_string();
            if !s.branches.contains_key(&branch) {
                return Some(message(404, "404 Branch Not Found"));
            }
            let done = (sha.to_string(), branch.clone());
            if s.reverts.contains(&done) {
                return Some(message(
                    400,
                    "Sorry, we cannot revert this commit automatically. This commit may already have been reverted, or a more recent commit may have updated some of its content.",
                ));
            }
            s.reverts.push(done);
            s.next_id += 1;
            let reverted = format!("{:040x}", 0xdddd_0000_u64 + s.next_id);
            s.branches.insert(branch.clone(), reverted.clone());
            s.writes.push(Write::CommitReverted {
                sha: sha.to_string(),
                branch,
            });
            let title = format!("Revert \"{sha}\"");
            Some(ResponseTemplate::new(201).set_body_json(commit_json(s, &reverted, &title)))
        }
        _ => None,
    }
}

/// A deployment as the Deployments API shows it, with its job as `deployable`.
fn deployment_json(id: u64, d: &FakeDeployment) -> Value {
    let deployable = d.job.map_or(Value::Null, |job| {
        json!({"id": job, "name": "deploy", "stage": "deploy", "ref": "main",
               "status": d.status, "tag": false})
    });
    json!({
        "id": id,
        "iid": id,
        "ref": "main",
        "sha": d.sha,
        "status": d.status,
        "environment": {"id": 1, "name": d.environment},
        "deployable": deployable,
    })
}

/// Deployments: listed, read, and updated unless a CI job keeps them.
pub(super) fn deployments(s: &mut State, call: &Call) -> Option<ResponseTemplate> {
    match (call.method, call.rest) {
        ("GET", ["deployments"]) => {
            let environment = query(call.req, "environment");
            let status = query(call.req, "status");
            let mut list: Vec<(u64, &FakeDeployment)> = s
                .deployments
                .iter()
                .filter(|(_, d)| environment.as_ref().is_none_or(|e| d.environment == *e))
                .filter(|(_, d)| status.as_ref().is_none_or(|st| d.status == *st))
                .map(|(id, d)| (*id, d))
                .collect();
            if query(call.req, "sort").as_deref() == Some("desc") {
                list.reverse();
            }
            let list = list
                .into_iter()
                .map(|(id, d)| deployment_json(id, d))
                .collect();
            Some(requested_page(call.req, list))
        }
        ("GET", ["deployments", id]) => {
            let id: u64 = id.parse().ok()?;
            let Some(deployment) = s.deployments.get(&id) else {
                return Some(message(404, "404 Deployment Not Found"));
            };
            Some(ResponseTemplate::new(200).set_body_json(deployment_json(id, deployment)))
        }
        ("PUT", ["deployments", id]) => {
            let id: u64 = id.parse().ok()?;
            let status = body(call.req)["status"].as_str()?.to_string();
            let Some(deployment) = s.deployments.get_mut(&id) else {
                return Some(message(404, "404 Deployment Not Found"));
            };
            if deployment.by_ci {
                // GitLab's own words (lib/api/deployments.rb).
                return Some(message(
                    403,
                    "403 Forbidden - Deployments created using GitLab CI can not be updated using the API",
                ));
            }
            deployment.status = status.clone();
            let answer = json!({
                "id": id,
                "iid": id,
                "ref": "main",
                "sha": deployment.sha,
                "status": status,
                "environment": {"id": 1, "name": deployment.environment},
                "deployable": null,
            });
            s.writes.push(Write::DeploymentUpdated { id, status });
            Some(ResponseTemplate::new(200).set_body_json(answer))
        }
        _ => None,
    }
}

/// Running a job again (`POST jobs/:job_id/retry`). A deployment job that runs again
/// deploys again: GitLab creates its deployment at once, `created`.
pub(super) fn jobs(s: &mut State, call: &Call) -> Option<ResponseTemplate> {
    match (call.method, call.rest) {
        ("POST", ["jobs", job, "retry"]) => {
            let job: u64 = job.parse().ok()?;
            let Some(deployed) = s.deployments.values().find(|d| d.job == Some(job)).cloned()
            else {
                return Some(message(404, "404 Not found"));
            };
            if s.jobs_not_retryable.contains(&job) {
                // GitLab's own words (lib/api/ci/jobs.rb).
                return Some(message(403, "403 Forbidden  - Job is not retryable"));
            }
            s.next_id += 1;
            let new_job = s.next_id;
            s.next_id += 1;
            let deployment = s.next_id;
            s.deployments.insert(
                deployment,
                FakeDeployment {
                    status: "created".into(),
                    job: Some(new_job),
                    by_ci: true,
                    ..deployed
                },
            );
            s.writes.push(Write::JobRetried { job, new_job });
            Some(ResponseTemplate::new(201).set_body_json(json!({
                "id": new_job,
                "name": "deploy",
                "stage": "deploy",
                "status": "pending",
                "ref": "main",
                "tag": false,
                "allow_failure": false,
                "created_at": "2026-11-27T10:00:00.000Z",
            })))
        }
        _ => None,
    }
}

/// Posting a commit status.
pub(super) fn statuses(s: &mut State, call: &Call) -> Option<ResponseTemplate> {
    match (call.method, call.rest) {
        ("POST", ["statuses", sha]) => {
            let b = body(call.req);
            let state = b["state"].as_str()?.to_string();
            let name = b["name"].as_str().unwrap_or("default").to_string();
            // GitLab refuses to move a running status to the state it is in.
            let current = s
                .statuses
                .iter()
                .rev()
                .find(|st| st.sha == *sha && st.name == name);
            if let Some(current) = current {
                if current.state == state && matches!(state.as_str(), "pending" | "running") {
                    let event = if state == "pending" { "enqueue" } else { "run" };
                    return Some(message(
                        400,
                        &format!("Cannot transition status via :{event} from :{state}"),
                    ));
                }
            }
            s.next_id += 1;
            let status = FakeStatus {
                id: s.next_id,
                sha: (*sha).to_string(),
                name,
                state,
                description: b["description"].as_str().unwrap_or("").into(),
                target_url: b["target_url"].as_str().map(String::from),
                git_ref: b["ref"].as_str().map(String::from),
                pipeline_id: b["pipeline_id"].as_u64(),
            };
            s.writes.push(Write::StatusPosted {
                sha: status.sha.clone(),
                state: status.state.clone(),
                name: status.name.clone(),
                description: status.description.clone(),
            });
            let answer = status_json(&status);
            s.statuses.push(status);
            Some(ResponseTemplate::new(201).set_body_json(answer))
        }
        _ => None,
    }
}

/// Creating a project label.
pub(super) fn labels(s: &mut State, call: &Call) -> Option<ResponseTemplate> {
    match (call.method, call.rest) {
        ("POST", ["labels"]) => {
            let b = body(call.req);
            let name = b["name"].as_str()?.to_string();
            let color = b["color"].as_str()?.to_string();
            if s.project_labels.contains_key(&name) {
                return Some(message(409, "Label already exists"));
            }
            s.project_labels.insert(name.clone(), color.clone());
            s.writes.push(Write::LabelCreated {
                name: name.clone(),
                color: color.clone(),
            });
            s.next_id += 1;
            Some(ResponseTemplate::new(201).set_body_json(json!({
                "id": s.next_id,
                "name": name,
                "description": b["description"],
                "description_html": b["description"],
                "text_color": "#1F1E24",
                "color": color,
                "open_issues_count": 0,
                "closed_issues_count": 0,
                "open_merge_requests_count": 0,
                "subscribed": false,
                "priority": null,
                "is_project_label": true,
            })))
        }
        _ => None,
    }
}

/// `GET /groups/:id/members/all` (`:id` the group's full path, URL-encoded): its members,
/// inherited ones included, 20 a page unless `per_page` says otherwise.
pub(super) fn group_members(s: &State, req: &wiremock::Request, group: &str) -> ResponseTemplate {
    let Some(members) = s.groups.get(group) else {
        return message(404, "404 Group Not Found");
    };
    let list = members
        .iter()
        .map(|username| {
            let mut member = account_json(username);
            member["access_level"] = json!(30);
            member["created_at"] = json!("2026-01-05T10:00:00.000Z");
            member["expires_at"] = Value::Null;
            member["membership_state"] = json!("active");
            member
        })
        .collect();
    requested_page(req, list)
}

/// A member of the project, inherited memberships included.
pub(super) fn members(s: &mut State, call: &Call) -> Option<ResponseTemplate> {
    match (call.method, call.rest) {
        ("GET", ["members", "all", id]) => {
            let id: u64 = id.parse().ok()?;
            let Some((username, level)) = s.members.iter().find(|(u, _)| user_id(u) == id) else {
                return Some(message(404, "404 Not found"));
            };
            let mut member = account_json(username);
            member["access_level"] = json!(level);
            member["created_at"] = json!("2026-01-05T10:00:00.000Z");
            member["expires_at"] = Value::Null;
            member["membership_state"] = json!("active");
            Some(ResponseTemplate::new(200).set_body_json(member))
        }
        _ => None,
    }
}
