//! What the organisation, user, notice and audit operations send: the wire types and their
//! conversions from the store's rows (the only place this family touches them).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use vsys_app::rows::AuditRow;
use vsys_app::rows::OrgRow;
use vsys_app::rows::UserNotice;
use vsys_app::rows::UserRow;

/// An organisation.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OrgOut {
    /// Its code: `JP`, a prefecture (2 digits), a municipality (5 digits), a medical
    /// institution (10 digits), or an assigned code of another kind.
    pub code: String,
    pub kind: vsys_domain::OrgKind,
    /// The name (Japanese).
    pub name: String,
    /// The English name, where one is known.
    pub name_en: Option<String>,
    /// The organisation above it (none for the nation).
    pub parent_code: Option<String>,
    /// Its place in the hierarchy, e.g. `/JP/13/13103/`.
    pub path: String,
    /// The prefecture it lies in (none for the nation and national suppliers).
    pub prefecture_code: Option<String>,
    /// Population (municipalities and prefectures).
    pub population: Option<i64>,
    /// Latitude of its centre or address, where known.
    pub lat: Option<f64>,
    /// Longitude of its centre or address, where known.
    pub lng: Option<f64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The version (`ETag` `"vN"`).
    pub version: i64,
}

impl From<OrgRow> for OrgOut {
    fn from(o: OrgRow) -> Self {
        OrgOut {
            code: o.code,
            kind: o.kind,
            name: o.name,
            name_en: o.name_en,
            parent_code: o.parent_code,
            path: o.path,
            prefecture_code: o.prefecture_code,
            population: o.population,
            lat: o.lat,
            lng: o.lng,
            created_at: o.created_at,
            updated_at: o.updated_at,
            version: o.version,
        }
    }
}

/// An account (never its password hash or TOTP secret).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserOut {
    /// The account's id (UUIDv7).
    pub id: String,
    /// The organisation it belongs to.
    pub org_code: String,
    pub email: String,
    pub name: String,
    pub role: vsys_domain::Role,
    /// The person must change the password at the next login.
    pub must_change_password: bool,
    /// Two-factor authentication is set up.
    pub totp_enabled: bool,
    /// Disabled by an administrator: cannot log in.
    pub disabled: bool,
    /// Locked by an administrator: cannot log in until unlocked.
    pub locked: bool,
    /// The last successful login, if any.
    pub last_login_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The version (`ETag` `"vN"`).
    pub version: i64,
}

impl From<UserRow> for UserOut {
    fn from(u: UserRow) -> Self {
        UserOut {
            totp_enabled: u.totp_secret.is_some(),
            id: u.id,
            org_code: u.org_code,
            email: u.email,
            name: u.name,
            role: u.role,
            must_change_password: u.must_change_password,
            disabled: u.disabled,
            locked: u.locked,
            last_login_at: u.last_login_at,
            created_at: u.created_at,
            updated_at: u.updated_at,
            version: u.version,
        }
    }
}

/// A notice to the caller, in the caller's language.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NoticeOut {
    /// The notice's id (UUIDv7).
    pub id: String,
    /// The organisation it was sent to.
    pub org_code: String,
    /// What it is about (e.g. `allocation`, `delivery`).
    pub category: String,
    pub title: String,
    pub body: String,
    /// A path inside vsys the notice points to.
    pub link: Option<String>,
    pub created_at: DateTime<Utc>,
    /// When the caller read it; none while unread.
    pub read_at: Option<DateTime<Utc>>,
}

impl NoticeOut {
    /// The notice in English (`en`) or Japanese.
    pub fn of(n: UserNotice, en: bool) -> NoticeOut {
        let (title, body) = if en {
            (n.notice.title_en, n.notice.body_en)
        } else {
            (n.notice.title_ja, n.notice.body_ja)
        };
        NoticeOut {
            id: n.notice.id,
            org_code: n.notice.org_code,
            category: n.notice.category,
            title,
            body,
            link: n.notice.link,
            created_at: n.notice.created_at,
            read_at: n.read_at,
        }
    }
}

