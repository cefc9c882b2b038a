//! `vsys`: the server and its administration commands. Thin: everything is in the crates.

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use std::io::Read;

use vsys_app::{App, Config};

#[derive(Parser)]
#[command(
    name = "vsys",
    version,
    about = "ワクチン接種円滑化システム (V-SYS), re-implemented"
)]
struct Cli {
    /// TOML configuration file (every key optional; see docs/CONFIGURATION.md).
    #[arg(long, global = true, env = "VSYS_CONFIG")]
    config: Option<String>,
    /// Database URL: `sqlite:FILE` (created when missing) or `postgres://…`.
    #[arg(long, global = true, env = "VSYS_DATABASE_URL")]
    database_url: Option<String>,
    /// Log lines on standard error: `text` or `json` (one object per line).
    #[arg(long, global = true, env = "VSYS_LOG_FORMAT", value_parser = ["text", "json"])]
    log_format: Option<String>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the server (migrations run first).
    Serve {
        #[arg(long, env = "VSYS_LISTEN")]
        listen: Option<String>,
        /// Also serve the public site alone (finder, open data, static files, /healthz) on
        /// this address; every other path is 404 there.
        #[arg(long, env = "VSYS_PUBLIC_LISTEN")]
        public_listen: Option<String>,
        /// Seed the demo world if the database has none, and print the demo logins.
        #[arg(long)]
        demo: bool,
        /// Sites to create with --demo.
        #[arg(long, default_value_t = vsys_app::demo::DEFAULT_SITES)]
        sites: usize,
        /// Plain-http local use: session cookie without `Secure` (named `vsys_session`).
        #[arg(long, env = "VSYS_PLAIN_HTTP")]
        plain_http: bool,
    },
    /// Apply database migrations and load the master data, then exit.
    Migrate,
    /// Seed the demo world (with a progress bar) and print the demo logins.
    Demo {
        #[arg(long, default_value_t = vsys_app::demo::DEFAULT_SITES)]
        sites: usize,
    },
    /// Manage accounts.
    User {
        #[command(subcommand)]
        cmd: UserCmd,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        cmd: AuditCmd,
    },
    /// Bulk imports.
    Import {
        #[command(subcommand)]
        cmd: ImportCmd,
    },
    /// The dashboards' rollups (results and stock per day and municipality).
    Rollups {
        #[command(subcommand)]
        cmd: RollupsCmd,
    },
    /// Copy the embedded SQLite database to FILE while the server runs (`VACUUM INTO`), check
    /// the copy's integrity and record the backup in the audit log. PostgreSQL is backed up
    /// with its own tools (`pg_dump`, `pg_basebackup`). Exits 2 if no backup was written.
    Backup {
        /// Where to write the copy (must not exist yet).
        file: std::path::PathBuf,
    },
    /// Restore the embedded SQLite database from a backup made by `vsys backup`: checks the
    /// file (integrity, a vsys schema no newer than this build), refuses while a server runs on
    /// the database and, unless --force, when the database exists (the replaced one is kept
    /// beside it), swaps the copy in atomically, migrates it and records the restore in its
    /// audit log. PostgreSQL is restored with its own tools (pg_restore, a base backup with
    /// point-in-time recovery). Exits 2 if nothing was restored.
    Restore {
        /// The backup file.
        file: std::path::PathBuf,
        /// Replace the database if it exists (stop every server first).
        #[arg(long)]
        force: bool,
    },
    /// Print the API's OpenAPI document (the one served at /api/openapi.json) as JSON and exit;
    /// needs no configuration and no database.
    Openapi,
}

#[derive(Subcommand)]
enum ImportCmd {
    /// Import the registry of medical institutions (医療機関の一括登録) from a CSV file (UTF-8
    /// or Shift_JIS), all or nothing, as a nation or prefecture operator. Exits 1 when the file
    /// has errors (every one is printed; nothing is imported).
    Institutions {
        /// The CSV file (columns: see `vsys_app::site_import::HEADERS`).
        file: std::path::PathBuf,
        /// E-mail address of the user to act as (recorded in the audit log).
        #[arg(long = "as", value_name = "EMAIL")]
        as_user: String,
    },
}

