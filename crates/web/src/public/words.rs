//! The public site's words (コロナワクチンナビ) in Japanese and English, apart from the staff
//! screens' `Ui`: citizens read plainer words, and the two catalogues change independently.

use chrono::{DateTime, Utc};
use vsys_domain::{Lang, catalog};

catalog! {
    /// Words and sentences of the public site (and of the nation's screen that writes for it).
    pub enum W {
        SiteName => ("コロナワクチンナビ", "COVID-19 Vaccine Navi"),
        SiteTagline => ("新型コロナワクチンの接種会場・医療機関を探す", "Find a COVID-19 vaccination site"),
        SkipToContent => ("本文へ移動", "Skip to content"),
        LanguageNav => ("言語", "Language"),
        SiteNav => ("サイト内の案内", "Site menu"),
        FindSites => ("接種会場を探す", "Find a site"),
        Faq => ("よくある質問", "FAQ"),
        Guide => ("接種の流れ", "How vaccination works"),
        SearchTitle => ("接種会場・医療機関を探す", "Find a vaccination site"),
        SearchIntro => ("都道府県・市区町村を選ぶか、郵便番号を入力して探せます。", "Choose a prefecture and municipality, or enter a postal code."),
        Area => ("地域", "Area"),
        Prefecture => ("都道府県", "Prefecture"),
        Municipality => ("市区町村", "Municipality"),
        AllPrefectures => ("すべての都道府県", "All prefectures"),
        AllMunicipalities => ("すべての市区町村", "All municipalities"),
        ChoosePrefectureFirst => ("都道府県を選んで「検索」を押すと、市区町村を選べます。", "Choose a prefecture and press Search to choose a municipality."),
        PostalCode => ("郵便番号", "Postal code"),
        PostalCodeHint => ("7桁の数字（例：530-0001）。その市区町村の会場を近い順に表示します。", "7 digits (e.g. 530-0001): that municipality's sites, nearest first."),
        Words => ("施設名・住所", "Name or address"),
        WordsHint => ("施設名や住所の一部（スペースで区切ると、すべてを含むもの）", "Part of the name or address (separate words with spaces to match all)"),
        Narrow => ("条件で絞り込む", "Narrow the results"),
        Vaccine => ("ワクチンの種類", "Vaccine"),
        AnyVaccine => ("指定しない", "Any"),
        ReservationStatus => ("予約受付状況", "Booking status"),
        ReservationStatusHint => ("選ばなければ、すべての状況を表示します。", "Leave all unticked to see every status."),
        AcceptsNonRegular => ("かかりつけ以外も可", "Accepts non-regular patients"),
        AcceptsNonRegularLong => ("かかりつけ以外の方も接種を受けられる施設だけ", "Only sites that also vaccinate people who are not their regular patients"),
        Search => ("検索", "Search"),
        NearMe => ("現在地から探す", "Search near me"),
        NearMeHint => ("端末の位置情報を使い、現在地から10km以内の会場を近い順に表示します。位置情報は検索にだけ使い、保存しません。", "Uses your device's location to list sites within 10 km, nearest first. The location is used for this search only and is not stored."),
        NearMeUnavailable => ("現在地を取得できませんでした。郵便番号または市区町村で探してください。", "Your location could not be found. Please search by postal code or municipality."),
        NearPoint => ("指定した地点からの距離で表示しています。", "Sorted by distance from the given location."),
        ClearPoint => ("地点の指定を解除", "Forget the location"),
        Results => ("検索結果", "Results"),
        ToResults => ("検索結果へ移動", "Go to the results"),
        NoResults => ("条件に合う接種会場・医療機関はありません。条件を変えて探してください。", "No site matches. Please change the conditions."),
        ErrorsTitle => ("入力内容を確認してください。", "Please check what you entered."),
        Address => ("住所", "Address"),
        Phone => ("電話番号", "Phone"),
        Website => ("ホームページ", "Website"),
        Hours => ("接種日時", "Vaccination hours"),
        Access => ("アクセス", "Access"),
        Parking => ("駐車場", "Parking"),
        Booking => ("予約方法", "How to book"),
        BookingPage => ("予約サイト", "Booking site"),
        BookingOpen => ("予約方法を見る", "How to book"),
        BookingPhone => ("電話で予約", "Book by phone"),
        Vaccines => ("ワクチン", "Vaccines"),
        Distance => ("距離", "Distance"),
        StatusSetAt => ("更新", "Updated"),
        Stale => ("情報が古い可能性があります", "may be out of date"),
        StaleHint => ("予約受付状況が長く更新されていません。施設にご確認ください。", "The booking status has not been updated for a long time. Please check with the site."),
        NotGiven => ("未登録", "Not given"),
        Map => ("地図", "Map"),
        MapLink => ("地図で見る（OpenStreetMap）", "View on a map (OpenStreetMap)"),
        MapApproximate => ("おおよその位置（市区町村の位置）です。", "Approximate location (the municipality's)."),
        NewWindowNote => ("外部サイト", "external site"),
        KindInstitution => ("医療機関", "Medical institution"),
        KindSite => ("集団接種会場", "Vaccination centre"),
        Details => ("施設の情報", "About this site"),
        BackToResults => ("検索に戻る", "Back to the search"),
        DataUpdated => ("データ更新", "Data updated"),
        Unconfirmed => ("最新の情報を取得できていません", "The latest information could not be retrieved"),
        Previous => ("前へ", "Previous"),
        Next => ("次へ", "Next"),
        Pages => ("ページ", "Pages"),
        PageN => ("ページ", "Page"),
        CurrentPage => ("現在のページ", "current page"),
        Notices => ("お知らせ", "Notices"),
        NoNotices => ("お知らせはありません。", "There are no notices."),
        NoFaq => ("よくある質問はまだありません。", "There are no questions yet."),
        Posted => ("掲載日", "Posted"),
        InJapanese => ("（日本語のみ）", "(in Japanese only)"),
        NotFoundTitle => ("ページが見つかりません", "Page not found"),
        NotFoundBody => ("お探しの接種会場・ページは見つかりませんでした。掲載が終了したか、URLが違う可能性があります。", "The site or page you are looking for was not found. It may have been removed, or the address may be wrong."),
        ErrorTitle => ("エラー", "Error"),
        JustNow => ("たった今", "just now"),
        StatusLegend => ("予約受付状況の記号", "Booking status symbols"),
        Footer => ("掲載内容は各医療機関・市区町村が登録した情報です。接種の予約・ご相談は各施設または市区町村へお問い合わせください。", "The information is registered by each site and municipality. For bookings and questions, please contact the site or your municipality."),
        OpenData => ("オープンデータ", "Open data"),
        // The guide's built-in text, while the nation has written none.
        GuideDefault => ("1. **接種券が届きます**：お住まいの市区町村から接種券（クーポン券）が郵送されます。\n2. **予約します**：このサイトで接種会場を探し、各会場の予約方法（電話・Web・市区町村の予約システム）で予約します。予約不要の会場もあります。\n3. **接種を受けます**：予約した日時に、接種券と本人確認書類（運転免許証、健康保険証など）を持って会場へ行きます。\n\n接種後はしばらく会場で様子をみてから帰ります。ご不明な点はお住まいの市区町村へお問い合わせください。", "1. **Your voucher arrives**: your municipality posts you a vaccination voucher (接種券).\n2. **Book**: find a site here and book it the way the site says (phone, online, or the municipality's booking system). Some sites need no booking.\n3. **Get vaccinated**: at the booked time, bring the voucher and an identity document (driving licence, health insurance card, …).\n\nAfter the vaccination you wait a little at the site before going home. For questions, please contact your municipality."),
        GuideVoucher => ("接種券", "Voucher"),
        GuideBook => ("予約", "Booking"),
        GuideVaccinate => ("接種", "Vaccination"),
        GuideSteps => ("接種までの3つのステップ", "Three steps to your vaccination"),
        // The nation's screen that writes for citizens.
        StaffTitle => ("国民向けのお知らせ", "Notices for citizens"),
        StaffTask => ("国民向けのお知らせ・よくある質問・接種の流れを書く", "Write notices, FAQ and the guide for citizens"),
        StaffIntro => ("ここで書いた内容は、コロナワクチンナビ（/search/）に表示されます。本文はMarkdownで書けます（HTMLは文字として表示されます）。", "What you write here appears on COVID-19 Vaccine Navi (/search/). Bodies are Markdown (HTML is shown as text)."),
        Topic => ("種類", "Kind"),
        TitleJa => ("タイトル（日本語）", "Title (Japanese)"),
        TitleEn => ("タイトル（英語）", "Title (English)"),
        BodyJa => ("本文（日本語、Markdown）", "Body (Japanese, Markdown)"),
        BodyEn => ("本文（英語、Markdown）", "Body (English, Markdown)"),
        BodyEnHint => ("空欄の場合、英語のページには日本語の本文を表示します。", "When empty, the English page shows the Japanese body."),
        FaqTitleHint => ("よくある質問では、タイトルが質問、本文が回答です。", "For an FAQ entry the title is the question and the body the answer."),
        Publish => ("掲載する", "Publish"),
        Published => ("掲載しました。公開サイトには数秒で反映されます。", "Published. It appears on the public site within seconds."),
        Withdraw => ("掲載をやめる", "Withdraw"),
        WithdrawConfirm => ("この記事の掲載をやめます。よろしいですか。", "Withdraw this entry from the public site?"),
        Withdrawn => ("掲載をやめました。", "The entry was withdrawn."),
        Current => ("掲載中", "Published"),
        NothingPublished => ("掲載中の記事はありません。", "Nothing is published."),
        ViewOnSite => ("公開サイトで見る", "View on the public site"),
        Write => ("新しく書く", "Write a new entry"),
    }
}

