//! The local API: a UNIX socket in the run directory speaking `halo-ipc`'s
//! newline-delimited JSON.
//!
//! Authorisation is by peer credentials (SO_PEERCRED): root and members of the group
//! `haclient` may do everything; anyone else who can reach the socket may use the
//! read-only requests only if `api_readonly_anyone` is set (the socket's mode is 0660
//! `root:haclient` otherwise, so by default others cannot even connect).
//!
//! Each connection is its own task; requests reach the node's core through a channel and
//! are answered there, so the core never waits on a client. Resource and CIB requests
//! (changes, the CIB, the LRM history) go straight to the resource manager thread
//! instead, and `status` asks both: the core for nodes, links and membership, the
//! resource manager for the DC, resources and failures (after a bounded wait, so a busy
//! resource manager delays `halo status` by at most [`crate::crm::VIEW_TIMEOUT`]). Streams (`watch`, `listen`)
//! subscribe to a broadcast channel; a client that reads too slowly loses events and is
//! told how many (`lagged`), it never slows the core down.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use halo_ipc::{Event, MAX_REQUEST_BYTES, Reply, Request, decode_line, encode_line};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{broadcast, mpsc, oneshot};

/// A request on its way to the core, with where to send the reply.
#[derive(Debug)]
pub struct Call {
    /// What the client asked.
    pub request: Request,
    /// Where the core answers.
    pub reply: oneshot::Sender<Reply>,
}

/// What the API server needs from the daemon.
#[derive(Debug, Clone)]
pub struct ApiContext {
    /// Requests to the core.
    pub calls: mpsc::Sender<Call>,
    /// Requests to the resource manager thread, when it runs.
    pub crm: Option<mpsc::Sender<crate::crm::CrmCall>>,
    /// Node, link and membership events (for `watch`).
    pub events: broadcast::Sender<Event>,
    /// User messages (for `listen`).
    pub messages: broadcast::Sender<Event>,
    /// Whether anyone may use read-only requests.
    pub readonly_anyone: bool,
}

/// Who is asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Full,
    ReadOnly,
    None,
}

