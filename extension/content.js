// The loader (content script): puts a plain-JS "409 Doctor" launcher on SCM pages and decides,
// with at most two cheap reads, whether the site looks healthy, deploying, locked or signed
// out (issue 17). A healthy site costs nothing more: no wasm is fetched or compiled until the
// user opens the launcher. A busy or locked one gets the app loaded in the background, with
// the drawer closed; the app's settled diagnosis names the cause in the launcher and opens the
// drawer only for what the user must act on. The app mounts into a shadow root, so Kudu's CSS
// and scripts cannot restyle or reach it. When the page's Content-Security-Policy stops the
// wasm from compiling here, the launcher opens the same app in an extension page instead
// (background.js); the site's policy is never weakened.
//
// Runs in the extension's isolated world after loader-config.js and scm-host.js. The mount
// API it calls is documented in src/lib.rs.
"use strict";

(() => {
  const HOST_ID = "kudu-doctor-host";
  // src/kudu_http.rs: REQUEST_TIMEOUT_MS, and the reply headers it keeps.
  const PREFETCH_TIMEOUT_MS = 15000;
  const KEPT_HEADERS = ["content-type", "location", "retry-after", "etag", "date"];
  // While the probe sees the site busy and the drawer is closed, it alone reads again, this
  // often (2 reads at most each time); the app runs full rounds only for an open wizard.
  const PROBE_REFRESH_MS = 10000;
  // A probe read slower than this counts as no answer: the app then diagnoses, with its own
  // longer timeout and a visible error.
  const PROBE_TIMEOUT_MS = 5000;
  // KuduLite writes lockExpiry = taken + 1500 s into info.lock (kudu-facts §2.3).
  const LINUX_LOCK_LIFETIME_MS = 1500 * 1000;
  const scmHost = globalThis.kuduDoctorScmHost;
  // The shipped build mounts into a closed shadow root; only the e2e test build (written by
  // `cargo xtask dist` to target/dist/extension-test) opens it, so WebDriver can look inside.
  const shadowMode = globalThis.kuduDoctorLoaderConfig?.shadowMode === "open" ? "open" : "closed";

  if (window.top !== window || !scmHost?.isScmHost(location.hostname)) return;
  // A page that already hosts the app (the standalone page) gets no second one (issue 20).
  if (document.querySelector('meta[name="kudu-doctor-app"]') !== null) return;

  // Running again in the same world (re-injection) replaces the earlier instance, and a host
  // left by an orphaned copy (the extension was reloaded) goes too: never two launchers.
  globalThis.kuduDoctorInstance?.teardown();
  document.getElementById(HOST_ID)?.remove();

  const LAUNCHER_CSS = `
    :host { all: initial; }
    .launcher {
      position: fixed; right: 16px; bottom: 16px; z-index: 2147483647;
      font: 600 13px/1.2 "Segoe UI", system-ui, sans-serif;
      color: #fff; background: #0b5cad; border: 1px solid #084a8c; border-radius: 18px;
      padding: 8px 14px; cursor: pointer; box-shadow: 0 2px 6px rgb(0 0 0 / 0.3);
    }
    .launcher:hover { background: #084a8c; }
    .launcher:focus-visible { outline: 3px solid #ffb900; outline-offset: 2px; }
    .launcher[aria-busy="true"] { cursor: progress; }
    /* The open wizard is a panel min(460px, 100vw) wide on the right (src/style.css); keep the
       launcher beside it rather than over it while there is room. */
    @media (min-width: 560px) {
      .launcher[aria-expanded="true"] { right: calc(460px + 16px); }
    }
  `;

  const host = document.createElement("div");
  host.id = HOST_ID;
  const shadow = host.attachShadow({ mode: shadowMode });
  // A constructed sheet, not a <style> element: the page's style-src cannot block it.
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(LAUNCHER_CSS);
  shadow.adoptedStyleSheets = [sheet];

  const launcher = document.createElement("button");
  launcher.type = "button";
  launcher.className = "launcher";
  launcher.textContent = "409 Doctor";
  launcher.dataset.testid = "launcher";
  // `probing` until the probe answers; then `ready` (healthy, no app loaded) or, once the app
  // runs, `checking` and the settled cause id (src/lib.rs).
  launcher.dataset.state = "probing";
  launcher.setAttribute("aria-busy", "true");
  const container = document.createElement("div");
  container.className = "app";
  shadow.append(launcher, container);
  (document.body ?? document.documentElement).append(host);

  let handle = null;
  let appLoad = null;
  let mountStarted = false;
  let openRequested = false;
  let fallback = false;
  let prefetched = null;
  let probeTimer = null;
  let tornDown = false;

  const openExtensionPage = () => {
    // doctor.html is not web-accessible: background.js opens it for this tab's site, with a
    // one-time token the page must present.
    chrome.runtime.sendMessage({ kind: "open-doctor" }).catch((error) => {
      console.info("Kudu Doctor could not open its extension page:", error);
    });
  };

  // Hover or keyboard focus: the user may be about to open it. Start the first round's reads
  // and the wasm download now; nothing is mounted or shown until the click.
  const onLauncherIntent = () => {
    if (tornDown || fallback || mountStarted) return;
    sendFirstRound();
    loadApp();
  };

  const onLauncherClick = (event) => {
    // Only the user's own click (or Enter/Space on the button) opens anything; synthetic
    // events are ignored. Once the app runs, its own listener toggles the wizard.
    if (!event.isTrusted || tornDown || handle !== null) return;
    if (fallback) {
      openExtensionPage();
      return;
    }
    openRequested = true;
    mountApp();
  };
  launcher.addEventListener("click", onLauncherClick);
  launcher.addEventListener("pointerenter", onLauncherIntent);
  launcher.addEventListener("focus", onLauncherIntent);

  const teardown = () => {
    tornDown = true;
    clearTimeout(probeTimer);
    launcher.removeEventListener("click", onLauncherClick);
    launcher.removeEventListener("pointerenter", onLauncherIntent);
    launcher.removeEventListener("focus", onLauncherIntent);
    try {
      handle?.unmount?.();
    } finally {
      handle = null;
      host.remove();
      if (globalThis.kuduDoctorInstance === instance) delete globalThis.kuduDoctorInstance;
    }
  };
  const instance = Object.freeze({ teardown });
  globalThis.kuduDoctorInstance = instance;

  function sendFirstRound() {
    prefetched ??= prefetchFirstReads(globalThis.kuduDoctorFirstReads);
  }

  // The only place the app's code is fetched; `data-app` says it was (the e2e suite reads it).
  function loadApp() {
    if (appLoad === null) launcher.dataset.app = "loading";
    appLoad ??= (async () => {
      const glue = await import(chrome.runtime.getURL("pkg/kudu_doctor.js"));
      await glue.default({ module_or_path: chrome.runtime.getURL("pkg/kudu_doctor_bg.wasm") });
      return glue;
    })();
    // Whoever mounts handles a failure; a hover alone must not leave an unhandled rejection.
    appLoad.catch(() => {});
    return appLoad;
  }

  async function mountApp() {
    if (mountStarted || tornDown) return;
    mountStarted = true;
    sendFirstRound();
    launcher.setAttribute("aria-busy", "true");
    let glue;
    try {
      glue = await loadApp();
    } catch (error) {
      if (tornDown) return;
      // Typically `CompileError: WebAssembly.instantiateStreaming()` under a page CSP without
      // 'wasm-unsafe-eval'. The extension page has the extension's own CSP and reads this
      // site with the extension's host permission.
      fallback = true;
      launcher.dataset.app = "failed";
      launcher.dataset.mode = "extension-page";
      launcher.title = "This page's security policy keeps 409 Doctor from running inside it: opens it in a new tab";
      launcher.removeAttribute("aria-busy");
      console.info("Kudu Doctor runs in an extension page on this site:", error);
      // The user already clicked for it: open it now rather than ask for a second click.
      if (openRequested) openExtensionPage();
      return;
    }
    if (tornDown) return;
    const options = { origin: null, autoOpen: true, embedded: true, open: openRequested, prefetched };
    handle = glue.mount(container, options, launcher) ?? null;
    launcher.dataset.app = "mounted";
    launcher.dataset.mode = "in-page";
    launcher.removeAttribute("aria-busy");
  }

  // The probe: what the launcher says before (and, behind a closed drawer, instead of) a
  // diagnosis. At most two reads, neither a listing nor one that makes Kudu do work:
  // 1. `GET /api/isdeploying` (kudu-facts §1.6): KuduLite answers {"value":"True"|"False"}
  //    from its lock check alone; Kudu on Windows has no such route and answers 404.
  // 2. Linux, only when it says True: `GET /api/vfs/site/locks/deployment/info.lock` (§2.3),
  //    one small file, for how long the lock has been held (lockExpiry - 1500 s).
  //    Windows: `GET /api/deployments/latest` (§1.4), one record: 202 while a deployment is
  //    unfinished, 200 (or 404, no deployments) otherwise. Never `/api/deployments`, whose
  //    every read makes Kudu purge old deployments (§1.3).
  // A sign-in answer (401/403, a redirect, or HTML where JSON belongs: §5.3, the same signs
  // src/kudu_http.rs `classify` reads) says "sign in"; anything else unexpected says nothing.
  async function probe() {
    const deploying = await probeRead("/api/isdeploying");
    if (deploying === null) return { state: "unknown" };
    if (needsSignIn(deploying)) return { state: "sign-in" };
    if (deploying.status === 404) return probeWindows();
    const value = deploying.status === 200 ? jsonBody(deploying)?.value : undefined;
    if (value === "False") return { state: "ready" };
    if (value !== "True") return { state: "unknown" };
    const scan = jsonBody(deploying)?.msg === "Scan Underway";
    // Busy: the app will diagnose. Its first round and the wasm start now, beside the lock
    // read that only labels the launcher, so the settled answer waits one round trip less.
    if (!mountStarted) {
      sendFirstRound();
      loadApp();
    }
    const lock = await probeRead("/api/vfs/site/locks/deployment/info.lock");
    if (lock !== null && needsSignIn(lock)) return { state: "sign-in" };
    const expiry = Date.parse(lock?.status === 200 ? jsonBody(lock)?.lockExpiry : "");
    const now = siteNow(lock ?? deploying);
    if (Number.isNaN(expiry)) return { state: "busy", scan };
    const minutes = Math.max(0, Math.floor((now - (expiry - LINUX_LOCK_LIFETIME_MS)) / 60000));
    return { state: now > expiry ? "locked" : "busy", scan, minutes };
  }

  async function probeWindows() {
    const latest = await probeRead("/api/deployments/latest");
    if (latest === null) return { state: "unknown" };
    if (needsSignIn(latest)) return { state: "sign-in" };
    if (latest.status === 200 || latest.status === 404) return { state: "ready" };
    if (latest.status !== 202) return { state: "unknown" };
    const record = jsonBody(latest);
    const started = Date.parse(record?.start_time ?? record?.received_time ?? "");
    if (Number.isNaN(started)) return { state: "busy" };
    const minutes = Math.max(0, Math.floor((siteNow(latest) - started) / 60000));
    return { state: "busy", minutes };
  }

  async function probeRead(path) {
    try {
      return await prefetchOne(path, [["Accept", "application/json"]], PROBE_TIMEOUT_MS);
    } catch {
      return null;
    }
  }

  function needsSignIn(reply) {
    if (reply.redirected) return true;
    if (reply.timedOut) return false;
    if (reply.status === 401 || reply.status === 403) return true;
    const type = reply.headers.find(([name]) => name === "content-type")?.[1] ?? "";
    return reply.status === 200 && type.includes("text/html");
  }

  function jsonBody(reply) {
    if (typeof reply?.body !== "string") return null;
    try {
      return JSON.parse(reply.body);
    } catch {
      return null;
    }
  }

  // Kudu's times are on the site's clock: its Date header, when there is one.
  function siteNow(reply) {
    const date = Date.parse(reply?.headers?.find(([name]) => name === "date")?.[1] ?? "");
    return Number.isNaN(date) ? Date.now() : date;
  }

  function probeWords({ state, scan, minutes }) {
    const since = minutes === undefined ? "" : ` \u00b7 ${minutes} min`;
    switch (state) {
      case "ready":
        return "409 Doctor \u00b7 ready";
      case "busy":
        return `${scan ? "scanning" : "deploying"}${since}`;
      case "locked":
        return `locked${since}`;
      case "sign-in":
        return "sign in";
      default:
        return "409 Doctor";
    }
  }

  async function runProbe() {
    const seen = await probe();
    if (tornDown) return;
    // Once the app has named the cause, a refresh changes the words only when the site's
    // state did (the deployment ended, the lock went).
    if (handle === null || launcher.dataset.probe !== seen.state) {
      launcher.textContent = probeWords(seen);
      launcher.title = `409 Doctor: ${probeWords(seen)}`;
    }
    launcher.dataset.probe = seen.state;
    if (!mountStarted) {
      if (seen.state === "ready") {
        launcher.dataset.state = "ready";
        launcher.removeAttribute("aria-busy");
      } else {
        // Busy, locked, signed out, or no clear answer: diagnose now, drawer closed.
        launcher.dataset.state = "checking";
        mountApp();
      }
    }
    if (seen.state === "busy" || seen.state === "locked") {
      probeTimer = setTimeout(refreshProbe, PROBE_REFRESH_MS);
    }
  }

  function refreshProbe() {
    if (tornDown) return;
    // An open wizard watches the site itself; a hidden tab needs no answer.
    if (launcher.getAttribute("aria-expanded") === "true" || document.hidden) {
      probeTimer = setTimeout(refreshProbe, PROBE_REFRESH_MS);
      return;
    }
    runProbe();
  }

  function prefetchFirstReads(reads) {
    if (!Array.isArray(reads) || reads.length === 0) return null;
    const cacheBust = Date.now();
    const replies = Object.create(null);
    for (const read of reads) {
      const path = String(read.path).replace("{cacheBust}", String(cacheBust));
      // A path that is not a plain relative API path is never sent (the app reads it itself).
      if (!path.startsWith("/api/") || path.includes("//")) continue;
      replies[path] = prefetchOne(path, read.headers);
      // Settled or not, nobody else waits on it before the app does: no unhandled rejection.
      replies[path].catch(() => {});
    }
    return Object.freeze({ cacheBust, replies: Object.freeze(replies) });
  }

  // Resolves with what the app needs of the reply ({ status, headers, body }), or with
  // { redirected: true } / { timedOut: true } (the app's own words for those); rejects on
  // anything else, and the app then sends that read itself.
  async function prefetchOne(path, headers, timeoutMs = PREFETCH_TIMEOUT_MS) {
    // Firefox sends a content script's own `fetch` as the extension, without the page's
    // cookies; its `content.fetch` sends it as the page does, which Chrome's already does.
    const pageFetch = globalThis.content?.fetch;
    const fetch = typeof pageFetch === "function" ? pageFetch.bind(globalThis.content) : globalThis.fetch;
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    try {
      const response = await fetch(path, {
        method: "GET",
        headers: Object.fromEntries(headers),
        credentials: "include",
        redirect: "manual",
        // Kudu sends Last-Modified on VFS files: never answer a read from the browser's cache.
        cache: "no-store",
        signal: controller.signal,
      });
      if (response.type === "opaqueredirect") return { redirected: true };
      const kept = [];
      for (const name of KEPT_HEADERS) {
        const value = response.headers.get(name);
        if (value !== null) kept.push([name, value]);
      }
      return { status: response.status, headers: kept, body: await response.text() };
    } catch (error) {
      if (timedOut) return { timedOut: true };
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  runProbe();
})();
