//! The world every use-case test starts from: a fresh database (cloned from a template with the
//! master data and a small demo world of 60 sites), the application on a clock the test moves,
//! and helpers to act as the demo users, look at rows and drive a cycle down the chain.

use chrono::{Duration, NaiveDate};
use std::fmt::Debug;
use std::sync::Arc;
use vsys_app::allocation::LineInput;
use vsys_app::cycles::{CycleInput, SupplyInput};
use vsys_app::{Actor, App, AppError, AppResult, Config, ManualClock};
use vsys_domain::{Msg, Unit};
use vsys_store::cycles::CycleRow;
use vsys_testkit::{Backend, TestDb, fresh_db};

pub use vsys_app::demo::DEMO_PASSWORD as PASSWORD;

pub struct World {
    pub app: App,
    pub clock: Arc<ManualClock>,
    pub db: TestDb,
}

pub fn config() -> Config {
    Config {
        secret_key: Some(vsys_testkit::TEST_SECRET_KEY.into()),
        mail_workers: 0,
        ..Default::default()
    }
}

/// A fresh world on `backend`; `None` when that backend is not configured.
pub async fn world(backend: Backend) -> Option<World> {
    let db = fresh_db(
        backend,
        &format!(
            "app_usecases_v4_{}",
            vsys_app::knowledge::manual_fingerprint()
        ),
        |db| async move {
            let app = App::new(db, config(), Arc::new(ManualClock::default()));
            app.prepare().await.map_err(|e| anyhow::anyhow!("{e}"))?;
            vsys_app::demo::seed(&app, 60, &|_, _| {})
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            Ok(())
        },
    )
    .await?;
    let clock = Arc::new(ManualClock::default());
    let app = App::new(db.db.clone(), config(), clock.clone());
    Some(World { app, clock, db })
}

/// The demo login of a kind of organisation and a role: `minato-operator@demo.vsys.jp`.
pub fn email(slug: &str, role: &str) -> String {
    format!("{slug}-{role}@demo.vsys.jp")
}

impl World {
    /// The actor of a demo login (as the command line makes it: no session).
    pub async fn actor(&self, slug: &str, role: &str) -> Actor {
        self.actor_of(&email(slug, role)).await
    }

    pub async fn actor_of(&self, email: &str) -> Actor {
        vsys_app::accounts::actor_on_host(&self.app, email)
            .await
            .unwrap_or_else(|e| panic!("actor {email}: {e:?}"))
    }

    /// Creates an account directly (as the system, no password change) and acts as it.
    pub async fn make_user(&self, org: &str, role: &str, email: &str) -> Actor {
        let n = vsys_app::accounts::NewUser {
            org_code: org.into(),
            email: email.into(),
            name: "テスト 利用者".into(),
            role: role.into(),
            password: PASSWORD.into(),
        };
        vsys_app::accounts::create_system(&self.app, &vsys_app::audit::Who::system(), &n, false)
            .await
            .unwrap_or_else(|e| panic!("user {email}: {e:?}"));
        self.actor_of(email).await
    }

    /// An account's row, straight from the database.
    pub async fn user(&self, email: &str) -> vsys_store::users::UserRow {
        let mut tx = self.db.db.read().await.unwrap();
        vsys_store::users::by_email(&mut tx, email)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no user {email}"))
    }

    /// Audit entries whose action starts with `prefix`.
    pub async fn audit(&self, prefix: &str) -> Vec<vsys_store::audit::AuditRow> {
        let mut tx = self.db.db.read().await.unwrap();
        let f = vsys_store::audit::AuditFilter {
            action_prefix: Some(prefix.into()),
            ..Default::default()
        };
        vsys_store::audit::search(&mut tx, &f, vsys_store::Page::first(500))
            .await
            .unwrap()
            .0
    }

    /// Today in Japan, by the test's clock.
    pub fn today(&self) -> NaiveDate {
        vsys_app::clock::japan_date(self.app.clock.now())
    }

    /// The demo clinic in 港区 (an institution).
    pub async fn clinic(&self) -> String {
        self.user(&email("clinic", "operator")).await.org_code
    }

    /// The demo municipal site (集団接種会場) in 港区.
    pub async fn municipal_site(&self) -> String {
        self.user(&email("site", "operator")).await.org_code
    }

    /// The demo cycle (クール010), whose products the tests' own cycles use too.
    pub async fn demo_cycle(&self) -> CycleRow {
        let nation = self.actor("nation", "viewer").await;
        vsys_app::cycles::list(&self.app, &nation, vsys_store::Page::all())
            .await
            .unwrap()
            .0
            .into_iter()
            .find(|c| c.number == 10)
            .unwrap_or_else(|| panic!("no demo cycle"))
    }

    /// A new cycle `number` of the demo vaccine, needles and syringes, its deadlines ahead of
    /// today, sites receiving vials, without supply.
    pub async fn cycle_input(&self, number: i64) -> CycleInput {
        let demo = self.demo_cycle().await;
        let day = |d: i64| self.today() + Duration::days(d);
        CycleInput {
            number,
            name: None,
            vaccine_id: demo.vaccine_id,
            needle_id: demo.needle_id,
            syringe_id: demo.syringe_id,
            period_start: day(14),
            period_end: day(27),
            deadline_prefecture: day(3),
            deadline_municipality: day(6),
            deadline_site: day(9),
            chain: None,
            unit_site: Some(Unit::Vial),
            formulas: None,
        }
    }

