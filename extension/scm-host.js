// Which hosts are Kudu (SCM) sites. Shared by the content script (listed before content.js in
// the manifest, so both run in the extension's isolated world) and by the extension page
// doctor.html (a classic script before the module). The manifest's match patterns are wider
// than this because Chrome match patterns allow only a leading `*.`; this allow-list is the
// real gate. Forms: kudu-facts.md section 6.
"use strict";

globalThis.kuduDoctorScmHost = Object.freeze({
  /** Host names (lower case, no port) of every SCM form Kudu Doctor serves. */
  patterns: Object.freeze([
    // Classic and slot, and the secure unique default host name with a region label.
    /^[a-z0-9][a-z0-9-]*\.scm\.(?:[a-z0-9]+-\d{2}\.)?azurewebsites\.net$/,
    // Azure Government.
    /^[a-z0-9][a-z0-9-]*\.scm\.azurewebsites\.us$/,
    // Azure China (21Vianet).
    /^[a-z0-9][a-z0-9-]*\.scm\.chinacloudsites\.cn$/,
    // App Service Environments: v3 (and v2 ILB) and v1/v2 external.
    /^[a-z0-9][a-z0-9-]*\.scm\.[a-z0-9-]+\.(?:appserviceenvironment\.net|p\.azurewebsites\.net)$/,
  ]),

  /** True when `hostname` is an SCM site host. */
  isScmHost(hostname) {
    const host = String(hostname).toLowerCase();
    return host.length <= 253 && this.patterns.some((pattern) => pattern.test(host));
  },

  /**
   * The SCM origin (`https://<host>[:port]`) `text` names, or null when it is anything else:
   * another scheme, a path, credentials, or a host outside the allow-list.
   */
  scmOrigin(text) {
    let url;
    try {
      url = new URL(String(text));
    } catch {
      return null;
    }
    if (url.protocol !== "https:" || url.username !== "" || url.password !== "") return null;
    if (url.origin !== String(text)) return null;
    return this.isScmHost(url.hostname) ? url.origin : null;
  },
});
