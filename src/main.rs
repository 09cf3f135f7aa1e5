//! `textsaga`: parse the command line, start MPI, run the command, and turn
//! the outcome into one line and an exit code (see `shared/INTERFACE.md`).

use clap::Parser;
use textsaga::cli::Cli;
use textsaga::comm::Comm;
use textsaga::error::{exit_code, Reported, EXIT_OK};

/// This process's rank as the launcher announces it, known before MPI starts,
/// so that a usage error is printed once per job rather than once per rank.
fn launcher_rank() -> u64 {
    ["OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK", "SLURM_PROCID"]
        .iter()
        .find_map(|v| std::env::var(v).ok()?.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            if launcher_rank() == 0 {
                let _ = e.print();
            }
            std::process::exit(e.exit_code());
        }
    };
    let Some(universe) = mpi::initialize() else {
        eprintln!("textsaga: error: MPI could not be initialised (was it already started?)");
        std::process::exit(1);
    };
    let comm = Comm::new(universe.world());
    install_panic_hook(comm.rank(), comm.size());
    let code = match textsaga::commands::run(&comm, cli.command) {
        Ok(()) => EXIT_OK,
        Err(e) => {
            let code = exit_code(&e);
            if e.downcast_ref::<Reported>().is_none() {
                // An error that did not pass through `agree`: other ranks may
                // be waiting in a collective, so end them all.
                comm.print_error(&e, true);
                if comm.size() > 1 {
                    comm.abort(code);
                }
            }
            code
        }
    };
    drop(universe);
    std::process::exit(code);
}

/// A panic on any rank prints one line and aborts the whole job, so no rank
/// is left waiting for it in a collective.
fn install_panic_hook(rank: usize, size: usize) {
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let at = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        eprintln!("textsaga: error: rank {rank}: internal error (a bug, please report it): {msg}{at}");
        if size > 1 {
            // SAFETY: MPI is initialised for the whole life of the program.
            unsafe {
                mpi::ffi::MPI_Abort(mpi::ffi::RSMPI_COMM_WORLD, 1);
            }
        }
        std::process::exit(1);
    }));
}
