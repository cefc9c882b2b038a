//! The caller of a use-case.

use crate::error::{AppError, AppResult};
use vsys_domain::{Action, Capability, Principal, Role};
use vsys_store::orgs::OrgRow;
use vsys_store::users::UserRow;

/// An authenticated staff user, as the use-cases see them. Only `app` makes one (from a
/// session, an organisation token, or an account named on the host's command line), so holding
/// an `Actor` means someone was authenticated; its fields are read through methods.
#[derive(Debug, Clone)]
pub struct Actor {
    pub(crate) user_id: String,
    pub(crate) email: String,
    pub(crate) name: String,
    pub(crate) org_name: String,
    pub(crate) principal: Principal,
    pub(crate) ip: Option<String>,
    pub(crate) must_change_password: bool,
    /// Hash of the session in use, if any.
    pub(crate) session: Option<String>,
    /// Whether every login step is done (a browser session still owing its TOTP code, or its
    /// enrolment, stands for the account but may do nothing yet).
    pub(crate) login_complete: bool,
    pub(crate) csrf_token: String,
}

impl Actor {
    pub(crate) fn from_rows(user: &UserRow, org: &OrgRow, ip: Option<String>) -> AppResult<Actor> {
        let org_kind = org.kind;
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
            login_complete: true,
            csrf_token: String::new(),
        })
    }

    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    pub fn email(&self) -> &str {
        &self.email
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn org_name(&self) -> &str {
        &self.org_name
    }

    /// Who the rules see: organisation, its kind and path, role.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    pub fn ip(&self) -> Option<&str> {
        self.ip.as_deref()
    }

    pub fn must_change_password(&self) -> bool {
        self.must_change_password
    }

    /// The CSRF token of the browser session behind this actor (empty for API callers).
    pub fn csrf_token(&self) -> &str {
        &self.csrf_token
    }

    /// Can the actor do this at all (kind and role)? The screens ask it to show or hide.
    pub fn can(&self, c: Capability) -> bool {
        self.principal.can(c)
    }

    /// Fails with [`AppError::Forbidden`] unless the actor [`Actor::can`] do `c`.
    pub fn require_can(&self, c: Capability) -> AppResult<()> {
        self.require_password_changed()?;
        if self.principal.can(c) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
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

    /// Whether the actor may write what the nation alone writes (citizens' notices, the staff
    /// knowledge base): the nation's operators and administrators.
    pub fn may_write_for_nation(&self) -> bool {
        self.principal.may(Action::Write, &nation_path())
    }

    /// [`Actor::require`] on the nation's own writings.
    pub fn require_nation_writer(&self) -> AppResult<()> {
        self.require(Action::Write, &nation_path())
    }

    pub fn require_password_changed(&self) -> AppResult<()> {
        if !self.login_complete {
            return Err(AppError::NotLoggedIn);
        }
        if self.must_change_password {
            Err(AppError::PasswordChangeRequired)
        } else {
            Ok(())
        }
    }
}

/// The nation's place in the hierarchy.
fn nation_path() -> String {
    format!("/{}/", vsys_domain::OrgCode::nation())
}
