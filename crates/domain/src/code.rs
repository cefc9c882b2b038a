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
