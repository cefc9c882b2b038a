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
        LoginFailed => ("メールアドレスまたはパスワードが正しくないか、このアカウントは現在利用できません。解決しない場合は所属組織の管理者にお問い合わせください。", "The e-mail address or password is incorrect, or the account cannot be used right now. If this persists, ask an administrator of your organisation."),
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
        ControlCharacter => ("制御文字（NUL など）は入力できません。", "Control characters (such as NUL) are not allowed."),
        PageOutOfRange => ("page は 1 から 1000000 までの整数で指定してください。", "page must be an integer from 1 to 1000000."),
        PerPageOutOfRange => ("per_page は 1 から 500 までの整数で指定してください。", "per_page must be an integer from 1 to 500."),
        BadParameter => ("パラメータの値が正しくありません。", "A parameter has an invalid value."),
        BadBody => ("リクエスト本文を読み取れません。", "The request body cannot be read."),
        NumberOutOfRange => ("数値が大きすぎるか、範囲外です。", "The number is too large or out of range."),
        WrongState => ("現在の状態ではこの操作はできません。", "This cannot be done in the current state."),
        TotpAlreadySet => ("二要素認証は既に設定されています。設定し直すには、別の管理者にリセットを依頼してください。", "Two-factor authentication is already set up. To set it up again, ask another administrator to reset it."),
        LocalLinkOnly => ("リンクはこのシステム内のパス（/ で始まる）だけを指定できます。", "Links must be paths inside this system (starting with /)."),
        PeriodTooLong => ("期間は366日以内にしてください。", "A period can be at most 366 days."),
        UriTooLong => ("URL が長すぎます。", "The URL is too long."),
        BodyTooLarge => ("送信されたデータが大きすぎます。", "The request is too large."),
        UnsupportedMediaType => ("送信されたデータの形式（Content-Type）には対応していません。", "This content type is not supported here."),
        MethodNotAllowed => ("この URL ではこの操作（HTTP メソッド）は使えません。", "This method is not allowed on this URL."),
        AlreadyLocked => ("このアカウントは既にロックされています。", "This account is already locked."),
        OwnLock => ("自分のアカウントはロックできません。", "You cannot lock your own account."),
        AllocationFinalised => ("この分配は確定済のため、変更できません。", "This allocation is finalised (確定) and cannot be changed."),
        AllocationWrongStatus => ("現在の状態ではこの操作はできません。画面を更新して、状態（未確認・確認済・分配完了・確定）を確かめてください。", "This cannot be done in the allocation's current status. Reload and check its status (unconfirmed, confirmed, divided, finalised)."),
        AllocationNotReleased => ("上位の組織がまだ分配完了にしていないため、この操作はできません。", "The organisation above has not finished dividing (分配完了) yet."),
        AwaitingNation => ("国が市町村への分配量を確定するまで、この操作はできません。", "This waits until the nation has finalised the amounts for municipalities."),
        ChangeDecided => ("この変更申請は既に承認または却下されています。", "This change has already been approved or rejected."),
        WrongLoginStep => ("ログインの手順が正しくありません。最初からログインし直してください。", "This login step is not the one due. Start the login again."),
        NotSupplier => ("供給量は、その製品を供給する組織（製品の登録者）として登録してください。", "Supply is registered by the organisation that supplies the product (its owner)."),
        OnlyVaccineReassigned => ("卸業者を変更できるのはワクチンの配送だけです。針・シリンジは供給元の倉庫から配送されます。", "Only vaccine lines can go to another wholesaler; needles and syringes come from the warehouse that supplies them."),
        InvalidInput => ("入力内容に誤りがあります。", "Some of the input is invalid."),
        InvalidOrgCode => ("組織コードの形式が正しくありません。", "The organisation code is not valid."),
        UnknownOrg => ("組織コードが見つかりません。", "No organisation has this code."),
        InvalidRole => ("役割は admin / operator / viewer のいずれかです。", "The role must be admin, operator or viewer."),
        InvalidName => ("氏名は1文字以上100文字以内で入力してください。", "The name must be 1 to 100 characters."),
        OwnTotpReset => ("自分の二要素認証はリセットできません。別の管理者に依頼してください。", "You cannot reset your own two-factor authentication. Ask another administrator."),
        TotpNotSet => ("この利用者は二要素認証を設定していません。", "This user has not set up two-factor authentication."),
        NoRequestsInPriority => ("このクールは医療従事者等の先行接種のため、集団接種会場は希望量を登録しません（医療機関に都道府県が直接分配します）。", "This cycle is the priority programme: municipal sites register no requests (the prefecture allocates to medical institutions directly)."),
        WithdrawAfterChildActed => ("管下の組織がすでに確認済にしているため、分配完了を取り消せません。見直しが必要な組織には、その組織の分配を差し戻すか、連絡してください。", "A child has already confirmed its amount, so the division can no longer be withdrawn. Send the affected division back, or contact them."),
        BackupTargetExists => ("バックアップ先のファイルが既にあります。上書きはしません。別のファイル名を指定してください。", "The backup file already exists and is never overwritten. Choose another name."),
        LastAdmin => ("組織の最後の管理者は無効にできません。", "The last administrator of an organisation cannot be disabled."),
        Internal => ("システムエラーが発生しました。時間をおいて再度お試しください。", "Something went wrong. Please try again later."),
        Unavailable => ("現在サービスを利用できません。", "The service is unavailable right now."),
        Busy => ("ただいま混み合っているため、この操作は実行されていません。しばらくしてから再度お試しください。", "The service is busy right now; your request was not carried out. Please try again in a moment."),
        TooManyAtOnce => ("同時に送られたリクエストが多すぎます。しばらくしてから再度お試しください。", "Too many requests at once. Please try again in a moment."),
        RateLimited => ("短い時間に多くのリクエストが送られました。しばらく待ってから再度お試しください。", "Too many requests in a short time. Please wait a moment and try again."),
        AllocationOverParent => ("分配量の合計が、分配できる最大量を超えています。", "The total exceeds the amount available to divide."),
        NegativeAmount => ("分配量に負の数は入力できません。", "An amount cannot be negative."),
        DuplicateLine => ("同じ組織が2回入力されています。", "The same organisation appears twice."),
        BelowChildrenSum => ("この組織が既に管下へ分配した量より少なくはできません。", "This is less than the organisation has already divided among its own children."),
        ChildrenNotDivided => ("分配が完了していない組織があります。", "Some organisations have not finished dividing."),
        NegativeNumber => ("負の数は入力できません。", "Negative numbers are not allowed."),
        RequestOverCapacity => ("納品希望量は接種可能量以下にしてください。", "The requested amount cannot exceed the capacity."),
        DeadlinePassed => ("このクールの登録期限を過ぎています。", "The deadline of this cycle has passed."),
        DeadlineOrder => ("締切は 都道府県 ≤ 市町村 ≤ 医療機関 の順にしてください。", "Deadlines must run prefecture ≤ municipality ≤ site."),
        WrongUnit => ("単位が正しくありません。", "The unit is not valid here."),
        TooLong => ("入力が長すぎます。", "This is too long."),
        InvalidPhone => ("電話番号は市外局番から、数字とハイフンで入力してください（例：03-1234-5678）。", "Enter the phone number with its area code, in digits and hyphens (e.g. 03-1234-5678)."),
        InvalidUrl => ("URLは https:// または http:// で始まる形式で入力してください。", "Enter a URL starting with https:// or http://."),
        InvalidPostalCode => ("郵便番号は7桁の数字で入力してください（例：105-8511）。", "Enter the postal code as 7 digits (e.g. 105-8511)."),
        UnknownPostalCode => ("この郵便番号は見つかりません。", "This postal code does not exist."),
        InvalidLatitude => ("緯度は -90 から 90 までの数値で指定してください（施設の緯度は日本国内）。", "The latitude must be a number from -90 to 90 (a site's must be in Japan)."),
        InvalidLongitude => ("経度は -180 から 180 までの数値で指定してください（施設の経度は日本国内）。", "The longitude must be a number from -180 to 180 (a site's must be in Japan)."),
        CoordinatesTogether => ("緯度と経度は両方とも入力してください。", "Enter both the latitude and the longitude."),
        InvalidRadius => ("radius_km は 0.1 から 100 までの数値で指定してください。", "radius_km must be a number from 0.1 to 100."),
        RadiusNeedsPoint => ("radius_km には lat と lng（または郵便番号）が必要です。", "radius_km needs lat and lng (or a postal code)."),
        UnknownPrefecture => ("都道府県コードは 01 から 47 までの2桁です。", "The prefecture code is two digits from 01 to 47."),
        UnknownMunicipality => ("この市町村コードは見つかりません。", "No municipality has this code."),
        UnknownVaccine => ("このワクチンは登録されていません。", "No vaccine has this id."),
        InvalidReservation => ("予約状況は available, few, none, not_needed, unregistered のいずれかです。", "The reservation status must be one of available, few, none, not_needed, unregistered."),
        InvalidReservationWord => ("予約状況は「予約可能」（○）「残り少数」（△）「予約受付不可」（×）「予約不要」（●）「未登録」のいずれか、または available, few, none, not_needed, unregistered で指定してください。", "The reservation status must be 予約可能 (○), 残り少数 (△), 予約受付不可 (×), 予約不要 (●) or 未登録, or one of available, few, none, not_needed, unregistered."),
        UnknownSite => ("この医療機関等コードの医療機関・接種会場は見つからないか、管轄外です。", "No institution or vaccination site with this code is in your area."),
        DuplicateSite => ("同じ医療機関等コードが2回以上指定されています。1回にしてください。", "The same site code is given more than once. Give each site once."),
        NoItems => ("更新する行がありません。", "There is nothing to update."),
        TooManyItems => ("一度に更新できるのは5,000件までです。分けて送ってください。", "At most 5,000 items can be updated at once. Send them in parts."),
        InvalidFlag => ("true または false で指定してください。", "Use true or false."),
        FileTooLarge => ("ファイルが大きすぎます。10MB以下のファイルにしてください。", "The file is too large. Keep it within 10 MB."),
        FileTypeRefused => ("このファイルの種類は添付できません。PDF・PNG・JPEG のファイルを選んでください。", "This kind of file cannot be attached. Choose a PDF, PNG or JPEG file."),
        SearchTooLong => ("検索語は100文字以内で入力してください。", "Keep the search words within 100 characters."),
        UnknownParameter => ("このパラメータは使えません。", "This parameter is not supported."),
        BookingUrlRequired => ("Webで予約する場合は予約サイトのURLを入力してください。", "Web booking needs the booking site's URL."),
        InvalidBooking => ("予約方法は phone, web, walk_in, municipal のいずれかです。", "The booking method must be one of phone, web, walk_in, municipal."),
        InvalidContractStatus => ("契約状況は「契約済」「手続中」「未契約」のいずれかです。", "The contract status must be contracted, in progress or not contracted."),
        InvalidSiteType => ("種別は「基本型」または「サテライト型」です。", "The type must be hub or satellite."),
        HubInvalid => ("サテライト型には、同じ都道府県の基本型の医療機関・接種会場を指定してください。", "A satellite needs a hub (an institution or site) in the same prefecture."),
        SiteCannotMove => ("集団接種会場の市町村は変更できません（会場コードに市町村コードが含まれます）。新しい市町村で会場を登録してください。", "A municipal site cannot move to another municipality (its code contains the municipality's). Register the site in the new municipality."),
        HubHasSatellites => ("サテライト型が登録されている基本型は、サテライト型にできません。", "A hub that has satellites cannot become a satellite."),
        NothingChanged => ("変更された項目がありません。", "Nothing was changed."),
        ChangePending => ("承認待ちの変更申請があります。市町村の承認または却下を待ってから申請してください。", "A change is already waiting for the municipality. Wait until it is decided."),
        NotContracted => ("契約済の医療機関だけを確認できます。", "Only contracted institutions can be confirmed."),
        InvalidRegistrationNumber => ("医籍登録番号は10桁以内の数字で入力してください。", "The registration number must be up to 10 digits."),
        CodePrefectureMismatch => ("医療機関コードの先頭2桁（都道府県番号）が、市町村の都道府県と一致しません。", "The first two digits of the institution code (the prefecture number) do not match the municipality's prefecture."),
        DuplicateCode => ("同じコードがファイルの中に2回以上あります。", "The same code appears more than once in the file."),
        OutOfScope => ("この市町村は、あなたの組織の管轄外です。", "This municipality is outside your organisation's area."),
        NotASite => ("このコードは医療機関・接種会場ではありません。", "This code is not a medical institution or vaccination site."),
        InvalidDate => ("日付は YYYY-MM-DD の形式で入力してください。", "Enter the date as YYYY-MM-DD."),
        CycleNumberTaken => ("この番号のクールはすでにあります。別の番号を入力してください。", "A cycle with this number already exists. Enter another number."),
        CycleNumberRange => ("クール番号は 1 から 9999 までの数字で入力してください。", "Enter a cycle number from 1 to 9999."),
        NotANumber => ("数字で入力してください（例: 1,200。全角数字・カンマも使えます）。", "Enter a number (e.g. 1,200; full-width digits and commas are fine)."),
        PeriodEndBeforeStart => ("期間終了日は期間開始日と同じ日かそれより後の日にしてください。", "The end of the period must be on or after its start."),
        PeriodOrder => ("期間の終了日は開始日以降にしてください。", "The last day must not be before the first day."),
        PeriodOverlaps => ("この期間は、開いている入力期間と重なっています。", "This period overlaps a period that is open."),
        ReportingClosed => ("この日の接種実績の入力期間は開いていません。", "Reporting is not open for this day."),
        FutureDay => ("今日より後の日の実績は入力できません。", "Results cannot be entered for a day after today."),
        PartsDoNotAddUp => ("内訳（高齢者・基礎疾患を有する者・その他）の合計が接種回数と一致しません。", "The parts (elderly, underlying conditions, others) do not add up to the total."),
        WasteReasonRequired => ("廃棄本数を入力した場合は、廃棄理由を選んでください。", "Choose the reason when vials were wasted."),
        CorrectionReasonRequired => ("訂正の理由を入力してください。", "Enter the reason for the correction."),
        AlreadyReversed => ("この記録は既に訂正されています。", "This entry has already been corrected."),
        NotSatellite => ("移送先は、この基本型のサテライト型の接種会場にしてください。", "Transfers go to a satellite of this hub."),
        CorrectResultsByDay => ("接種実績による記録は、その日の実績を入力し直して訂正してください。", "Entries from a day's results are corrected by entering that day's results again."),
        CorrectTransferNotHere => ("移送の記録は訂正できません。", "Transfers cannot be corrected."),
        DeliveredAlready => ("納入実績日は登録済みです。変更する場合は市町村に連絡し、在庫の訂正を依頼してください。", "The actual delivery date is already recorded. To change it, ask the municipality to correct the stock."),
        DeliveryDated => ("日付が入力された配送は、卸業者を変更できません。", "A delivery with a date entered cannot be reassigned."),
        NotServing => ("この卸業者は、配送先の市町村を担当していません。", "This wholesaler does not serve the site's municipality."),
        InvalidLot => ("ロット番号は英数字とハイフンで20文字以内で入力してください。", "Enter the lot number in letters, digits and hyphens, up to 20 characters."),
        LedgerNotPositive => ("数量が正しくありません。納入・移送は1以上、接種回数・廃棄本数は0以上で入力してください。", "The amount is not valid: deliveries and transfers need 1 or more, doses given and vials wasted 0 or more."),
        LedgerDosesPerVial => ("1バイアルあたりの接種回数（回分）は1以上で入力してください。", "The doses per vial must be 1 or more."),
        LedgerMoreThanStock => ("在庫を超える接種回数は登録できません。", "The doses given cannot exceed the stock."),
        LedgerMoreVialsThanStock => ("在庫を超えるバイアル数は登録できません。", "The number of vials cannot exceed the stock."),
        LedgerUnknownLot => ("このロットの在庫はありません。", "There is no stock of this lot."),
        LedgerTooLarge => ("数量が大きすぎます。", "The amount is too large."),
        LedgerUnbalanced => ("この訂正では回分数とバイアル数が合わなくなります。同じ日の接種と開封バイアルの残りはまとめて訂正してください。", "This correction would leave doses and vials out of step. Correct a day's doses given together with its opened-vial remainders."),
        AudienceOutsideArea => ("管轄外の地域・組織には、お知らせを送れません。あなたの組織の管轄内の都道府県・市町村・組織を指定してください。", "You cannot address areas or organisations outside your own area. Choose prefectures, municipalities or organisations inside it."),
        NotAnArea => ("地域には都道府県コード（2桁）または市町村コード（5桁）を指定してください。", "An area is a prefecture code (2 digits) or a municipality code (5 digits)."),
        InvalidDateTime => ("日時は YYYY-MM-DD HH:MM の形式で入力してください（日本時間）。", "Enter the time as YYYY-MM-DD HH:MM (Japan time)."),
        ExpiryBeforePublish => ("掲載終了は掲載開始より後の日時にしてください。", "The expiry must be after the publication time."),
        AlreadyWithdrawn => ("このお知らせは既に取り下げられています。", "This notice has already been withdrawn."),
        LedgerReasonNotReportable => ("廃棄理由を選び直してください。開封バイアルの残りはシステムが自動で記録します。", "Choose another reason: remainders of opened vials are recorded automatically."),
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
