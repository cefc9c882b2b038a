//! The one form kit of the screens. A handler reads the fields as people type them
//! ([`text`], [`number`], [`date`], … with full-width digits as ASCII), calls one use-case, and
//! either redirects with a message ([`done`] with a [`Flash`]) or shows the page again with the
//! reasons ([`Errs`]: next to each field with the field's label, a summary above the form, and
//! the status of the answer: 422 invalid, 409 conflict or wrong state) and what was typed
//! ([`Vals`]); [`Shown`] carries the three to the page. The templates show them with the
//! macros of `form_macros.html`.

mod errs;
mod fields;
mod flash;
mod shown;
mod vals;

pub use errs::{Errs, label};
pub use fields::{
    FormMap, ascii_digits, date, day, decimal, digits, number, opt, optional_number, text,
    uploaded_file, version, whole,
};
pub use flash::{Flash, FlashQuery, done};
pub use shown::Shown;
pub use vals::Vals;
