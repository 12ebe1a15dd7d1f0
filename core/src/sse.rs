//! Server-Sent Events from an untrusted byte stream: parsed by the
//! maintained `sse-stream` crate (the one rmcp uses), behind a byte counter
//! that refuses any single event larger than a limit. Both are linear in the
//! bytes received, so a server trickling one byte at a time costs nothing
//! more than the bytes. Used by the legacy MCP transport and by tests reading
//! the API's own event streams.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::{Stream, StreamExt as _};
use sse_stream::SseStream;

/// One event. `event` defaults to `message` as in the SSE specification.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    pub event: String,
    pub data: String,
    pub id: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SseError {
    #[error("an event exceeded {0} bytes")]
    TooLarge(usize),
    #[error("the event stream is malformed: {0}")]
    Malformed(String),
    #[error("reading the stream failed: {0}")]
    Read(String),
}

/// Counts the bytes of the event being received; an event ends at a blank
/// line (`\n`, `\r` or `\r\n` line endings).
#[derive(Debug)]
struct EventSize {
    max: usize,
    event: usize,
    line: usize,
    after_cr: bool,
}

impl EventSize {
    fn new(max: usize) -> Self {
        Self {
            max,
            event: 0,
            line: 0,
            after_cr: false,
        }
    }

    /// Observes a chunk; false once the current event is over the limit.
    fn observe(&mut self, chunk: &[u8]) -> bool {
        for &byte in chunk {
            let after_cr = std::mem::replace(&mut self.after_cr, byte == b'\r');
            match byte {
                b'\n' if after_cr => {}
                b'\n' | b'\r' if self.line == 0 => self.event = 0,
                b'\n' | b'\r' => self.line = 0,
                _ => {
                    self.line += 1;
                    self.event += 1;
                    if self.event > self.max {
                        return false;
                    }
                }
            }
        }
        true
    }
}

/// Why the byte stream below the parser stopped.
#[derive(Debug, thiserror::Error)]
enum Cut {
    #[error("an event exceeded {0} bytes")]
    TooLarge(usize),
    #[error("{0}")]
    Read(String),
}

/// The byte stream with its events measured.
struct Measured<S> {
    inner: S,
    size: EventSize,
    done: bool,
}

impl<S, B, E> Stream for Measured<S>
where
    S: Stream<Item = Result<B, E>> + Unpin,
    B: Into<Bytes>,
    E: std::fmt::Display,
{
    type Item = Result<Bytes, Cut>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        let item = match futures::ready!(self.inner.poll_next_unpin(cx)) {
            None => None,
            Some(Err(e)) => Some(Err(Cut::Read(e.to_string()))),
            Some(Ok(chunk)) => {
                let chunk: Bytes = chunk.into();
                if self.size.observe(&chunk) {
                    Some(Ok(chunk))
                } else {
                    Some(Err(Cut::TooLarge(self.size.max)))
                }
            }
        };
        self.done = !matches!(item, Some(Ok(_)));
        Poll::Ready(item)
    }
}

/// Events from a byte stream (e.g. `reqwest::Response::bytes_stream()`);
/// the first error ends the stream.
pub fn events<S, B, E>(body: S, max_event: usize) -> impl Stream<Item = Result<SseEvent, SseError>>
where
    S: Stream<Item = Result<B, E>> + Unpin,
    B: Into<Bytes>,
    E: std::fmt::Display,
{
    let measured = Measured {
        inner: body,
        size: EventSize::new(max_event),
        done: false,
    };
    SseStream::from_bytes_stream(measured)
        .map(|item| match item {
            Ok(sse) => Ok(SseEvent {
                event: sse.event.unwrap_or_else(|| "message".into()),
                data: sse.data.unwrap_or_default(),
                id: sse.id,
            }),
            Err(sse_stream::Error::Body(e)) => Err(match e.downcast_ref::<Cut>() {
                Some(Cut::TooLarge(max)) => SseError::TooLarge(*max),
                _ => SseError::Read(e.to_string()),
            }),
            Err(other) => Err(SseError::Malformed(other.to_string())),
        })
        .scan(false, |failed, item| {
            if *failed {
                return futures::future::ready(None);
            }
            *failed = item.is_err();
            futures::future::ready(Some(item))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn parse(chunks: Vec<&'static [u8]>, max: usize) -> Vec<Result<SseEvent, SseError>> {
        let stream = futures::stream::iter(chunks.into_iter().map(Ok::<_, String>));
        events(stream, max).collect().await
    }

    #[tokio::test]
    async fn events_split_across_chunks_and_line_endings() {
        let got = parse(
            vec![
                b"event: endpoint\r\ndata: /messages?s=1",
                b"\r\n\r\n: keep-alive\n\nid: 7\ndata: {\"a\":\ndata: 1}\n\n",
            ],
            1024,
        )
        .await;
        let got: Vec<SseEvent> = got.into_iter().map(|e| e.expect("event")).collect();
        assert_eq!(
            got,
            [
                SseEvent {
                    event: "endpoint".into(),
                    data: "/messages?s=1".into(),
                    id: None
                },
                SseEvent {
                    event: "message".into(),
                    data: "{\"a\":\n1}".into(),
                    id: Some("7".into())
                }
            ]
        );
    }

    #[tokio::test]
    async fn an_oversized_event_is_refused_and_ends_the_stream() {
        let got = parse(
            vec![b"data: short\n\n", b"data: ", &[b'x'; 40], b"\n\ndata: late\n\n"],
            16,
        )
        .await;
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].as_ref().expect("first").data, "short");
        assert!(matches!(got[1], Err(SseError::TooLarge(16))), "{:?}", got[1]);
    }

    #[test]
    fn the_size_resets_at_each_blank_line_whatever_the_line_ending() {
        let mut size = EventSize::new(10);
        assert!(size.observe(b"data: 1234\r\n\r\n"));
        assert!(size.observe(b"data: 1234\r"));
        assert!(size.observe(b"\n\r\n"));
        assert!(size.observe(b"data: 1234\n\n"));
        assert!(!size.observe(b"data: 12345"), "11 bytes in one event");
    }
}
