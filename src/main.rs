//! `textsaga`: parse the command line, start MPI, run the command, and turn
//! the outcome into one line and an exit code (see `docs/interface.md`).

use clap::Parser;
use textsaga::cli::Cli;
use textsaga::collectives::mpi::MpiComm;
use textsaga::collectives::Collectives;
use textsaga::error::{exit_code, Reported, EXIT_OK};

/// This process's rank as the launcher announces it (before MPI starts), or
/// `None` when no launcher started it.
fn launcher_rank() -> Option<u64> {
    ["OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK"].iter().find_map(|v| std::env::var(v).ok()?.parse().ok())
}

/// Prints a command-line error once per job and exits with its code. Under a
/// launcher the ranks meet in MPI first: a rank that exited non-zero at once
/// could make the launcher kill rank 0 before it had printed the message.
fn command_line_error(e: clap::Error) -> ! {
    let code = e.exit_code();
    match launcher_rank() {
        Some(_) if code != 0 => {
            let universe = mpi::initialize();
            let rank = universe.as_ref().map_or(0, |u| mpi::topology::Communicator::rank(&u.world()));
            if rank == 0 {
                let _ = e.print();
            }
            if let Some(u) = &universe {
                mpi::traits::CommunicatorCollectives::barrier(&u.world());
            }
            drop(universe);
        }
        Some(r) if r != 0 => {}
        _ => {
            let _ = e.print();
        }
    }
    std::process::exit(code);
}

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => command_line_error(e),
    };
    // FUNNELED: `--threads` starts threads that compute; only this one calls MPI.
    let Some((universe, provided)) = mpi::initialize_with_threading(mpi::Threading::Funneled) else {
        textsaga::say!("textsaga: error: MPI could not be initialised (was it already started?)");
        std::process::exit(1);
    };
    if provided < mpi::Threading::Funneled {
        // This MPI allows no other thread in the process: every command runs on one.
        textsaga::threads::forbid();
    }
    let comm = MpiComm::new(universe.world());
    let comm: &dyn Collectives = &comm;
    if let Some(tasks) = singletons_under_srun(comm.size()) {
        if std::env::var("SLURM_PROCID").as_deref() == Ok("0") {
            textsaga::say!(
                "textsaga: error: srun started {tasks} tasks but MPI sees each alone: this MPI library does not speak the PMI \
                 srun used; try `srun --mpi=pmix` or `--mpi=pmi2` (`srun --mpi=list` shows them), or mpirun inside the allocation"
            );
        }
        std::process::exit(1);
    }
    install_panic_hook(comm.rank(), comm.size());
    // A stop signal raises a flag the ranks agree on (see `signals`).
    if let Err(e) = comm.agree(textsaga::signals::install().map_err(anyhow::Error::from)) {
        std::process::exit(exit_code(&e));
    }
    let code = match textsaga::commands::run(comm, cli.command) {
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

/// `srun` started several tasks of one step, yet MPI gives this process a
/// world of its own: the tasks would each run the whole job as rank 0 of 1,
/// all writing the same outputs. Returns the step's task count then.
fn singletons_under_srun(size: usize) -> Option<u64> {
    let tasks: u64 = std::env::var("SLURM_STEP_NUM_TASKS").ok()?.parse().ok()?;
    // mpirun's (Open MPI) or Hydra's ranks inside a step; not PMI_SIZE, which srun's pmi2 sets too.
    let other_launcher = ["OMPI_COMM_WORLD_SIZE", "MPI_LOCALNRANKS"].iter().any(|v| std::env::var_os(v).is_some());
    (size == 1 && tasks > 1 && !other_launcher).then_some(tasks)
}

/// A panic on any rank prints one line and aborts the whole job, so no rank
/// is left waiting for it in a collective. A panic on a `--threads` worker
/// only prints: MPI may be called from the main thread alone (`FUNNELED`),
/// and the worker's scope raises the panic again there, once every worker
/// has ended (`threads::each`), which then aborts without a second line.
fn install_panic_hook(rank: usize, size: usize) {
    static REPORTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let at = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        if !REPORTED.swap(true, std::sync::atomic::Ordering::SeqCst) {
            textsaga::say!("textsaga: error: rank {rank}: internal error (a bug, please report it): {msg}{at}");
        }
        if std::thread::current().name() != Some("main") {
            return;
        }
        if size > 1 {
            // SAFETY: MPI is initialised for the whole life of the program.
            unsafe {
                mpi::ffi::MPI_Abort(mpi::ffi::RSMPI_COMM_WORLD, 1);
            }
        }
        std::process::exit(1);
    }));
}
