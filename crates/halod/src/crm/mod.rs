//! The cluster resource manager thread: the `halo_crm` engine, the local resource
//! manager, the CIB on disk and the policy engine runs, on a runtime of their own.
//!
//! ```text
//!   core thread (node.rs, maybe SCHED_FIFO)        crm thread (normal priority)
//!   ───────────────────────────────────────        ─────────────────────────────────────────
//!   memberships, CIB/CRM messages, lease ──ToCrm──▶ Crm::handle(now, Input) ─▶ outputs, in order:
//!                       ◀──FromCrm::Send────────────  Send        (to the core's messaging)
//!                                                     PersistCib  STATE/cib.xml, atomic, awaited
//!   API (api.rs) ──CrmCall──▶ changes, CIB,           Lrm(..)     halo_lrm::Lrm: agents as child
//!                             LRM history, view                   processes, ocf:halo:IPaddr
//!               ◀── Reply ─── (ClientReply)                       in-process; results back in
//!   watchers ◀── Event ────── Event                   RunPolicy   halo_policy::schedule in
//!                                                                 spawn_blocking (wall clock)
//!                                                     Event       log + `halo watch`
//! ```
//!
//! Why a thread of its own: the core must never wait, and this side waits on disks
//! (fsync of the CIB before an acknowledgement), on agents and on the policy engine
//! (milliseconds to seconds for a large CIB). The two talk through channels: the core
//! sends unbounded (it never blocks), this side sends to the core through a bounded
//! channel (it may wait). The thread resets its scheduling policy to the normal one,
//! so agents never inherit real-time priority.
//!
//! Start-up: the LRM opens its history (`STATE/lrm`), the CIB is read from
//! `STATE/cib.xml` and verified ([`halo_crm::persist::decode`]: a torn or corrupt file
//! is moved aside with a loud error, never loaded), the engine starts, and the LRM
//! probes every resource it has a history of ([`halo_lrm::Lrm::recover`]), so a
//! restarted halod finds what still runs and loses track of nothing.
//!
//! Persistence: every [`Output::PersistCib`] is written (write, fsync, rename, fsync
//! the directory) before any later output is carried out, because the
//! acknowledgements that follow promise the copy is on disk. When the write fails, the
//! acknowledgements of that batch are not sent (the change is then not confirmed to
//! its client, which is told so by its timeout), and the error is logged.

mod admin;
mod convert;
mod disk;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use halo_crm::message::Message;
use halo_crm::{Crm, Input, LrmRequest, Output, Target};
use halo_ipc::{Event, Reply, Request};
use halo_lrm::{Lrm, LrmConfig, LrmEvent};
use halo_messaging::Destination;
use halo_types::{NodeName, Timestamp};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::time::Instant;

pub use admin::{ImportSettings, View};

use crate::node::{FromCrm, ToCrm};

/// How halod runs its resource manager.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The engine's configuration.
    pub engine: halo_crm::Config,
    /// The state directory (`cib.xml`, `lrm/`).
    pub state_dir: PathBuf,
    /// The configuration directory (`resource.d` for heartbeat scripts).
    pub config_dir: PathBuf,
    /// How `halo configure load` imports a `haresources` file.
    pub import: ImportSettings,
    /// Start-up warnings, repeated in `halo status`.
    pub warnings: Vec<String>,
}

/// A request to the crm thread.
#[derive(Debug)]
pub enum CrmCall {
    /// An API request it answers (changes, CIB, LRM history).
    Request {
        /// The request.
        request: Request,
        /// Where the answer goes.
        reply: oneshot::Sender<Reply>,
    },
    /// What `halo status` adds: DC, resources, failures.
    View {
        /// Where the answer goes.
        reply: oneshot::Sender<View>,
    },
}

/// The running crm thread.
#[derive(Debug)]
pub struct CrmThread {
    /// Requests from the API.
    pub calls: mpsc::Sender<CrmCall>,
    thread: std::thread::JoinHandle<()>,
}

impl CrmThread {
    /// Waits for the thread to end (after the core hung up).
    pub fn join(self) {
        if self.thread.join().is_err() {
            tracing::error!("the resource manager thread panicked");
        }
    }
}

