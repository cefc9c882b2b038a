//! Knowledge for staff (ナレッジ・マニュアル・FAQ): what an article is about, who reads it, the
//! search terms that find it in Japanese, and which attachments it may carry.
//!
//! Search works on characters, not on a dictionary: text is folded (full-width ASCII to
//! half-width, letters lower-cased) and cut at white space and punctuation, and every run
//! gives its characters and its pairs of neighbouring characters (bigrams). A query word of
//! one character is looked up as that character, a longer word as all its bigrams; the
//! candidates are then checked for the words themselves, so a hit always contains every word.
//! The same terms are stored on SQLite and PostgreSQL, so both find the same articles.

use crate::i18n::Msg;
use crate::org::OrgKind;
use crate::place::search_fold;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

crate::code_enum! {
    /// What an article is: a chapter of the manual, a question and its answer, what to do in
    /// a situation (こんなときには), or where to ask (ご相談窓口).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub enum Category as "article category" {
        Manual = "manual",
        Faq = "faq",
        When = "when",
        Contact = "contact",
    }
}

impl Category {
    pub fn label(self, lang: crate::Lang) -> &'static str {
        use crate::Lang::{En, Ja};
        match (self, lang) {
            (Category::Manual, Ja) => "マニュアル・操作手順",
            (Category::Manual, En) => "Manual",
            (Category::Faq, Ja) => "よくある質問",
            (Category::Faq, En) => "FAQ",
            (Category::When, Ja) => "こんなときには",
            (Category::When, En) => "When this happens",
            (Category::Contact, Ja) => "ご相談窓口",
            (Category::Contact, En) => "Help desk",
        }
    }
}

/// The kinds of organisation an article is for; empty: every kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Readers(pub BTreeSet<OrgKind>);

impl Readers {
    /// Every kind of organisation.
    pub fn all() -> Readers {
        Readers::default()
    }

    pub fn of(kinds: &[OrgKind]) -> Readers {
        Readers(kinds.iter().copied().collect())
    }

    /// Whether a user of an organisation of `kind` reads it (the nation reads everything, to
    /// write it).
    pub fn include(&self, kind: OrgKind) -> bool {
        kind == OrgKind::Nation || self.0.is_empty() || self.0.contains(&kind)
    }

    /// As stored: the kinds' wire names joined by `,` (empty: every kind).
    pub fn stored(&self) -> String {
        self.0
            .iter()
            .map(|k| k.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// As stored; an unknown name is dropped.
    pub fn parse_stored(s: &str) -> Readers {
        Readers(
            s.split(',')
                .filter_map(|k| OrgKind::parse(k.trim()))
                .collect(),
        )
    }
}

/// The most characters of one query: a longer query is refused.
pub const MAX_QUERY_CHARS: usize = 100;

/// The runs of a text as search compares them: folded, cut at white space and punctuation.
fn runs(text: &str) -> Vec<Vec<char>> {
    let mut out = Vec::new();
    let mut run = Vec::new();
    for c in search_fold_keeping_gaps(text).chars() {
        if c.is_alphanumeric() || c == 'ー' || c == '々' {
            run.push(c);
        } else if !run.is_empty() {
            out.push(std::mem::take(&mut run));
        }
    }
    if !run.is_empty() {
        out.push(run);
    }
    out
}

/// [`search_fold`] character by character, keeping white space as a gap between runs.
fn search_fold_keeping_gaps(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_whitespace() {
                ' '
            } else {
                search_fold(c.encode_utf8(&mut [0; 4]))
                    .chars()
                    .next()
                    .unwrap_or(' ')
            }
        })
        .collect()
}

/// The terms a text is found by: every character and every pair of neighbouring characters of
/// each run.
pub fn terms(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for run in runs(text) {
        for (i, c) in run.iter().enumerate() {
            out.insert(c.to_string());
            if let Some(next) = run.get(i + 1) {
                out.insert([*c, *next].iter().collect());
            }
        }
    }
    out
}

/// A search as asked: its words (folded runs) and the terms that must all be stored for an
/// article to be a candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub words: Vec<String>,
    pub terms: BTreeSet<String>,
}

impl Query {
    /// Reads a query; `None` when it has no word; [`Msg::TooLong`] past
    /// [`MAX_QUERY_CHARS`].
    pub fn parse(q: &str) -> Result<Option<Query>, Msg> {
        if q.chars().count() > MAX_QUERY_CHARS {
            return Err(Msg::TooLong);
        }
        let words: Vec<String> = runs(q)
            .into_iter()
            .take(8)
            .map(|r| r.into_iter().collect())
            .collect();
        if words.is_empty() {
            return Ok(None);
        }
        let mut terms = BTreeSet::new();
        for w in &words {
            let chars: Vec<char> = w.chars().collect();
            if chars.len() == 1 {
                terms.insert(w.clone());
            } else {
                for pair in chars.windows(2) {
                    terms.insert(pair.iter().collect());
                }
            }
        }
        Ok(Some(Query { words, terms }))
    }

    /// Whether a text holds every word (the check after the terms found the candidates).
    pub fn matches(&self, text: &str) -> bool {
        let folded: String = runs(text)
            .into_iter()
            .map(|r| r.into_iter().collect::<String>())
            .collect::<Vec<_>>()
            .join(" ");
        self.words.iter().all(|w| folded.contains(w.as_str()))
    }
}

