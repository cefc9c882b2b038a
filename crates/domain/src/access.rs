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

impl Principal {
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
