// Drives the `citytwin serve` page in headless Debian Chromium (software WebGL) with
// playwright-core, for tests/test_3dtiles.py. For each page: wait until the viewer says the
// tileset has loaded, look at a given WGS 84 point, screenshot, and pick at the window
// position of given WGS 84 points. Any request that leaves 127.0.0.1 is refused and listed.
// usage: node test_3dtiles_browser.cjs NODE_MODULES_DIR JOB_JSON   (prints a JSON result)
"use strict";
const path = require("path");
const { chromium } = require(require.resolve("playwright-core", { paths: [process.argv[2]] }));
const job = JSON.parse(process.argv[3]);

async function visit(browser, page_job) {
  const page = await browser.newPage({ viewport: { width: job.width, height: job.height } });
  const result = { outside: [], console_errors: [], picks: {} };
  page.on("console", (m) => { if (m.type() === "error") result.console_errors.push(m.text()); });
  page.on("pageerror", (e) => result.console_errors.push(String(e)));
  await page.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.hostname !== "127.0.0.1") { result.outside.push(url.href); return route.abort(); }
    return route.continue();
  });
  await page.goto(page_job.url);
  await page.waitForFunction(() => window.citytwin && window.citytwin.state !== "loading",
    null, { timeout: job.timeout_ms, polling: 250 });
  result.state = await page.evaluate(() => window.citytwin.state);
  result.error = await page.evaluate(() => window.citytwin.error);
  result.title = await page.title();
  if (result.state !== "loaded") return result;
  const v = job.look_at;
  await page.evaluate((v) => window.citytwin.lookAt(v.lon, v.lat, v.height, v.heading, v.pitch,
    v.range), v);
  await page.screenshot({ path: page_job.screenshot });
  for (const t of job.targets) {
    result.picks[t.name] = await page.evaluate((t) => {
      const xy = window.citytwin.screenOf(t.lon, t.lat, t.height);
      const hit = xy && window.citytwin.pick(xy[0], xy[1]);
      return { xy, id: hit ? hit.id : null, properties: hit ? hit.properties : null };
    }, t);
  }
  await page.close();
  return result;
}

(async () => {
  const browser = await chromium.launch({
    executablePath: job.chromium, headless: true,
    args: ["--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--ignore-gpu-blocklist",
      "--no-sandbox"],
  });
  const out = {};
  try {
    for (const p of job.pages) out[p.name] = await visit(browser, p);
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(out));
})().catch((e) => { console.error(String(e && e.stack ? e.stack : e)); process.exit(1); });