/// A notice sent.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NoticeCreated {
    /// The new notice's id (UUIDv7).
    pub id: String,
}

/// A notice, FAQ entry or guide page for the public site.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CitizenNoticeIn {
    /// `notice` (お知らせ), `faq` (よくある質問: the title is the question, the body its
    /// answer) or `guide` (接種の流れ: the newest is shown).
    pub topic: vsys_domain::notice::CitizenTopic,
    /// Required, at most 200 characters.
    pub title_ja: String,
    /// Required, at most 200 characters.
    pub title_en: String,
    /// Markdown (raw HTML is shown as text), at most 20,000 characters.
    #[serde(default)]
    pub body_ja: String,
    /// Markdown, at most 20,000 characters; when empty the English page shows the Japanese.
    #[serde(default)]
    pub body_en: String,
}

impl CitizenNoticeIn {
    pub fn draft(&self) -> vsys_app::notices::CitizenDraft {
        vsys_app::notices::CitizenDraft {
            title_ja: self.title_ja.clone(),
            title_en: self.title_en.clone(),
            body_ja: self.body_ja.clone(),
            body_en: self.body_en.clone(),
        }
    }
}

/// A published notice, FAQ entry or guide page.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CitizenNoticeOut {
    /// Its id (UUIDv7).
    pub id: String,
    /// `notice`, `faq` or `guide`.
    pub topic: String,
    pub title_ja: String,
    pub title_en: String,
    pub body_ja: String,
    pub body_en: String,
    pub created_at: DateTime<Utc>,
}

impl From<vsys_app::rows::NoticeRow> for CitizenNoticeOut {
    fn from(n: vsys_app::rows::NoticeRow) -> Self {
        CitizenNoticeOut {
            id: n.id,
            topic: n.category,
            title_ja: n.title_ja,
            title_en: n.title_en,
            body_ja: n.body_ja,
            body_en: n.body_en,
            created_at: n.created_at,
        }
    }
}

/// An announcement to publish (お知らせ): written by the nation for anyone, by a prefecture or a
/// municipality for its own area only.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct AnnouncementIn {
    /// `general` (一般), `cycle` (クール), `delivery` (配送), `statistics` (統計発表) or
    /// `system` (システム).
    pub category: String,
    /// Required, at most 200 characters.
    pub title_ja: String,
    /// At most 200 characters; when empty, the Japanese title.
    #[serde(default)]
    pub title_en: String,
    /// Markdown (raw HTML is shown as text), required, at most 20,000 characters.
    pub body_ja: String,
    /// Markdown; when empty, the Japanese text.
    #[serde(default)]
    pub body_en: String,
    /// Organisation kinds (e.g. `wholesaler`); empty: every kind.
    #[serde(default)]
    pub kinds: Vec<String>,
    /// Prefecture or municipality codes: each area's organisation and everything under it;
    /// empty: every area the writer may address (a prefecture's or municipality's own).
    #[serde(default)]
    pub areas: Vec<String>,
    /// Organisation codes; empty: any. A recipient meets every part that is not empty.
    #[serde(default)]
    pub names: Vec<String>,
    /// Japan time, `YYYY-MM-DD HH:MM`; empty: now.
    #[serde(default)]
    pub publish_at: String,
    /// Japan time; empty: never expires.
    #[serde(default)]
    pub expires_at: String,
    /// Also by e-mail to every recipient, once, when it is published.
    #[serde(default)]
    pub mail: bool,
}

impl AnnouncementIn {
    pub fn draft(self) -> vsys_app::notices::AnnouncementDraft {
        vsys_app::notices::AnnouncementDraft {
            category: self.category,
            title_ja: self.title_ja,
            title_en: self.title_en,
            body_ja: self.body_ja,
            body_en: self.body_en,
            kinds: self.kinds,
            areas: self.areas,
            names: self.names,
            publish_at: self.publish_at,
            expires_at: self.expires_at,
            mail: self.mail,
        }
    }
}