/// Starts the crm thread. Fails (before anything runs) when the LRM's state cannot
/// be opened.
pub fn start(
    settings: Settings,
    from_core: mpsc::UnboundedReceiver<ToCrm>,
    to_core: mpsc::Sender<FromCrm>,
    events: broadcast::Sender<Event>,
) -> Result<CrmThread> {
    let (calls_tx, calls) = mpsc::channel(64);
    let (ready_tx, ready) = std::sync::mpsc::channel::<Result<()>>();
    let thread = std::thread::Builder::new()
        .name("halod-crm".into())
        .spawn(move || {
            normal_priority();
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    let _ = ready_tx.send(Err(e).context("cannot start the resource manager"));
                    return;
                }
            };
            runtime.block_on(async move {
                let shell = match Shell::open(settings, to_core, events) {
                    Ok(s) => {
                        let _ = ready_tx.send(Ok(()));
                        s
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                shell.run(from_core, calls).await;
            });
        })
        .context("cannot start the resource manager thread")?;
    ready
        .recv()
        .context("the resource manager thread ended at start")??;
    Ok(CrmThread {
        calls: calls_tx,
        thread,
    })
}

/// The normal scheduling policy for this thread (the core may run at real-time
/// priority; agents started from here must not).
fn normal_priority() {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: sched_setscheduler only reads `param`, a valid, initialised struct that
    // outlives the call; pid 0 is the calling thread.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_OTHER, &param) };
    if rc != 0 {
        tracing::warn!(
            "cannot set the resource manager's scheduling policy: {}",
            std::io::Error::last_os_error()
        );
    }
}

/// Wall-clock seconds since the Unix epoch.
fn epoch_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Something finished off the loop.
#[derive(Debug)]
enum Done {
    /// An LRM result, ready for the engine.
    Lrm(Box<halo_crm::LrmResult>),
    /// A policy engine run.
    Policy {
        request: u64,
        result: Result<Box<halo_policy::Transition>, String>,
    },
}

/// The I/O shell around the engine.
struct Shell {
    crm: Crm,
    lrm: Lrm,
    me: NodeName,
    origin: Instant,
    cib_path: PathBuf,
    to_core: mpsc::Sender<FromCrm>,
    events: broadcast::Sender<Event>,
    done_tx: mpsc::UnboundedSender<Done>,
    done_rx: mpsc::UnboundedReceiver<Done>,
    clients: HashMap<u64, oneshot::Sender<Reply>>,
    next_client: u64,
    import: ImportSettings,
    warnings: Vec<String>,
    /// The core no longer listens (shutting down).
    core_gone: bool,
}

impl Shell {
    fn open(
        settings: Settings,
        to_core: mpsc::Sender<FromCrm>,
        events: broadcast::Sender<Event>,
    ) -> Result<Shell> {
        let me = settings.engine.node.clone();
        let mut lrm_cfg = LrmConfig::new(me.as_str(), settings.state_dir.clone());
        lrm_cfg.agents.ha_resource_d = settings.config_dir.join("resource.d");
        let lrm = Lrm::open(lrm_cfg).context("cannot open the local resource manager")?;
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        Ok(Shell {
            crm: Crm::new(settings.engine),
            lrm,
            me,
            origin: Instant::now(),
            cib_path: settings.state_dir.join("cib.xml"),
            to_core,
            events,
            done_tx,
            done_rx,
            clients: HashMap::new(),
            next_client: 1,
            import: settings.import,
            warnings: settings.warnings,
            core_gone: false,
        })
    }

    fn now(&self) -> Timestamp {
        Timestamp::from_duration(self.origin.elapsed())
    }

    async fn run(
        mut self,
        mut from_core: mpsc::UnboundedReceiver<ToCrm>,
        mut calls: mpsc::Receiver<CrmCall>,
    ) {
        let cib = self.load_cib().await;
        self.handle(Input::Start { cib }).await;
        let mut lrm_events = self.lrm.subscribe();
        loop {
            let deadline = self
                .crm
                .next_deadline()
                .map(|t| self.origin + t.as_duration());
            tokio::select! {
                m = from_core.recv() => match m {
                    Some(m) => self.on_core(m).await,
                    None => break,
                },
                Some(call) = calls.recv() => self.on_call(call).await,
                Some(d) = self.done_rx.recv() => match d {
                    Done::Lrm(r) => self.handle(Input::Lrm(r)).await,
                    Done::Policy { request, result } => {
                        self.handle(Input::PolicyDone { request, result }).await;
                    }
                },
                ev = lrm_events.recv() => match ev {
                    Ok(LrmEvent::Completed { result }) => self.recurring_result(&result).await,
                    Ok(LrmEvent::StillRunning { .. }) => {}
                    Err(broadcast::error::RecvError::Lagged(n)) => tracing::error!(
                        "{n} results of recurring operations were lost (the resource \
                         manager fell behind); the next change of each is reported"
                    ),
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                _ = async { match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                } } => self.handle(Input::Tick).await,
            }
        }
        self.lrm.shutdown().await;
        tracing::info!("resource manager stopped");
    }

