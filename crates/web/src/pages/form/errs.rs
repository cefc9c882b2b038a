//! Why a form was refused, in the user's language: a message next to each field (named by the
//! label the screen shows), a summary above the form, and the status of the answer.

use crate::error::{PageError, classify};
use crate::i18n::{Ui, field_label};
use axum::http::StatusCode;
use vsys_app::AppError;
use vsys_domain::{Lang, Msg};

/// One reason a form was refused.
struct Reason {
    /// The field it is about (empty: the whole form).
    field: String,
    /// The field's label on the screen (empty: the whole form).
    label: String,
    /// The row of a table or a file it is about (1-based).
    row: Option<usize>,
    /// The catalogue message it was said with, when it was (the screen may reword it).
    msg: Option<Msg>,
    text: String,
}

/// The reasons a form of a page was refused (none when the page is shown as asked). A page
/// with several forms shows them above and in the form named by [`Errs::form`].
#[derive(Default)]
pub struct Errs {
    form: String,
    lang: Lang,
    title: &'static str,
    status: StatusCode,
    reasons: Vec<Reason>,
}

/// The label of a field as screens name it (the field's own name when there is none).
pub fn label(field: &str, lang: Lang) -> String {
    match field_label(field, lang) {
        "" => field.to_owned(),
        l => l.to_owned(),
    }
}

/// "3行目 " / "Row 3, ": the row of a table or a file a reason is about.
fn at_row(row: usize, lang: Lang) -> String {
    match lang {
        Lang::Ja => format!("{row}行目 "),
        Lang::En => format!("Row {row}, "),
    }
}

impl Errs {
    /// Nothing refused.
    pub fn none() -> Errs {
        Errs::default()
    }

    /// The status of the answer to a form a use-case refused for `e`, or `None` when `e` is not
    /// about the form (it becomes an error page, or the way to the login).
    pub fn status_of(e: &AppError) -> Option<StatusCode> {
        match e {
            AppError::Invalid(_) | AppError::Csv(_) => Some(StatusCode::UNPROCESSABLE_ENTITY),
            AppError::BadParameter(_) => Some(StatusCode::BAD_REQUEST),
            AppError::Conflict | AppError::State(_) => Some(StatusCode::CONFLICT),
            _ => None,
        }
    }

    /// `form` refused by a use-case for `e`: the page again with the reasons, or, when `e` is
    /// not about the form, the error page it becomes.
    pub fn refused(form: &str, e: AppError, lang: Lang) -> Result<Errs, PageError> {
        match Errs::status_of(&e) {
            Some(_) => Ok(Errs::of(form, &e, lang)),
            None => Err(PageError(e, lang)),
        }
    }

    /// `e` as the reasons `form` was refused: each invalid field, each line of a refused file,
    /// the wrong state or the conflict.
    pub fn of(form: &str, e: &AppError, lang: Lang) -> Errs {
        let title = match e {
            AppError::Invalid(_) | AppError::Csv(_) => Msg::InvalidInput,
            AppError::State(_) => Msg::WrongState,
            other => other.msg(),
        };
        let status = Errs::status_of(e).unwrap_or_else(|| classify(e).0);
        let mut errs = Errs::new(form, title, status, lang);
        match e {
            AppError::Invalid(inv) | AppError::BadParameter(inv) => {
                for f in &inv.0 {
                    errs.add(&f.field, f.row, Some(f.msg), f.msg.text(lang).to_owned());
                }
            }
            AppError::Csv(t) => {
                for line in t.message(lang).lines() {
                    errs.push("", None, line);
                }
            }
            other => {
                let text = other
                    .detail(lang)
                    .unwrap_or_else(|| other.text(lang).to_owned());
                errs.add("", None, Some(other.msg()), text);
            }
        }
        errs
    }

    /// A refusal the screen words itself (add the reasons with [`Errs::push`]).
    pub fn new(form: &str, title: Msg, status: StatusCode, lang: Lang) -> Errs {
        Errs {
            form: form.to_owned(),
            lang,
            title: title.text(lang),
            status,
            reasons: Vec::new(),
        }
    }

