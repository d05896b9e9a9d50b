/**
 * The packages as a host installs them: build and pack the five, lint each
 * tarball with publint and attw, install the tarballs into a host app in the
 * system's temporary directory (outside the workspace), type-check the host
 * with NodeNext, strict and `skipLibCheck: false`, run its tests on
 * `@outdial/testing`, then run it: one batch through the router over HTTP.
 *
 * Offline: a tarball's dependencies and peers are linked from what the
 * workspace already installed (the pnpm store holds their files, but no
 * registry metadata to resolve them offline). Only what a tarball declares
 * (`dependencies`, `peerDependencies`) is linked, so an undeclared import
 * fails the host build as it would after `npm install`.
 */
import { execFile } from "node:child_process"
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const run = promisify(execFile)
const root = fileURLToPath(new URL("..", import.meta.url))
const fixtures = fileURLToPath(new URL("./packaging/", import.meta.url))
const bin = (name: string) => join(root, "node_modules", ".bin", name)
const packages = ["core", "adapter-postgres", "adapter-livekit", "http-express", "testing"]

/** Runs a command; a failure carries its output. */
const sh = async (file: string, args: ReadonlyArray<string>, cwd: string, timeout = 120_000) => {
  try {
    return await run(file, args, { cwd, timeout, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, CI: "1", NO_COLOR: "1", FORCE_COLOR: "0" } })
  } catch (error) {
    const { stdout, stderr, message } = error as { stdout?: string; stderr?: string; message: string }
    throw new Error(`${file} ${args.join(" ")} failed: ${message}\n${stdout ?? ""}\n${stderr ?? ""}`)
  }
}
const pnpm = (args: ReadonlyArray<string>, cwd = root) => sh("npx", ["-y", "pnpm@10", ...args], cwd)

let temp: string
let host: string
const tarballs = new Map<string, string>()

/** Links `name` into the host from where the workspace installed it for `from`. */
const link = (name: string, from: string) => {
  const target = join(host, "node_modules", name)
  if (existsSync(target)) return
  const installed = [join(from, "node_modules", name), join(root, "node_modules", name)].find((path) => existsSync(path))
  if (installed === undefined) throw new Error(`${name}, declared by ${from}, is not installed in the workspace`)
  mkdirSync(dirname(target), { recursive: true })
  symlinkSync(realpathSync(installed), target, "dir")
}

beforeAll(async () => {
  temp = mkdtempSync(join(tmpdir(), "outdial-packaging-"))
  host = join(temp, "host")
  const packs = join(temp, "packs")
  mkdirSync(packs)
  await pnpm(["-r", "--filter", "./packages/*", "run", "build"])
  await pnpm(["-r", "--filter", "./packages/*", "exec", "pnpm", "pack", "--pack-destination", packs])
  for (const file of readdirSync(packs)) tarballs.set(file.replace(/^outdial-(.*)-\d+\.\d+\.\d+\.tgz$/, "$1"), join(packs, file))

  // The host: each tarball unpacked into node_modules, and what it declares linked beside it.
  mkdirSync(join(host, "node_modules", "@outdial"), { recursive: true })
  for (const name of packages) {
    const into = join(host, "node_modules", "@outdial", name)
    mkdirSync(into)
    await sh("tar", ["-xzf", tarballs.get(name)!, "-C", into, "--strip-components=1"], temp)
  }
  for (const name of packages) {
    const manifest = JSON.parse(readFileSync(join(host, "node_modules", "@outdial", name, "package.json"), "utf8"))
    for (const dependency of Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies })) {
      if (!dependency.startsWith("@outdial/")) link(dependency, join(root, "packages", name))
    }
  }
  link("@types/node", root)
  writeFileSync(join(host, "package.json"), JSON.stringify({ name: "host", private: true, type: "module" }))
  for (const file of ["main.ts", "telephony.ts", "tsconfig.json"]) copyFileSync(join(fixtures, file), join(host, file))
  copyFileSync(join(fixtures, "policy.ts"), join(host, "policy.test.ts"))
  // Each package's README example, compiled with the host.
  for (const name of packages) {
    const readme = readFileSync(join(host, "node_modules", "@outdial", name, "README.md"), "utf8")
    const examples = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1])
    writeFileSync(join(host, `readme-${name}.ts`), `${examples.join("\n")}\nexport {}\n`)
  }
}, 300_000)

afterAll(() => {
  if (temp !== undefined) rmSync(temp, { recursive: true, force: true })
})

describe("the packed packages", () => {
  it("declare one .d.ts per module, no hashed chunks, a README, and core no test-runner peers", () => {
    for (const name of packages) {
      const dist = readdirSync(join(host, "node_modules", "@outdial", name, "dist"))
      expect(dist.filter((file) => /-[A-Za-z0-9_-]{8}\.(js|d\.ts)$/.test(file)), name).toEqual([])
      const manifest = JSON.parse(readFileSync(join(host, "node_modules", "@outdial", name, "package.json"), "utf8"))
      expect(existsSync(join(host, "node_modules", "@outdial", name, "README.md")), `${name} README`).toBe(true)
      expect(Object.keys(manifest.exports["."]), name).toEqual(["types", "source", "default"])
      expect(manifest.peerDependencies.effect, name).toBeDefined()
      if (name !== "core") expect(manifest.peerDependencies["@outdial/core"], name).toMatch(/^\^0\./)
      expect(manifest.dependencies?.["@outdial/core"], name).toBeUndefined()
    }
    const core = JSON.parse(readFileSync(join(host, "node_modules", "@outdial", "core", "package.json"), "utf8"))
    expect(Object.keys(core.peerDependencies)).toEqual(["effect"])
  })

  it("pass publint and are-the-types-wrong", async () => {
    for (const name of packages) {
      const tarball = tarballs.get(name)!
      await sh(bin("publint"), ["run", tarball, "--strict"], temp)
      // Every public module, not only the root: attw does not expand the `./*` pattern itself.
      const modules = readdirSync(join(host, "node_modules", "@outdial", name, "src"))
        .filter((file) => file.endsWith(".ts") && file !== "index.ts")
        .map((file) => `./${file.slice(0, -3)}`)
      // ESM only, on purpose (effect 4 is too): the profile leaves out CommonJS `require` and node10.
      await sh(bin("attw"), [tarball, "--profile", "esm-only", "--include-entrypoints", ...modules], temp)
    }
  })

  it("type-check in a host with NodeNext, strict and skipLibCheck false, with every README example", async () => {
    await sh(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"], host)
  })

  it("run the host's tests on @outdial/testing", async () => {
    const { stdout } = await sh(process.execPath, [join(root, "node_modules", "vitest", "vitest.mjs"), "run", "--root", host, "--reporter", "dot"], host)
    expect(stdout).toMatch(/Tests\s+\d+ passed/)
  })

  it("run the host: one batch through its router behind its own parser and auth, to completion", async () => {
    const { stdout } = await sh(process.execPath, [join(root, "node_modules", "tsx", "dist", "cli.mjs"), "main.ts"], host)
    expect(JSON.parse(stdout.trim().split("\n").at(-1)!)).toEqual({
      created: 201,
      status: "completed",
      successfulCalls: 3,
      dialed: 3,
      health: 200,
      unknown: [404, "not_found"]
    })
  })
})
