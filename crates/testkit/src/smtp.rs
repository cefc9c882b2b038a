//! A real, minimal SMTP receiver on a local port, for tests of the mail worker.

use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMail {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

#[derive(Clone, Default)]
pub struct SmtpReceiver {
    pub port: u16,
    mails: Arc<Mutex<Vec<ReceivedMail>>>,
    /// Number of DATA commands still to refuse with a temporary error (451).
    fail_next: Arc<Mutex<u32>>,
}

impl SmtpReceiver {
    pub async fn start() -> SmtpReceiver {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("smtp bind: {e}"));
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
        let me = SmtpReceiver {
            port,
            ..Default::default()
        };
        let srv = me.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let srv = srv.clone();
                tokio::spawn(async move {
                    let _ = srv.session(sock).await;
                });
            }
        });
        me
    }

    pub fn fail_next(&self, n: u32) {
        if let Ok(mut f) = self.fail_next.lock() {
            *f = n;
        }
    }

    pub fn mails(&self) -> Vec<ReceivedMail> {
        self.mails.lock().map(|m| m.clone()).unwrap_or_default()
    }

    async fn session(&self, sock: tokio::net::TcpStream) -> std::io::Result<()> {
        let (r, mut w) = sock.into_split();
        let mut r = BufReader::new(r);
        w.write_all(b"220 localhost test SMTP\r\n").await?;
        let (mut from, mut to) = (String::new(), Vec::new());
        let mut line = String::new();
        loop {
            line.clear();
            if r.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let cmd = line.trim_end().to_string();
            let upper = cmd.to_ascii_uppercase();
            if upper.starts_with("EHLO") {
                w.write_all(b"250-localhost\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
                    .await?;
            } else if upper.starts_with("HELO") {
                w.write_all(b"250 localhost\r\n").await?;
            } else if upper.starts_with("MAIL FROM:") {
                from = cmd[10..].trim().to_string();
                to.clear();
                w.write_all(b"250 OK\r\n").await?;
            } else if upper.starts_with("RCPT TO:") {
                to.push(cmd[8..].trim().to_string());
                w.write_all(b"250 OK\r\n").await?;
            } else if upper == "DATA" {
                w.write_all(b"354 go ahead\r\n").await?;
                let mut data = String::new();
                loop {
                    line.clear();
                    if r.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    data.push_str(
                        line.strip_prefix('.')
                            .filter(|_| line.starts_with(".."))
                            .unwrap_or(&line),
                    );
                }
                let refuse = match self.fail_next.lock() {
                    Ok(mut f) if *f > 0 => {
                        *f -= 1;
                        true
                    }
                    _ => false,
                };
                if refuse {
                    w.write_all(b"451 try again later\r\n").await?;
                } else {
                    if let Ok(mut m) = self.mails.lock() {
                        m.push(ReceivedMail {
                            from: from.clone(),
                            to: to.clone(),
                            data,
                        });
                    }
                    w.write_all(b"250 OK queued\r\n").await?;
                }
            } else if upper == "RSET" || upper == "NOOP" {
                w.write_all(b"250 OK\r\n").await?;
            } else if upper == "QUIT" {
                w.write_all(b"221 bye\r\n").await?;
                return Ok(());
            } else {
                w.write_all(b"502 not implemented\r\n").await?;
            }
        }
    }
}
