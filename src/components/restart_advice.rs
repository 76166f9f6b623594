//! Restarts: Kudu itself (Windows, same-origin) and the app (portal or Azure CLI).

use yew::prelude::*;

use crate::components::copy_button::CopyButton;
use crate::round::SiteFacts;

/// Windows: restarting Kudu ends the process that holds `deployments.lock`.
#[component]
pub fn RestartKuduAdvice() -> Html {
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

#[derive(Properties, PartialEq)]
pub struct RestartAppAdviceProps {
    pub site: SiteFacts,
}

/// Linux has no same-origin restart: the portal or `az webapp restart`.
#[component]
pub fn RestartAppAdvice(props: &RestartAppAdviceProps) -> Html {
    let name = props.site.name.as_deref().unwrap_or("<app-name>");
    let group = props
        .site
        .resource_group
        .as_deref()
        .unwrap_or("<resource-group>");
    let command = format!("az webapp restart --name {name} --resource-group {group}");
    html! {
        <>
            <h3>{ "Restart the app" }</h3>
            <p>{ "A restart ends the process holding the lock. Restart from the Azure portal \
                  (the app's Overview, Restart), or with the Azure CLI:" }</p>
            <pre class="kd-snippet"><code>{ command.clone() }</code></pre>
            <CopyButton text={command} what="the restart command" />
        </>
    }
}
