//! The standalone `oxflow` command: the command line every pipeline binary gets from
//! `oxflow::main()` (tracking store, experiments and runs, task logs, drift), without DAGs of its
//! own. Its help and its DAG commands say that pipelines live in the user's own binary.

fn main() {
    oxflow::cli::standalone_main()
}
