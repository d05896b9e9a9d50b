import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

// Workspace packages resolve to their sources, so tests never need a build first.
const packagesDir = fileURLToPath(new URL("./packages/", import.meta.url))
const packageNames = ["core", "adapter-postgres", "adapter-livekit", "http-express", "testing", "dashboard"]

export default defineConfig({
  resolve: {
    alias: packageNames.flatMap((name) => [
      { find: new RegExp(`^@outdial/${name}$`), replacement: `${packagesDir}${name}/src/index.ts` },
      { find: new RegExp(`^@outdial/${name}/(.*)$`), replacement: `${packagesDir}${name}/src/$1.ts` }
    ])
  },
  test: {
    include: ["packages/*/test/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000
  }
})
