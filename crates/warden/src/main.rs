//! `warden`: the command line over Warden's governance services.
//!
//! Thin on purpose: parse arguments ([`cli`]), call one `warden-core` service,
//! print its outcome as text or JSON. Output goes to stdout, errors to stderr
//! with exit status 2; `check` exits 0 on allow and 1 on deny, so scripts can
//! branch on it.

mod audit_cmd;
mod cli;
mod commands;
mod credentials_cmd;
mod doctor_cmd;
mod edit_cmd;
mod policy_cmd;
mod serve_cmd;
mod session_cmd;
mod sod_cmd;
mod table;
mod via_server;
mod webhook_cmd;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};
use std::io::Write;
use std::process::ExitCode;

/// The allocator. Each write derives a new model revision: many small
/// long-lived nodes, and transient buffers from kilobytes to megabytes that
/// the previous revision frees when its last reader lets go. glibc's malloc
/// fragments under that pattern: with its adaptive mmap threshold `warden
/// serve` at d365 held 6.8 GiB after 20,000 writes; with the threshold fixed
/// at 128 KiB it stayed near 400 MiB, but every large buffer became an mmap
/// and its page faults, and a write took twice as long (278 against 752
/// writes/s from 16 clients). mimalloc keeps both: 457 MiB after 50,000 and
/// after 100,000 writes, 752 writes/s (`warden-bench writes`, 2026-12-06;
/// README, "Administrative writes").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit status of every error, so that `check`'s 1 always means "deny".
const EXIT_ERROR: u8 = 2;

// Multi-threaded for `serve`; the one-shot commands barely notice the extra threads.
#[tokio::main]
async fn main() -> ExitCode {
    init_tracing();
    let matches = cli::Cli::command().get_matches();
    let cli = match cli::Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let data_dir_given = matches.value_source("data_dir") == Some(ValueSource::CommandLine);
    let ctx = match commands::Context::new(&cli, data_dir_given) {
        Ok(ctx) => ctx,
        Err(e) => {
            eprintln!("error: {}", warden_model::shown_lines(&format!("{e:#}")));
            return ExitCode::from(EXIT_ERROR);
        }
    };
    match commands::run(&ctx, cli.command).await {
        Ok(out) => {
            // Text for a reader is escaped here, once for every command; a file's content is not.
            let text = if out.data { std::borrow::Cow::Borrowed(out.stdout.as_str()) } else { warden_model::shown_lines(&out.stdout) };
            emit(&text);
            ExitCode::from(out.status)
        }
        Err(e) => {
            let _ = std::io::stdout().flush();
            let hint = commands::hint(&ctx, &e).await;
            // Errors quote names and file contents: escaped like any text for a reader.
            eprintln!("error: {}", warden_model::shown_lines(&format!("{e:#}")));
            if let Some(hint) = hint {
                eprintln!("hint: {}", warden_model::shown_lines(&hint));
            }
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// Logs go to stderr, filtered by `RUST_LOG` (default: warnings only), so
/// that stdout stays clean for JSON and pipes.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_log_filter()));
    // Colours only on a terminal: a log kept in a file holds text, not escape sequences.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi).with_target(false).init();
}

/// Writes to stdout; a closed pipe (`warden role list | head`) is not an error.
fn emit(text: &str) {
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("error: cannot write to standard output: {e}");
    }
}

/// `serve` logs its requests and lifecycle at info; one-shot commands only warn.
fn default_log_filter() -> &'static str {
    if std::env::args().any(|a| a == "serve") { "info,sqlx=warn" } else { "warn" }
}