/// The largest attachment stored (10 MiB).
pub const MAX_ATTACHMENT_BYTES: usize = 10 * 1024 * 1024;

crate::code_enum! {
    /// The files an article may carry, recognised by their content, not their name.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub enum AttachmentKind as "attachment kind" {
        Pdf = "pdf",
        Png = "png",
        Jpeg = "jpeg",
    }
}

impl AttachmentKind {
    /// The media type it is served with.
    pub fn media_type(self) -> &'static str {
        match self {
            AttachmentKind::Pdf => "application/pdf",
            AttachmentKind::Png => "image/png",
            AttachmentKind::Jpeg => "image/jpeg",
        }
    }

    /// The file-name extension it is saved with.
    pub fn extension(self) -> &'static str {
        match self {
            AttachmentKind::Pdf => "pdf",
            AttachmentKind::Png => "png",
            AttachmentKind::Jpeg => "jpg",
        }
    }

    /// What a file is, from its first bytes and its size: [`Msg::Required`] when empty,
    /// [`Msg::FileTooLarge`] past [`MAX_ATTACHMENT_BYTES`], [`Msg::FileTypeRefused`] when it is
    /// no PDF, PNG or JPEG (whatever its name says).
    pub fn of(bytes: &[u8]) -> Result<AttachmentKind, Msg> {
        if bytes.is_empty() {
            return Err(Msg::Required);
        }
        if bytes.len() > MAX_ATTACHMENT_BYTES {
            return Err(Msg::FileTooLarge);
        }
        if bytes.starts_with(b"%PDF-") {
            Ok(AttachmentKind::Pdf)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Ok(AttachmentKind::Png)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Ok(AttachmentKind::Jpeg)
        } else {
            Err(Msg::FileTypeRefused)
        }
    }
}

/// An attachment's file name as stored: the base name only, no control characters or path
/// separators, at most 120 characters, with the extension of what it really is.
pub fn attachment_name(raw: &str, kind: AttachmentKind) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '<' | '>' | ':' | '*' | '?' | '|'))
        .take(120)
        .collect();
    let stem = clean
        .rsplit_once('.')
        .map(|(s, _)| s.to_owned())
        .unwrap_or(clean);
    let stem = stem.trim();
    let stem = if stem.is_empty() { "attachment" } else { stem };
    format!("{stem}.{}", kind.extension())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn japanese_is_found_by_characters_and_pairs() {
        let t = terms("ワクチンの分配量（針・シリンジ）");
        for want in ["ワ", "ワク", "分配", "配量", "針", "シリ", "ジ"] {
            assert!(t.contains(want), "{want} in {t:?}");
        }
        assert!(!t.contains("量（"), "punctuation cuts runs");
        let q = Query::parse("分配量　針")
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!());
        assert_eq!(q.words, ["分配量", "針"]);
        assert!(q.terms.iter().all(|x| t.contains(x)));
        assert!(q.matches("ワクチンの分配量（針・シリンジ）"));
        assert!(!q.matches("分配 量 針"), "words must appear whole");
        let q = Query::parse("ＡＰＩ")
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!());
        assert_eq!(q.words, ["api"]);
        assert!(q.matches("APIトークン"));
        assert_eq!(Query::parse("  ・ "), Ok(None));
        assert_eq!(Query::parse(&"あ".repeat(101)), Err(Msg::TooLong));
    }

    #[test]
    fn readers_and_attachments() {
        let r = Readers::of(&[OrgKind::Wholesaler, OrgKind::Prefecture]);
        assert!(r.include(OrgKind::Wholesaler) && r.include(OrgKind::Nation));
        assert!(!r.include(OrgKind::Institution));
        assert_eq!(Readers::parse_stored(&r.stored()), r);
        assert!(Readers::all().include(OrgKind::Site));
        assert_eq!(AttachmentKind::of(b"%PDF-1.7\n"), Ok(AttachmentKind::Pdf));
        assert_eq!(AttachmentKind::of(b"MZ\x90\0"), Err(Msg::FileTypeRefused));
        assert_eq!(AttachmentKind::of(b""), Err(Msg::Required));
        let big = vec![b'%'; MAX_ATTACHMENT_BYTES + 1];
        assert_eq!(AttachmentKind::of(&big), Err(Msg::FileTooLarge));
        assert_eq!(
            attachment_name("C:\\x\\操作手順.exe", AttachmentKind::Pdf),
            "操作手順.pdf"
        );
        assert_eq!(attachment_name("", AttachmentKind::Png), "attachment.png");
    }

    proptest! {
        /// Whatever the text, every word cut from inside it finds it.
        #[test]
        fn a_piece_of_a_text_finds_it(text in "[ぁ-んァ-ヶ一-龠a-zＡ-Ｚ0-9 、。]{1,40}", a in 0usize..40, len in 1usize..6) {
            let chars: Vec<char> = text.chars().collect();
            let start = a % chars.len();
            let piece: String = chars[start..(start + len).min(chars.len())].iter().collect();
            if let Ok(Some(q)) = Query::parse(&piece) {
                let stored = terms(&text);
                prop_assert!(q.terms.iter().all(|t| stored.contains(t)), "{piece} in {text}");
                prop_assert!(q.matches(&text), "{piece} matches {text}");
            }
        }
    }
}
