//! A TCP proxy inside a test, to cut a database away from a running server: connections pass
//! through until [`TcpProxy::cut`], which drops every connection open and refuses new ones
//! (each is accepted and closed at once, as a dead network path would look to a driver).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct TcpProxy {
    /// Where clients connect instead of the target.
    pub addr: SocketAddr,
    cut: Arc<AtomicBool>,
    cut_tx: watch::Sender<bool>,
}

impl TcpProxy {
    /// Starts forwarding from a free port on 127.0.0.1 to `target`.
    pub async fn start(target: SocketAddr) -> anyhow::Result<TcpProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let cut = Arc::new(AtomicBool::new(false));
        let (cut_tx, cut_rx) = watch::channel(false);
        let flag = cut.clone();
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if flag.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let mut stop = cut_rx.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = stop.wait_for(|c| *c) => {}
                    }
                });
            }
        });
        Ok(TcpProxy { addr, cut, cut_tx })
    }

    /// Drops every connection through the proxy and refuses new ones from now on.
    pub fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        let _ = self.cut_tx.send(true);
    }

    /// `url` (a `postgres://user@host:port/db` URL) with its host and port replaced by the
    /// proxy's, and the target address it named.
    pub fn rewrite(url: &str, proxy: SocketAddr) -> anyhow::Result<String> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| anyhow::anyhow!("not a URL: {url}"))?;
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let user = authority.rsplit_once('@').map(|(u, _)| format!("{u}@"));
        Ok(format!(
            "{scheme}://{}{proxy}/{path}",
            user.unwrap_or_default()
        ))
    }

    /// The host and port a `postgres://` URL names (port 5432 when none).
    pub async fn target_of(url: &str) -> anyhow::Result<SocketAddr> {
        let rest = url.split_once("://").map_or(url, |(_, r)| r);
        let authority = rest.split('/').next().unwrap_or_default();
        let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let hostport = if hostport.contains(':') {
            hostport.to_owned()
        } else {
            format!("{hostport}:5432")
        };
        tokio::net::lookup_host(hostport.as_str())
            .await?
            .next()
            .ok_or_else(|| anyhow::anyhow!("no address for {hostport}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_rewritten_to_the_proxy() {
        let p: SocketAddr = "127.0.0.1:40000".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            TcpProxy::rewrite(
                "postgres://postgres@127.0.0.1:5432/test_1?sslmode=disable",
                p
            )
            .unwrap_or_default(),
            "postgres://postgres@127.0.0.1:40000/test_1?sslmode=disable"
        );
        assert_eq!(
            TcpProxy::rewrite("postgres://localhost/x", p).unwrap_or_default(),
            "postgres://127.0.0.1:40000/x"
        );
    }
}
