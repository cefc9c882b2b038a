//! What the binary's integration tests share: the `vsys` command on a test database, a
//! `vsys serve` process (killed when dropped) and logging in to it.
#![allow(dead_code, clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// `vsys ARGS` on the database `url` with the tests' secret key and warnings logged; callers
/// add what else they need (environment, standard streams).
pub fn vsys(url: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vsys"));
    cmd.args(args)
        .env("VSYS_DATABASE_URL", url)
        .env("VSYS_SECRET_KEY", vsys_testkit::TEST_SECRET_KEY)
        .env("RUST_LOG", "warn");
    cmd
}

/// Runs a command to its end, writing `stdin` to it first.
pub fn output(mut cmd: Command, stdin: Option<&str>) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    if let Some(input) = stdin
        && let Some(mut s) = child.stdin.take()
    {
        let _ = s.write_all(input.as_bytes());
    }
    child.wait_with_output().unwrap_or_else(|e| panic!("{e}"))
}

/// A server process, killed when dropped.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The arguments of `vsys serve` on a free port of the loopback, with `extra` after them.
pub fn serve_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["serve", "--plain-http", "--listen", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    args
}

/// Starts a server and waits until it listens (reading its address from standard output,
/// which is read to its end so the process never blocks on a full pipe). `spawned` sees the
/// child first (to take a piped standard error, say).
pub fn start_with(mut cmd: Command, spawned: impl FnOnce(&mut Child)) -> Server {
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    spawned(&mut child);
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(addr) = line.strip_prefix("vsys listening on ") {
                let _ = tx.send(addr.trim().to_owned());
            }
        }
    });
    let base = rx
        .recv_timeout(Duration::from_secs(300))
        .unwrap_or_else(|e| panic!("the server did not start: {e}"));
    Server { child, base }
}

/// [`start_with`], nothing more.
pub fn start(cmd: Command) -> Server {
    start_with(cmd, |_| {})
}

/// Logs in with the demo password; the bearer token.
pub async fn login(http: &reqwest::Client, base: &str, email: &str) -> String {
    let r = http
        .post(format!("{base}/api/v1/session"))
        .json(&json!({"email": email, "password": vsys_app::demo::DEMO_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "login {email}");
    let v: Value = r.json().await.unwrap();
    v["token"].as_str().unwrap().to_owned()
}
