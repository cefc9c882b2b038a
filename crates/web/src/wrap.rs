//! Layers that look at a request before the rest of the stack and at its response after, as
//! plain tower services. `axum::middleware::from_fn` clones the whole stack inside it on every
//! request (the service it hands to `Next` must be owned), which for the outer layers of the
//! router is most of the router: measured on `/healthz`, one outer `from_fn` layer cost a fifth
//! of the server's throughput (docs/PERFORMANCE.md). A [`Wrap`] calls the inner service in
//! place instead. Only a layer that must wait *before* calling the rest (admission's queue,
//! `web::overload`) still needs `from_fn`; it sits innermost, where the clone is small.

use axum::extract::Request;
use axum::response::Response;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// What a layer does around the rest of the stack.
pub trait Wrap: Clone + Send + Sync + 'static {
    /// What [`Wrap::before`] hands to [`Wrap::after`].
    type Carry: Send + 'static;
    /// Looks at (and may change) the request; `Err` is answered at once, without the rest.
    fn before(&self, req: &mut Request) -> Result<Self::Carry, Box<Response>>;
    /// Looks at (and may change) the response of the rest (on a copy of the layer).
    fn after(self, carry: Self::Carry, res: Response) -> impl Future<Output = Response> + Send;
}

/// The layer of a [`Wrap`] (`Router::layer(WrapLayer(…))`).
#[derive(Clone, Copy, Debug, Default)]
pub struct WrapLayer<W>(pub W);

impl<W: Wrap, S> tower::Layer<S> for WrapLayer<W> {
    type Service = WrapService<W, S>;
    fn layer(&self, inner: S) -> Self::Service {
        WrapService {
            wrap: self.0.clone(),
            inner,
        }
    }
}

#[derive(Clone, Debug)]
pub struct WrapService<W, S> {
    wrap: W,
    inner: S,
}

impl<W, S> tower::Service<Request> for WrapService<W, S>
where
    W: Wrap,
    S: tower::Service<Request, Response = Response>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send + 'static>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        match self.wrap.before(&mut req) {
            Err(res) => Box::pin(std::future::ready(Ok(*res))),
            Ok(carry) => {
                let rest = self.inner.call(req);
                let wrap = self.wrap.clone();
                Box::pin(async move {
                    let res = rest.await?;
                    Ok(wrap.after(carry, res).await)
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::StatusCode;
    use tower::{Layer, ServiceExt};

    #[derive(Clone)]
    struct Tag;

    impl Wrap for Tag {
        type Carry = String;
        fn before(&self, req: &mut Request) -> Result<String, Box<Response>> {
            if req.uri().path() == "/refused" {
                let mut res = Response::new(Body::empty());
                *res.status_mut() = StatusCode::IM_A_TEAPOT;
                return Err(Box::new(res));
            }
            Ok(req.uri().path().to_owned())
        }
        async fn after(self, carry: String, mut res: Response) -> Response {
            if let Ok(v) = carry.parse() {
                res.headers_mut().insert("x-path", v);
            }
            res
        }
    }

    #[tokio::test]
    async fn before_may_answer_and_after_sees_the_response() {
        let inner = tower::service_fn(|_req: Request| async {
            Ok::<_, std::convert::Infallible>(Response::new(Body::empty()))
        });
        let svc = WrapLayer(Tag).layer(inner);
        let req = |p: &str| Request::builder().uri(p).body(Body::empty()).unwrap();
        let res = svc.clone().oneshot(req("/a")).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["x-path"], "/a");
        let res = svc.oneshot(req("/refused")).await.unwrap();
        assert_eq!(res.status(), StatusCode::IM_A_TEAPOT);
        assert!(res.headers().get("x-path").is_none());
    }
}
