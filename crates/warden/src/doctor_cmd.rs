//! `warden doctor`: every whole-store check, every problem, grouped by kind.

use crate::commands::{Context, Output};
use anyhow::Result;
use clap::Args;
use std::fmt::Write as _;

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Count references to security objects that are not loaded as errors, not warnings
    #[arg(long)]
    pub strict: bool,
}

pub async fn doctor(ctx: &Context, args: DoctorArgs) -> Result<Output> {
    let report = ctx.warden().await?.doctor(args.strict).await?;
    let status = if report.errors > 0 { 1 } else { 0 };
    if ctx.json {
        return Ok(Output { status, ..ctx.json(&report)? });
    }
    let mut text = String::new();
    if report.is_clean() {
        let _ = writeln!(text, "No problems (revision {}): the model validates, the audit trail is intact, the built-in model is current.", report.revision);
        return Ok(Output { stdout: text, status, data: false });
    }
    let _ = writeln!(text, "Revision {}: {}.", report.revision, warden_core::doctor::summary(&report.groups));
    for g in &report.groups {
        let _ = writeln!(text, "\n{} {} — {} ({}):", g.severity.as_str(), g.kind, g.title, g.findings.len());
        for f in &g.findings {
            let _ = writeln!(text, "  {}", f.message);
            if !f.objects.is_empty() {
                let _ = writeln!(text, "    objects: {}", f.objects.join(", "));
            }
        }
    }
    Ok(Output { stdout: text, status, data: false })
}
