//! Programs the tests run that report in JSON lines: the official MCP SDK
//! clients in `ops/gateway-client` and the host-agent example.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::process::{Child, Command};

/// How long such a program may run.
const DEADLINE: Duration = Duration::from_secs(60);

/// `ops/gateway-client`'s Python (with the MCP Python SDK) running `script` there.
pub fn python_sdk(script: &str) -> Command {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../ops/gateway-client");
    let python = root.join(".venv/bin/python");
    assert!(
        python.exists(),
        "the MCP Python SDK is not installed at {}: run ops/ci/ensure-tools.sh",
        python.display()
    );
    let mut command = Command::new(python);
    command.arg(root.join(script));
    command
}

/// Starts `command` with its output piped, killed if the test drops it.
pub fn spawn(mut command: Command) -> Child {
    command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the program starts")
}

/// Waits (at most a minute) for `child` to end: whether it succeeded, and its JSON lines.
pub async fn json_lines(child: Child) -> (bool, Vec<Value>) {
    let out = tokio::time::timeout(DEADLINE, child.wait_with_output())
        .await
        .expect("the program finished within a minute")
        .expect("its output was read");
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|_| panic!("not JSON: {line}\n{}", String::from_utf8_lossy(&out.stderr)))
        })
        .collect();
    (out.status.success(), lines)
}

/// Runs `command` to the end: whether it succeeded, and its first JSON line.
pub async fn report(command: Command) -> (bool, Value) {
    let (ok, lines) = json_lines(spawn(command)).await;
    (ok, lines.into_iter().next().unwrap_or(Value::Null))
}