/// Binds the socket (replacing a stale one) with mode 0660 and group `haclient` if it
/// exists, then serves it until the runtime stops.
pub fn serve(path: &Path, ctx: ApiContext) -> Result<PathBuf> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot remove {}", path.display())),
    }
    let listener =
        UnixListener::bind(path).with_context(|| format!("cannot bind {}", path.display()))?;
    let haclient = nix::unistd::Group::from_name("haclient").ok().flatten();
    if let Some(g) = &haclient {
        nix::unistd::chown(path, None, Some(g.gid))
            .with_context(|| format!("cannot chown {} to group haclient", path.display()))?;
    }
    let mode = if ctx.readonly_anyone { 0o666 } else { 0o660 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot chmod {}", path.display()))?;
    let haclient_gid = haclient.map(|g| g.gid.as_raw());
    tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    let ctx = ctx.clone();
                    tokio::spawn(async move {
                        if let Err(e) = handle(stream, ctx, haclient_gid).await {
                            tracing::debug!("API client: {e:#}");
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!("API socket accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
        }
    });
    Ok(path.to_path_buf())
}

async fn access_of(stream: &UnixStream, haclient: Option<u32>, readonly: bool) -> Access {
    let Ok(cred) = stream.peer_cred() else {
        return Access::None;
    };
    let (uid, gid) = (cred.uid(), cred.gid());
    if uid == 0 || Some(gid) == haclient {
        return Access::Full;
    }
    if let Some(hg) = haclient {
        // Supplementary groups need the user database: read it off the core thread.
        let member = tokio::task::spawn_blocking(move || {
            let user = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
                .ok()
                .flatten()?;
            let name = std::ffi::CString::new(user.name).ok()?;
            let groups = nix::unistd::getgrouplist(&name, user.gid).ok()?;
            Some(groups.iter().any(|g| g.as_raw() == hg))
        })
        .await
        .ok()
        .flatten()
        .unwrap_or(false);
        if member {
            return Access::Full;
        }
    }
    if readonly {
        Access::ReadOnly
    } else {
        Access::None
    }
}

async fn write_line<T: serde::Serialize>(
    w: &mut tokio::net::unix::OwnedWriteHalf,
    v: &T,
) -> Result<()> {
    w.write_all(&encode_line(v)).await?;
    Ok(())
}

async fn handle(stream: UnixStream, ctx: ApiContext, haclient: Option<u32>) -> Result<()> {
    let access = access_of(&stream, haclient, ctx.readonly_anyone).await;
    let (r, mut w) = stream.into_split();
    let mut reader = BufReader::new(r).take(MAX_REQUEST_BYTES as u64 + 1);
    let mut line = Vec::new();
    reader.read_until(b'\n', &mut line).await?;
    if line.len() > MAX_REQUEST_BYTES {
        let message = format!("request longer than {MAX_REQUEST_BYTES} bytes");
        return write_line(&mut w, &Reply::Error { message }).await;
    }
    let request: Request = match decode_line(&line) {
        Ok(r) => r,
        Err(e) => {
            let message = e.to_string();
            return write_line(&mut w, &Reply::Error { message }).await;
        }
    };
    let allowed = match access {
        Access::Full => true,
        Access::ReadOnly => request.is_read_only(),
        Access::None => false,
    };
    if !allowed {
        let message = "permission denied: this request needs root or membership of group haclient"
            .to_string();
        return write_line(&mut w, &Reply::Error { message }).await;
    }
    if matches!(
        request,
        Request::Change { .. } | Request::Cib { .. } | Request::LrmHistory { .. }
    ) {
        let reply = ask_crm(&ctx, request).await;
        return write_line(&mut w, &reply).await;
    }
    let stream_of = match &request {
        Request::Watch => Some(ctx.events.subscribe()),
        Request::Listen => Some(ctx.messages.subscribe()),
        _ => None,
    };
    let (tx, rx) = oneshot::channel();
    ctx.calls
        .send(Call { request, reply: tx })
        .await
        .context("daemon is shutting down")?;
    let mut reply = rx.await.context("daemon is shutting down")?;
    if let Reply::Status(status) = &mut reply {
        add_crm_view(&ctx, status).await;
    }
    write_line(&mut w, &reply).await?;
    if let (Some(mut events), Reply::Ok) = (stream_of, reply) {
        loop {
            match events.recv().await {
                Ok(ev) => write_line(&mut w, &ev).await?,
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    write_line(&mut w, &Event::Lagged { missed }).await?;
                }
                Err(broadcast::error::RecvError::Closed) => return Ok(()),
            }
        }
    }
    Ok(())
}

/// Answers a resource manager request.
async fn ask_crm(ctx: &ApiContext, request: Request) -> Reply {
    let Some(crm) = &ctx.crm else {
        return Reply::Error {
            message: "the resource manager does not run in this halod".into(),
        };
    };
    let stopped = || Reply::Error {
        message: "the resource manager has stopped (halod is shutting down)".into(),
    };
    let (tx, rx) = oneshot::channel();
    let call = crate::crm::CrmCall::Request { request, reply: tx };
    if crm.send(call).await.is_err() {
        return stopped();
    }
    rx.await.unwrap_or_else(|_| stopped())
}

/// Fills the resource manager's part of a status: DC, resources, failures.
async fn add_crm_view(ctx: &ApiContext, status: &mut halo_ipc::Status) {
    let Some(crm) = &ctx.crm else { return };
    let (tx, rx) = oneshot::channel();
    if crm
        .send(crate::crm::CrmCall::View { reply: tx })
        .await
        .is_err()
    {
        return;
    }
    match tokio::time::timeout(crate::crm::VIEW_TIMEOUT, rx).await {
        Ok(Ok(v)) => {
            status.dc = v.dc;
            status.resources = v.resources;
            status.failed_actions = v.failed_actions;
            status.fail_counts = v.fail_counts;
            status.crm = Some(v.crm);
        }
        _ => tracing::warn!(
            "the resource manager did not answer within {:?}: status without resources",
            crate::crm::VIEW_TIMEOUT
        ),
    }
}
