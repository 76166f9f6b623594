//! The Linux restart hand-off: there is no same-origin restart on Linux (kudu-facts §5.2), so
//! the user restarts from the Azure portal or the Azure CLI. Pure, tested natively.
//!
//! The deep link opens the app's Overview blade (the Restart button is on its toolbar). It
//! needs the subscription, which only `WEBSITE_OWNER_NAME`
//! (`<subscription-guid>+<rg>-<region>webspace`) carries, and the resource group
//! (`WEBSITE_RESOURCE_GROUP`); without them the link searches the portal's App Services list.

use crate::round::SiteFacts;

/// The portal's App Services list, where the user can find the app by name.
pub const PORTAL_SEARCH: &str = "https://portal.azure.com/#view/HubsExtension/BrowseResource/resourceType/Microsoft.Web%2Fsites";

/// Where to restart the app in the portal, and whether it is the app's own blade.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PortalLink {
    pub url: String,
    /// True for the app's Overview blade, false for the search fallback.
    pub deep: bool,
}

/// The subscription id from `WEBSITE_OWNER_NAME`, when it is a GUID.
pub fn subscription_of(owner_name: &str) -> Option<&str> {
    let (subscription, _) = owner_name.split_once('+')?;
    let guid = subscription.len() == 36
        && subscription.char_indices().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        });
    guid.then_some(subscription)
}

/// The portal link for `site` (`site_name` is the host's app name when the settings were not
/// readable).
pub fn portal_link(site: &SiteFacts, site_name: &str) -> PortalLink {
    let subscription = site.owner_name.as_deref().and_then(subscription_of);
    let name = site.name.as_deref().unwrap_or(site_name);
    match (subscription, site.resource_group.as_deref()) {
        (Some(subscription), Some(group)) if !name.is_empty() => PortalLink {
            url: format!(
                "https://portal.azure.com/#@/resource/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Web/sites/{}/appServices",
                encode_component(subscription),
                encode_component(group),
                encode_component(name),
            ),
            deep: true,
        },
        _ => PortalLink {
            url: PORTAL_SEARCH.to_string(),
            deep: false,
        },
    }
}

/// `az webapp restart`, with placeholders for what is unknown. Shown as text, never run; the
/// command line prints the same line ([`kudu_core::report::restart::restart_command`]).
pub fn restart_command(site: &SiteFacts, site_name: &str) -> String {
    kudu_core::report::restart::restart_command(
        site.name.as_deref().or(Some(site_name)),
        site.resource_group.as_deref(),
    )
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn encode_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWNER: &str = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0+rg-web-WestEuropewebspace";

    fn facts(name: Option<&str>, group: Option<&str>, owner: Option<&str>) -> SiteFacts {
        SiteFacts {
            name: name.map(String::from),
            resource_group: group.map(String::from),
            owner_name: owner.map(String::from),
        }
    }

    #[test]
    fn owner_name_gives_the_subscription() {
        assert_eq!(
            subscription_of(OWNER),
            Some("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0")
        );
        assert_eq!(subscription_of("not-a-guid+rg-x"), None);
        assert_eq!(
            subscription_of("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"),
            None
        );
    }

    #[test]
    fn known_settings_give_the_apps_own_blade() {
        let link = portal_link(&facts(Some("myapp"), Some("rg-web"), Some(OWNER)), "myapp");
        assert!(link.deep);
        assert_eq!(
            link.url,
            "https://portal.azure.com/#@/resource/subscriptions/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/resourceGroups/rg-web/providers/Microsoft.Web/sites/myapp/appServices"
        );
    }

    #[test]
    fn unknown_settings_fall_back_to_the_search() {
        for site in [
            facts(Some("myapp"), None, Some(OWNER)),
            facts(Some("myapp"), Some("rg"), None),
            facts(Some("myapp"), Some("rg"), Some("junk")),
        ] {
            assert_eq!(
                portal_link(&site, "myapp"),
                PortalLink {
                    url: PORTAL_SEARCH.to_string(),
                    deep: false
                }
            );
        }
    }

    #[test]
    fn hostile_names_are_encoded_in_links_and_quoted_in_commands() {
        let site = facts(Some("a/b?c#d"), Some("rg 1&x"), Some(OWNER));
        let link = portal_link(&site, "ignored");
        assert!(
            link.url.ends_with(
                "/resourceGroups/rg%201%26x/providers/Microsoft.Web/sites/a%2Fb%3Fc%23d/appServices"
            ),
            "{}",
            link.url
        );
        assert_eq!(
            restart_command(&facts(Some("x; rm -rf ~"), Some("it's"), None), "x"),
            r"az webapp restart --name 'x; rm -rf ~' --resource-group 'it'\''s'"
        );
    }

    #[test]
    fn the_command_has_placeholders_when_unknown() {
        assert_eq!(
            restart_command(&facts(None, None, None), ""),
            "az webapp restart --name <app-name> --resource-group <resource-group>"
        );
        assert_eq!(
            restart_command(&facts(None, Some("rg-web"), None), "myapp-staging"),
            "az webapp restart --name myapp-staging --resource-group rg-web"
        );
    }
}
