//! Validation results that name the field and carry a catalogue message.

use crate::i18n::{Lang, Msg};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// 1-based data row of an imported file, when the error is about one.
    pub row: Option<usize>,
    pub field: String,
    pub msg: Msg,
}

impl FieldError {
    pub fn new(field: &str, msg: Msg) -> Self {
        FieldError {
            row: None,
            field: field.to_owned(),
            msg,
        }
    }
    pub fn localized(&self, lang: Lang) -> LocalizedFieldError {
        LocalizedFieldError {
            row: self.row,
            field: self.field.clone(),
            message: self.msg.text(lang).to_owned(),
        }
    }
}

/// The serialisable form of a field error (`{row?, field, message}` in problem details).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LocalizedFieldError {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<usize>,
    pub field: String,
    pub message: String,
}

/// One or more field errors; the input as a whole was refused.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Invalid(pub Vec<FieldError>);

impl Invalid {
    pub fn one(field: &str, msg: Msg) -> Self {
        Invalid(vec![FieldError::new(field, msg)])
    }
    pub fn push(&mut self, field: &str, msg: Msg) {
        self.0.push(FieldError::new(field, msg));
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// `Ok(())` when nothing was pushed.
    pub fn into_result(self) -> Result<(), Invalid> {
        if self.0.is_empty() { Ok(()) } else { Err(self) }
    }
    pub fn has(&self, field: &str) -> bool {
        self.0.iter().any(|e| e.field == field)
    }
    pub fn message_for(&self, field: &str, lang: Lang) -> Option<&'static str> {
        self.0
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.msg.text(lang))
    }
}

/// A normalised e-mail address (trimmed, lower-cased), checked for a plausible shape.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Email, Msg> {
        let s = raw.trim().to_lowercase();
        if s.is_empty() {
            return Err(Msg::Required);
        }
        let Some((local, domain)) = s.split_once('@') else {
            return Err(Msg::InvalidEmail);
        };
        let ok = !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && s.len() <= 254
            && !s.chars().any(|c| c.is_whitespace() || c.is_control());
        if ok {
            Ok(Email(s))
        } else {
            Err(Msg::InvalidEmail)
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A person's display name: 1–100 characters after trimming.
pub fn person_name(raw: &str) -> Result<String, Msg> {
    let s = raw.trim();
    let n = s.chars().count();
    if n == 0 {
        Err(Msg::Required)
    } else if n > 100 || s.chars().any(char::is_control) {
        Err(Msg::InvalidName)
    } else {
        Ok(s.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(
            Email::parse(" A@Example.JP ").map(|e| e.0),
            Ok("a@example.jp".into())
        );
        assert_eq!(Email::parse(""), Err(Msg::Required));
        assert_eq!(Email::parse("nope"), Err(Msg::InvalidEmail));
        assert_eq!(Email::parse("a@b"), Err(Msg::InvalidEmail));
        assert_eq!(Email::parse("a b@c.jp"), Err(Msg::InvalidEmail));
    }

    #[test]
    fn names() {
        assert_eq!(person_name(" 山田 太郎 "), Ok("山田 太郎".into()));
        assert_eq!(person_name("  "), Err(Msg::Required));
        assert_eq!(person_name(&"あ".repeat(101)), Err(Msg::InvalidName));
    }
}
