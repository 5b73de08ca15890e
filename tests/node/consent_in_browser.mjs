// Drive a real Chromium through cfmcp's consent page the way a person does:
// open the authorize URL, type the PIN, press Enter, and report where the browser ended up.
// Usage: node consent_in_browser.mjs AUTHORIZE_URL PIN CALLBACK_PREFIX
// Prints one JSON line: {"final_url": ..., "console": [...], "error": ...}
import { chromium } from "playwright-core";

const [authorizeUrl, pin, callbackPrefix] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const report = { final_url: "", console: [], error: null };
const browser = await chromium.launch({
  executablePath,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage();
  page.on("console", (message) => report.console.push(message.text()));
  await page.goto(authorizeUrl);
  await page.fill("input[type=password]", pin);
  const arrived = page.waitForURL((url) => url.href.startsWith(callbackPrefix), { timeout: 15000 });
  await page.press("input[type=password]", "Enter");
  await arrived.catch((error) => { report.error = String(error.message).split("\n")[0]; });
  report.final_url = page.url();
} finally {
  await browser.close();
}
console.log(JSON.stringify(report));
