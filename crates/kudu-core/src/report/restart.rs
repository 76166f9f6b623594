//! The Linux restart hand-off's command: Kudu on Linux has no restart API (kudu-facts §5.2), so
//! every shell shows the same `az webapp restart` line for the user to run. It is text to
//! paste, never run by Kudu Doctor.

/// `az webapp restart` for the app, with placeholders for what is unknown. `name` is
/// `WEBSITE_SITE_NAME`, or the SCM host's first label when that was not readable.
pub fn restart_command(name: Option<&str>, resource_group: Option<&str>) -> String {
    let name = name
        .filter(|n| !n.is_empty())
        .map_or_else(|| "<app-name>".to_string(), shell_word);
    let group = resource_group
        .filter(|g| !g.is_empty())
        .map_or_else(|| "<resource-group>".to_string(), shell_word);
    format!("az webapp restart --name {name} --resource-group {group}")
}

/// A value as one shell word: plain Azure names stay as they are, anything else is quoted so
/// pasting the command cannot run something the settings smuggled in.
fn shell_word(value: &str) -> String {
    let plain = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if plain {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_stay_and_anything_else_is_one_quoted_word() {
        assert_eq!(
            restart_command(Some("myapp-staging"), Some("rg-web")),
            "az webapp restart --name myapp-staging --resource-group rg-web"
        );
        assert_eq!(
            restart_command(Some("x; rm -rf ~"), Some("it's")),
            r"az webapp restart --name 'x; rm -rf ~' --resource-group 'it'\''s'"
        );
        assert_eq!(
            restart_command(None, Some("")),
            "az webapp restart --name <app-name> --resource-group <resource-group>"
        );
    }
}
