//! In-process caches of expensive reads. Each entry remembers the counter of the change signal
//! (`vsys_store::coordination`) it was read under; a reader reads the counter in its own
//! transaction and takes the entry only if it is the same — so a cached read is never older
//! than the reader's snapshot, in this process or after another process's write, and no
//! use-case has to remember to invalidate anything: the repositories bump the counter in the
//! transaction of every write that could change what is cached.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};

/// A bounded map from a key to a value read under one counter value.
pub struct ReadCache<K, V> {
    entries: Mutex<HashMap<K, (i64, Arc<V>)>>,
    max_entries: usize,
}

impl<K: Eq + Hash, V> ReadCache<K, V> {
    /// A cache of at most `max_entries` (beyond, it starts afresh: a bound on memory).
    pub fn new(max_entries: usize) -> Self {
        ReadCache {
            entries: Mutex::new(HashMap::new()),
            max_entries,
        }
    }

    /// The value of `key`, if it was read under counter `version`.
    pub fn get(&self, key: &K, version: i64) -> Option<Arc<V>> {
        let map = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(key)
            .filter(|(v, _)| *v == version)
            .map(|(_, value)| value.clone())
    }

    /// Keeps `value`, read under counter `version`, for `key`.
    pub fn put(&self, key: K, version: i64, value: Arc<V>) {
        let mut map = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= self.max_entries && !map.contains_key(&key) {
            map.clear();
        }
        map.insert(key, (version, value));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_serves_only_under_its_counter() {
        let c: ReadCache<&str, i32> = ReadCache::new(2);
        c.put("a", 3, Arc::new(1));
        assert_eq!(c.get(&"a", 3).as_deref(), Some(&1));
        assert!(c.get(&"a", 4).is_none(), "the counter moved: not served");
        assert!(c.get(&"b", 3).is_none());
        c.put("b", 3, Arc::new(2));
        c.put("c", 3, Arc::new(3));
        assert!(c.len() <= 2, "bounded");
        assert_eq!(c.get(&"c", 3).as_deref(), Some(&3));
    }
}
