//! `DiscoverTools`: re-check a stored connector with its owner's credentials,
//! compare its tools with the approved pins (changes are held for review, see
//! `switchboard_core::domain::pins`) and track its health (three consecutive
//! failures make it `degraded`; one success restores it).

use switchboard_core::audit::{self, Actor, AuditKind};
use switchboard_core::connector_secrets;
use switchboard_core::domain::{ToolChange, ToolInfo, ToolPins, UserId};
use switchboard_core::runs::RunRecord;
use switchboard_core::services::Services;
use switchboard_core::store::{ConnectorRecord, ConnectorState, DEGRADED_AFTER, Json, StoreError, now};

use super::Outcome;
use crate::progress::Progress;

pub async fn run(services: &Services, run: &RunRecord) -> anyhow::Result<Outcome> {
    let owner = UserId::parse(&run.owner).map_err(anyhow::Error::msg)?;
    let Some(connector_id) = run.connector_id else {
        return Ok(Outcome::failed(run, "INTERNAL_ERROR", "this run names no connector"));
    };
    let connector = match services.store.connector(&owner, connector_id).await {
        Ok(c) => c,
        Err(StoreError::NotFound) => return Ok(Outcome::failed(run, "CONNECTOR_DELETED", "the connector was deleted")),
        Err(e) => return Err(e.into()),
    };
    let secrets = connector_secrets::open_credentials(&services.vault, &connector)
        .and_then(|c| Ok((c, connector_secrets::open_headers(&services.vault, &connector)?)));
    let (credentials, headers) = match secrets {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(connector_id = %connector.id, error = format!("{e:#}"), "cannot open a connector's secrets");
            return Ok(Outcome::failed(
                run,
                "INTERNAL_ERROR",
                "the stored credentials could not be read; edit the connector",
            ));
        }
    };
    let credentials = match services
        .usable_credentials(
            &run.owner,
            connector.id,
            &connector.server_url,
            &connector.server_url,
            credentials,
        )
        .await
    {
        Ok(c) => c,
        Err(e) => return Ok(Outcome::failed(run, "AUTH_FAILED", &e.to_string())),
    };
    let progress = Progress::start(services.events.clone(), run.id, run.steps.0.clone());
    let budget = services.settings.jobs.test_budget;
    let report = services
        .mcp
        .probe(
            &connector.server_url,
            &credentials,
            &headers,
            budget,
            &progress.observer(),
        )
        .await;
    let outcome = Outcome::from_report(report, progress.finish().await);

    let was_degraded = connector.state == ConnectorState::Degraded.as_str();
    let result: Option<switchboard_core::runs::TestResult> =
        outcome.result.clone().and_then(|r| serde_json::from_value(r).ok());
    match (&outcome.error, &result) {
        (None, Some(result)) => {
            let warning = result.error_code.as_deref();
            record_ok(services, &owner, connector.clone(), &result.tools, warning).await?;
            if was_degraded {
                tracing::info!(target: "switchboard::health", event = "connector_restored", connector_id = %connector.id, user_id = %owner, "connector is healthy again");
            }
        }
        (Some((code, _)), _) => {
            let updated = services.store.record_check_failed(connector.id, code, now()).await?;
            if let Some(c) = updated.filter(|c| c.state == ConnectorState::Degraded.as_str() && !was_degraded) {
                tracing::warn!(
                    target: "switchboard::health",
                    event = "connector_degraded",
                    connector_id = %c.id,
                    user_id = %owner,
                    consecutive_failures = c.consecutive_failures,
                    threshold = DEGRADED_AFTER,
                    code = %code,
                    "connector degraded after repeated failed checks"
                );
            }
        }
        (None, None) => {}
    }
    // The snapshot or the health changed: open gateway sessions re-read.
    services.events.catalog_changed(&run.owner).await;
    Ok(outcome)
}

/// A passed check: the first discovery of a connector with nothing pinned
/// yet (an OAuth connector saved before its sign-in) pins what it found;
/// any later one holds what changed for the user's review.
async fn record_ok(
    services: &Services,
    owner: &UserId,
    mut connector: ConnectorRecord,
    tools: &[ToolInfo],
    warning: Option<&str>,
) -> anyhow::Result<()> {
    // Pins are compare-and-set: a review saved meanwhile makes us read again,
    // unless the settings the tools were found with changed meanwhile.
    let probed = settings(&connector);
    for _ in 0..3 {
        let (pins, observed) = match connector.tool_pins.take() {
            None => (ToolPins::approved(tools.to_vec()), Some(Vec::new())),
            Some(Json(mut pins)) => {
                let observed = pins.observe(tools.to_vec());
                (pins, observed)
            }
        };
        let changed = observed.is_some().then_some(&pins);
        let saved = services
            .store
            .record_check_ok(connector.id, connector.pins_rev, changed, warning, now())
            .await?;
        let held = observed.unwrap_or_default();
        if saved.is_some() {
            if !held.is_empty() {
                report_held(services, owner, &connector, &held).await;
            }
            return Ok(());
        }
        let current = match services.store.connector(owner, connector.id).await {
            Ok(c) => c,
            Err(StoreError::NotFound) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        if settings(&current) != probed {
            tracing::info!(connector_id = %current.id, "the connector was edited during its check; its findings are dropped");
            return Ok(());
        }
        connector = current;
    }
    anyhow::bail!("the connector's tool pins kept changing during a check")
}

/// What a check reaches the server with: findings made with other settings are not recorded.
type Settings = (String, String, Option<Vec<u8>>, Option<Vec<u8>>);

fn settings(c: &ConnectorRecord) -> Settings {
    (
        c.server_url.clone(),
        c.auth_type.clone(),
        c.credentials.clone(),
        c.headers.clone(),
    )
}

/// Held changes named in one audit event at most.
const HELD_IN_SUMMARY: usize = 20;

/// A metric, a structured event and an audit entry for changes newly held.
async fn report_held(services: &Services, owner: &UserId, connector: &ConnectorRecord, held: &[ToolChange]) {
    for change in held {
        metrics::counter!("switchboard_tool_changes_held_total", "change" => change.change.as_str()).increment(1);
    }
    // The names are the server's text, not yet approved: a bounded sample of them.
    let name = |c: &ToolChange| c.tool.chars().take(128).collect::<String>();
    let named = || held.iter().take(HELD_IN_SUMMARY);
    tracing::warn!(
        target: "switchboard::pins",
        event = "tool_changes_held",
        connector_id = %connector.id,
        user_id = %owner,
        count = held.len(),
        tools = ?named().map(name).collect::<Vec<_>>(),
        "a server changed its tools; the changes wait for the user's review"
    );
    let sample: Vec<serde_json::Value> = named()
        .map(|c| serde_json::json!({"tool": name(c), "change": c.change, "held_out": c.held_out}))
        .collect();
    let summary = serde_json::json!({"connector": connector.name, "count": held.len(), "changes": sample});
    audit::record(
        services.store.as_ref(),
        Some(owner.as_str()),
        Actor::Switchboard,
        AuditKind::ToolChangesHeld,
        audit::connector(connector.id),
        summary,
    )
    .await;
}
