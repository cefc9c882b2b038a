//! Who may do what: the one place where scope and role rules live. The `app` layer asks these
//! functions before every read and write, for screens and API alike.

use crate::org::{OrgCode, OrgKind, Role};

/// The authenticated caller as the rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub org_code: OrgCode,
    pub org_kind: OrgKind,
    /// Materialised path of the caller's organisation (see [`crate::org::child_path`]).
    pub org_path: String,
    pub role: Role,
}

/// What the caller wants to do to an organisation's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// See the organisation and its business data.
    Read,
    /// Change the organisation's business data.
    Write,
    /// Manage the organisation's users and settings.
    ManageUsers,
    /// Read the audit log of the organisation (nation administrators only).
    ReadAudit,
}

crate::code_enum! {
    /// Where a browser session stands in the login: every login-stage handler names the one
    /// stage it serves, and the use-cases check it again against the database.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    pub enum Stage as "login stage" {
        /// Logged in (possibly still owing a password change).
        Active = "active",
        /// Password accepted; the TOTP code is next.
        Totp = "totp",
        /// Password accepted; the account must enrol an authenticator first (it has none).
        TotpSetup = "totp_setup",
    }
}

/// What a user can do by the kind of their organisation and their role: the one list that the
/// use-cases ask to enforce and the screens ask to show or hide. (Where, within the caller's
/// scope, is [`Principal::may`]'s question.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Capability {
    /// Create cycles, set the supply rules, open and close reporting periods: the nation's
    /// operators and administrators.
    ManageProgramme,
    /// Import the institution registry: nation and prefecture operators.
    ImportRegistry,
    /// Follow an area: its sites, deliveries, results, idle stock. The nation, prefectures and
    /// municipalities, any role.
    OverseeArea,
    /// Review a municipality's sites (approve changes, confirm cooperating institutions):
    /// operators of the municipality or above.
    ReviewSites,
    /// Run a vaccination site: reservation status, requests, results, stock. Institutions and
    /// municipal sites.
    RunSite,
    /// See one's own delivery lines: every kind of deliverer.
    SeeOwnDeliveries,
    /// Enter delivery dates: deliverers' operators.
    EnterDeliveryDates,
    /// Give an undated line to another wholesaler, contract wholesalers for an area:
    /// prefecture and nation operators.
    ReassignDeliveries,
    /// See what each deliverer is handed upstream (地域卸業者への分配量): the nation,
    /// manufacturers, needle/syringe warehouses and wholesalers.
    SeeUpstream,
    /// Keep a deliverer's inbound and stock (入荷・在庫): wholesalers, manufacturers and
    /// warehouses (dry-ice makers deliver no counted goods).
    KeepDelivererStock,
    /// Record inbound goods: the operators of those who keep deliverer stock.
    RecordInbound,
    /// See where dry ice is needed: dry-ice makers (their areas), the nation, prefectures and
    /// municipalities (theirs).
    SeeDryIce,
    /// Manage the organisation's API tokens for its own systems: deliverers' administrators
    /// (a delivery system enters dates) and municipalities' (a booking system sets the
    /// reservation statuses of their sites).
    ManageApiTokens,
    /// Maintain products and register their supply for a cycle: operators of the nation,
    /// manufacturers (vaccines) and needle/syringe warehouses.
    SupplyProducts,
    /// Register municipal vaccination sites (集団接種会場): municipalities' operators.
    CreateMunicipalSites,
    /// Register a site's capacity and request (接種可能量・希望量) for a cycle: sites'
    /// operators (whether the cycle's chain takes them is the chain's rule).
    RequestSupply,
}

impl Principal {
    /// Can the caller do this at all (kind and role)? Scope is [`Principal::may`]'s.
    pub fn can(&self, c: Capability) -> bool {
        use Capability::*;
        let kind = self.org_kind;
        let operator = self.role >= Role::Operator;
        match c {
            ManageProgramme => kind == OrgKind::Nation && operator,
            ImportRegistry => matches!(kind, OrgKind::Nation | OrgKind::Prefecture) && operator,
            OverseeArea => kind.is_government(),
            ReviewSites => kind.is_government() && operator,
            RunSite => kind.is_site(),
            SeeOwnDeliveries => kind.is_deliverer(),
            EnterDeliveryDates => kind.is_deliverer() && operator,
            ReassignDeliveries => matches!(kind, OrgKind::Nation | OrgKind::Prefecture) && operator,
            SeeUpstream => matches!(
                kind,
                OrgKind::Nation
                    | OrgKind::Manufacturer
                    | OrgKind::SyringeWarehouse
                    | OrgKind::Wholesaler
            ),
            KeepDelivererStock => matches!(
                kind,
                OrgKind::Wholesaler | OrgKind::Manufacturer | OrgKind::SyringeWarehouse
            ),
            RecordInbound => self.can(KeepDelivererStock) && operator,
            SeeDryIce => kind == OrgKind::DryIceMaker || kind.is_government(),
            ManageApiTokens => {
                (kind.is_deliverer() || kind == OrgKind::Municipality) && self.role == Role::Admin
            }
            SupplyProducts => {
                matches!(
                    kind,
                    OrgKind::Nation | OrgKind::Manufacturer | OrgKind::SyringeWarehouse
                ) && operator
            }
            CreateMunicipalSites => kind == OrgKind::Municipality && operator,
            RequestSupply => kind.is_site() && operator,
        }
    }

    /// Is the organisation at `target_path` the caller's own or one of its subordinates?
    pub fn covers(&self, target_path: &str) -> bool {
        target_path.starts_with(&self.org_path)
    }

