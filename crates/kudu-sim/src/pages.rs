//! HTML the simulator serves: a Kudu-like home page for the extension to inject into, the
//! login page the front end shows to an unauthenticated browser, and App Service's default
//! `hostingstart.html`.

/// The default page a new site has in wwwroot.
pub const HOSTINGSTART: &str = "<!DOCTYPE html>\n<html><head><title>Microsoft Azure App Service - Welcome</title></head><body><h1>Your web app is running and waiting for your content</h1></body></html>\n";

/// Kudu's home page ("Kudu Services"), trimmed to its structure: a navbar with the same menu
/// items, and the environment summary.
pub fn home_page(site: &str, personality: crate::Personality) -> String {
    let os = match personality {
        crate::Personality::Linux => "Linux",
        crate::Personality::Windows => "Windows",
    };
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Kudu Services</title>
</head>
<body>
<div class="navbar navbar-inverse navbar-fixed-top" id="kudu-navbar">
  <div class="container">
    <div class="navbar-header"><a class="navbar-brand" href="/">Kudu</a></div>
    <ul class="nav navbar-nav">
      <li><a href="/Env.cshtml">Environment</a></li>
      <li class="dropdown"><a href="/DebugConsole">Debug console</a></li>
      <li><a href="/ProcessExplorer/">Process explorer</a></li>
      <li class="dropdown"><a href="/api/">Tools</a></li>
      <li><a href="/SiteExtensions/">Site extensions</a></li>
    </ul>
  </div>
</div>
<div class="container" id="kudu-main">
  <h3>Environment</h3>
  <table class="table">
    <tr><td><strong>Build</strong></td><td>sim ({os})</td></tr>
    <tr><td><strong>Site up time</strong></td><td>00.01:23:45</td></tr>
    <tr><td><strong>Site folder</strong></td><td>{home}</td></tr>
    <tr><td><strong>Site name</strong></td><td id="site-name">{site}</td></tr>
  </table>
  <h3>REST API <small>(works best when using a JSON viewer extension)</small></h3>
  <ul>
    <li><a href="/api/deployments">Deployments</a></li>
    <li><a href="/api/settings">App Settings</a></li>
    <li><a href="/api/environment">Environment</a></li>
    <li><a href="/api/vfs/">Files</a></li>
  </ul>
</div>
</body>
</html>
"#,
        home = match personality {
            crate::Personality::Linux => "/home",
            crate::Personality::Windows => "D:\\home",
        }
    )
}

/// What an unauthenticated browser sees instead of JSON (facts §5.3 [I]).
pub fn login_page(return_to: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Sign in to your account</title></head>
<body>
<form id="login" method="get" action="/login">
  <input type="hidden" name="return" value="{return_to}">
  <h1>Sign in</h1>
  <p>Your session has expired. Sign in again to continue to the Kudu site.</p>
  <button type="submit">Sign in</button>
</form>
</body>
</html>
"#,
        return_to = return_to.replace('"', "&quot;").replace('<', "&lt;")
    )
}