/// The public pages' language, as templates use it: `l.t(W::…)`.
#[derive(Debug, Clone, Copy)]
pub struct PL(pub Lang);

impl PL {
    pub fn t(&self, w: W) -> &'static str {
        w.text(self.0)
    }
    pub fn code(&self) -> &'static str {
        self.0.code()
    }
    pub fn is_en(&self) -> bool {
        self.0 == Lang::En
    }
}

/// "12件" / "12 sites".
pub fn count(n: usize, lang: Lang) -> String {
    match (lang, n) {
        (Lang::Ja, n) => format!("{n}件"),
        (Lang::En, 1) => "1 site".to_owned(),
        (Lang::En, n) => format!("{n} sites"),
    }
}

/// How long ago `at` was, as people say it: "3時間前", "3 hours ago".
pub fn ago(at: DateTime<Utc>, now: DateTime<Utc>, lang: Lang) -> String {
    let d = now - at;
    let (n, unit) = if d.num_minutes() < 1 {
        return W::JustNow.text(lang).to_owned();
    } else if d.num_hours() < 1 {
        (d.num_minutes(), ("分前", "minute"))
    } else if d.num_days() < 1 {
        (d.num_hours(), ("時間前", "hour"))
    } else {
        (d.num_days(), ("日前", "day"))
    };
    match lang {
        Lang::Ja => format!("{n}{}", unit.0),
        Lang::En if n == 1 => format!("1 {} ago", unit.1),
        Lang::En => format!("{n} {}s ago", unit.1),
    }
}

