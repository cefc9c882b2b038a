//! The caller of a use-case.

use crate::error::{AppError, AppResult};
use vsys_domain::{Action, Principal, Role};
use vsys_store::orgs::OrgRow;
use vsys_store::users::UserRow;

/// An authenticated staff user, as the use-cases see them.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: String,
    pub email: String,
    pub name: String,
    pub org_name: String,
    pub principal: Principal,
    pub ip: Option<String>,
    pub must_change_password: bool,
    /// Hash of the session in use, if any.
    pub session: Option<String>,
    pub csrf_token: String,
}

impl Actor {
    pub fn from_rows(user: &UserRow, org: &OrgRow, ip: Option<String>) -> AppResult<Actor> {
        let org_kind =
            Some(org.kind).ok_or_else(|| anyhow::anyhow!("bad org kind {}", org.kind))?;
        let org_code = vsys_domain::OrgCode::parse(&org.code)
            .map_err(|_| anyhow::anyhow!("bad org code {}", org.code))?;
        let role = user.role;
        Ok(Actor {
            user_id: user.id.clone(),
            email: user.email.clone(),
            name: user.name.clone(),
            org_name: org.name.clone(),
            principal: Principal {
                org_code,
                org_kind,
                org_path: org.path.clone(),
                role,
            },
            ip,
            must_change_password: user.must_change_password,
            session: None,
            csrf_token: String::new(),
        })
    }

    pub fn org_code(&self) -> &str {
        self.principal.org_code.as_str()
    }

    pub fn role(&self) -> Role {
        self.principal.role
    }

    /// Fails with [`AppError::Forbidden`] unless the rules allow `action` on the organisation
    /// at `target_path`, and with [`AppError::PasswordChangeRequired`] while the password must
    /// be changed.
    pub fn require(&self, action: Action, target_path: &str) -> AppResult<()> {
        self.require_password_changed()?;
        if self.principal.may(action, target_path) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }

    pub fn require_password_changed(&self) -> AppResult<()> {
        if self.must_change_password {
            Err(AppError::PasswordChangeRequired)
        } else {
            Ok(())
        }
    }
}