    /// Adds a reason about `field` (empty: the whole form), of `row` of a table or file.
    pub fn push(&mut self, field: &str, row: Option<usize>, text: impl Into<String>) {
        self.add(field, row, None, text.into());
    }

    fn add(&mut self, field: &str, row: Option<usize>, msg: Option<Msg>, text: String) {
        let label = if field.is_empty() {
            String::new()
        } else {
            label(field, self.lang)
        };
        self.reasons.push(Reason {
            field: field.to_owned(),
            label,
            row,
            msg,
            text,
        });
    }

    /// Names `field` as this form does where it differs from the common label.
    pub fn label(mut self, field: &str, u: Ui) -> Errs {
        for r in self.reasons.iter_mut().filter(|r| r.field == field) {
            r.label = u.text(self.lang).to_owned();
        }
        self
    }

    /// Names `field` with a label of the screen's own catalogue (the public site's words).
    pub fn named(mut self, field: &str, label: &str) -> Errs {
        for r in self.reasons.iter_mut().filter(|r| r.field == field) {
            r.label = label.to_owned();
        }
        self
    }

    /// Says `msg` about `field` in the screen's own words.
    pub fn reword(mut self, field: &str, msg: Msg, u: Ui) -> Errs {
        for r in self
            .reasons
            .iter_mut()
            .filter(|r| r.field == field && r.msg == Some(msg))
        {
            r.text = u.text(self.lang).to_owned();
        }
        self
    }

    /// Says `msg` about `field` with a text the screen made (one naming what was typed).
    pub fn reword_with(mut self, field: &str, msg: Msg, text: impl Fn(Lang) -> String) -> Errs {
        for r in self
            .reasons
            .iter_mut()
            .filter(|r| r.field == field && r.msg == Some(msg))
        {
            r.text = text(self.lang);
        }
        self
    }

    /// Names the rows of `field`'s reasons by what they are about (an area's code) instead of
    /// their numbers.
    pub fn rows_named(mut self, field: &str, name: impl Fn(usize) -> Option<String>) -> Errs {
        for r in self.reasons.iter_mut().filter(|r| r.field == field) {
            if let Some(n) = r.row.and_then(&name) {
                r.text = format!("{n}: {}", r.text);
                r.row = None;
            }
        }
        self
    }

    /// Moves every reason to the row `renumber` gives its row (the line of the page a row sent
    /// was on; `None`: no row), in the order of the rows.
    pub fn renumber(mut self, renumber: impl Fn(usize) -> Option<usize>) -> Errs {
        for r in &mut self.reasons {
            r.row = r.row.and_then(&renumber);
        }
        self.reasons.sort_by_key(|r| r.row);
        self
    }

    /// Adds a line about the whole form.
    pub fn note(mut self, text: &str) -> Errs {
        self.push("", None, text);
        self
    }

    /// The form refused (empty when none was).
    pub fn form(&self) -> &str {
        &self.form
    }

