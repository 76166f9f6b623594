//! Restarts: Kudu itself (Windows, same-origin) and the app (portal or Azure CLI).

use kudu_core::Personality;
use yew::prelude::*;

use crate::components::copy_button::CopyButton;
use crate::portal_link::{portal_link, restart_command};
use crate::round::SiteFacts;

/// Windows: restarting Kudu ends the process that holds `deployments.lock`. View functions
/// here, not components (no state; see `step_nav`).
pub fn restart_kudu_advice() -> Html {
    html! {
        <>
            <h3>{ "Restart Kudu" }</h3>
            <p>
                { "Ending the Kudu process releases the lock it holds: " }
                <code>{ "DELETE /api/processes/0" }</code>
                { ". Kudu answers again after a few seconds; the app itself keeps running." }
            </p>
        </>
    }
}

/// The restart hand-off: Linux has no same-origin restart, so the portal (a deep link to the
/// app's blade when its subscription and resource group were read, else the portal's search)
/// or `az webapp restart`. `data-testid="restart-handoff"`. `site_name` stands in when
/// `WEBSITE_SITE_NAME` was not readable (the SCM host's first label).
pub fn restart_app_advice(site: &SiteFacts, site_name: &str, personality: Personality) -> Html {
    let command = restart_command(site, site_name);
    let link = portal_link(site, site_name);
    let linux = personality == Personality::Linux;
    html! {
        <div data-testid="restart-handoff">
            <h3>{ "Restart the app" }</h3>
            if linux {
                <p>{ "On Linux the SCM site cannot restart the app itself; restarting also restarts \
                      Kudu, which clears its deployment lock. Restart from the Azure portal or the \
                      Azure CLI:" }</p>
            } else {
                <p>{ "A restart ends the process holding the lock. Restart from the Azure portal or \
                      the Azure CLI:" }</p>
            }
            <p>
                <a href={link.url.clone()} target="_blank" rel="noopener noreferrer"
                    data-testid="portal-link" data-deep={if link.deep { "true" } else { "false" }}>
                    { if link.deep { "Open this app in the Azure portal (Overview, then Restart)" }
                      else { "Find this app in the Azure portal (App Services), then Restart" } }
                </a>
            </p>
            <pre class="kd-snippet"><code data-testid="restart-command">{ command.clone() }</code></pre>
            <CopyButton text={command} what="the restart command" />
            <p class="kd-meta">{ "Wait for the restart to finish before deploying again: a deployment \
                                  started during a restart can fail too." }</p>
        </div>
    }
}