#[derive(Subcommand)]
enum UserCmd {
    /// Create an account; the password is read from standard input.
    Create {
        #[arg(long)]
        org: String,
        #[arg(long)]
        role: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        password_stdin: bool,
        /// Require a password change at first login (default: yes).
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
        must_change_password: bool,
    },
    /// Print the current TOTP code of an account (for demos and tests on your own database).
    TotpCode {
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand)]
enum RollupsCmd {
    /// Recompute every rollup from the raw rows (results, stock ledger) and replace the stored
    /// ones, in one transaction (audited). Exits 2 if it could not run.
    Rebuild,
    /// Compare the stored rollups with the raw rows; exits 1 if any differs, 2 if the check
    /// could not run.
    Check,
}

#[derive(Subcommand)]
enum AuditCmd {
    /// Verify every hash chain; exits 1 if any entry was edited, inserted or deleted, 2 if the
    /// check could not run (e.g. the database is unreachable).
    Verify,
}

/// Reads the configuration: defaults, then the TOML file, then the environment, then flags.
/// Logs nothing (logging starts with the format read here); see [`finish_config`].
fn load_config(cli: &Cli) -> anyhow::Result<Config> {
    let mut config: Config = match &cli.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
            toml::from_str(&text).with_context(|| format!("parsing {path}"))?
        }
        None => Config::default(),
    };
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    if let Some(v) = env("VSYS_IDLE_TIMEOUT_SECS") {
        config.idle_timeout_secs = v.parse().context("VSYS_IDLE_TIMEOUT_SECS")?;
    }
    if let Some(v) = env("VSYS_TRUSTED_PROXIES") {
        config.trusted_proxies = v
            .split(',')
            .map(|s| s.trim().parse())
            .collect::<Result<_, _>>()
            .context("VSYS_TRUSTED_PROXIES")?;
    }
    if let Some(v) = env("VSYS_BASE_URL") {
        config.base_url = Some(v);
    }
    if let Some(v) = env("VSYS_MAIL_DIR") {
        config.mail_dir = v;
    }
    if let Some(host) = env("VSYS_SMTP_HOST") {
        config.smtp = Some(vsys_app::config::SmtpConfig {
            host,
            port: env("VSYS_SMTP_PORT")
                .map(|p| p.parse())
                .transpose()
                .context("VSYS_SMTP_PORT")?
                .unwrap_or(587),
            username: env("VSYS_SMTP_USERNAME"),
            password: env("VSYS_SMTP_PASSWORD"),
            tls: env("VSYS_SMTP_TLS").unwrap_or_else(|| "starttls".into()),
            timeout_secs: env("VSYS_SMTP_TIMEOUT_SECS")
                .map(|p| p.parse())
                .transpose()
                .context("VSYS_SMTP_TIMEOUT_SECS")?
                .unwrap_or(10),
        });
    }
    if let Some(url) = &cli.database_url {
        config.database_url = url.clone();
    }
    if let Some(v) = env("VSYS_METRICS_TOKEN") {
        config.metrics_token = Some(v);
    }
    if let Some(v) = env("VSYS_SECRET_KEY") {
        config.secret_key = Some(v);
    }
    if let Some(v) = env("VSYS_SECRET_KEY_FILE") {
        config.secret_key_file = v;
    }
    if let Some(v) = env("VSYS_PUBLIC_STALE_AFTER_HOURS") {
        config.public.stale_after_hours = v.parse().context("VSYS_PUBLIC_STALE_AFTER_HOURS")?;
    }
    if let Some(v) = env("VSYS_PUBLIC_RATE_BURST") {
        config.public.rate_burst = v.parse().context("VSYS_PUBLIC_RATE_BURST")?;
    }
    if let Some(v) = env("VSYS_PUBLIC_RATE_PER_SECOND") {
        config.public.rate_per_second = v.parse().context("VSYS_PUBLIC_RATE_PER_SECOND")?;
    }
    if let Some(v) = env("VSYS_PUBLIC_MAX_AGE_SECS") {
        config.public.max_age_secs = v.parse().context("VSYS_PUBLIC_MAX_AGE_SECS")?;
    }
    if let Some(v) = env("VSYS_SHUTDOWN_GRACE_SECS") {
        config.shutdown_grace_secs = v.parse().context("VSYS_SHUTDOWN_GRACE_SECS")?;
    }
    if let Some(v) = &cli.log_format {
        config.log_format = v.clone();
    }
    if !matches!(config.log_format.as_str(), "text" | "json") {
        bail!(
            "log_format must be \"text\" or \"json\", not {:?}",
            config.log_format
        );
    }
    Ok(config)
}

