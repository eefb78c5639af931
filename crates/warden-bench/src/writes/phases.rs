//! The measurements, each on one server at a time. The caller alternates the
//! two servers between rounds, so that a noisy minute on a shared machine
//! falls on both rather than on one.

use super::http::{Api, Outcome, Timed};
use super::plan::{CheckBody, Pair, Probe};
use super::proc::{Server, Warden};
use super::report::{Concurrent, ReadYourWrites, RoleEdits, RssReading};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long one phase may take on one server, summed over its rounds.
#[derive(Debug, Clone)]
pub struct Budget {
    limit: Duration,
    used: Duration,
    pub cut: bool,
}

impl Budget {
    pub fn new(limit: Duration) -> Budget {
        Budget { limit, used: Duration::ZERO, cut: false }
    }

    /// Whether another sample may start; marks the phase cut when not.
    pub fn allows(&mut self) -> bool {
        if self.used >= self.limit {
            self.cut = true;
        }
        !self.cut
    }

    pub fn spend(&mut self, d: Duration) {
        self.used += d;
    }
}

/// Round `round` of `rounds`' share of `total` samples.
pub fn share(total: usize, rounds: usize, round: usize) -> usize {
    let rounds = rounds.max(1);
    total * (round + 1) / rounds - total * round / rounds
}

/// Which server goes first in `round`: each in turn.
pub fn order(round: usize) -> [usize; 2] {
    if round.is_multiple_of(2) { [0, 1] } else { [1, 0] }
}

/// A writer's users, each with a role to give and take back. A failed write
/// leaves its pair as it was, to be tried again later.
#[derive(Debug, Clone)]
pub struct Writer {
    pairs: Vec<Pair>,
    held: Vec<bool>,
    next: usize,
    /// Assign and revoke each pair in turn (the model's size stays the same)
    /// instead of walking the pairs, assigning what is not held.
    pub churn: bool,
}

impl Writer {
    pub fn new(pairs: Vec<Pair>) -> Writer {
        let held = vec![false; pairs.len()];
        Writer { pairs, held, next: 0, churn: false }
    }

    /// The next write: the pair's index and whether it is an assignment.
    fn next_op(&self) -> Option<(usize, bool)> {
        (!self.pairs.is_empty()).then(|| (self.next, !self.held[self.next]))
    }

    /// Records a write's outcome and moves on: to the next pair, except
    /// that in churn mode an assignment is revoked before moving on.
    fn done(&mut self, i: usize, assign: bool, ok: bool) {
        if ok {
            self.held[i] = assign;
        }
        if !(self.churn && assign && ok) {
            self.next = (self.next + 1) % self.pairs.len();
        }
    }
}

/// Sequential `POST /check`s from `checks`, starting at `from`.
pub async fn checks(api: &Api, bodies: &[CheckBody], from: usize, count: usize, budget: &mut Budget) -> (Vec<f64>, u64) {
    let mut out = Vec::with_capacity(count);
    let mut errors = 0;
    for k in 0..count {
        if !budget.allows() || bodies.is_empty() {
            break;
        }
        let (t, _) = api.check(&bodies[(from + k) % bodies.len()]).await;
        budget.spend(t.elapsed);
        if t.ok() {
            out.push(t.ms());
        } else {
            errors += 1;
        }
    }
    (out, errors)
}

/// What the single-client phase gathers on one server.
#[derive(Debug, Default)]
pub struct Single {
    pub assign_ms: Vec<f64>,
    pub revoke_ms: Vec<f64>,
    pub errors: u64,
    pub ryw: ReadYourWrites,
    pub committed: u64,
}

/// One client, one write at a time: for each probe, check (deny), assign,
/// check (must allow), revoke, check (must deny). Only the writes are timed.
pub async fn single(api: &Api, probes: &[Probe], from: usize, count: usize, budget: &mut Budget, into: &mut Single) {
    for k in 0..count {
        if !budget.allows() || probes.is_empty() {
            break;
        }
        let started = Instant::now();
        let p = &probes[(from + k) % probes.len()];
        let body = CheckBody { user: p.pair.user.clone(), entry_point: p.entry_point.clone(), access: p.access.clone(), org: None, at: None };
        if api.check(&body).await.1 != Some(false) {
            into.ryw.unusable += 1;
            budget.spend(started.elapsed());
            continue;
        }
        let a = api.assign(&p.pair).await;
        if !a.ok() {
            into.errors += 1;
            budget.spend(started.elapsed());
            continue;
        }
        into.assign_ms.push(a.ms());
        into.committed += 1;
        into.ryw.checked += 1;
        if api.check(&body).await.1 != Some(true) {
            into.ryw.violations += 1;
        }
        let r = api.revoke(&p.pair).await;
        if !r.ok() {
            into.errors += 1;
            budget.spend(started.elapsed());
            continue;
        }
        into.revoke_ms.push(r.ms());
        into.committed += 1;
        into.ryw.checked += 1;
        if api.check(&body).await.1 != Some(false) {
            into.ryw.violations += 1;
        }
        budget.spend(started.elapsed());
    }
}