    /// Reads and verifies `STATE/cib.xml`; a damaged file is moved aside, never loaded.
    async fn load_cib(&self) -> Option<Box<halo_cib::Cib>> {
        let path = self.cib_path.clone();
        let shown = path.display().to_string();
        let loaded = tokio::task::spawn_blocking(move || disk::load(&path, epoch_secs()))
            .await
            .unwrap_or_else(|e| disk::Loaded::Unreadable(e.to_string()));
        match loaded {
            disk::Loaded::Cib(cib) => {
                tracing::info!("loaded CIB {} from {shown}", cib.version);
                Some(cib)
            }
            disk::Loaded::Missing => {
                tracing::info!(
                    "no CIB in {shown}: this node takes the cluster's copy when it joins"
                );
                None
            }
            disk::Loaded::Unreadable(e) => {
                tracing::error!("cannot read {shown}: {e}; starting without a CIB");
                None
            }
            disk::Loaded::Damaged { error, aside } => {
                tracing::error!(
                    "{shown} is damaged and is NOT loaded: {error}; {}; this node starts \
                     without a CIB and takes the cluster's copy when it joins",
                    match aside {
                        Ok(p) => format!("moved aside to {}", p.display()),
                        Err(m) => format!("could not move it aside: {m}"),
                    }
                );
                let _ = self.events.send(Event::Crm {
                    text: format!("{shown} is damaged and was not loaded: {error}"),
                    problem: true,
                });
                None
            }
        }
    }

    async fn on_core(&mut self, m: ToCrm) {
        let input = match m {
            ToCrm::Membership(m) => {
                let mut members = m.names();
                members.sort();
                members.dedup();
                Input::Membership(halo_crm::Membership {
                    id: m.id.seq,
                    members,
                    quorate: m.quorum.quorate,
                })
            }
            ToCrm::Message {
                from,
                channel,
                payload,
            } => {
                tracing::trace!(%from, ?channel, bytes = payload.len(), "crm message");
                Input::Message {
                    from,
                    bytes: payload,
                }
            }
            ToCrm::Lease { quorum_heard } => Input::Lease { quorum_heard },
            ToCrm::Shutdown => Input::Shutdown {
                epoch_secs: epoch_secs(),
            },
        };
        self.handle(input).await;
    }

    async fn on_call(&mut self, call: CrmCall) {
        match call {
            CrmCall::View { reply } => {
                let _ = reply.send(admin::view(&self.crm, &self.warnings));
            }
            CrmCall::Request { request, reply } => match request {
                Request::Change { change } => {
                    match admin::client_request(&self.me, change, &self.import) {
                        Ok(request) => {
                            let id = self.next_client;
                            self.next_client += 1;
                            self.clients.insert(id, reply);
                            self.handle(Input::Client { id, request }).await;
                        }
                        Err(message) => {
                            let _ = reply.send(Reply::Error { message });
                        }
                    }
                }
                Request::Cib { status } => {
                    let mut cib = self.crm.cib().clone();
                    if !status {
                        cib.status.clear();
                    }
                    let _ = reply.send(Reply::Cib {
                        version: cib.version.to_string(),
                        xml: cib.to_xml(),
                        synced: self.crm.synced(),
                    });
                }
                Request::LrmHistory { resource } => {
                    let histories = match resource {
                        None => self.lrm.histories(),
                        Some(id) => match self.lrm.history(&id) {
                            Some(h) => vec![h],
                            None => {
                                let _ = reply.send(Reply::Error {
                                    message: format!("no history for resource '{id}' here"),
                                });
                                return;
                            }
                        },
                    };
                    let _ = reply.send(match serde_json::to_value(&histories) {
                        Ok(histories) => Reply::LrmHistory { histories },
                        Err(e) => Reply::Error {
                            message: e.to_string(),
                        },
                    });
                }
                other => {
                    let _ = reply.send(Reply::Error {
                        message: format!("not a resource manager request: {other:?}"),
                    });
                }
            },
        }
    }

