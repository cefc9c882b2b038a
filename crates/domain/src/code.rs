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

#[cfg(test)]
mod tests {
    use crate::chain::{Chain, Level, Status};
    use crate::org::{OrgKind, Role};

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
