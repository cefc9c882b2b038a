//! Notices (お知らせ): who they are for and, for citizens, what kind of page they make.

use crate::i18n::Lang;
use serde::{Deserialize, Serialize};

crate::code_enum! {
    /// Who reads a notice.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
    pub enum Audience as "notice audience" {
        /// An organisation's users (in-app and by e-mail).
        Staff = "staff",
        /// Everyone, on the public site (コロナワクチンナビ); written by the nation.
        Citizens = "citizens",
        /// An announcement: one notice for the staff of every organisation its audience
        /// ([`Addressees`]) names, written by the nation, a prefecture or a municipality, with
        /// a category, a publication window and read counts.
        Announcement = "announcement",
    }
}

crate::code_enum! {
    /// What a citizens' notice is on the public site.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
    pub enum CitizenTopic as "citizens' notice kind" {
        /// お知らせ: shown on the finder, newest first.
        Notice = "notice",
        /// よくある質問: a question (title) and its answer (body).
        Faq = "faq",
        /// 接種の流れ: the page on how vaccination works (the newest one is shown).
        Guide = "guide",
    }
}

impl CitizenTopic {
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (CitizenTopic::Notice, Lang::Ja) => "お知らせ",
            (CitizenTopic::Faq, Lang::Ja) => "よくある質問",
            (CitizenTopic::Guide, Lang::Ja) => "接種の流れ",
            (CitizenTopic::Notice, Lang::En) => "Notices",
            (CitizenTopic::Faq, Lang::En) => "Frequently asked questions",
            (CitizenTopic::Guide, Lang::En) => "How vaccination works",
        }
    }
}

crate::code_enum! {
    /// What a staff announcement (お知らせ) is about: its badge on the lists.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
    pub enum Category as "notice category" {
        /// 一般: anything else.
        General = "general",
        /// クール: cycles and their deadlines.
        Cycle = "cycle",
        /// 配送: deliveries.
        Delivery = "delivery",
        /// 統計発表: published figures.
        Statistics = "statistics",
        /// システム: the system itself (maintenance, changes).
        System = "system",
    }
}

impl Category {
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Category::General, Lang::Ja) => "一般",
            (Category::Cycle, Lang::Ja) => "クール",
            (Category::Delivery, Lang::Ja) => "配送",
            (Category::Statistics, Lang::Ja) => "統計発表",
            (Category::System, Lang::Ja) => "システム",
            (Category::General, Lang::En) => "General",
            (Category::Cycle, Lang::En) => "Cycle",
            (Category::Delivery, Lang::En) => "Delivery",
            (Category::Statistics, Lang::En) => "Statistics",
            (Category::System, Lang::En) => "System",
        }
    }
}

/// Who an announcement is for, in three parts: kinds of organisation, areas (prefecture or
/// municipality codes: the area's own organisation and everything under it) and named
/// organisations (codes). An organisation is a recipient when it satisfies **every non-empty
/// part** (kinds AND areas AND names; within a part, any one value is enough); an empty part
/// asks nothing, so an audience of three empty parts is everyone the writer may address (a
/// prefecture's or a municipality's announcement always carries its area, see
/// [`Addressees::within`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Addressees {
    pub kinds: std::collections::BTreeSet<crate::OrgKind>,
    pub areas: std::collections::BTreeSet<String>,
    pub names: std::collections::BTreeSet<String>,
}

/// The part of an audience a stored value belongs to.
pub const PART_KIND: &str = "kind";
/// See [`PART_KIND`].
pub const PART_AREA: &str = "area";
/// See [`PART_KIND`].
pub const PART_NAME: &str = "name";

impl Addressees {
    /// Whether an organisation of `kind` at `path` (`/JP/13/13103/…/`, its own code last) is a
    /// recipient.
    pub fn includes(&self, kind: crate::OrgKind, path: &str) -> bool {
        let segments = path_codes(path);
        let code = segments.last().copied().unwrap_or_default();
        (self.kinds.is_empty() || self.kinds.contains(&kind))
            && (self.areas.is_empty() || segments.iter().any(|s| self.areas.contains(*s)))
            && (self.names.is_empty() || self.names.contains(code))
    }

