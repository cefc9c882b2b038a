//! How a page with forms is shown: as asked (with the message after a redirect), or after a
//! refused form, with the reasons and what was typed into it.

use super::errs::Errs;
use super::fields::FormMap;
use super::vals::Vals;
use crate::error::PageError;
use vsys_app::AppError;
use vsys_domain::Lang;

#[derive(Default)]
pub struct Shown {
    /// Why a form was refused (none: the page as asked).
    pub errs: Errs,
    /// What was typed into the refused form (none after a conflict: the stored values are
    /// shown, with their version).
    pub typed: Option<FormMap>,
    /// The message after a redirect (`?flash=`).
    pub flash: Option<String>,
}

impl Shown {
    /// The page as asked, with the message after a redirect.
    pub fn asked(flash: Option<String>) -> Shown {
        Shown {
            flash,
            ..Shown::default()
        }
    }

    /// The page after a use-case refused `form` for `e`: the reasons, and what was typed into
    /// it — but after a conflict the stored values, with the version they have now. An error
    /// that is not about the form is the error page.
    pub fn after(form: &str, e: AppError, typed: FormMap, lang: Lang) -> Result<Shown, PageError> {
        let conflict = matches!(e, AppError::Conflict);
        Ok(Shown {
            errs: Errs::refused(form, e, lang)?,
            typed: (!conflict).then_some(typed),
            flash: None,
        })
    }

    /// The page after the screen itself refused a form (`errs`), showing what was typed.
    pub fn refused(errs: Errs, typed: FormMap) -> Shown {
        Shown {
            errs,
            typed: Some(typed),
            flash: None,
        }
    }

    /// The stored values with what was typed into the refused form over them (`checkboxes`:
    /// boxes that send nothing when unticked). A form of one item (`correct:<id>`) keeps its
    /// values under the form's name.
    pub fn vals(&self, mut stored: Vals, checkboxes: &[&str]) -> Vals {
        if let Some(t) = &self.typed {
            let form = self.errs.form().split(':').next().unwrap_or_default();
            stored.overlay(form, t, checkboxes);
        }
        stored
    }
}
