//! The values the forms of a page show: the stored ones, or what was typed into a refused form,
//! so nothing typed is lost. Keys are `form.field` (a page has several forms).

use super::fields::FormMap;
use crate::session::CSRF_FIELD;
use std::collections::HashMap;

#[derive(Default)]
pub struct Vals(HashMap<String, String>);

impl Vals {
    /// The value of `form.field` (empty when there is none).
    pub fn get(&self, key: &str) -> &str {
        self.0.get(key).map(String::as_str).unwrap_or_default()
    }

    /// The value of `field` of `form`.
    pub fn of(&self, form: &str, field: &str) -> &str {
        self.get(&format!("{form}.{field}"))
    }

    /// Whether `form.field` holds `value` (the option selected).
    pub fn is(&self, key: &str, value: &str) -> bool {
        self.get(key) == value
    }

    /// Whether the box `form.field` is ticked.
    pub fn ticked(&self, key: &str) -> bool {
        !self.get(key).is_empty()
    }

    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.0.insert(key.to_owned(), value.into());
    }

    /// What was typed into `form` replaces the stored values (`checkboxes`: boxes that send
    /// nothing when unticked).
    pub fn overlay(&mut self, form: &str, typed: &FormMap, checkboxes: &[&str]) {
        for c in checkboxes {
            self.0.remove(&format!("{form}.{c}"));
        }
        for (k, v) in typed {
            if k != CSRF_FIELD {
                self.0.insert(format!("{form}.{k}"), v.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_values_replace_stored_ones() {
        let mut v = Vals::default();
        v.set("details.phone", "03");
        v.set("details.ok", "on");
        v.set("hub.site_type", "hub");
        let typed: FormMap = [("phone", "04"), (CSRF_FIELD, "t")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        v.overlay("details", &typed, &["ok"]);
        assert_eq!(v.get("details.phone"), "04");
        assert_eq!(v.of("details", "phone"), "04");
        assert!(!v.ticked("details.ok"));
        assert!(v.is("hub.site_type", "hub"));
        assert_eq!(v.get("details._csrf"), "");
    }
}