/// Completes the configuration once logging runs: the secret key (read from, or created in,
/// `secret_key_file` when not given) is checked.
fn finish_config(config: &mut Config) -> anyhow::Result<()> {
    if config.secret_key.is_none() {
        config.secret_key = Some(key_from_file(&config.secret_key_file)?);
    }
    if let Some(k) = &config.secret_key {
        vsys_app::secrets::Sealer::from_config(k)
            .map_err(|e| anyhow::anyhow!("secret_key / VSYS_SECRET_KEY: {e}"))?;
    }
    Ok(())
}

/// Log lines on standard error, as text or as one JSON object per line (with the fields of
/// the spans they happened in: a request's line carries its `request_id`).
fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,sqlx=warn,tower_http=info".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().flatten_event(true).init();
    } else {
        builder.init();
    }
}

/// Resolves at the first SIGTERM or SIGINT (Ctrl-C), naming it.
async fn shutdown_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => "SIGINT",
                    _ = term.recv() => "SIGTERM",
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; only SIGINT stops the server");
                let _ = tokio::signal::ctrl_c().await;
                "SIGINT"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "SIGINT"
    }
}

/// The sealing key kept in `path`, created (readable by its owner only) when missing. Several
/// processes of one deployment must share one key: set `VSYS_SECRET_KEY` for them instead.
fn key_from_file(path: &str) -> anyhow::Result<String> {
    match std::fs::read_to_string(path) {
        Ok(k) => Ok(k.trim().to_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = vsys_app::secrets::Sealer::generate_key();
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            use std::io::Write;
            let mut f = opts
                .open(path)
                .with_context(|| format!("creating the secret key file {path}"))?;
            writeln!(f, "{key}").with_context(|| format!("writing {path}"))?;
            tracing::warn!(
                file = path,
                "created a new secret key for TOTP secrets; keep it with the database's backups, and give every process the same key (VSYS_SECRET_KEY)"
            );
            Ok(key)
        }
        Err(e) => Err(e).with_context(|| format!("reading the secret key file {path}")),
    }
}

/// The operating-system user running this command (named in the audit log).
fn os_user() -> String {
    ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "unknown".into())
}

/// Prints every refused field in Japanese and English and exits 2 (nothing was changed).
fn refused(inv: vsys_domain::Invalid) -> ! {
    for e in inv.0 {
        eprintln!(
            "{}: {} / {}",
            e.field,
            e.msg.text(vsys_domain::Lang::Ja),
            e.msg.text(vsys_domain::Lang::En)
        );
    }
    std::process::exit(2);
}

async fn open(config: Config) -> anyhow::Result<App> {
    let app = App::connect(config)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    app.prepare()
        .await
        .map_err(|e| anyhow::anyhow!("preparing the database: {e}"))?;
    Ok(app)
}

fn print_logins(logins: &[vsys_app::demo::DemoLogin]) {
    println!(
        "\nDemo logins (password for all: {})",
        vsys_app::demo::DEMO_PASSWORD
    );
    println!(
        "{:<36} {:<10} {:<8} organisation / TOTP secret",
        "e-mail", "org", "role"
    );
    for l in logins {
        let totp = l
            .totp_secret
            .as_deref()
            .map(|s| format!("  TOTP secret: {s}"))
            .unwrap_or_default();
        println!(
            "{:<36} {:<10} {:<8} {}{}",
            l.email,
            l.org_code,
            l.role.as_str(),
            l.org_name,
            totp
        );
    }
    println!(
        "Admins of the nation and prefectures need a TOTP code: add the secret to an authenticator app,"
    );
    println!("or print the current code with `vsys user totp-code --email EMAIL`.\n");
}