    /// Feeds the engine and carries out what it asks, in order.
    async fn handle(&mut self, input: Input) {
        let now = self.now();
        let outputs = self.crm.handle(now, input);
        self.carry_out(outputs).await;
    }

    async fn carry_out(&mut self, outputs: Vec<Output>) {
        // A failed CIB write withholds this batch's acknowledgements.
        let mut persist_failed = false;
        for (i, out) in outputs.iter().enumerate() {
            match out {
                Output::PersistCib(bytes) => {
                    // A later copy in the same batch, with nothing sent in between,
                    // replaces this one.
                    if !disk::superseded(&outputs, i) && !self.persist(bytes.clone()).await {
                        persist_failed = true;
                    }
                }
                Output::Send { to, channel, bytes } => {
                    if persist_failed
                        && matches!(Message::decode(bytes), Ok(Message::CibAck { .. }))
                    {
                        tracing::error!("not acknowledging a CIB this node could not write");
                        continue;
                    }
                    self.send(to, *channel, bytes.clone()).await;
                }
                Output::Lrm(req) => self.lrm_request(req.clone()).await,
                Output::RunPolicy { request, cib } => self.run_policy(*request, cib.clone()),
                Output::ClientReply { id, result } => {
                    if let Some(tx) = self.clients.remove(id) {
                        let _ = tx.send(match result {
                            Ok(message) => Reply::Done {
                                message: message.clone(),
                            },
                            Err(message) => Reply::Error {
                                message: message.clone(),
                            },
                        });
                    }
                }
                Output::Event(e) => self.event(e),
                Output::ShutdownReady => {
                    tracing::info!("every local resource is stopped");
                    self.tell_core(FromCrm::ShutdownDone).await;
                }
            }
        }
    }

    async fn persist(&self, bytes: Vec<u8>) -> bool {
        let path = self.cib_path.clone();
        let written =
            tokio::task::spawn_blocking(move || crate::state::write_atomic(&path, &bytes, 0o600))
                .await;
        match written {
            Ok(Ok(())) => true,
            Ok(Err(e)) => {
                tracing::error!("cannot write the CIB: {e:#}");
                false
            }
            Err(e) => {
                tracing::error!("cannot write the CIB: {e}");
                false
            }
        }
    }

    async fn send(&mut self, to: &Target, channel: halo_crm::Channel, payload: Vec<u8>) {
        let to = match to {
            Target::All => Destination::All,
            Target::Node(n) => Destination::Node(n.clone()),
        };
        let channel = match channel {
            halo_crm::Channel::Cib => halo_wire::Channel::CIB,
            halo_crm::Channel::Crm => halo_wire::Channel::CRM,
        };
        self.tell_core(FromCrm::Send {
            to,
            channel,
            payload,
        })
        .await;
    }

    async fn tell_core(&mut self, m: FromCrm) {
        if self.core_gone {
            return;
        }
        if self.to_core.send(m).await.is_err() {
            self.core_gone = true;
            tracing::debug!("the core has stopped listening");
        }
    }

    fn event(&self, e: &halo_crm::Event) {
        if e.is_problem() {
            tracing::warn!("crm: {e}");
        } else {
            tracing::info!("crm: {e}");
        }
        let ev = match e.clone() {
            halo_crm::Event::TransitionStarted {
                id,
                actions,
                summary,
            } => Event::TransitionStarted {
                id,
                actions,
                summary,
            },
            halo_crm::Event::TransitionComplete { id, aborted } => {
                Event::TransitionComplete { id, aborted }
            }
            halo_crm::Event::TransitionAborted { id, reason } => {
                Event::TransitionAborted { id, reason }
            }
            halo_crm::Event::OpRecorded {
                node,
                key,
                rc,
                op_status,
                failed,
            } => Event::Action {
                node,
                operation: key,
                rc,
                op_status,
                failed,
            },
            halo_crm::Event::ActionFailed { key, node, detail } => Event::ActionFailed {
                node,
                operation: key,
                detail,
            },
            other => Event::Crm {
                text: other.to_string(),
                problem: other.is_problem(),
            },
        };
        let _ = self.events.send(ev);
    }