    /// A new cycle with its supply registered by the manufacturer (100 boxes) and the
    /// warehouse (1,000 packs of needles and of syringes).
    pub async fn cycle_with_supply(&self, number: i64) -> CycleRow {
        let nation = self.actor("nation", "operator").await;
        let cycle = vsys_app::cycles::create(&self.app, &nation, &self.cycle_input(number).await)
            .await
            .unwrap();
        let pfizer = self.actor("pfizer", "operator").await;
        let warehouse = self.actor("syringe", "operator").await;
        for (who, product, quantity) in [
            (&pfizer, Some(cycle.vaccine_id.clone()), 100),
            (&warehouse, cycle.needle_id.clone(), 1000),
            (&warehouse, cycle.syringe_id.clone(), 1000),
        ] {
            vsys_app::cycles::register_supply(
                &self.app,
                who,
                &cycle.id,
                &SupplyInput {
                    supplier_code: None,
                    product_id: product.unwrap(),
                    quantity,
                },
            )
            .await
            .unwrap();
        }
        cycle
    }

    /// The nation's node version of a cycle.
    pub async fn version(&self, actor: &Actor, cycle: &str, org: &str) -> i64 {
        vsys_app::allocation::division(&self.app, actor, cycle, org)
            .await
            .unwrap()
            .node
            .version
    }

    /// A cycle divided down to 港区, which has confirmed its amount: the nation auto-filled and
    /// finished, 東京都 confirmed, gave everything to 港区 and finished, 港区 confirmed.
    pub async fn minato_confirmed(&self, number: i64) -> CycleRow {
        let app = &self.app;
        let cycle = self.cycle_with_supply(number).await;
        let id = cycle.id.as_str();
        let nation = self.actor("nation", "operator").await;
        let v = self.version(&nation, id, "JP").await;
        vsys_app::allocation::apply_autofill(app, &nation, id, "JP", v, None)
            .await
            .unwrap();
        vsys_app::allocation::finish(app, &nation, id, "JP")
            .await
            .unwrap();
        let tokyo = self.actor("tokyo", "operator").await;
        vsys_app::allocation::confirm(app, &tokyo, id, "13")
            .await
            .unwrap();
        let d = vsys_app::allocation::division(app, &tokyo, id, "13")
            .await
            .unwrap();
        let boxes = d.node.vials / cycle.vials_per_box;
        vsys_app::allocation::save_division(
            app,
            &tokyo,
            id,
            "13",
            d.node.version,
            &[LineInput {
                org_code: "13103".into(),
                amount: boxes,
                needles: None,
                syringes: None,
            }],
            None,
        )
        .await
        .unwrap();
        vsys_app::allocation::finish(app, &tokyo, id, "13")
            .await
            .unwrap();
        let minato = self.actor("minato", "operator").await;
        vsys_app::allocation::confirm(app, &minato, id, "13103")
            .await
            .unwrap();
        cycle
    }

    /// A cycle finalised by 東京都 after 港区 divided its amount among its sites (the demo
    /// clinic asked for its vaccine on dry ice): deliveries exist.
    pub async fn finalised(&self, number: i64) -> CycleRow {
        let app = &self.app;
        let cycle = self.minato_confirmed(number).await;
        let id = cycle.id.as_str();
        let minato = self.actor("minato", "operator").await;
        let clinic = self.clinic().await;
        vsys_app::requests::put(
            app,
            &minato,
            id,
            &clinic,
            None,
            &vsys_app::requests::RequestInput {
                capacity_doses: 1200,
                requested_doses: 600,
                storage: "dry_ice".into(),
                needles: 600,
                syringes: 600,
            },
        )
        .await
        .unwrap();
        let v = self.version(&minato, id, "13103").await;
        vsys_app::allocation::apply_autofill(app, &minato, id, "13103", v, None)
            .await
            .unwrap();
        vsys_app::allocation::finish(app, &minato, id, "13103")
            .await
            .unwrap();
        let tokyo = self.actor("tokyo", "operator").await;
        vsys_app::allocation::finalise(app, &tokyo, id, "13")
            .await
            .unwrap();
        cycle
    }
}

// What a use-case answered, when it refused.

#[track_caller]
pub fn forbidden<T: Debug>(r: AppResult<T>) {
    assert!(
        matches!(r, Err(AppError::Forbidden)),
        "expected Forbidden, got {r:?}"
    );
}

#[track_caller]
pub fn not_found<T: Debug>(r: AppResult<T>) {
    assert!(
        matches!(r, Err(AppError::NotFound)),
        "expected NotFound, got {r:?}"
    );
}

#[track_caller]
pub fn conflict<T: Debug>(r: AppResult<T>) {
    assert!(
        matches!(r, Err(AppError::Conflict)),
        "expected Conflict, got {r:?}"
    );
}

/// The refusal is `AppError::State(msg)`.
#[track_caller]
pub fn state<T: Debug>(r: AppResult<T>, msg: Msg) {
    match r {
        Err(AppError::State(m)) => assert_eq!(m, msg),
        other => panic!("expected State({msg:?}), got {other:?}"),
    }
}

/// The refusal is `AppError::Invalid` naming `field`; returns that field's message.
#[track_caller]
pub fn invalid<T: Debug>(r: AppResult<T>, field: &str) -> Msg {
    match r {
        Err(AppError::Invalid(inv)) => inv
            .0
            .iter()
            .find(|f| f.field == field)
            .map(|f| f.msg)
            .unwrap_or_else(|| panic!("expected an error on {field}, got {inv:?}")),
        other => panic!("expected Invalid({field}), got {other:?}"),
    }
}
