//! `smallbatch check`: the gate on a local branch, via git2.
