//! `halo-sim`: replay one seed, run a campaign, or print the benchmark figures.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use halo_sim::{bench, campaign, scenario};

#[derive(Parser)]
#[command(
    name = "halo-sim",
    about = "Deterministic simulation of halo's membership"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run (or replay) one seed.
    Run {
        /// Cluster size.
        #[arg(long)]
        nodes: usize,
        /// The seed.
        #[arg(long)]
        seed: u64,
        /// Print every event, message and install.
        #[arg(long)]
        trace: bool,
    },
    /// Run many seeds on each cluster size.
    Campaign {
        /// Cluster sizes, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "3,5,16")]
        nodes: Vec<usize>,
        /// Seeds per size.
        #[arg(long, default_value_t = 1000)]
        seeds: u64,
        /// First seed.
        #[arg(long, default_value_t = 0)]
        start: u64,
        /// Threads.
        #[arg(long, default_value_t = 2)]
        threads: usize,
    },
    /// Convergence after a node death and after a heal, per cluster size.
    Bench {
        /// Cluster sizes, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "3,5,16,32,64")]
        nodes: Vec<usize>,
        /// Trials per size.
        #[arg(long, default_value_t = 100)]
        trials: usize,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run { nodes, seed, trace } => match scenario::run(nodes, seed, trace) {
            Ok(r) => {
                println!(
                    "seed {seed} with {nodes} nodes passed ({:?}, {} faults): converged {:?} after the network became stable, {:?} after the last detector change; {} installs, {} messages, {} events",
                    r.mode,
                    r.faults,
                    r.converged_after,
                    r.protocol_time,
                    r.installs,
                    r.delivered,
                    r.events
                );
                ExitCode::SUCCESS
            }
            Err(f) => {
                eprintln!("{f}");
                ExitCode::FAILURE
            }
        },
        Command::Campaign {
            nodes,
            seeds,
            start,
            threads,
        } => {
            for n in nodes {
                if n < 2 {
                    eprintln!("halo-sim: a cluster needs at least 2 nodes");
                    return ExitCode::from(2);
                }
                let t = std::time::Instant::now();
                match campaign::run(n, start..start + seeds, threads) {
                    Ok(s) => println!("{s} ({:.1} s)", t.elapsed().as_secs_f64()),
                    Err(f) => {
                        eprintln!("{f}");
                        return ExitCode::FAILURE;
                    }
                }
            }
            ExitCode::SUCCESS
        }
        Command::Bench { nodes, trials } => {
            println!(
                "| nodes | death: from crash | death: from last detection | heal: from heal \
                 | heal: from last detection | messages (bytes) per death | largest message |"
            );
            println!("| ---: | --- | --- | --- | --- | --- | ---: |");
            for n in nodes {
                match bench::figures(n, trials) {
                    Ok(f) => println!(
                        "| {} | {} | {} | {} | {} | {} ({} kB) | {} B |",
                        f.nodes,
                        f.death_from_crash,
                        f.death_from_detection,
                        f.heal_from_heal,
                        f.heal_from_detection,
                        f.death_messages,
                        f.death_bytes / 1000,
                        f.largest_message
                    ),
                    Err((seed, v)) => {
                        eprintln!("bench trial {seed} on {n} nodes failed: {v}");
                        return ExitCode::FAILURE;
                    }
                }
            }
            ExitCode::SUCCESS
        }
    }
}
