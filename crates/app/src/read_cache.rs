//! In-process caches of expensive reads. Each entry remembers the counter of the change signal
//! (`vsys_store::coordination`) it was read under; a reader reads the counter from the
//! database first (one statement, no transaction) and takes the entry only if it is the same
//! — so a cached read is never older than what the database held when the request asked, in
//! this process or after another process's write (a miss reads the data after the counter:
//! at least as new as it), and no
//! use-case has to remember to invalidate anything: the repositories bump the counter in the
//! transaction of every write that could change what is cached.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};

/// A bounded map from a key to a value made under one tag: by default the counter value it
/// was read under; [`Made`] for a value derived from another cached value.
pub struct ReadCache<K, V, T = i64> {
    entries: Mutex<HashMap<K, (T, Arc<V>)>>,
    max_entries: usize,
}

/// The tag of a value derived from a cached one (say, its serialised form): the very value it
/// was made from, compared by identity. Holding it keeps its address from being reused.
pub struct Made<X>(pub Arc<X>);

impl<X> PartialEq for Made<X> {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl<K: Eq + Hash, V, T: PartialEq> ReadCache<K, V, T> {
    /// A cache of at most `max_entries` (beyond, it starts afresh: a bound on memory).
    pub fn new(max_entries: usize) -> Self {
        ReadCache {
            entries: Mutex::new(HashMap::new()),
            max_entries,
        }
    }

    /// The value of `key`, if it was made under `tag`.
    pub fn get(&self, key: &K, tag: &T) -> Option<Arc<V>> {
        let map = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(key)
            .filter(|(t, _)| t == tag)
            .map(|(_, value)| value.clone())
    }

    /// Keeps `value`, made under `tag`, for `key`.
    pub fn put(&self, key: K, tag: T, value: Arc<V>) {
        let mut map = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= self.max_entries && !map.contains_key(&key) {
            map.clear();
        }
        map.insert(key, (tag, value));
    }

    /// Entries held now.
    pub fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<K: Eq + Hash, V> ReadCache<K, V> {
    /// The value of `key` as of the counter of `topic` now: read first (one statement, no
    /// transaction), then the entry made under it, or else `read` — which runs after the
    /// counter was read, so what it reads is at least as new — and is kept.
    pub(crate) async fn through<F, Fut>(
        &self,
        app: &crate::App,
        topic: &str,
        key: K,
        read: F,
    ) -> crate::AppResult<Arc<V>>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = crate::AppResult<V>>,
    {
        let version = vsys_store::coordination::version(&app.db, topic).await?;
        if let Some(v) = self.get(&key, &version) {
            return Ok(v);
        }
        let v = Arc::new(read().await?);
        self.put(key, version, v.clone());
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_serves_only_under_its_counter() {
        let c: ReadCache<&str, i32> = ReadCache::new(2);
        c.put("a", 3, Arc::new(1));
        assert_eq!(c.get(&"a", &3).as_deref(), Some(&1));
        assert!(c.get(&"a", &4).is_none(), "the counter moved: not served");
        assert!(c.get(&"b", &3).is_none());
        c.put("b", 3, Arc::new(2));
        c.put("c", 3, Arc::new(3));
        assert!(c.len() <= 2, "bounded");
        assert_eq!(c.get(&"c", &3).as_deref(), Some(&3));
    }

    #[test]
    fn a_derived_value_serves_only_for_the_value_it_was_made_from() {
        let c: ReadCache<&str, String, Made<i32>> = ReadCache::new(4);
        let source = Arc::new(7);
        c.put("a", Made(source.clone()), Arc::new("7".into()));
        assert_eq!(
            c.get(&"a", &Made(source.clone())).as_deref(),
            Some(&"7".to_owned())
        );
        let equal_but_another = Arc::new(7);
        assert!(c.get(&"a", &Made(equal_but_another)).is_none());
    }
}