async fn seed_demo(app: &App, sites: usize) -> anyhow::Result<()> {
    let bar = indicatif::ProgressBar::new(sites as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("demo sites {bar:40} {pos}/{len} ({eta})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let progress = |done: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(done);
    };
    match vsys_app::demo::seed(app, sites, &progress)
        .await
        .map_err(|e| anyhow::anyhow!("demo: {e}"))?
    {
        Some(logins) => {
            bar.finish();
            print_logins(&logins);
        }
        None => {
            bar.finish_and_clear();
            println!(
                "Demo data is already present (password for demo users: {}).",
                vsys_app::demo::DEMO_PASSWORD
            );
        }
    }
    Ok(())
}

/// The actor for a command run as a user (see `vsys_app::accounts::actor_on_host`).
async fn actor_for(app: &App, email: &str) -> anyhow::Result<vsys_app::Actor> {
    match vsys_app::accounts::actor_on_host(app, email).await {
        Ok(a) => Ok(a),
        Err(vsys_app::AppError::NotFound) => bail!("no user {email}"),
        Err(vsys_app::AppError::Forbidden) => bail!("the account {email} is disabled or locked"),
        Err(e) => bail!("user {email}: {e}"),
    }
}

async fn import_institutions(app: &App, bytes: &[u8], email: &str) -> anyhow::Result<()> {
    use vsys_app::site_import::{self, Phase};
    let actor = actor_for(app, email).await?;
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg:9} {bar:40} {pos}/{len}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let progress = |phase: Phase, done: usize, total: usize| {
        let label = match phase {
            Phase::Reading => "reading",
            Phase::Checking => "checking",
            Phase::Writing => "writing",
            Phase::Done => "done",
        };
        bar.set_message(label);
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    };
    match site_import::import(app, &actor, bytes, &progress).await {
        Ok(s) => {
            bar.finish_and_clear();
            println!(
                "imported {} rows: {} created, {} updated, {} unchanged",
                s.rows, s.created, s.updated, s.unchanged
            );
            Ok(())
        }
        Err(vsys_app::AppError::Csv(e)) => {
            bar.finish_and_clear();
            eprintln!("{}", e.message(vsys_domain::Lang::Ja));
            std::process::exit(1);
        }
        Err(e) => {
            bar.finish_and_clear();
            bail!(
                "{e}: {} / {}",
                e.text(vsys_domain::Lang::Ja),
                e.text(vsys_domain::Lang::En)
            )
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Cmd::Openapi = cli.cmd {
        println!("{}", vsys_web::api::openapi().to_pretty_json()?);
        return Ok(());
    }
    let mut config = load_config(&cli)?;
    init_logging(&config.log_format);
    finish_config(&mut config)?;
    match cli.cmd {
        Cmd::Serve {
            listen,
            public_listen,
            demo,
            sites,
            plain_http,
        } => {
            if let Some(l) = listen {
                config.listen = l;
            }
            if let Some(l) = public_listen {
                config.public_listen = Some(l);
            }
            if plain_http {
                config.cookie_secure = false;
            }
            if config.base_url_guessed_behind_proxy() {
                tracing::warn!(
                    base_url = %config.base_url(),
                    "base_url is not set and trusted_proxies is: links in e-mails use the listen address, which people behind the proxy likely cannot open; set base_url (VSYS_BASE_URL)"
                );
            }
            let listen = config.listen.clone();
            let public_listen = config
                .public_listen
                .clone()
                .filter(|l| !l.trim().is_empty());
            // A restore never replaces the database under a running server.
            let _lock =
                vsys_app::backup::hold_for_serving(&config).map_err(|e| anyhow::anyhow!("{e}"))?;
            let app = open(config).await?;
            if demo {
                seed_demo(&app, sites).await?;
            }
            // Over a demo database (however it was seeded), the demo's other municipalities
            // act by themselves once their prefecture finishes dividing (see
            // `vsys_app::demo::autopilot`); a production database has no autopilot accounts.
            let autopilot = if vsys_app::demo::autopilot::wanted(&app)
                .await
                .map_err(|e| anyhow::anyhow!("demo autopilot: {e}"))?
            {
                Some(vsys_app::demo::autopilot::spawn(app.clone()))
            } else {
                None
            };
            let listener = tokio::net::TcpListener::bind(&listen)
                .await
                .with_context(|| format!("binding {listen}"))?;
            println!("vsys listening on http://{}", listener.local_addr()?);
            let public_listener = match &public_listen {
                Some(addr) => {
                    let l = tokio::net::TcpListener::bind(addr)
                        .await
                        .with_context(|| format!("binding {addr} (public site)"))?;
                    println!("vsys public site listening on http://{}", l.local_addr()?);
                    Some(l)
                }
                None => None,
            };
            vsys_web::serve_with_public(app, listener, public_listener, async {
                let signal = shutdown_signal().await;
                tracing::info!(signal, "shutdown requested");
            })
            .await?;
            if let Some(a) = autopilot {
                a.abort();
            }
            println!("vsys stopped");
        }
        Cmd::Migrate => {
            let app = open(config).await?;
            app.close().await;
            println!("database ready");
        }
        Cmd::Demo { sites } => {
            let app = open(config).await?;
            seed_demo(&app, sites).await?;
        }
        Cmd::User {
            cmd:
                UserCmd::Create {
                    org,
                    role,
                    email,
                    name,
                    password_stdin,
                    must_change_password,
                },
        } => {
            if !password_stdin {
                bail!(
                    "give the password on standard input with --password-stdin (never on the command line)"
                );
            }
            let mut password = String::new();
            std::io::stdin().read_to_string(&mut password)?;
            let password = password.trim_end_matches(['\r', '\n']).to_owned();
            let app = open(config).await?;
            let n = vsys_app::accounts::NewUser {
                org_code: org,
                email,
                name,
                role,
                password,
            };
            let by = vsys_app::audit::Who::command_line(&os_user());
            match vsys_app::accounts::create_system(&app, &by, &n, must_change_password).await {
                Ok(u) => println!(
                    "created {} ({}, {}) id {}",
                    u.email, u.org_code, u.role, u.id
                ),
                Err(vsys_app::AppError::Invalid(inv)) => refused(inv),
                Err(e) => bail!("{e}"),
            }
        }
        Cmd::User {
            cmd: UserCmd::TotpCode { email },
        } => {
            let app = open(config).await?;
            let code = match vsys_app::auth::totp_code_on_host(&app, &email).await {
                Ok(c) => c.context("this user has no TOTP")?,
                Err(vsys_app::AppError::NotFound) => bail!("no such user"),
                Err(e) => bail!("{e}"),
            };
            println!("{code}");
        }
        Cmd::Import {
            cmd: ImportCmd::Institutions { file, as_user },
        } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let app = open(config).await?;
            import_institutions(&app, &bytes, &as_user).await?;
        }
        Cmd::Backup { file } => {
            if vsys_app::is_postgres_url(&config.database_url) {
                eprintln!(
                    "vsys backup copies the embedded SQLite database; back up PostgreSQL with pg_dump or pg_basebackup"
                );
                std::process::exit(2);
            }
            let app = open(config).await?;
            match vsys_app::backup::backup(&app, &file).await {
                Ok(b) => println!(
                    "backup written: {} ({} bytes), integrity ok",
                    b.path, b.bytes
                ),
                Err(vsys_app::AppError::Invalid(inv)) => refused(inv),
                Err(e) => {
                    eprintln!(
                        "backup failed, nothing written to {}: {e:#}",
                        file.display()
                    );
                    std::process::exit(2);
                }
            }
        }
        Cmd::Restore { file, force } => {
            let by = vsys_app::audit::Who::command_line(&os_user());
            match vsys_app::backup::restore(&config, &file, force, &by).await {
                Ok(r) => {
                    println!(
                        "restored {} from {} ({} bytes, schema version {}, migrations applied: {:?}), integrity ok",
                        r.path, r.from, r.bytes, r.backup_schema_version, r.migrated
                    );
                    if let Some(p) = r.previous {
                        println!("the replaced database is kept as {p}");
                    }
                }
                Err(e) => {
                    eprintln!("{e}");
                    std::process::exit(2);
                }
            }
        }
        Cmd::Openapi => {}
        Cmd::Rollups { cmd } => {
            let app = match open(config).await {
                Ok(app) => app,
                Err(e) => {
                    eprintln!("rollups: could not open the database: {e:#}");
                    std::process::exit(2);
                }
            };
            let result = match cmd {
                RollupsCmd::Rebuild => vsys_app::rollups::rebuild(&app).await,
                RollupsCmd::Check => vsys_app::rollups::check(&app).await,
            };
            app.close().await;
            match result {
                Ok(r) => {
                    println!(
                        "rollups: {} result rows, {} stock rows, {} differences",
                        r.result_rows, r.stock_rows, r.differences
                    );
                    if r.differences > 0 {
                        std::process::exit(1);
                    }
                }
                Err(e) => {
                    eprintln!("rollups could not run: {e}");
                    std::process::exit(2);
                }
            }
        }
        Cmd::Audit {
            cmd: AuditCmd::Verify,
        } => {
            // Exit 1 means tampering; 2 means the check itself could not run.
            let result = match open(config).await {
                Ok(app) => vsys_app::audit::verify_on_host(&app)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}")),
                Err(e) => Err(e),
            };
            let r = match result {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("audit verify could not run: {e:#}");
                    std::process::exit(2);
                }
            };
            println!("audit: {} partitions, {} entries", r.partitions, r.entries);
            if r.breaks.is_empty() {
                println!("OK: every chain verifies");
            } else {
                for b in &r.breaks {
                    println!(
                        "BROKEN partition {} seq {}: {}",
                        b.partition, b.seq, b.reason
                    );
                }
                std::process::exit(1);
            }
        }
    }
    Ok(())
}
