//! A small, bounded Server-Sent Events parser: turns a byte stream into
//! events and refuses any single event larger than a limit (servers are
//! untrusted). Used by the legacy MCP transport and by tests reading the
//! API's own event streams.

use bytes::{Buf, BytesMut};
use futures::{Stream, StreamExt};

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
    #[error("the stream is not UTF-8")]
    NotUtf8,
    #[error("reading the stream failed: {0}")]
    Read(String),
}

/// Incremental parser state.
#[derive(Debug)]
pub struct SseParser {
    buffer: BytesMut,
    max_event: usize,
}

impl SseParser {
    pub fn new(max_event: usize) -> Self {
        Self {
            buffer: BytesMut::new(),
            max_event,
        }
    }

    /// Feeds bytes; returns the events completed by them.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<SseEvent>, SseError> {
        self.buffer.extend_from_slice(bytes);
        let mut events = Vec::new();
        while let Some((end, skip)) = boundary(&self.buffer) {
            let block = self.buffer.split_to(end);
            self.buffer.advance(skip);
            let text = std::str::from_utf8(&block).map_err(|_| SseError::NotUtf8)?;
            if let Some(event) = parse_block(text) {
                events.push(event);
            }
        }
        if self.buffer.len() > self.max_event {
            return Err(SseError::TooLarge(self.max_event));
        }
        Ok(events)
    }
}

/// Position of the first blank line (`\n\n`, `\r\n\r\n` or `\r\r`) and its length.
fn boundary(buf: &[u8]) -> Option<(usize, usize)> {
    (0..buf.len()).find_map(|i| {
        if buf[i..].starts_with(b"\r\n\r\n") {
            Some((i, 4))
        } else if buf[i..].starts_with(b"\n\n") || buf[i..].starts_with(b"\r\r") {
            Some((i, 2))
        } else {
            None
        }
    })
}

fn parse_block(block: &str) -> Option<SseEvent> {
    let mut event = SseEvent {
        event: "message".into(),
        ..SseEvent::default()
    };
    let mut data: Vec<&str> = Vec::new();
    for line in block.lines() {
        if line.starts_with(':') {
            continue;
        }
        let (field, value) = line
            .split_once(':')
            .map_or((line, ""), |(f, v)| (f, v.strip_prefix(' ').unwrap_or(v)));
        match field {
            "event" => event.event = value.to_owned(),
            "data" => data.push(value),
            "id" => event.id = Some(value.to_owned()),
            _ => {}
        }
    }
    if data.is_empty() && event.id.is_none() {
        return None;
    }
    event.data = data.join("\n");
    Some(event)
}

/// Events from a byte stream (e.g. `reqwest::Response::bytes_stream()`).
pub fn events<S, B, E>(body: S, max_event: usize) -> impl Stream<Item = Result<SseEvent, SseError>>
where
    S: Stream<Item = Result<B, E>> + Unpin,
    B: AsRef<[u8]>,
    E: std::fmt::Display,
{
    let parser = SseParser::new(max_event);
    futures::stream::unfold(
        (body, parser, std::collections::VecDeque::new(), false),
        |(mut body, mut parser, mut queue, mut done)| async move {
            loop {
                if let Some(event) = queue.pop_front() {
                    return Some((Ok(event), (body, parser, queue, done)));
                }
                if done {
                    return None;
                }
                match body.next().await {
                    Some(Ok(chunk)) => match parser.feed(chunk.as_ref()) {
                        Ok(new) => queue.extend(new),
                        Err(e) => {
                            done = true;
                            return Some((Err(e), (body, parser, queue, done)));
                        }
                    },
                    Some(Err(e)) => {
                        done = true;
                        return Some((Err(SseError::Read(e.to_string())), (body, parser, queue, done)));
                    }
                    None => return None,
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_across_chunks_and_line_endings() {
        let mut p = SseParser::new(1024);
        assert!(
            p.feed(b"event: endpoint\r\ndata: /messages?s=1")
                .expect("ok")
                .is_empty()
        );
        let events = p
            .feed(b"\r\n\r\n: keep-alive\n\nid: 7\ndata: {\"a\":\ndata: 1}\n\n")
            .expect("ok");
        assert_eq!(events.len(), 2);
        assert_eq!(
            events[0],
            SseEvent {
                event: "endpoint".into(),
                data: "/messages?s=1".into(),
                id: None
            }
        );
        assert_eq!(
            events[1],
            SseEvent {
                event: "message".into(),
                data: "{\"a\":\n1}".into(),
                id: Some("7".into())
            }
        );
    }

    #[test]
    fn an_oversized_event_is_refused() {
        let mut p = SseParser::new(16);
        assert!(matches!(p.feed(&[b'x'; 17]), Err(SseError::TooLarge(16))));
        let mut p = SseParser::new(16);
        assert!(p.feed(b"data: short\n\n").is_ok());
    }

    #[tokio::test]
    async fn a_byte_stream_becomes_events() {
        let chunks: Vec<Result<&[u8], String>> = vec![Ok(b"data: a\n"), Ok(b"\ndata: b\n\n")];
        let got: Vec<_> = events(futures::stream::iter(chunks), 64).collect().await;
        let data: Vec<String> = got.into_iter().map(|e| e.expect("event").data).collect();
        assert_eq!(data, ["a", "b"]);
    }
}
