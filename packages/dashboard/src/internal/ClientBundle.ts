/**
 * The single-page app's assets: read from `dist/client` when the package was
 * built, otherwise compiled from `client/` with esbuild on first request and
 * kept in memory, so a workspace checkout (tests, the README demo) needs no
 * build step. Either way the assets are produced once per process.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import { existsSync } from "node:fs"
import { readFile } from "node:fs/promises"
import { fileURLToPath } from "node:url"

/**
 * @since 0.1.0
 * @category models
 */
export interface Asset {
  readonly body: Buffer
  readonly contentType: string
  /** A strong validator: the content's hash. */
  readonly etag: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Assets {
  readonly "app.js": Asset
  readonly "app.css": Asset
}

const assetOf = (body: Buffer, contentType: string): Asset => ({
  body,
  contentType,
  etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`
})

const clientEntry = fileURLToPath(new URL("../../client/main.tsx", import.meta.url))
// Beside the compiled module: `dist/internal/ClientBundle.js` → `dist/client/`.
const prebuilt = fileURLToPath(new URL("../client/", import.meta.url))

/**
 * Compiles the client with esbuild into memory: one minified ES module and
 * one stylesheet.
 *
 * @since 0.1.0
 * @category constructors
 */
export const compile = async (): Promise<{ readonly js: Buffer; readonly css: Buffer }> => {
  const esbuild = await import("esbuild")
  const result = await esbuild.build({
    entryPoints: [clientEntry],
    bundle: true,
    minify: true,
    format: "esm",
    target: ["es2020", "chrome100", "firefox100", "safari15"],
    jsx: "automatic",
    jsxImportSource: "preact",
    // Workspace packages resolve to their TypeScript sources, published ones to `dist`.
    conditions: ["source"],
    outdir: "out",
    write: false,
    logLevel: "silent",
    legalComments: "none"
  })
  const file = (extension: string) => {
    const output = result.outputFiles.find((candidate) => candidate.path.endsWith(extension))
    if (output === undefined) throw new Error(`outdial dashboard: the client build produced no ${extension}`)
    return Buffer.from(output.contents)
  }
  return { js: file(".js"), css: file(".css") }
}

const produce = async (): Promise<Assets> => {
  if (existsSync(`${prebuilt}app.js`)) {
    const [js, css] = await Promise.all([readFile(`${prebuilt}app.js`), readFile(`${prebuilt}app.css`)])
    return { "app.js": assetOf(js, "text/javascript; charset=utf-8"), "app.css": assetOf(css, "text/css; charset=utf-8") }
  }
  const { css, js } = await compile()
  return { "app.js": assetOf(js, "text/javascript; charset=utf-8"), "app.css": assetOf(css, "text/css; charset=utf-8") }
}

let assets: Promise<Assets> | undefined

/**
 * The assets, produced on the first call; a failed build is retried on the next.
 *
 * @since 0.1.0
 * @category accessors
 */
export const load = (): Promise<Assets> => {
  if (assets === undefined) {
    assets = produce()
    assets.catch(() => (assets = undefined))
  }
  return assets
}