/// The banner while the registry cannot be read: "最新の情報を取得できていません（12分前の情報を
/// 表示しています）".
pub fn unconfirmed(minutes: i64, lang: Lang) -> String {
    match lang {
        Lang::Ja => format!(
            "{}（{minutes}分前の情報を表示しています）",
            W::Unconfirmed.text(lang)
        ),
        Lang::En => format!(
            "{} (showing information from {minutes} minutes ago).",
            W::Unconfirmed.text(lang)
        ),
    }
}

/// A distance in kilometres: "1.2 km".
pub fn km(d: f64) -> String {
    format!("{d:.1} km")
}

/// The prefectures' names in English, by code (`13` → Tokyo).
const PREFECTURES_EN: [&str; 47] = [
    "Hokkaido",
    "Aomori",
    "Iwate",
    "Miyagi",
    "Akita",
    "Yamagata",
    "Fukushima",
    "Ibaraki",
    "Tochigi",
    "Gunma",
    "Saitama",
    "Chiba",
    "Tokyo",
    "Kanagawa",
    "Niigata",
    "Toyama",
    "Ishikawa",
    "Fukui",
    "Yamanashi",
    "Nagano",
    "Gifu",
    "Shizuoka",
    "Aichi",
    "Mie",
    "Shiga",
    "Kyoto",
    "Osaka",
    "Hyogo",
    "Nara",
    "Wakayama",
    "Tottori",
    "Shimane",
    "Okayama",
    "Hiroshima",
    "Yamaguchi",
    "Tokushima",
    "Kagawa",
    "Ehime",
    "Kochi",
    "Fukuoka",
    "Saga",
    "Nagasaki",
    "Kumamoto",
    "Oita",
    "Miyazaki",
    "Kagoshima",
    "Okinawa",
];

/// A prefecture's name in the page's language: "東京都", "Tokyo (東京都)".
pub fn prefecture(code: &str, name: &str, lang: Lang) -> String {
    let en = code
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_sub(1))
        .and_then(|i| PREFECTURES_EN.get(i));
    match (lang, en) {
        (Lang::En, Some(en)) => format!("{en} ({name})"),
        _ => name.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_in_both_languages() {
        for w in W::ALL {
            assert!(
                !w.text(Lang::Ja).is_empty() && !w.text(Lang::En).is_empty(),
                "{}",
                w.key()
            );
        }
    }

    #[test]
    fn times_ago() {
        let now = DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        let at = |mins: i64| now - chrono::Duration::minutes(mins);
        assert_eq!(ago(at(0), now, Lang::Ja), "たった今");
        assert_eq!(ago(at(5), now, Lang::Ja), "5分前");
        assert_eq!(ago(at(180), now, Lang::Ja), "3時間前");
        assert_eq!(ago(at(180), now, Lang::En), "3 hours ago");
        assert_eq!(ago(at(60), now, Lang::En), "1 hour ago");
        assert_eq!(ago(at(2 * 24 * 60 + 5), now, Lang::Ja), "2日前");
        assert_eq!(ago(at(2 * 24 * 60), now, Lang::En), "2 days ago");
    }

    #[test]
    fn counts_names_and_distances() {
        assert_eq!(count(12, Lang::Ja), "12件");
        assert_eq!(count(1, Lang::En), "1 site");
        assert_eq!(prefecture("13", "東京都", Lang::En), "Tokyo (東京都)");
        assert_eq!(prefecture("47", "沖縄県", Lang::En), "Okinawa (沖縄県)");
        assert_eq!(prefecture("01", "北海道", Lang::Ja), "北海道");
        assert_eq!(prefecture("99", "？", Lang::En), "？");
        assert_eq!(km(1.234), "1.2 km");
        assert!(unconfirmed(12, Lang::Ja).contains("（12分前の情報を表示しています）"));
    }
}
