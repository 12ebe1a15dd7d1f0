//! `GET /api/runs/{id}/events`: the run as Server-Sent Events.
//!
//! Without `Last-Event-ID` the stream opens with the current state (`event:
//! run`, its `id:` the number of events so far); with it, the events after
//! that id are replayed. Then each event as it happens (`started`, `step`),
//! keep-alive comments, and finally `finished` with the final run, after
//! which the stream ends. Every event carries `id:`, so a client that
//! reconnects with `Last-Event-ID` gets every event exactly once.

use std::convert::Infallible;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use switchboard_core::domain::{FieldError, UserId};
use switchboard_core::runs::RunEvent;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::parse_id;
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::runs::view;
use crate::state::AppState;

/// `Last-Event-ID`: an event number as this stream sent it in `id:`.
fn last_event_id(headers: &HeaderMap) -> ApiResult<Option<u64>> {
    let Some(value) = headers.get("last-event-id") else {
        return Ok(None);
    };
    let number = value
        .to_str()
        .ok()
        .filter(|v| (1..=19).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_digit()));
    match number.and_then(|v| v.parse().ok()) {
        Some(id) => Ok(Some(id)),
        None => Err(ApiError::validation(vec![FieldError {
            loc: vec!["header".into(), "Last-Event-ID".into()],
            msg: "must be an event id this stream sent (a decimal number)".into(),
        }])),
    }
}

/// Streams a run's events (see the module doc for the protocol).
#[utoipa::path(get, path = "/api/runs/{id}/events", tag = "runs",
    params(("id" = Uuid, Path), ("Last-Event-ID" = Option<u64>, Header, description = "Resume after this event")),
    responses((status = 200, description = "text/event-stream of run events", content_type = "text/event-stream"),
        (status = 404, body = ErrorBody),
        (status = 422, description = "`Last-Event-ID` is not an event id", body = ErrorBody)))]
pub async fn run_events(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let id = parse_id(&id)?;
    state
        .store
        .run(&user, id)
        .await
        .map_err(|_| ApiError::not_found("run"))?;
    let slot = state.streams.try_take(user.as_str()).ok_or_else(|| {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "TOO_MANY_STREAMS",
            "you have too many event streams open; close one (or poll the run)",
        )
        .with_retry_after(5)
    })?;
    let last_event_id = last_event_id(&headers)?;
    let (tx, rx) = mpsc::channel::<Event>(32);
    let keepalive = state.settings.jobs.sse_keepalive;
    tokio::spawn(async move {
        let _slot = slot;
        if let Err(e) = pump(&state, &user, id, last_event_id, &tx).await {
            tracing::debug!(run_id = %id, error = %e, "event stream ended early");
        }
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|e| (Ok(e), rx)) });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(keepalive).text("keep-alive")))
}

/// Feeds one client until the run ends or the client goes away.
async fn pump(
    state: &AppState,
    user: &UserId,
    id: Uuid,
    resume: Option<u64>,
    tx: &mpsc::Sender<Event>,
) -> anyhow::Result<()> {
    // Subscribe before reading the log, so nothing falls between the two.
    let mut watch = state.events.watch(id);
    let mut last = match resume {
        Some(after) => after,
        None => {
            let (snapshot, seq) = view(state, state.store.run(user, id).await?).await;
            let terminal = snapshot.finished_at.is_some();
            tx.send(Event::default().event("run").id(seq.to_string()).json_data(&snapshot)?)
                .await?;
            if terminal {
                return Ok(());
            }
            seq
        }
    };
    if replay(state, user, id, &mut last, tx).await? {
        return Ok(());
    }
    if resume.is_some() {
        // A finished run whose log expired: its row is the rest of the story.
        let run = state.store.run(user, id).await?;
        if run.status().is_terminal() {
            let (final_view, _) = view(state, run).await;
            tx.send(
                Event::default()
                    .event("finished")
                    .id((last + 1).to_string())
                    .json_data(&final_view)?,
            )
            .await?;
            return Ok(());
        }
    }
    // In case a terminal event is lost: the process's shared safety net.
    let mut ended = state.waits.watch(&state.store, id);
    loop {
        tokio::select! {
            received = watch.recv() => match received {
                Ok(envelope) if envelope.seq <= last => {}
                Ok(envelope) if envelope.seq == last + 1 => {
                    last = envelope.seq;
                    if send(state, user, id, envelope.seq, &envelope.event, tx).await? {
                        return Ok(());
                    }
                }
                // A gap (this process missed or skipped events): read them from the log.
                _ => if replay(state, user, id, &mut last, tx).await? { return Ok(()) },
            },
            () = ended.ended() => {
                if replay(state, user, id, &mut last, tx).await? {
                    return Ok(());
                }
                let run = state.store.run(user, id).await?;
                if run.status().is_terminal() {
                    // The run ended but its log has no terminal event (expired): end with the row.
                    let (final_view, _) = view(state, run).await;
                    tx.send(Event::default().event("finished").id((last + 1).to_string()).json_data(&final_view)?).await?;
                    return Ok(());
                }
            }
            () = tx.closed() => return Ok(()),
        }
    }
}

/// Sends the logged events after `last`; true when the run ended.
async fn replay(
    state: &AppState,
    user: &UserId,
    id: Uuid,
    last: &mut u64,
    tx: &mpsc::Sender<Event>,
) -> anyhow::Result<bool> {
    for (seq, event) in state.events.since(id, *last).await? {
        *last = seq;
        if send(state, user, id, seq, &event, tx).await? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Sends one event; `finished` carries the final run as stored. True when terminal.
async fn send(
    state: &AppState,
    user: &UserId,
    id: Uuid,
    seq: u64,
    event: &RunEvent,
    tx: &mpsc::Sender<Event>,
) -> anyhow::Result<bool> {
    let sse = Event::default().event(event.name()).id(seq.to_string());
    if event.is_terminal() {
        let (final_view, _) = view(state, state.store.run(user, id).await?).await;
        tx.send(sse.json_data(&final_view)?).await?;
        return Ok(true);
    }
    tx.send(sse.json_data(event)?).await?;
    Ok(false)
}
