//! The web layer: staff pages (askama + htmx), the JSON API under `/api/v1` with its OpenAPI
//! document, health and metrics. Thin: every rule lives in `vsys-app`.

pub mod api;
pub mod assets;
pub mod charts;
pub mod download;
pub mod error;
pub mod extract;
pub mod i18n;
pub mod markdown;
pub mod observe;
pub mod overload;
pub mod pages;
pub mod public;
pub mod security;
pub mod session;
pub mod wrap;

use axum::Router;
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::{Arc, OnceLock};
use vsys_app::App;

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub app: App,
    pub metrics: PrometheusHandle,
    /// The places of this server (load shedding, see [`overload`]).
    pub admission: overload::Admission,
    /// The JSON of cached divisions and lists as last served (see [`api::JsonOf`]).
    pub json: std::sync::Arc<api::JsonCaches>,
    /// The public site's rate limit and kept answers (see [`public`]).
    pub public: Arc<public::Shared>,
}

impl AppState {
    /// The state of one server: every router made from it (the main listener's, the public
    /// listener's) shares its places, caches and rate limit.
    pub fn new(app: App) -> AppState {
        AppState {
            admission: overload::Admission::new(&app.config.overload),
            json: Default::default(),
            public: Arc::new(public::Shared::new(&app)),
            app,
            metrics: metrics_handle(),
        }
    }
}

/// The process-wide Prometheus recorder (installed once, shared by every server in a process).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// The whole application: pages, API, documentation, health, static files, and the public
/// site.
pub fn router(app: App) -> Router {
    main_router(AppState::new(app))
}

/// The public site alone, for a listener of its own (`serve --public-listen`): the finder, the
/// open data API, static files and `/healthz` (`/` leads to the finder); every other path —
/// staff screens, the staff API, its document, `/login` — is 404 there.
pub fn public_router(app: App) -> Router {
    public_only_router(AppState::new(app))
}

fn main_router(state: AppState) -> Router {
    let routes = Router::new()
        .merge(pages::routes(state.clone()))
        .merge(public::routes(&state))
        .merge(api::routes(state.clone()))
        .merge(api::docs())
        .route("/healthz", get(health))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics_text))
        .route("/static/{*file}", get(assets::serve));
    served(routes, state)
}

fn public_only_router(state: AppState) -> Router {
    let routes = public::routes(&state)
        .route(
            "/",
            get(|| async { axum::response::Redirect::to("/search/") }),
        )
        .route("/healthz", get(health))
        .route("/static/{*file}", get(assets::serve));
    served(routes, state)
}

/// Routes with the layers every listener's requests go through, and the fallback (404).
fn served(routes: Router<AppState>, state: AppState) -> Router {
    routes
        .fallback(not_found)
        // Innermost first. Layers that act before and after the rest are `wrap::Wrap`s (no
        // clone of the stack per request); only admission waits before calling the rest.
        .layer(wrap::WrapLayer(Track))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            overload::admit,
        ))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            extract::IMPORT_BODY_LIMIT,
        ))
        .layer(wrap::WrapLayer(security::ApiProblems))
        .layer(wrap::WrapLayer(security::UriLimit))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            error::panic_response,
        ))
        .layer(wrap::WrapLayer(security::Headers))
        .layer(
            tower_http::trace::TraceLayer::new_for_http()
                .make_span_with(observe::span)
                .on_response(
                    tower_http::trace::DefaultOnResponse::new().level(tracing::Level::INFO),
                ),
        )
        .layer(wrap::WrapLayer(observe::RequestIds))
        .with_state(state)
}

/// Counts requests and their duration by route template (never by raw path: bounded labels).
#[derive(Clone, Copy, Debug, Default)]
struct Track;

impl wrap::Wrap for Track {
    /// Method, route template, start.
    type Carry = (String, String, std::time::Instant);

    fn before(
        &self,
        req: &mut axum::extract::Request,
    ) -> Result<Self::Carry, Box<axum::response::Response>> {
        let route = req
            .extensions()
            .get::<axum::extract::MatchedPath>()
            .map(|m| m.as_str().to_owned())
            .unwrap_or_else(|| "unmatched".into());
        Ok((req.method().to_string(), route, std::time::Instant::now()))
    }

    async fn after(
        self,
        (method, route, start): Self::Carry,
        res: axum::response::Response,
    ) -> axum::response::Response {
        let status = res.status().as_u16().to_string();
        metrics::counter!("vsys_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status).increment(1);
        metrics::histogram!("vsys_http_request_duration_seconds", "method" => method, "route" => route)
            .record(start.elapsed().as_secs_f64());
        res
    }
}

/// Unknown paths: problem details under `/api/`, a friendly page elsewhere.
async fn not_found(
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let lang = i18n::lang_of(&headers);
    if uri.path().starts_with("/api/") {
        error::ApiError::new(vsys_app::AppError::NotFound, lang).into_response()
    } else {
        error::PageError(vsys_app::AppError::NotFound, lang).into_response()
    }
}

async fn health() -> &'static str {
    "ok"
}