    /// The audience as a writer at `writer_path` may send it: the nation (`/JP/`) addresses
    /// anyone; a prefecture or municipality only its own area, so an audience with no area is
    /// given the writer's own (whether the areas and names given lie inside it is the
    /// use-case's question: it needs the organisations' paths).
    pub fn within(mut self, writer_code: &str, writer_is_nation: bool) -> Addressees {
        if !writer_is_nation && self.areas.is_empty() {
            self.areas.insert(writer_code.to_owned());
        }
        self
    }

    /// The stored rows: (part, value).
    pub fn rows(&self) -> Vec<(&'static str, String)> {
        let mut out: Vec<(&'static str, String)> = Vec::new();
        out.extend(
            self.kinds
                .iter()
                .map(|k| (PART_KIND, k.as_str().to_owned())),
        );
        out.extend(self.areas.iter().map(|a| (PART_AREA, a.clone())));
        out.extend(self.names.iter().map(|n| (PART_NAME, n.clone())));
        out
    }

    /// Back from the stored rows; unknown parts and kinds are dropped.
    pub fn from_rows<'a>(rows: impl IntoIterator<Item = (&'a str, &'a str)>) -> Addressees {
        let mut a = Addressees::default();
        for (part, value) in rows {
            match part {
                PART_KIND => {
                    if let Some(k) = crate::OrgKind::parse(value) {
                        a.kinds.insert(k);
                    }
                }
                PART_AREA => {
                    a.areas.insert(value.to_owned());
                }
                PART_NAME => {
                    a.names.insert(value.to_owned());
                }
                _ => {}
            }
        }
        a
    }
}

/// The codes along a path, the nation first and the organisation's own last.
pub fn path_codes(path: &str) -> Vec<&str> {
    path.split('/').filter(|s| !s.is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OrgKind;

    fn aud(kinds: &[OrgKind], areas: &[&str], names: &[&str]) -> Addressees {
        Addressees {
            kinds: kinds.iter().copied().collect(),
            areas: areas.iter().map(|s| s.to_string()).collect(),
            names: names.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn every_non_empty_part_must_match() {
        let wholesaler = (OrgKind::Wholesaler, "/JP/13/W13001/");
        let clinic = (OrgKind::Institution, "/JP/13/13103/1310300001/");
        let osaka = (OrgKind::Municipality, "/JP/27/27100/");
        let everyone = Addressees::default();
        for (k, p) in [wholesaler, clinic, osaka] {
            assert!(everyone.includes(k, p));
        }
        let w = aud(&[OrgKind::Wholesaler], &[], &[]);
        assert!(w.includes(wholesaler.0, wholesaler.1));
        assert!(!w.includes(clinic.0, clinic.1));
        let tokyo = aud(&[], &["13"], &[]);
        assert!(tokyo.includes(clinic.0, clinic.1));
        assert!(tokyo.includes(OrgKind::Prefecture, "/JP/13/"));
        assert!(!tokyo.includes(osaka.0, osaka.1));
        let tokyo_clinics = aud(&[OrgKind::Institution], &["13"], &[]);
        assert!(tokyo_clinics.includes(clinic.0, clinic.1));
        assert!(!tokyo_clinics.includes(wholesaler.0, wholesaler.1));
        let named = aud(&[], &[], &["27100"]);
        assert!(named.includes(osaka.0, osaka.1));
        assert!(!named.includes(OrgKind::Institution, "/JP/27/27100/2710000001/"));
        let both = aud(&[], &["13"], &["27100"]);
        assert!(!both.includes(osaka.0, osaka.1), "names AND areas");
    }

    #[test]
    fn a_local_writer_addresses_its_area() {
        let a = Addressees::default().within("13", false);
        assert_eq!(a.areas.iter().collect::<Vec<_>>(), ["13"]);
        assert!(Addressees::default().within("JP", true).areas.is_empty());
        let rows = aud(&[OrgKind::Wholesaler], &["13"], &["W13001"]).rows();
        let back = Addressees::from_rows(rows.iter().map(|(p, v)| (*p, v.as_str())));
        assert_eq!(back, aud(&[OrgKind::Wholesaler], &["13"], &["W13001"]));
    }
}
