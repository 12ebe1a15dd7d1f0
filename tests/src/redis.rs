//! Redis for distributed-mode tests: the server on this machine, and a key /
//! queue / channel prefix per test (pub/sub ignores database numbers), whose
//! keys are deleted when the test ends.

/// `SWITCHBOARD_TEST_REDIS_URL`, or the local server.
pub fn url() -> String {
    std::env::var("SWITCHBOARD_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".to_owned())
}

/// Fails the test loudly when Redis is not running.
pub async fn require() {
    let client = redis::Client::open(url()).expect("valid Redis URL");
    let reachable = async {
        let mut conn = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<String>(&mut conn).await
    };
    if let Err(e) = tokio::time::timeout(std::time::Duration::from_secs(3), reachable)
        .await
        .unwrap_or_else(|_| {
            Err(redis::RedisError::from(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "timed out",
            )))
        })
    {
        panic!(
            "Redis is required for this test but is not reachable at {} ({e}). Start it with `redis-server --daemonize yes \
             --bind 127.0.0.1 -::1 --port 6379 --save \"\" --appendonly no` or set SWITCHBOARD_TEST_REDIS_URL.",
            url()
        );
    }
}

/// A unique prefix; its keys are removed on drop.
#[derive(Debug)]
pub struct RedisPrefix {
    pub prefix: String,
}

impl RedisPrefix {
    pub fn new() -> Self {
        Self {
            prefix: format!("sbt-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]),
        }
    }
}

impl Default for RedisPrefix {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for RedisPrefix {
    fn drop(&mut self) {
        let prefix = self.prefix.clone();
        let cleaner = std::thread::spawn(move || {
            let Ok(client) = redis::Client::open(url()) else { return };
            let Ok(mut conn) = client.get_connection() else { return };
            // apalis keys are `{queue}:…` (the queue name starts with the prefix), ours `{prefix}:…`.
            for pattern in [format!("{prefix}*"), format!("tasks:{prefix}*")] {
                let keys: Vec<String> = redis::cmd("KEYS").arg(pattern).query(&mut conn).unwrap_or_default();
                for chunk in keys.chunks(500) {
                    let _: redis::RedisResult<()> = redis::cmd("DEL").arg(chunk).query(&mut conn);
                }
            }
        });
        let _ = cleaner.join();
    }
}

/// Every key under `prefix` with its value(s), as text: for leak checks.
pub async fn dump(prefix: &str) -> String {
    let client = redis::Client::open(url()).expect("valid Redis URL");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("Redis connection");
    let mut keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut conn)
        .await
        .unwrap_or_default();
    keys.extend(
        redis::cmd("KEYS")
            .arg(format!("tasks:{prefix}*"))
            .query_async::<Vec<String>>(&mut conn)
            .await
            .unwrap_or_default(),
    );
    let mut out = String::new();
    for key in keys {
        let kind: String = redis::cmd("TYPE")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap_or_default();
        let values: Vec<Vec<u8>> = match kind.as_str() {
            "string" => redis::cmd("GET")
                .arg(&key)
                .query_async::<Vec<u8>>(&mut conn)
                .await
                .map(|v| vec![v])
                .unwrap_or_default(),
            "list" => redis::cmd("LRANGE")
                .arg(&key)
                .arg(0)
                .arg(-1)
                .query_async(&mut conn)
                .await
                .unwrap_or_default(),
            "hash" => redis::cmd("HGETALL")
                .arg(&key)
                .query_async(&mut conn)
                .await
                .unwrap_or_default(),
            "set" => redis::cmd("SMEMBERS")
                .arg(&key)
                .query_async(&mut conn)
                .await
                .unwrap_or_default(),
            "zset" => redis::cmd("ZRANGE")
                .arg(&key)
                .arg(0)
                .arg(-1)
                .query_async(&mut conn)
                .await
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        out.push_str(&key);
        out.push('\n');
        for value in values {
            out.push_str(&String::from_utf8_lossy(&value));
            out.push('\n');
        }
    }
    out
}

/// A `redis-server` of the test's own on a free loopback port, for faults
/// (pauses, restarts, lost data) that must never touch the shared server.
/// Killed when dropped.
#[derive(Debug)]
pub struct PrivateRedis {
    child: std::process::Child,
    pub port: u16,
}

impl PrivateRedis {
    /// Starts it and waits until it answers; panics with how to install Redis if it cannot.
    pub async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let redis = Self {
            child: Self::spawn(port),
            port,
        };
        redis.wait_until_up().await;
        redis
    }

    fn spawn(port: u16) -> std::process::Child {
        std::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--protected-mode", "no"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start redis-server ({e}): install Redis (Debian: redis-server)"))
    }

    async fn wait_until_up(&self) {
        for _ in 0..100 {
            if self.command(&["PING"]).await.is_ok() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the private redis-server on port {} did not come up", self.port);
    }

    /// Kills it and starts an empty one on the same port (what a restart
    /// without persistence does: every key is gone).
    pub async fn restart_empty(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = Self::spawn(self.port);
        self.wait_until_up().await;
    }

    /// `used_memory` from `INFO memory`, in bytes.
    pub async fn used_memory(&self) -> u64 {
        let info = match self.command(&["INFO", "memory"]).await {
            Ok(redis::Value::BulkString(b)) => String::from_utf8_lossy(&b).into_owned(),
            Ok(redis::Value::VerbatimString { text, .. }) => text,
            _ => String::new(),
        };
        info.lines()
            .find_map(|l| l.strip_prefix("used_memory:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Runs one command on a fresh connection.
    pub async fn command(&self, args: &[&str]) -> redis::RedisResult<redis::Value> {
        let client = redis::Client::open(self.url())?;
        let mut conn = client.get_multiplexed_async_connection().await?;
        let mut cmd = redis::cmd(args[0]);
        for arg in &args[1..] {
            cmd.arg(*arg);
        }
        cmd.query_async(&mut conn).await
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
