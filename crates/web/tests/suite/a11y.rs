//! What every page of the browser suite is held to: axe-core (WCAG 2.0/2.1 A and AA, vendored
//! from npm) finds nothing, and the Nu HTML Checker (`vnu-jar` from npm, run with Java) finds no
//! error in the HTML as served.

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;
use vsys_testkit::webdriver::Browser;

/// The vendored axe-core (npm `axe-core@4.10.2`, see `tests/vendor/axe-core/README.md`).
const AXE: &str = include_str!("../vendor/axe-core/axe.min.js");

/// Runs axe-core's WCAG 2.0/2.1 A and AA rules on the page; returns the violations (rule,
/// impact, the elements and why), empty when clean.
pub async fn axe_violations(b: &Browser) -> anyhow::Result<Vec<String>> {
    let loaded = b
        .execute("return typeof window.axe === 'object';", json!([]))
        .await?;
    if loaded != json!(true) {
        b.execute(AXE, json!([])).await?;
    }
    b.execute(
        "window.__axe = null;
         window.axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']})
           .then(r => { window.__axe = JSON.stringify(r.violations.map(v =>
               v.id + ' (' + v.impact + '): ' + v.nodes.map(n => n.target.join(' ') + ' — ' + n.failureSummary).join(' | '))); })
           .catch(e => { window.__axe = JSON.stringify(['axe failed: ' + e]); });",
        json!([]),
    )
    .await?;
    for _ in 0..300 {
        let v = b.execute("return window.__axe;", json!([])).await?;
        if let Some(s) = v.as_str() {
            return Ok(serde_json::from_str(s)?);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("axe did not finish")
}

/// Fails with every violation axe finds on the page (`what` names the page).
pub async fn axe_clean(b: &Browser, what: &str) -> anyhow::Result<()> {
    let v = axe_violations(b).await?;
    anyhow::ensure!(v.is_empty(), "{what}: axe found {v:#?}");
    Ok(())
}

/// How far the page reaches past the window's right edge, in CSS pixels (0: no sideways
/// scrolling).
pub async fn overflow_x(b: &Browser) -> anyhow::Result<i64> {
    let v = b
        .execute(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
            json!([]),
        )
        .await?;
    Ok(v.as_i64().unwrap_or(0))
}

/// The Nu HTML Checker's jar: `VSYS_VNU_JAR`, or where `.ci/run` installs it
/// (`target/tools/vnu`). `None` (said loudly) when there is none; under CI that is a failure.
pub fn vnu_jar() -> Option<PathBuf> {
    let installed = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/tools/vnu/node_modules/vnu-jar/build/dist/vnu.jar");
    let jar = std::env::var_os("VSYS_VNU_JAR")
        .map(PathBuf::from)
        .or_else(|| installed.exists().then_some(installed));
    match jar {
        Some(j) if j.exists() => Some(j),
        _ => {
            eprintln!(
                "!!! Nu HTML Checker SKIPPED: set VSYS_VNU_JAR or run `scripts/install-vnu` !!!"
            );
            assert!(
                std::env::var_os("CI").is_none(),
                "CI requires the Nu HTML Checker (scripts/install-vnu)"
            );
            None
        }
    }
}

/// The Nu HTML Checker's errors in the pages (name, HTML as served), as "name: line N: message";
/// `None` when the checker is not installed (see [`vnu_jar`]).
pub async fn vnu_errors(pages: &[(String, String)]) -> anyhow::Result<Option<Vec<String>>> {
    let Some(jar) = vnu_jar() else {
        return Ok(None);
    };
    let dir = tempfile::tempdir()?;
    let mut files = Vec::new();
    for (i, (_, html)) in pages.iter().enumerate() {
        let f = dir.path().join(format!("{i:03}.html"));
        std::fs::write(&f, html)?;
        files.push(f);
    }
    let args = files.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("java")
            .arg("-jar")
            .arg(&jar)
            .args(["--errors-only", "--format", "json", "--exit-zero-always"])
            .args(&args)
            .output()
    })
    .await??;
    // The report is on stderr (JSON: {"messages": [{"type", "url", "lastLine", "message"}]}).
    let report: Value = serde_json::from_slice(&out.stderr).map_err(|e| {
        anyhow::anyhow!("vnu report: {e}: {}", String::from_utf8_lossy(&out.stderr))
    })?;
    let mut errors = Vec::new();
    for m in report["messages"].as_array().into_iter().flatten() {
        if m["type"] != "error" && m["subType"] != "fatal" {
            continue;
        }
        let url = m["url"].as_str().unwrap_or_default();
        let name = files
            .iter()
            .position(|f| url.ends_with(&*f.to_string_lossy()))
            .map(|i| pages[i].0.as_str())
            .unwrap_or(url);
        errors.push(format!(
            "{name}: line {}: {}",
            m["lastLine"],
            m["message"].as_str().unwrap_or_default()
        ));
    }
    Ok(Some(errors))
}