/// Adds a duty to the role, then removes it again; both are timed edits.
pub async fn role_edits(api: &Api, role: &str, duties: &[String], from: usize, count: usize, budget: &mut Budget, into: &mut RoleEdits) -> u64 {
    let mut committed = 0;
    for k in 0..count {
        if !budget.allows() || duties.is_empty() {
            break;
        }
        let started = Instant::now();
        let duty = &duties[(from + k) % duties.len()];
        let Some(added) = edit(api, role, |list| {
            list.retain(|d| d != duty);
            list.push(duty.clone());
        })
        .await
        else {
            into.errors += 1;
            budget.spend(started.elapsed());
            continue;
        };
        if added.ok() {
            into.add.samples_ms.push(added.ms());
            committed += 1;
        } else {
            into.errors += 1;
        }
        match edit(api, role, |list| list.retain(|d| d != duty)).await {
            Some(t) if t.ok() => {
                into.remove.samples_ms.push(t.ms());
                committed += 1;
            }
            _ => into.errors += 1,
        }
        budget.spend(started.elapsed());
    }
    committed
}

/// Reads the role (untimed, as a console would have it on screen), changes
/// its duty list and writes it back with `If-Match`; times the write.
async fn edit(api: &Api, role: &str, change: impl FnOnce(&mut Vec<String>)) -> Option<Timed> {
    let (mut body, etag) = api.role(role).await.ok()?;
    let mut duties: Vec<String> = body["duties"].as_array()?.iter().filter_map(|d| d.as_str().map(str::to_string)).collect();
    change(&mut duties);
    body["duties"] = duties.into();
    Some(api.replace_role(role, &body, &etag).await)
}

/// Sign-ins (the password hash included) and token issues, in turns.
pub async fn credentials(api: &Api, user: &str, password: &str, count: usize, budget: &mut Budget, sign_in: &mut Vec<f64>, token: &mut Vec<f64>) -> u64 {
    let mut errors = 0;
    for _ in 0..count {
        if !budget.allows() {
            break;
        }
        let started = Instant::now();
        for (t, into) in [(api.time_sign_in(user, password).await, &mut *sign_in), (api.time_token(user).await, &mut *token)] {
            if t.ok() {
                into.push(t.ms());
            } else {
                errors += 1;
            }
        }
        budget.spend(started.elapsed());
    }
    errors
}

/// Wall times of one-shot commands, in milliseconds.
#[derive(Debug, Default)]
pub struct CliTimes {
    pub check: Vec<f64>,
    pub assign: Vec<f64>,
    pub revoke: Vec<f64>,
}

/// One-shot commands against the server's store, as an operator types them.
pub async fn cli(warden: &Warden, probes: &[Probe], from: usize, count: usize, budget: &mut Budget, into: &mut CliTimes) -> Result<(), super::WritesError> {
    for k in 0..count {
        if !budget.allows() || probes.is_empty() {
            break;
        }
        let started = Instant::now();
        let p = &probes[(from + k) % probes.len()];
        let (_, t) = warden.run(&["check", "--user", &p.pair.user, "--entry-point", &p.entry_point, "--access", &p.access], &[0, 1]).await?;
        into.check.push(t.as_secs_f64() * 1e3);
        let (_, t) = warden.run(&["--actor", "warden-bench", "user", "assign", &p.pair.user, &p.pair.role], &[0]).await?;
        into.assign.push(t.as_secs_f64() * 1e3);
        let (_, t) = warden.run(&["--actor", "warden-bench", "user", "revoke", &p.pair.user, &p.pair.role], &[0]).await?;
        into.revoke.push(t.as_secs_f64() * 1e3);
        budget.spend(started.elapsed());
    }
    Ok(())
}

/// When concurrent writers stop: at a deadline, and optionally once the
/// server has committed so many writes in all.
#[derive(Debug, Clone, Copy)]
pub struct Until {
    pub deadline: Instant,
    pub committed: Option<u64>,
}

/// One request of a concurrent writer.
#[derive(Debug, Clone, Copy)]
pub struct WriteRecord {
    pub assign: bool,
    pub timed: Timed,
    pub finished: Instant,
}

/// Runs every writer as its own client until `until`; returns the writers
/// (where each stopped) and every request made. `committed` counts the
/// server's successful writes across phases.
pub async fn write_concurrently(api: &Api, writers: Vec<Writer>, until: Until, committed: Arc<AtomicU64>) -> (Vec<Writer>, Vec<WriteRecord>) {
    let mut tasks = Vec::new();
    for mut w in writers {
        let api = api.clone();
        let committed = committed.clone();
        tasks.push(tokio::spawn(async move {
            let mut records = Vec::new();
            loop {
                let done = until.committed.is_some_and(|n| committed.load(Ordering::Relaxed) >= n);
                if done || Instant::now() >= until.deadline {
                    break;
                }
                let Some((i, assign)) = w.next_op() else { break };
                let t = if assign { api.assign(&w.pairs[i]).await } else { api.revoke(&w.pairs[i]).await };
                w.done(i, assign, t.ok());
                if t.ok() {
                    committed.fetch_add(1, Ordering::Relaxed);
                }
                records.push(WriteRecord { assign, timed: t, finished: Instant::now() });
            }
            (w, records)
        }));
    }
    let mut writers = Vec::new();
    let mut records = Vec::new();
    for t in tasks {
        if let Ok((w, r)) = t.await {
            writers.push(w);
            records.extend(r);
        }
    }
    (writers, records)
}

