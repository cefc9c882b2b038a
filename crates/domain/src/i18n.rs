//! Languages and the message catalogue. Japanese is the default; English is the switch.
//!
//! Every message a user can read is a variant of a catalogue enum made by [`catalog!`], so a
//! message can never exist in one language only.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Ja,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }

    /// Parses a language code ("ja", "en", "en-US", …); unknown codes give `None`.
    pub fn parse(code: &str) -> Option<Lang> {
        let primary = code.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "ja" => Some(Lang::Ja),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// Picks the first supported language of an `Accept-Language` header, by quality.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',') {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or_default();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            if let Some(lang) = Lang::parse(tag)
                && best.is_none_or(|(bq, _)| q > bq)
            {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l)
    }
}

/// Defines a catalogue enum whose every variant has a Japanese and an English text.
#[macro_export]
macro_rules! catalog {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($variant:ident => ($ja:expr, $en:expr)),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        $vis enum $name { $($variant),* }
        impl $name {
            pub fn text(self, lang: $crate::i18n::Lang) -> &'static str {
                match (self, lang) {
                    $(($name::$variant, $crate::i18n::Lang::Ja) => $ja,
                      ($name::$variant, $crate::i18n::Lang::En) => $en,)*
                }
            }
            pub fn key(self) -> &'static str {
                match self { $($name::$variant => stringify!($variant)),* }
            }
            pub const ALL: &'static [$name] = &[$($name::$variant),*];
        }
    };
}

catalog! {
    /// Messages of the rules themselves (validation, access, authentication).
    pub enum Msg {
        Required => ("入力してください。", "This field is required."),
        InvalidEmail => ("メールアドレスの形式が正しくありません。", "This is not a valid e-mail address."),
        EmailTaken => ("このメールアドレスは既に使われています。", "This e-mail address is already in use."),
        PasswordTooShort => ("パスワードは12文字以上にしてください。", "The password must be at least 12 characters long."),
        PasswordTooLong => ("パスワードは256文字以内にしてください。", "The password must be at most 256 characters long."),
        PasswordIsEmail => ("パスワードにメールアドレスを使うことはできません。", "The password must not be your e-mail address."),
        PasswordTooCommon => ("このパスワードはよく使われており安全ではありません。別のパスワードにしてください。", "This password is too common to be safe. Choose another."),
        PasswordRepetitive => ("同じ文字の繰り返しや連続した文字だけのパスワードは使えません。", "A password of one repeated character or a simple sequence is not allowed."),
        PasswordUnchanged => ("新しいパスワードは現在のパスワードと異なるものにしてください。", "The new password must differ from the current one."),
        PasswordMismatch => ("確認用のパスワードが一致しません。", "The confirmation does not match the new password."),
        CurrentPasswordWrong => ("現在のパスワードが正しくありません。", "The current password is incorrect."),
        LoginFailed => ("メールアドレスまたはパスワードが正しくありません。", "The e-mail address or password is incorrect."),
        LoginThrottled => ("ログインの失敗が続いたため、しばらくログインできません。時間をおいて再度お試しください。", "Too many failed attempts. Please wait and try again later."),
        AccountLocked => ("このアカウントはロックされています。所属組織の管理者に解除を依頼してください。", "This account is locked. Ask an administrator of your organisation to unlock it."),
        AccountDisabled => ("このアカウントは無効です。", "This account is disabled."),
        TotpRequired => ("確認コード（6桁）を入力してください。", "Enter the 6-digit verification code."),
        TotpInvalid => ("確認コードが正しくありません。", "The verification code is incorrect."),
        TotpSetupRequired => ("この役割では二要素認証の設定が必要です。", "Your role requires two-factor authentication to be set up."),
        PasswordChangeRequired => ("初回ログインのため、パスワードを変更してください。", "Please change your password before continuing."),
        SessionExpired => ("一定時間操作がなかったため、ログアウトしました。再度ログインしてください。", "You were logged out after a period of inactivity. Please log in again."),
        NotLoggedIn => ("ログインしてください。", "Please log in."),
        Forbidden => ("この操作を行う権限がありません。", "You are not allowed to do this."),
        NotFound => ("指定されたデータは見つかりません。", "The requested item was not found."),
        Conflict => ("他の利用者がこのデータを変更しました。画面を更新してからやり直してください。", "Someone else changed this item. Reload and try again."),
        PreconditionRequired => ("更新には If-Match ヘッダーが必要です。", "Updates require an If-Match header."),
        CsrfRejected => ("画面の有効期限が切れました。画面を再読み込みしてからやり直してください。", "This form has expired. Reload the page and try again."),
        InvalidInput => ("入力内容に誤りがあります。", "Some of the input is invalid."),
        InvalidOrgCode => ("組織コードの形式が正しくありません。", "The organisation code is not valid."),
        UnknownOrg => ("組織コードが見つかりません。", "No organisation has this code."),
        InvalidRole => ("役割は admin / operator / viewer のいずれかです。", "The role must be admin, operator or viewer."),
        InvalidName => ("氏名は1文字以上100文字以内で入力してください。", "The name must be 1 to 100 characters."),
        LastAdmin => ("組織の最後の管理者は無効にできません。", "The last administrator of an organisation cannot be disabled."),
        Internal => ("システムエラーが発生しました。時間をおいて再度お試しください。", "Something went wrong. Please try again later."),
        Unavailable => ("現在サービスを利用できません。", "The service is unavailable right now."),
        AllocationOverParent => ("分配量の合計が、分配できる最大量を超えています。", "The total exceeds the amount available to divide."),
        NegativeAmount => ("分配量に負の数は入力できません。", "An amount cannot be negative."),
        DuplicateLine => ("同じ組織が2回入力されています。", "The same organisation appears twice."),
        BelowChildrenSum => ("この組織が既に管下へ分配した量より少なくはできません。", "This is less than the organisation has already divided among its own children."),
        ChildrenNotDivided => ("分配が完了していない組織があります。", "Some organisations have not finished dividing."),
        NegativeNumber => ("負の数は入力できません。", "Negative numbers are not allowed."),
        RequestOverCapacity => ("納品希望量は接種可能量以下にしてください。", "The requested amount cannot exceed the capacity."),
        DeadlinePassed => ("このクールの登録期限を過ぎています。", "The deadline of this cycle has passed."),
        WrongUnit => ("単位が正しくありません。", "The unit is not valid here."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_prefers_quality() {
        assert_eq!(
            Lang::from_accept_language("en-US,en;q=0.9,ja;q=0.8"),
            Some(Lang::En)
        );
        assert_eq!(
            Lang::from_accept_language("fr, ja;q=0.5, en;q=0.4"),
            Some(Lang::Ja)
        );
        assert_eq!(Lang::from_accept_language("fr"), None);
    }

    #[test]
    fn every_message_has_both_languages() {
        for m in Msg::ALL {
            assert!(!m.text(Lang::Ja).is_empty(), "{}", m.key());
            assert!(!m.text(Lang::En).is_empty(), "{}", m.key());
            assert_ne!(m.text(Lang::Ja), m.text(Lang::En), "{}", m.key());
        }
    }
}