async fn ready(
    axum::extract::State(s): axum::extract::State<AppState>,
) -> (axum::http::StatusCode, &'static str) {
    match s.app.ping().await {
        Ok(()) => (axum::http::StatusCode::OK, "ready"),
        Err(e) => {
            tracing::error!(error = %e, "readiness: database unreachable");
            (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "database unreachable",
            )
        }
    }
}

/// Prometheus metrics, for a scraper holding the configured bearer token
/// (`metrics_token`); without one configured, not served at all.
async fn metrics_text(
    axum::extract::State(s): axum::extract::State<AppState>,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let Some(expected) = s.app.config.metrics_token.as_deref() else {
        return not_found(axum::http::Uri::from_static("/metrics"), headers).await;
    };
    let given = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if !session::constant_eq(expected.as_bytes(), given.trim().as_bytes()) {
        let mut res = error::status_problem(
            axum::http::StatusCode::UNAUTHORIZED,
            i18n::lang_of(&headers),
            None,
        );
        res.headers_mut().insert(
            axum::http::header::WWW_AUTHENTICATE,
            axum::http::HeaderValue::from_static("Bearer realm=\"metrics\""),
        );
        return res;
    }
    observe::refresh_gauges(&s).await;
    s.metrics.render().into_response()
}

/// Serves until `shutdown` resolves, with the mail workers, the WAL checkpointer and the public
/// site's snapshot follower running beside the server. Then it stops accepting connections, lets the requests in flight finish
/// and stops the background work (a mail being sent is finished, the scheduled-work lease is
/// given up), for at most `shutdown_grace_secs` each before it returns anyway.
pub async fn serve(
    app: App,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    serve_with_public(app, listener, None, shutdown).await
}

/// [`serve`], and when `public` is given, the public site alone ([`public_router`]) on that
/// second listener as well (`serve --public-listen`); both share one state (places, caches,
/// the public rate limit) and stop together.
pub async fn serve_with_public(
    app: App,
    listener: tokio::net::TcpListener,
    public: Option<tokio::net::TcpListener>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let transport =
        Arc::new(vsys_app::mail::Transport::from_config(&app).map_err(|e| anyhow::anyhow!("{e}"))?);
    let mut workers = Vec::new();
    for _ in 0..app.config.mail_workers {
        workers.push(tokio::spawn(vsys_app::mail::run_worker(
            app.clone(),
            transport.clone(),
            stop_rx.clone(),
            std::time::Duration::from_secs(2),
        )));
    }
    workers.push(tokio::spawn(vsys_app::maintenance::run_scheduled(
        app.clone(),
        stop_rx.clone(),
        vsys_app::maintenance::TICK,
        std::time::Duration::from_secs(3600),
    )));
    workers.push(tokio::spawn(vsys_app::signal::run_follower(
        app.clone(),
        stop_rx.clone(),
    )));
    // The public site answers from its snapshot: the first is built before any request, the
    // next ones in the background after each change of the registry.
    vsys_app::public::refresh(&app)
        .await
        .map_err(|e| anyhow::anyhow!("building the public site's snapshot: {e}"))?;
    workers.push(tokio::spawn(vsys_app::public::run_follower(
        app.clone(),
        stop_rx.clone(),
    )));
    let grace = std::time::Duration::from_secs(app.config.shutdown_grace_secs);
    let state = AppState::new(app);
    let stop_tx = Arc::new(stop_tx);
    let (began_tx, began_rx) = tokio::sync::watch::channel(false);
    let stop_work = stop_tx.clone();
    let signalled = tokio::spawn(async move {
        shutdown.await;
        tracing::info!(
            grace_secs = grace.as_secs(),
            "shutting down: no new connections; requests in flight finish"
        );
        let _ = began_tx.send(true);
        // Background work stops beside the drain: a mail being sent is finished first.
        let _ = stop_work.send(true);
    });
    // Each listener stops accepting once the shutdown began.
    let began = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        if rx.wait_for(|b| *b).await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let main = axum::serve(
        listener,
        main_router(state.clone()).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(began(began_rx.clone()));
    let public = public.map(|l| {
        axum::serve(
            l,
            public_only_router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(began(began_rx.clone()))
    });
    let servers = async move {
        match public {
            Some(public) => tokio::try_join!(main.into_future(), public.into_future()).map(|_| ()),
            None => main.await,
        }
    };
    let mut began_rx = began_rx;
    let deadline = async move {
        if began_rx.wait_for(|b| *b).await.is_err() {
            std::future::pending::<()>().await;
        }
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        served = servers => served?,
        () = deadline => tracing::warn!(
            grace_secs = grace.as_secs(),
            "grace period over: connections still open are dropped"
        ),
    }
    signalled.abort();
    let _ = stop_tx.send(true);
    let background = async {
        for w in workers {
            let _ = w.await;
        }
    };
    if tokio::time::timeout(grace, background).await.is_err() {
        tracing::warn!(
            "background work still running after the grace period; a mail being sent keeps its lease and is retried by another worker after it runs out"
        );
    }
    tracing::info!("stopped");
    Ok(())
}
