//! Closed-loop load at a chosen concurrency against a running server, reporting admitted
//! (2xx) and shed (503/429) answers separately: how fast the admitted ones were served while
//! the server refused the excess. Run by `bench/overload.sh`.
//!
//!   cargo run --release -p vsys-bench --example overload -- URL CONCURRENCY SECONDS [TOKEN]

use std::time::{Duration, Instant};

fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, conc, secs, rest @ ..] = args.as_slice() else {
        eprintln!("usage: overload URL CONCURRENCY SECONDS [TOKEN]");
        std::process::exit(2);
    };
    let conc: usize = conc.parse().unwrap_or(32);
    let secs: u64 = secs.parse().unwrap_or(10);
    let token = rest.first().cloned();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(conc)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let end = Instant::now() + Duration::from_secs(secs);
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..conc {
        let (http, url, token) = (http.clone(), url.clone(), token.clone());
        set.spawn(async move {
            let mut out: Vec<(u16, Duration)> = Vec::new();
            while Instant::now() < end {
                let t = Instant::now();
                let mut req = http.get(&url);
                if let Some(tok) = &token {
                    req = req.bearer_auth(tok);
                }
                let status = match req.send().await {
                    Ok(res) => {
                        let s = res.status().as_u16();
                        let _ = res.bytes().await;
                        s
                    }
                    Err(_) => 0,
                };
                out.push((status, t.elapsed()));
            }
            out
        });
    }
    let all: Vec<(u16, Duration)> = set.join_all().await.into_iter().flatten().collect();
    let mut admitted: Vec<Duration> = all
        .iter()
        .filter(|(s, _)| (200..300).contains(s))
        .map(|a| a.1)
        .collect();
    let mut shed: Vec<Duration> = all
        .iter()
        .filter(|(s, _)| *s == 503 || *s == 429)
        .map(|a| a.1)
        .collect();
    let other = all.len() - admitted.len() - shed.len();
    admitted.sort();
    shed.sort();
    let s = secs as f64;
    println!(
        "concurrency {conc}: admitted {:.0}/s p50 {:.1} ms p99 {:.1} ms; shed {:.0}/s p99 {:.1} ms; other {other}",
        admitted.len() as f64 / s,
        pct(&admitted, 0.50),
        pct(&admitted, 0.99),
        shed.len() as f64 / s,
        pct(&shed, 0.99),
    );
}
