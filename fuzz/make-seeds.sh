#!/bin/sh
# Regenerates the webhook seeds from the real fixtures: each seed is the delivery's
# event header on the first line, then the body byte for byte (the targets' input format).
# Run from the repository root. The other seeds are written by hand and kept as they are.
set -eu
out=fuzz/seeds
mkdir -p "$out/github_webhook" "$out/gitlab_webhook"

for f in fixtures/github/*.json; do
    name=$(basename "$f" .json)
    { printf '%s\n' "${name%%.*}"; cat "$f"; } > "$out/github_webhook/$name"
done

# The X-Gitlab-Event header from object_kind (or event_name), as tests/gitlab_webhook.rs does.
gitlab_event() {
    kind=$(grep -o '"\(object_kind\|event_name\)": *"[a-z_]*"' "$1" | head -n1 | sed 's/.*"\([a-z_]*\)"$/\1/')
    case "$kind" in
        merge_request) echo "Merge Request Hook" ;;
        note) echo "Note Hook" ;;
        push) echo "Push Hook" ;;
        tag_push) echo "Tag Push Hook" ;;
        pipeline) echo "Pipeline Hook" ;;
        build) echo "Job Hook" ;;
        deployment) echo "Deployment Hook" ;;
        issue) echo "Issue Hook" ;;
        wiki_page) echo "Wiki Page Hook" ;;
        release) echo "Release Hook" ;;
        feature_flag) echo "Feature Flag Hook" ;;
        access_token) echo "Resource Access Token Hook" ;;
        user_*_group) echo "Member Hook" ;;
        subgroup_*) echo "Subgroup Hook" ;;
        *) echo "unknown object_kind in $1" >&2; exit 1 ;;
    esac
}

external=${EXTERNAL_FIXTURES:-fixtures/gitlab/webhooks}
for f in fixtures/gitlab/*.json "$external"/*.json; do
    [ -f "$f" ] || continue
    name=$(basename "$f" .json)
    case "$f" in "$external"/*) seed="upstream.$name" ;; *) seed="$name" ;; esac
    { gitlab_event "$f"; cat "$f"; } > "$out/gitlab_webhook/$seed"
    # A system hook carries the same payloads under one header.
    case "$name" in merge_request | push)
        { echo "System Hook"; cat "$f"; } > "$out/gitlab_webhook/system.$seed" ;;
    esac
done