/// A sent announcement with its audience and read counts.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AnnouncementOut {
    /// Its id (UUIDv7).
    pub id: String,
    /// The writer organisation's code.
    pub org_code: String,
    pub category: String,
    pub title_ja: String,
    pub title_en: String,
    pub body_ja: String,
    pub body_en: String,
    /// Organisation kinds; empty: every kind.
    pub kinds: Vec<String>,
    /// Area codes; empty: every area.
    pub areas: Vec<String>,
    /// Organisation codes; empty: any.
    pub names: Vec<String>,
    pub publish_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub mail: bool,
    pub mailed_at: Option<DateTime<Utc>>,
    pub withdrawn_at: Option<DateTime<Utc>>,
    /// Enabled recipients who have read it.
    pub read: i64,
    /// Enabled users of the organisations it reaches.
    pub recipients: i64,
}

impl From<vsys_app::notices::Sent> for AnnouncementOut {
    fn from(s: vsys_app::notices::Sent) -> Self {
        let (n, a) = (s.announcement.notice, s.announcement.announcement);
        AnnouncementOut {
            id: n.id,
            org_code: n.org_code,
            category: n.category,
            title_ja: n.title_ja,
            title_en: n.title_en,
            body_ja: n.body_ja,
            body_en: n.body_en,
            kinds: s
                .audience
                .kinds
                .iter()
                .map(|k| k.as_str().to_owned())
                .collect(),
            areas: s.audience.areas.into_iter().collect(),
            names: s.audience.names.into_iter().collect(),
            publish_at: n.created_at,
            expires_at: a.expires_at,
            mail: a.mail,
            mailed_at: a.mailed_at,
            withdrawn_at: a.withdrawn_at,
            read: s.read,
            recipients: s.recipients,
        }
    }
}

/// An entry of the audit log.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditOut {
    /// The entry's id (UUIDv7).
    pub id: String,
    /// The chain it belongs to: the acting organisation's code, or `system`.
    pub partition: String,
    /// Its place in the chain, from 1.
    pub seq: i64,
    pub at: DateTime<Utc>,
    /// The acting user's id (none for the system; `cli:<os user>` for commands on the host).
    pub actor_user: Option<String>,
    /// The acting organisation's code.
    pub actor_org: Option<String>,
    /// The client's address.
    pub ip: Option<String>,
    /// What was done, e.g. `user.create`.
    pub action: String,
    /// The kind of object acted on.
    pub object_type: String,
    /// The object's id or code.
    pub object_id: String,
    /// The object before (canonical JSON text), where it existed.
    pub before: Option<String>,
    /// The object after (canonical JSON text), where it still exists.
    pub after: Option<String>,
    /// `sha256(previous hash ‖ this entry)`, hex.
    pub hash: String,
}

impl From<AuditRow> for AuditOut {
    fn from(e: AuditRow) -> Self {
        AuditOut {
            id: e.id,
            partition: e.partition,
            seq: e.seq,
            at: e.at,
            actor_user: e.actor_user,
            actor_org: e.actor_org,
            ip: e.ip,
            action: e.action,
            object_type: e.object_type,
            object_id: e.object_id,
            before: e.before,
            after: e.after,
            hash: e.hash,
        }
    }
}

/// The result of verifying every chain of the audit log.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VerifyOut {
    /// Chains checked.
    pub partitions: usize,
    /// Entries checked.
    pub entries: u64,
    /// Every chain verifies (`breaks` is empty).
    pub ok: bool,
    /// Where a chain breaks: an entry edited, missing, moved or truncated.
    pub breaks: Vec<vsys_domain::audit::ChainBreak>,
}

super::super::page_type!(OrgPage, OrgOut, "A page of organisations.");
super::super::page_type!(UserPage, UserOut, "A page of accounts.");
super::super::page_type!(NoticePage, NoticeOut, "A page of notices.");
super::super::page_type!(
    AnnouncementPage,
    AnnouncementOut,
    "A page of sent announcements."
);
super::super::page_type!(AuditPage, AuditOut, "A page of the audit log.");