/// The concurrent phase's figures from its records.
pub fn summarize(records: &[WriteRecord], clients: usize, started: Instant, deadline: Instant) -> Concurrent {
    let window = deadline.duration_since(started).as_secs_f64();
    let mut c = Concurrent { clients, duration_s: window, ..Concurrent::default() };
    let mut latencies = Vec::new();
    for r in records {
        if r.finished > deadline {
            c.late += 1;
            continue;
        }
        latencies.push(r.timed.ms());
        match r.timed.outcome {
            Outcome::Ok => {
                c.committed += 1;
                if r.assign {
                    c.assigns += 1;
                } else {
                    c.revokes += 1;
                }
            }
            Outcome::Conflict => c.conflicts_409 += 1,
            Outcome::Status(_) => c.other_status += 1,
            Outcome::Failed => c.failed += 1,
        }
    }
    c.writes_per_s = if window > 0.0 { c.committed as f64 / window } else { 0.0 };
    c.latency = super::report::Latencies::of(latencies);
    c
}

/// Checks one after another until `stop` is set.
pub async fn check_until(api: Api, bodies: Arc<Vec<CheckBody>>, stop: Arc<AtomicBool>) -> (Vec<f64>, u64) {
    let mut out = Vec::new();
    let mut errors = 0;
    let mut k = 0;
    while !stop.load(Ordering::Relaxed) && !bodies.is_empty() {
        let (t, _) = api.check(&bodies[k % bodies.len()]).await;
        k += 1;
        if t.ok() {
            out.push(t.ms());
        } else {
            errors += 1;
        }
    }
    (out, errors)
}

/// Where the memory phase began: the time and the server's writes so far.
#[derive(Debug, Clone, Copy)]
pub struct PhaseStart {
    pub at: Instant,
    pub writes: u64,
}

/// Writes until the phase has committed `target` writes or the deadline
/// passes, then reads the server's resident set (the reading says how many
/// writes it follows).
pub async fn write_then_measure(api: &Api, server: &Server, writers: Vec<Writer>, target: u64, deadline: Instant, committed: Arc<AtomicU64>, start: PhaseStart) -> (Vec<Writer>, u64, Option<RssReading>) {
    let until = Until { deadline, committed: Some(start.writes + target) };
    let (writers, records) = write_concurrently(api, writers, until, committed.clone()).await;
    let errors = records.iter().filter(|r| !r.timed.ok()).count() as u64;
    let total_writes = committed.load(Ordering::Relaxed);
    let writes = total_writes - start.writes;
    let reading = server.rss_mib().map(|rss_mib| RssReading { writes, total_writes, rss_mib, elapsed_s: start.at.elapsed().as_secs_f64() });
    (writers, errors, reading)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer(n: usize) -> Writer {
        Writer::new((0..n).map(|i| Pair { user: format!("u{i}"), role: "R".into() }).collect())
    }

    /// Runs `steps` writes, failing those `fails` says, and lists them as (pair, assign).
    fn walk(w: &mut Writer, steps: usize, fails: impl Fn(usize) -> bool) -> Vec<(usize, bool)> {
        (0..steps)
            .map(|k| {
                let (i, assign) = w.next_op().expect("pairs");
                w.done(i, assign, !fails(k));
                (i, assign)
            })
            .collect()
    }

    #[test]
    fn a_writer_assigns_every_pair_before_revoking_any() {
        let mut w = writer(3);
        let ops = walk(&mut w, 6, |_| false);
        assert_eq!(ops, [(0, true), (1, true), (2, true), (0, false), (1, false), (2, false)]);
    }

    #[test]
    fn churning_revokes_each_assignment_before_the_next_pair() {
        let mut w = writer(2);
        walk(&mut w, 1, |_| false);
        w.churn = true;
        // Pair 0 is held from before: revoked when the walk comes back to it.
        let ops = walk(&mut w, 5, |_| false);
        assert_eq!(ops, [(1, true), (1, false), (0, false), (1, true), (1, false)]);
    }

    #[test]
    fn a_failed_write_moves_on_and_is_tried_again_later() {
        let mut w = writer(2);
        w.churn = true;
        let ops = walk(&mut w, 4, |k| k == 0);
        assert_eq!(ops, [(0, true), (1, true), (1, false), (0, true)]);
    }

    #[test]
    fn shares_add_up_and_rounds_alternate() {
        for total in [0, 1, 7, 10] {
            assert_eq!((0..3).map(|r| share(total, 3, r)).sum::<usize>(), total);
        }
        assert_eq!(order(0), [0, 1]);
        assert_eq!(order(1), [1, 0]);
    }
}
