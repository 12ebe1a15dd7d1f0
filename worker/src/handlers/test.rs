//! `ConnectionTest`: probe the server with the settings sealed into the run.

use switchboard_core::domain::{Credentials, CustomHeaders, UserId};
use switchboard_core::runs::RunRecord;
use switchboard_core::runs::launch::{SealedRunInput, sealed_input_aad};
use switchboard_core::services::Services;
use switchboard_core::store::StoreError;

use super::Outcome;
use crate::progress::Progress;

pub async fn run(services: &Services, run: &RunRecord) -> anyhow::Result<Outcome> {
    let input = match &run.sealed_input {
        Some(blob) => match services
            .vault
            .open_json::<SealedRunInput>(sealed_input_aad(&run.owner, &run.id.to_string()), blob)
        {
            Ok(input) => input,
            Err(e) => {
                tracing::error!(run_id = %run.id, error = %e, "cannot open a run's sealed input");
                return Ok(Outcome::failed(
                    run,
                    "INTERNAL_ERROR",
                    "the test's credentials could not be read; please test again",
                ));
            }
        },
        None => SealedRunInput {
            credentials: Credentials::None,
            headers: CustomHeaders::default(),
        },
    };
    // A stored OAuth connector is tested with its grant's access token, when
    // the test is of its saved URL (the grant's resource) and nowhere else.
    let url = &run.input.server_url;
    let saved = match run.connector_id {
        Some(id) => {
            let owner = UserId::parse(&run.owner).map_err(anyhow::Error::msg)?;
            match services.store.connector(&owner, id).await {
                Ok(connector) => Some((id, connector.server_url)),
                Err(StoreError::NotFound) => {
                    return Ok(Outcome::failed(run, "CONNECTOR_DELETED", "the connector was deleted"));
                }
                Err(e) => return Err(e.into()),
            }
        }
        None => None,
    };
    let credentials = match &saved {
        Some((id, saved)) => match services
            .usable_credentials(&run.owner, *id, saved, url, input.credentials)
            .await
        {
            Ok(c) => c,
            Err(e) => return Ok(Outcome::failed(run, "AUTH_FAILED", &e.to_string())),
        },
        None => input.credentials,
    };
    let progress = Progress::start(services.events.clone(), run.id, run.steps.0.clone());
    let report = services
        .mcp
        .probe(
            &run.input.server_url,
            &credentials,
            &input.headers,
            services.settings.jobs.test_budget,
            &progress.observer(),
        )
        .await;
    let mut outcome = Outcome::from_report(report, progress.finish().await);
    // A saved OAuth connector that needs sign-in: say where authorization starts
    // (its authorization is for its saved URL).
    if let (Some((id, saved)), Some(result)) = (&saved, outcome.result.as_mut())
        && result["error_code"] == "AUTH_REQUIRED"
        && run.input.auth_type == "oauth"
        && saved == url
    {
        result["authorize_url"] = format!("/api/connectors/{id}/authorize").into();
    }
    Ok(outcome)
}
