//! The message after a form succeeded: the handler redirects with `?flash=<key>` and the page
//! it lands on says it (so a reload never sends the form twice).

use crate::i18n::Ui;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

macro_rules! flashes {
    ($($name:ident = $key:literal => $ui:ident,)*) => {
        /// A message shown after a redirect.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Flash {
            $($name,)*
        }

        impl Flash {
            /// Its key in the URL.
            pub fn key(self) -> &'static str {
                match self {
                    $(Flash::$name => $key,)*
                }
            }

            pub fn parse(key: &str) -> Option<Flash> {
                match key {
                    $($key => Some(Flash::$name),)*
                    _ => None,
                }
            }

            /// What the page says.
            pub fn ui(self) -> Ui {
                match self {
                    $(Flash::$name => Ui::$ui,)*
                }
            }
        }
    };
}

flashes! {
    Password = "password" => PasswordChanged,
    UserCreated = "user_created" => UserCreated,
    UserSaved = "user_saved" => UserSaved,
    Unlocked = "unlocked" => Unlocked,
    Locked = "locked" => LockedFlash,
    RemindersSent = "reminders_sent" => RemindersSent,
    ArticleSaved = "article_saved" => ArticleSaved,
    ArticleDeleted = "article_deleted" => ArticleDeleted,
    AttachmentAdded = "attachment_added" => AttachmentAdded,
    AttachmentRemoved = "attachment_removed" => AttachmentRemoved,
    TotpReset = "totp_reset" => TotpWasReset,
    Reset = "reset" => PasswordResetDone,
    LoggedOut = "logged_out" => LoggedOut,
    Reservation = "reservation" => ReservationSaved,
    ReservationsUpdated = "reservations_updated" => ReservationsUpdated,
    SiteCreated = "site_created" => SiteCreated,
    ChangeApplied = "change_applied" => ChangeApplied,
    ChangeFiled = "change_filed" => ChangeFiled,
    ChangeApproved = "change_approved" => ChangeApproved,
    ChangeRejected = "change_rejected" => ChangeRejected,
    Confirmed = "confirmed" => InstitutionConfirmed,
    DetailsSaved = "details_saved" => DetailsSaved,
    HubSaved = "hub_saved" => HubSaved,
    DoctorAdded = "doctor_added" => DoctorAdded,
    DoctorRemoved = "doctor_removed" => DoctorRemoved,
    Received = "received" => ReceiptSaved,
    Transferred = "transferred" => TransferSaved,
    Corrected = "corrected" => CorrectionSaved,
    ResultsSaved = "results_saved" => ResultsSaved,
    PeriodOpened = "period_opened" => PeriodOpened,
    PeriodClosed = "period_closed" => PeriodClosedFlash,
    DeliveriesSaved = "deliveries_saved" => DeliveriesSaved,
    DeliveriesUnchanged = "deliveries_unchanged" => DeliveriesUnchanged,
    DeliveriesImported = "deliveries_imported" => DeliveriesImported,
    Reassigned = "reassigned" => Reassigned,
    TokenRevoked = "token_revoked" => TokenRevoked,
    AreasSaved = "areas_saved" => AreasSaved,
    DelivererInfoSaved = "deliverer_info_saved" => DelivererInfoSaved,
    DivisionSaved = "division_saved" => DivisionSaved,
    Autofilled = "autofilled" => AutofillSaved,
    AllocationConfirmed = "allocation_confirmed" => AllocationConfirmedFlash,
    DivisionFinished = "division_finished" => DivisionFinished,
    DivisionWithdrawn = "division_withdrawn" => DivisionWithdrawn,
    DivisionSentBack = "division_sent_back" => DivisionSentBack,
    DivisionFinalised = "division_finalised" => DivisionFinalised,
    DivisionImported = "division_imported" => DivisionImported,
    CycleCreated = "cycle_created" => CycleCreated,
    SupplySaved = "supply_saved" => SupplySaved,
    RequestSaved = "request_saved" => RequestSaved,
    FirstAdminCreated = "first_admin_created" => FirstAdminCreated,
    NoticesRead = "notices_read" => AllNoticesRead,
    NoticePublished = "notice_published" => NoticePublished,
    NoticeWithdrawn = "notice_withdrawn" => NoticeWithdrawn,
}

/// The query of a page that shows the message after a redirect.
#[derive(Deserialize, Default)]
pub struct FlashQuery {
    pub flash: Option<String>,
}

/// Back to `path` with a message (`anchor`, e.g. `#stock`, keeps the place on the page).
pub fn done(path: &str, flash: Flash, anchor: &str) -> Response {
    let sep = if path.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{path}{sep}flash={}{anchor}", flash.key())).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_read_back() {
        for f in [Flash::Password, Flash::Received, Flash::DelivererInfoSaved] {
            assert_eq!(Flash::parse(f.key()), Some(f));
        }
        assert_eq!(Flash::parse("nothing"), None);
        let r = done("/sites/1?x=1", Flash::HubSaved, "#hub");
        assert_eq!(
            r.headers().get("location").and_then(|v| v.to_str().ok()),
            Some("/sites/1?x=1&flash=hub_saved#hub")
        );
    }
}
