// The loader (content script): puts a plain-JS "409 Doctor" launcher on SCM pages at once, then
// loads the app's wasm from the extension and mounts it into a shadow root, so Kudu's CSS and
// scripts cannot restyle or reach it. When the page's Content-Security-Policy stops the wasm
// from compiling here, the launcher opens the same app in an extension page instead; the
// site's policy is never weakened.
//
// Runs in the extension's isolated world after loader-config.js and scm-host.js. The mount
// API it calls is documented in src/lib.rs.
"use strict";

(() => {
  const HOST_ID = "kudu-doctor-host";
  // src/kudu_http.rs: REQUEST_TIMEOUT_MS, and the reply headers it keeps.
  const PREFETCH_TIMEOUT_MS = 15000;
  const KEPT_HEADERS = ["content-type", "location", "retry-after", "etag", "date"];
  const scmHost = globalThis.kuduDoctorScmHost;
  // The shipped build mounts into a closed shadow root; only the e2e test build (written by
  // `cargo xtask dist` to target/dist/extension-test) opens it, so WebDriver can look inside.
  const shadowMode = globalThis.kuduDoctorLoaderConfig?.shadowMode === "open" ? "open" : "closed";

  if (window.top !== window || !scmHost?.isScmHost(location.hostname)) return;

  // Running again in the same world (re-injection) replaces the earlier instance, and a host
  // left by an orphaned copy (the extension was reloaded) goes too: never two launchers.
  globalThis.kuduDoctorInstance?.teardown();
  document.getElementById(HOST_ID)?.remove();

  // The first-round reads leave now, while the wasm downloads and compiles, so the diagnosis
  // waits for one round trip rather than for start-up plus a round trip. Same URLs, headers,
  // credentials and redirect mode as src/kudu_http.rs; the list comes from kudu-core
  // (written into loader-config.js by `cargo xtask dist`). Only same-origin relative paths.
  const prefetched = prefetchFirstReads(globalThis.kuduDoctorFirstReads);

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
  launcher.dataset.state = "checking";
  launcher.setAttribute("aria-busy", "true");
  const container = document.createElement("div");
  container.className = "app";
  shadow.append(launcher, container);
  (document.body ?? document.documentElement).append(host);

  let handle = null;
  let fallback = false;
  let tornDown = false;

  const onLauncherClick = (event) => {
    // Only the user's own click opens the extension page; synthetic events are ignored.
    // doctor.html is not web-accessible: background.js opens it for this tab's site, with a
    // one-time token the page must present.
    if (!event.isTrusted || !fallback) return;
    chrome.runtime.sendMessage({ kind: "open-doctor" }).catch((error) => {
      console.info("Kudu Doctor could not open its extension page:", error);
    });
  };
  launcher.addEventListener("click", onLauncherClick);

  const teardown = () => {
    tornDown = true;
    launcher.removeEventListener("click", onLauncherClick);
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

  const mountApp = async () => {
    const glue = await import(chrome.runtime.getURL("pkg/kudu_doctor.js"));
    await glue.default({ module_or_path: chrome.runtime.getURL("pkg/kudu_doctor_bg.wasm") });
    if (tornDown) return null;
    const options = { origin: null, autoOpen: true, embedded: true, prefetched };
    return glue.mount(container, options, launcher) ?? null;
  };

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
  async function prefetchOne(path, headers) {
    // Firefox sends a content script's own `fetch` as the extension, without the page's
    // cookies; its `content.fetch` sends it as the page does, which Chrome's already does.
    const pageFetch = globalThis.content?.fetch;
    const fetch = typeof pageFetch === "function" ? pageFetch.bind(globalThis.content) : globalThis.fetch;
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, PREFETCH_TIMEOUT_MS);
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

  mountApp().then(
    (mounted) => {
      if (tornDown) {
        mounted?.unmount?.();
        return;
      }
      handle = mounted;
      launcher.dataset.mode = "in-page";
      launcher.removeAttribute("aria-busy");
    },
    (error) => {
      if (tornDown) return;
      // Typically `CompileError: WebAssembly.instantiateStreaming()` under a page CSP without
      // 'wasm-unsafe-eval'. The extension page has the extension's own CSP and reads this
      // site with the extension's host permission.
      container.replaceChildren();
      fallback = true;
      launcher.dataset.mode = "extension-page";
      launcher.title = "This page's security policy keeps 409 Doctor from running inside it: opens it in a new tab";
      launcher.removeAttribute("aria-busy");
      console.info("Kudu Doctor runs in an extension page on this site:", error);
    },
  );
})();
