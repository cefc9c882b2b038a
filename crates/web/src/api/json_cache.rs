//! The JSON of values the application's read caches hand out, serialised once per value. The
//! application hands out the same `Arc` until something the value shows changes (see
//! `vsys_app::read_cache`), so while the `Arc` is the same its JSON is too.

use crate::error::ApiError;
use axum::body::Bytes;
use serde::Serialize;
use std::sync::Arc;
use vsys_app::read_cache::{Made, ReadCache};
use vsys_domain::Lang;

/// Serialised forms of cached values of type `X` (or of a part `K` of one), keyed by the
/// value's address and the part; each entry's tag holds the value itself, so that address is
/// not reused while the entry lives.
pub struct JsonOf<X, K = ()>(ReadCache<(usize, K), Bytes, Made<X>>);

impl<X, K: Eq + std::hash::Hash> JsonOf<X, K> {
    pub fn new(max_entries: usize) -> Self {
        JsonOf(ReadCache::new(max_entries))
    }

    /// The JSON of the part `part` of `x` as `wire` makes it, made once per value and part.
    pub fn get_or_make_part<W: Serialize>(
        &self,
        x: &Arc<X>,
        part: K,
        wire: impl FnOnce(&X) -> W,
        lang: Lang,
    ) -> Result<Bytes, ApiError> {
        let key = (Arc::as_ptr(x) as usize, part);
        if let Some(body) = self.0.get(&key, &Made(x.clone())) {
            return Ok((*body).clone());
        }
        let body = Bytes::from(
            serde_json::to_vec(&wire(x))
                .map_err(|e| ApiError::new(vsys_app::AppError::Internal(e.into()), lang))?,
        );
        self.0.put(key, Made(x.clone()), Arc::new(body.clone()));
        Ok(body)
    }
}

impl<X> JsonOf<X> {
    /// The JSON of `x` as `wire` makes it, made once per value.
    pub fn get_or_make<W: Serialize>(
        &self,
        x: &Arc<X>,
        wire: impl FnOnce(&X) -> W,
        lang: Lang,
    ) -> Result<Bytes, ApiError> {
        self.get_or_make_part(x, (), wire, lang)
    }
}

/// The JSON caches of the API, one per kind of cached value.
pub struct JsonCaches {
    pub divisions: JsonOf<vsys_app::allocation::Division>,
    /// A page of organisations; the application caches it per filter and page, so the page
    /// numbers in its JSON are the same for the same value.
    pub org_lists: JsonOf<vsys_app::orgs::ListPage>,
    /// A page of sites, likewise.
    pub site_lists: JsonOf<vsys_app::sites::ListPage>,
}

impl Default for JsonCaches {
    fn default() -> Self {
        JsonCaches {
            divisions: JsonOf::new(vsys_app::allocation::CACHED_DIVISIONS),
            org_lists: JsonOf::new(vsys_app::CACHED_LIST_PAGES),
            site_lists: JsonOf::new(vsys_app::CACHED_LIST_PAGES),
        }
    }
}