    fn run_policy(&self, request: u64, cib: Box<halo_cib::Cib>) {
        let tx = self.done_tx.clone();
        tokio::task::spawn_blocking(move || {
            let now = Timestamp::from_duration(
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default(),
            );
            let result = halo_policy::schedule(&cib, now)
                .map(Box::new)
                .map_err(|e| e.to_string());
            let _ = tx.send(Done::Policy { request, result });
        });
    }

    async fn lrm_request(&mut self, req: LrmRequest) {
        match req {
            LrmRequest::Execute(op) => self.execute(op).await,
            LrmRequest::Cancel {
                resource,
                action,
                interval_ms,
            } => {
                let lrm = self.lrm.clone();
                tokio::spawn(async move {
                    if let Err(e) = lrm.cancel(&resource, &action, interval_ms).await {
                        tracing::debug!("cancel {resource}_{action}_{interval_ms}: {e}");
                    }
                });
            }
            LrmRequest::Forget { resource } => {
                if let Err(e) = self.lrm.unregister(&resource).await {
                    tracing::debug!("forget {resource}: {e}");
                }
            }
            LrmRequest::Recover => {
                let lrm = self.lrm.clone();
                let tx = self.done_tx.clone();
                let me = self.me.to_string();
                tokio::spawn(async move {
                    for r in lrm.recover().await {
                        match r {
                            Ok(r) => {
                                tracing::info!(
                                    "probe after start: {} rc {} ({:?})",
                                    r.resource,
                                    r.outcome.rc,
                                    r.assessment.state
                                );
                                let h = lrm.history(&r.resource);
                                let res = convert::result(&r, h.as_ref(), &me);
                                let _ = tx.send(Done::Lrm(Box::new(res)));
                            }
                            Err(e) => tracing::warn!("probe after start failed: {e}"),
                        }
                    }
                });
            }
        }
    }

    /// Runs one engine operation: defines the resource when the operation carries its
    /// definition, then a one-shot run (result back through `done`) or a recurring one
    /// (results through the LRM's events).
    async fn execute(&mut self, op: halo_crm::LrmOp) {
        if let Some(def) = convert::definition(&op) {
            let registered = match def {
                Ok(def) => {
                    if self.lrm.history(&def.id).map(|h| h.resource) == Some(def.clone()) {
                        Ok(())
                    } else {
                        self.lrm.register(def).await.map_err(|e| e.to_string())
                    }
                }
                Err(e) => Err(e),
            };
            if let Err(reason) = registered {
                let r = convert::not_run(&op, reason, epoch_secs(), self.me.as_str());
                let _ = self.done_tx.send(Done::Lrm(Box::new(r)));
                return;
            }
        }
        let req = convert::request(&op);
        let lrm = self.lrm.clone();
        let tx = self.done_tx.clone();
        let me = self.me.to_string();
        if op.interval_ms > 0 {
            tokio::spawn(async move {
                if let Err(e) = lrm.start_recurring(req).await {
                    let r = convert::not_run(&op, e.to_string(), epoch_secs(), &me);
                    let _ = tx.send(Done::Lrm(Box::new(r)));
                }
            });
            return;
        }
        tokio::spawn(async move {
            let r = match lrm.execute(req).await {
                Ok(r) => {
                    let h = lrm.history(&r.resource);
                    convert::result(&r, h.as_ref(), &me)
                }
                Err(e) => convert::not_run(&op, e.to_string(), epoch_secs(), &me),
            };
            let _ = tx.send(Done::Lrm(Box::new(r)));
        });
    }

    /// A recurring operation's result changed (one-shot results come back from their
    /// own tasks; cancellations are the engine's own doing).
    async fn recurring_result(&mut self, r: &halo_lrm::OpResult) {
        if r.interval_ms == 0 || r.outcome.status == halo_lrm::ExecStatus::Cancelled {
            return;
        }
        let h = self.lrm.history(&r.resource);
        let res = convert::result(r, h.as_ref(), self.me.as_str());
        self.handle(Input::Lrm(Box::new(res))).await;
    }
}

/// How long `halo status` waits for the resource manager before it answers without
/// its part.
pub const VIEW_TIMEOUT: Duration = Duration::from_secs(2);
