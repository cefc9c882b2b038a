//! What the delivery operations send: the wire types and their conversions from the store's
//! rows (the only place this family touches them).

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use vsys_app::api_tokens::NewToken;
use vsys_app::rows::{DelivererProfileRow, DeliveryRow, InboundRow, TokenRow};
use vsys_domain::ProductKind;

/// One delivery line: an item for a site, by a deliverer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryOut {
    /// The delivery's id (UUIDv7).
    pub id: String,
    pub cycle_id: String,
    /// The site's allocation node.
    pub node_id: String,
    /// The site delivered to.
    pub site_code: String,
    /// The site's path, e.g. `/JP/13/13103/1310000002/`.
    pub site_path: String,
    pub municipality_code: String,
    /// Vaccine, needles and syringes may arrive on different days.
    pub item: ProductKind,
    pub product_id: Option<String>,
    /// Vials (vaccine) or pieces (needles, syringes).
    pub quantity: i64,
    /// The wholesaler, manufacturer or warehouse delivering.
    pub deliverer_code: String,
    /// 納入予定日.
    pub scheduled_on: Option<NaiveDate>,
    /// 納入実績日.
    pub delivered_on: Option<NaiveDate>,
    /// The deliverer's own number.
    pub delivery_number: Option<String>,
    /// Lot number of the vaccine delivered.
    pub lot: Option<String>,
    pub note: Option<String>,
    /// `dry_ice` or `freezer`, from the site's request.
    pub storage: Option<String>,
    pub updated_at: DateTime<Utc>,
    /// Who changed it last (user id, or `token:<id>` for an organisation token).
    pub updated_by: Option<String>,
    /// The version (`ETag` `"vN"`; `version` of a bulk line).
    pub version: i64,
}

impl From<DeliveryRow> for DeliveryOut {
    fn from(d: DeliveryRow) -> Self {
        DeliveryOut {
            id: d.id,
            cycle_id: d.cycle_id,
            node_id: d.node_id,
            site_code: d.site_code,
            site_path: d.site_path,
            municipality_code: d.municipality_code,
            item: d.item,
            product_id: d.product_id,
            quantity: d.quantity,
            deliverer_code: d.deliverer_code,
            scheduled_on: d.scheduled_on,
            delivered_on: d.delivered_on,
            delivery_number: d.delivery_number,
            lot: d.lot,
            note: d.note,
            storage: d.storage,
            updated_at: d.updated_at,
            updated_by: d.updated_by,
            version: d.version,
        }
    }
}

/// An organisation's API token (never its secret).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApiTokenOut {
    /// The token's id (UUIDv7).
    pub id: String,
    /// The organisation it acts for.
    pub org_code: String,
    /// What it is for (the system using it).
    pub name: String,
    pub created_at: DateTime<Utc>,
    /// Who created it (user id).
    pub created_by: Option<String>,
    /// When it was revoked; none while valid.
    pub revoked_at: Option<DateTime<Utc>>,
    /// When it was last used.
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<TokenRow> for ApiTokenOut {
    fn from(t: TokenRow) -> Self {
        ApiTokenOut {
            id: t.id,
            org_code: t.org_code,
            name: t.name,
            created_at: t.created_at,
            created_by: t.created_by,
            revoked_at: t.revoked_at,
            last_used_at: t.last_used_at,
        }
    }
}

/// A new API token with its secret, shown this once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NewTokenOut {
    pub token: ApiTokenOut,
    /// The token itself (`vsys_…`), for `Authorization: Bearer`; shown this once.
    pub secret: String,
}

impl From<NewToken> for NewTokenOut {
    fn from(t: NewToken) -> Self {
        NewTokenOut {
            token: t.token.into(),
            secret: t.secret,
        }
    }
}

/// What a deliverer received from upstream (入荷).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InboundOut {
    /// The entry's id (UUIDv7).
    pub id: String,
    /// The deliverer.
    pub org_code: String,
    pub cycle_id: String,
    pub item: ProductKind,
    /// Vials or pieces received.
    pub quantity: i64,
    /// 入荷日.
    pub received_on: NaiveDate,
    pub at: DateTime<Utc>,
    /// Who recorded it (user id).
    pub by: Option<String>,
}

impl From<InboundRow> for InboundOut {
    fn from(r: InboundRow) -> Self {
        InboundOut {
            id: r.id,
            org_code: r.org_code,
            cycle_id: r.cycle_id,
            item: r.item,
            quantity: r.quantity,
            received_on: r.received_on,
            at: r.at,
            by: r.by,
        }
    }
}

/// A deliverer's basic information (基本情報).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DelivererInfoOut {
    /// The deliverer.
    pub org_code: String,
    pub postal_code: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
    /// 担当者.
    pub contact: Option<String>,
    pub email: Option<String>,
    pub updated_at: DateTime<Utc>,
    /// Who changed it last (user id).
    pub updated_by: Option<String>,
    /// The version (`ETag` `"vN"`; `"v0"` before the first registration).
    pub version: i64,
}

impl From<DelivererProfileRow> for DelivererInfoOut {
    fn from(p: DelivererProfileRow) -> Self {
        DelivererInfoOut {
            org_code: p.org_code,
            postal_code: p.postal_code,
            address: p.address,
            phone: p.phone,
            contact: p.contact,
            email: p.email,
            updated_at: p.updated_at,
            updated_by: p.updated_by,
            version: p.version,
        }
    }
}

super::super::page_type!(DeliveryPage, DeliveryOut, "A page of deliveries.");
