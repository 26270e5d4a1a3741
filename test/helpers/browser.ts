/**
 * Debian's Chromium driven by playwright-core, for the browser tests. No
 * browser is downloaded: the tests use /usr/bin/chromium (`apt-get install
 * chromium`; `.ci/run` installs it), and skip, saying why, when it is not
 * there. Each launch gets a fresh profile directory and the flags that work
 * without a network or a GPU. Screenshots go to test/artifacts/.
 */
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { onTestFinished } from 'vitest'
import { tempDir } from './federation.ts'

export const CHROMIUM_PATH = process.env['FEDLINEAGE_CHROMIUM'] ?? '/usr/bin/chromium'

/** Why the browser tests cannot run here, or undefined when they can. */
export const BROWSER_SKIP_REASON: string | undefined = existsSync(CHROMIUM_PATH)
  ? undefined
  : `no Chromium at ${CHROMIUM_PATH}: install it with \`apt-get install -y chromium\` (.ci/run does) or set FEDLINEAGE_CHROMIUM`

const LAUNCH_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-dev-shm-usage']

export const ARTIFACTS_DIR = fileURLToPath(new URL('../artifacts/', import.meta.url))

/** A page in a fresh Chromium profile, closed when the test finishes; console errors and page errors are collected. */
export async function openBrowserPage(): Promise<{ page: Page; context: BrowserContext; errors: string[] }> {
  const profile = await tempDir('fedlineage-chromium-')
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM_PATH, headless: true, args: LAUNCH_ARGS, viewport: { width: 1280, height: 900 } })
  onTestFinished(() => context.close())
  const page = context.pages()[0] ?? (await context.newPage())
  const errors: string[] = []
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`))
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()}`)
  })
  return { page, context, errors }
}

/** Saves a full-page screenshot as test/artifacts/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(ARTIFACTS_DIR, { recursive: true })
  const file = path.join(ARTIFACTS_DIR, `${name}.png`)
  await page.screenshot({ path: file, fullPage: true })
  return file
}