    /// What the summary says first ("入力内容に誤りがあります。", …).
    pub fn title(&self) -> &'static str {
        self.title
    }

    /// The status of the answer (200 when nothing was refused).
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Whether a form was refused.
    pub fn any(&self) -> bool {
        !self.reasons.is_empty()
    }

    /// Whether `form` was refused (its summary is shown above it).
    pub fn on(&self, form: &str) -> bool {
        self.form == form && self.any()
    }

    /// Whether the form `form` of one item (`correct:<entry id>`) was refused.
    pub fn on_item(&self, form: &str, item: &str) -> bool {
        self.form
            .strip_prefix(form)
            .and_then(|f| f.strip_prefix(':'))
            == Some(item)
            && self.any()
    }

    /// The message shown next to `field` of `form` (several joined).
    pub fn at(&self, form: &str, field: &str) -> Option<String> {
        if self.form != form {
            return None;
        }
        let found: Vec<&str> = self
            .reasons
            .iter()
            .filter(|r| r.field == field)
            .map(|r| r.text.as_str())
            .collect();
        (!found.is_empty()).then(|| found.join(" / "))
    }

    /// Whether `field` of `row` was refused.
    pub fn bad(&self, row: usize, field: &str) -> bool {
        self.reasons
            .iter()
            .any(|r| r.row == Some(row) && r.field == field)
    }

    /// Every reason as the summary lists it: "3行目 ロット: …", "氏名: …", or the message alone.
    pub fn summary(&self) -> Vec<String> {
        self.reasons
            .iter()
            .map(|r| {
                let at = r.row.map(|n| at_row(n, self.lang)).unwrap_or_default();
                format!("{at}{}", Errs::line(r))
            })
            .collect()
    }

    /// The reasons of `row` as its line of a table shows them: field, "label: message".
    pub fn of_row(&self, row: usize) -> Vec<(String, String)> {
        self.reasons
            .iter()
            .filter(|r| r.row == Some(row))
            .map(|r| (r.field.clone(), Errs::line(r)))
            .collect()
    }

    /// Every reason as field, "label: message" (for a line of a table the form was about).
    pub fn lines(&self) -> Vec<(String, String)> {
        self.reasons
            .iter()
            .map(|r| (r.field.clone(), Errs::line(r)))
            .collect()
    }

    fn line(r: &Reason) -> String {
        if r.label.is_empty() {
            r.text.clone()
        } else {
            format!("{}: {}", r.label, r.text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vsys_domain::{FieldError, Invalid};

    #[test]
    fn field_errors_with_labels_rows_and_status() {
        let mut inv = Invalid::default();
        inv.push("lot", Msg::Required);
        inv.0.push(FieldError::at_row(2, "note", Msg::InvalidInput));
        let e = Errs::of("bulk", &AppError::Invalid(inv), Lang::Ja);
        assert_eq!(e.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(e.title(), Msg::InvalidInput.text(Lang::Ja));
        assert!(e.on("bulk") && !e.on("import"));
        assert_eq!(
            e.at("bulk", "lot").as_deref(),
            Some(Msg::Required.text(Lang::Ja))
        );
        assert_eq!(e.at("import", "lot"), None);
        assert_eq!(
            e.summary(),
            [
                format!(
                    "{}: {}",
                    Ui::Lot.text(Lang::Ja),
                    Msg::Required.text(Lang::Ja)
                ),
                format!(
                    "2行目 {}: {}",
                    Ui::Note.text(Lang::Ja),
                    Msg::InvalidInput.text(Lang::Ja)
                ),
            ]
        );
        assert!(e.bad(2, "note") && !e.bad(1, "note"));
        let e = e.renumber(|r| (r == 2).then_some(7));
        assert_eq!(e.of_row(7).len(), 1);
    }

    #[test]
    fn what_is_not_about_the_form_is_an_error_page() {
        assert!(Errs::refused("x", AppError::Forbidden, Lang::Ja).is_err());
        let e =
            Errs::refused("x", AppError::State(Msg::ChangeDecided), Lang::En).unwrap_or_default();
        assert_eq!(e.status(), StatusCode::CONFLICT);
        assert_eq!(e.title(), Msg::WrongState.text(Lang::En));
        assert_eq!(e.summary(), [Msg::ChangeDecided.text(Lang::En)]);
        assert!(!Errs::none().any());
        assert_eq!(Errs::none().status(), StatusCode::OK);
    }

    #[test]
    fn screens_name_and_word_their_own() {
        let mut inv = Invalid::default();
        inv.push("name", Msg::Required);
        inv.push("received_on", Msg::FutureDay);
        inv.0.push(FieldError::at_row(1, "areas", Msg::UnknownOrg));
        let e = Errs::of("f", &AppError::Invalid(inv), Lang::Ja)
            .label("name", Ui::DoctorName)
            .reword("received_on", Msg::FutureDay, Ui::InboundFuture)
            .rows_named("areas", |_| Some("13101".into()));
        let s = e.summary();
        assert!(s[0].starts_with(Ui::DoctorName.text(Lang::Ja)), "{s:?}");
        assert!(s[1].ends_with(Ui::InboundFuture.text(Lang::Ja)), "{s:?}");
        assert!(s[2].contains(": 13101: "), "{s:?}");
        assert!(e.on_item("f", "") || !e.on_item("f", "x"));
    }
}
