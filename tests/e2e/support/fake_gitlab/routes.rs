//! The fake's routes: the API root, then the project's resources, one function each
//! (in `merge_requests.rs` and `project.rs`) whose match holds exactly the methods and
//! paths GitLab has there; any other call is unknown.
use super::json::{account_json, user_json};
use super::{merge_requests, message, percent_decode, project, query, State};
use serde_json::Value;
use wiremock::{Request, ResponseTemplate};

/// A call to one of the project's resources.
pub(super) struct Call<'a> {
    pub method: &'a str,
    /// The path below the project, each segment decoded.
    pub rest: &'a [&'a str],
    pub req: &'a Request,
}

/// A resource's routes: every method and path under it that GitLab has.
type Routes = fn(&mut State, &Call) -> Option<ResponseTemplate>;

/// The resource a path under the project belongs to.
fn resource(rest: &[&str]) -> Option<Routes> {
    let routes: Routes = match rest {
        ["merge_requests"] | ["merge_requests", _] => merge_requests::merge_requests,
        ["merge_requests", _, "notes", ..] => merge_requests::notes,
        ["merge_requests", _, "merge"] => merge_requests::merge,
        ["merge_requests", _, _] => merge_requests::merge_request_parts,
        ["repository", ..] => project::repository,
        ["deployments", ..] => project::deployments,
        ["jobs", ..] => project::jobs,
        ["statuses", ..] => project::statuses,
        ["labels", ..] => project::labels,
        ["members", ..] => project::members,
        _ => return None,
    };
    Some(routes)
}

/// Routes a call to its resource; `None` for a path or method GitLab does not have
/// (recorded as unexpected and answered 404 by the caller).
pub(super) fn route(s: &mut State, req: &Request) -> Option<ResponseTemplate> {
    let method = req.method.as_str();
    let segs: Vec<String> = req
        .url
        .path()
        .trim_start_matches('/')
        .split('/')
        .map(percent_decode)
        .collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let ["api", "v4", rest @ ..] = segs.as_slice() else {
        return None;
    };
    if method == "GET" && rest == ["user"] {
        return Some(ResponseTemplate::new(200).set_body_json(user_json()));
    }
    if method == "GET" && rest == ["users"] {
        // Every username is a user of the instance; membership is what varies.
        let list: Vec<Value> = query(req, "username")
            .into_iter()
            .map(|u| account_json(&u))
            .collect();
        return Some(ResponseTemplate::new(200).set_body_json(list));
    }
    if let ("GET", ["groups", group, "members", "all"]) = (method, rest) {
        return Some(project::group_members(s, req, group));
    }
    let ["projects", project, rest @ ..] = rest else {
        return None;
    };
    if *project != s.project {
        return Some(message(404, "404 Project Not Found"));
    }
    // A deleted MR, or one of another project: 404 on the MR and everything under it.
    if let ["merge_requests", iid, ..] = rest {
        if iid.parse().is_ok_and(|iid: u64| !s.mrs.contains_key(&iid)) {
            return Some(message(404, "404 Not found"));
        }
    }
    let routes = resource(rest)?;
    routes(s, &Call { method, rest, req })
}
