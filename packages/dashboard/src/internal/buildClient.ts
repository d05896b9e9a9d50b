/**
 * `pnpm build`'s last step: writes the compiled client beside the compiled
 * router (`dist/client/app.js`, `app.css`), so a published install serves it
 * without esbuild doing any work.
 */
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { compile } from "./ClientBundle.ts"

const outDir = process.argv[2] ?? "dist/client"
const { css, js } = await compile()
mkdirSync(outDir, { recursive: true })
writeFileSync(join(outDir, "app.js"), js)
writeFileSync(join(outDir, "app.css"), css)
console.log(`dashboard client: app.js ${js.length} B, app.css ${css.length} B → ${outDir}`)
