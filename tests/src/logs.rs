//! Captures the test process's log output in memory (JSON lines, every level
//! from `debug` up for Switchboard's crates), so tests can prove that a
//! secret appears in no log line and that an operation was logged.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Buffer {
        self.clone()
    }
}

fn buffer() -> &'static Buffer {
    static BUFFER: OnceLock<Buffer> = OnceLock::new();
    BUFFER.get_or_init(|| {
        let buffer = Buffer::default();
        let filter = EnvFilter::new(
            "info,switchboard=debug,switchboard_core=debug,switchboard_api=debug,switchboard_worker=debug",
        );
        let _ = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_env_filter(filter)
            .with_writer(buffer.clone())
            .try_init();
        buffer
    })
}

/// Starts capturing (idempotent); call before the app starts.
pub fn capture() {
    buffer();
}

/// Everything logged so far in this process.
pub fn captured() -> String {
    String::from_utf8_lossy(&buffer().0.lock().unwrap()).into_owned()
}
