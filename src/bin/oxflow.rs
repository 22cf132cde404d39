//! The standalone `oxflow` command: the same command line every pipeline binary gets from
//! `oxflow::main()` (tracking store, experiments and runs, drift), without DAGs of its own.

fn main() {
    oxflow::main()
}