    pub fn is_own(&self, target_path: &str) -> bool {
        target_path == self.org_path
    }

    pub fn is_nation(&self) -> bool {
        self.org_kind == OrgKind::Nation
    }

    /// May the caller do `action` on the organisation at `target_path`?
    ///
    /// - Read: own organisation and subordinates, any role.
    /// - Write: own organisation and subordinates, operators and admins.
    /// - ManageUsers: admins of the organisation itself; nation admins everywhere. (Creating
    ///   the *first* admin of a subordinate is [`Principal::may_create_first_admin`].)
    /// - ReadAudit: nation admins.
    pub fn may(&self, action: Action, target_path: &str) -> bool {
        match action {
            Action::Read => self.covers(target_path),
            Action::Write => self.covers(target_path) && self.role >= Role::Operator,
            Action::ManageUsers => {
                self.role == Role::Admin
                    && (self.is_own(target_path) || (self.is_nation() && self.covers(target_path)))
            }
            Action::ReadAudit => self.role == Role::Admin && self.is_nation(),
        }
    }

    /// An admin may create the first administrator of a subordinate organisation that has
    /// none yet.
    pub fn may_create_first_admin(&self, target_path: &str, target_has_admin: bool) -> bool {
        self.role == Role::Admin
            && self.covers(target_path)
            && !self.is_own(target_path)
            && !target_has_admin
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(code: &str, path: &str, role: Role) -> Principal {
        let org_code = OrgCode::parse(code).unwrap_or_else(|_| OrgCode::nation());
        Principal {
            org_kind: org_code.kind(),
            org_code,
            org_path: path.into(),
            role,
        }
    }

    #[test]
    fn scope_by_path() {
        let pref = p("13", "/JP/13/", Role::Operator);
        assert!(pref.may(Action::Read, "/JP/13/13103/"));
        assert!(pref.may(Action::Write, "/JP/13/13103/9131030001/"));
        assert!(!pref.may(Action::Read, "/JP/14/14100/"));
        assert!(!pref.may(Action::Read, "/JP/"));
        // A prefix of the code must not leak: 13 vs 130.
        assert!(!p("13103", "/JP/13/13103/", Role::Admin).may(Action::Read, "/JP/13/131030/"));
    }

    #[test]
    fn capabilities_by_kind_and_role() {
        use Capability::*;
        let nation_op = p("JP", "/JP/", Role::Operator);
        let nation_viewer = p("JP", "/JP/", Role::Viewer);
        assert!(nation_op.can(ManageProgramme) && !nation_viewer.can(ManageProgramme));
        assert!(nation_viewer.can(OverseeArea) && !nation_viewer.can(ImportRegistry));
        let pref = p("13", "/JP/13/", Role::Operator);
        assert!(pref.can(ImportRegistry) && pref.can(ReassignDeliveries));
        assert!(!pref.can(ManageProgramme) && !pref.can(SeeUpstream));
        let muni = p("13103", "/JP/13/13103/", Role::Operator);
        assert!(muni.can(ReviewSites) && !muni.can(ImportRegistry) && !muni.can(RunSite));
        // A municipality's administrators make tokens for its booking system; a prefecture
        // has none.
        assert!(!muni.can(ManageApiTokens));
        assert!(p("13103", "/JP/13/13103/", Role::Admin).can(ManageApiTokens));
        assert!(!p("13", "/JP/13/", Role::Admin).can(ManageApiTokens));
        let clinic = p("1310300001", "/JP/13/13103/1310300001/", Role::Viewer);
        assert!(clinic.can(RunSite) && !clinic.can(OverseeArea));
        let wholesaler = p("W13001", "/JP/13/W13001/", Role::Admin);
        assert!(wholesaler.can(SeeOwnDeliveries) && wholesaler.can(ManageApiTokens));
        assert!(wholesaler.can(RecordInbound) && !wholesaler.can(SeeDryIce));
        let dry_ice = p("D001", "/JP/D001/", Role::Operator);
        assert!(dry_ice.can(SeeDryIce) && dry_ice.can(EnterDeliveryDates));
        assert!(!dry_ice.can(KeepDelivererStock) && !dry_ice.can(ManageApiTokens));
        for c in [
            ManageProgramme,
            ImportRegistry,
            ReviewSites,
            EnterDeliveryDates,
            RecordInbound,
        ] {
            assert!(
                !p("JP", "/JP/", Role::Viewer).can(c) || c == OverseeArea,
                "{c:?}"
            );
        }
    }

    #[test]
    fn roles() {
        let viewer = p("13103", "/JP/13/13103/", Role::Viewer);
        assert!(viewer.may(Action::Read, "/JP/13/13103/"));
        assert!(!viewer.may(Action::Write, "/JP/13/13103/"));
        let admin = p("13103", "/JP/13/13103/", Role::Admin);
        assert!(admin.may(Action::ManageUsers, "/JP/13/13103/"));
        assert!(!admin.may(Action::ManageUsers, "/JP/13/13103/9131030001/"));
        assert!(admin.may_create_first_admin("/JP/13/13103/9131030001/", false));
        assert!(!admin.may_create_first_admin("/JP/13/13103/9131030001/", true));
        assert!(!admin.may(Action::ReadAudit, "/JP/"));
        let nation = p("JP", "/JP/", Role::Admin);
        assert!(nation.may(Action::ManageUsers, "/JP/13/13103/"));
        assert!(nation.may(Action::ReadAudit, "/JP/"));
    }
}
