//! The mail worker: delivers the outbox over SMTP (or into a folder when no SMTP server is
//! configured), with retries and back-off. Several workers, in one process or many, can run at
//! once: each mail is leased to one worker before it is sent.

use crate::App;
use crate::error::{AppError, AppResult};
use chrono::Duration;
use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration as StdDuration;
use vsys_store::outbox::{self, MailRow};

/// How long a claimed mail stays leased to its worker. An SMTP exchange times out well before.
pub const LEASE_SECS: i64 = 300;

pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// One `.eml` file per mail in this folder (development; no SMTP configured).
    Folder(std::path::PathBuf),
}

impl Transport {
    pub fn from_config(app: &App) -> AppResult<Transport> {
        let Some(s) = &app.config.smtp else {
            return Ok(Transport::Folder(app.config.mail_dir.clone().into()));
        };
        let builder = match s.tls.as_str() {
            "none" => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host),
            "tls" => AsyncSmtpTransport::<Tokio1Executor>::relay(&s.host)
                .map_err(|e| AppError::Internal(e.into()))?,
            _ => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&s.host)
                .map_err(|e| AppError::Internal(e.into()))?,
        };
        let mut builder = builder
            .port(s.port)
            .timeout(Some(StdDuration::from_secs(s.timeout_secs.max(1))));
        if let (Some(u), Some(p)) = (&s.username, &s.password) {
            builder = builder.credentials(Credentials::new(u.clone(), p.clone()));
        }
        Ok(Transport::Smtp(builder.build()))
    }

    async fn send(&self, app: &App, m: &MailRow) -> Result<(), String> {
        let from: Mailbox = app
            .config
            .mail_from
            .parse()
            .map_err(|e| format!("from address: {e}"))?;
        let to: Mailbox = m.to_addr.parse().map_err(|e| format!("to address: {e}"))?;
        let msg = Message::builder()
            .from(from)
            .to(to)
            .subject(&m.subject)
            .message_id(Some(format!("<{}@vsys>", m.id)))
            .header(ContentType::TEXT_PLAIN)
            .body(m.body.clone())
            .map_err(|e| format!("building mail: {e}"))?;
        match self {
            Transport::Smtp(t) => t.send(msg).await.map(|_| ()).map_err(|e| e.to_string()),
            Transport::Folder(dir) => {
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(|e| e.to_string())?;
                tokio::fs::write(dir.join(format!("{}.eml", m.id)), msg.formatted())
                    .await
                    .map_err(|e| e.to_string())
            }
        }
    }
}

fn backoff(attempts: i64) -> Duration {
    Duration::seconds((30i64 << attempts.clamp(0, 7)).min(3600))
}

/// Claims and sends one due mail. Returns whether there was one.
pub async fn deliver_one(app: &App, transport: &Transport, worker: &str) -> AppResult<bool> {
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let claimed = outbox::claim(&mut tx, worker, now, now + Duration::seconds(LEASE_SECS)).await?;
    tx.commit().await?;
    let Some(mail) = claimed else {
        return Ok(false);
    };
    let result = transport.send(app, &mail).await;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    match result {
        Ok(()) => {
            outbox::mark_sent(&mut tx, &mail.id, worker, now).await?;
            metrics::counter!("vsys_mail_sent_total").increment(1);
        }
        Err(e) => {
            tracing::warn!(mail = %mail.id, attempts = mail.attempts + 1, error = %e, "mail delivery failed; will retry");
            outbox::mark_failed(&mut tx, &mail.id, worker, &e, now + backoff(mail.attempts))
                .await?;
            metrics::counter!("vsys_mail_failed_total").increment(1);
        }
    }
    tx.commit().await?;
    Ok(true)
}

/// Runs a worker until `stop` turns true.
pub async fn run_worker(
    app: App,
    transport: std::sync::Arc<Transport>,
    mut stop: tokio::sync::watch::Receiver<bool>,
    poll: StdDuration,
) {
    let worker = format!("{}-{}", std::process::id(), uuid::Uuid::now_v7());
    tracing::info!(%worker, "mail worker started");
    loop {
        if *stop.borrow() {
            break;
        }
        match deliver_one(&app, &transport, &worker).await {
            Ok(true) => continue,
            Ok(false) => {}
            Err(e) => tracing::error!(error = %e, "mail worker"),
        }
        tokio::select! {
            _ = tokio::time::sleep(poll) => {}
            _ = stop.changed() => {}
        }
    }
}
