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
