//! Closed sets of values that the database keeps as text (organisation kinds, roles, statuses
//! …). Each converts at the store's edge with `TryFrom<String>`: a stored value that is not one
//! of its codes is an error, never a silent default.

/// A stored value that names none of its type's codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{value}` stored")]
pub struct UnknownCode {
    pub what: &'static str,
    pub value: String,
}

/// Implements `TryFrom<String>` (for reading rows) and `Display` (its code) for a type with
/// `as_str`, given how to parse a code.
#[macro_export]
macro_rules! stored_code {
    ($t:ty, $what:literal, $parse:expr) => {
        impl TryFrom<String> for $t {
            type Error = $crate::code::UnknownCode;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                let parse: fn(&str) -> Option<$t> = $parse;
                parse(&s).ok_or($crate::code::UnknownCode {
                    what: $what,
                    value: s,
                })
            }
        }
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// Counts the idents given (for the length of a `code_enum!`'s `ALL`).
#[macro_export]
macro_rules! count_idents {
    () => { 0usize };
    ($head:ident $($tail:ident)*) => { 1usize + $crate::count_idents!($($tail)*) };
}

/// Defines a closed set of codes: the enum (each variant with its stored and serialised code),
/// `ALL` in order, `as_str`, `parse` (`None` for anything else), and what `stored_code!` adds.
/// The caller writes the derives it wants (at least `Clone, Copy, PartialEq`, and serde's).
#[macro_export]
macro_rules! code_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident as $what:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $code:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        // Every code is its variant's name in snake_case: the derives that cannot read the
        // per-variant names given through a macro (utoipa's) read this; a test holds the two
        // together.
        #[serde(rename_all = "snake_case")]
        $vis enum $name {
            $( $(#[$vmeta])* #[serde(rename = $code)] $variant ),+
        }
        impl $name {
            pub const ALL: [$name; $crate::count_idents!($($variant)+)] = [$($name::$variant),+];
            /// The stored and serialised code.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $code),+
                }
            }
            /// The value of a code; `None` for anything else.
            pub fn parse(s: &str) -> Option<$name> {
                $name::ALL.into_iter().find(|v| v.as_str() == s)
            }
        }
        $crate::stored_code!($name, $what, $name::parse);
    };
}

#[cfg(test)]
mod tests {
    use crate::chain::{Chain, Level, Status};
    use crate::org::{OrgKind, Role};

    /// The serialised name (what the API document lists) is the stored code, for every value
    /// of every code set.
    #[test]
    fn serialised_names_are_the_codes() {
        fn check<T: serde::Serialize + Copy>(all: &[T], code: fn(T) -> &'static str) {
            for v in all {
                assert_eq!(
                    serde_json::to_value(v).ok(),
                    Some(serde_json::json!(code(*v)))
                );
            }
        }
        check(&OrgKind::ALL, OrgKind::as_str);
        check(&Level::ALL, Level::as_str);
        check(&Status::ALL, Status::as_str);
        check(&Chain::ALL, Chain::as_str);
        check(&crate::units::Unit::ALL, crate::units::Unit::as_str);
        check(
            &crate::ledger::EntryKind::ALL,
            crate::ledger::EntryKind::as_str,
        );
        check(
            &crate::product::ProductKind::ALL,
            crate::product::ProductKind::as_str,
        );
        check(
            &crate::site::ContractStatus::ALL,
            crate::site::ContractStatus::as_str,
        );
        check(&crate::site::SiteType::ALL, crate::site::SiteType::as_str);
        check(
            &crate::site::Reservation::ALL,
            crate::site::Reservation::as_str,
        );
        check(&crate::access::Stage::ALL, crate::access::Stage::as_str);
    }

    #[test]
    fn unknown_stored_values_are_errors() {
        assert_eq!(
            OrgKind::try_from("wholesaler".to_owned()),
            Ok(OrgKind::Wholesaler)
        );
        assert!(OrgKind::try_from("Wholesaler".to_owned()).is_err());
        assert_eq!(Role::try_from("admin".to_owned()), Ok(Role::Admin));
        assert!(Role::try_from("root".to_owned()).is_err());
        assert!(Status::try_from("maybe".to_owned()).is_err());
        assert!(Level::try_from(String::new()).is_err());
        assert_eq!(Chain::try_from("priority".to_owned()), Ok(Chain::Priority));
        let e = Chain::try_from("other".to_owned()).err();
        assert_eq!(
            e.map(|e| e.to_string()),
            Some("unknown chain `other` stored".into())
        );
    }
}
