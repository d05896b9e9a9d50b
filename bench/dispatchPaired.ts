/**
 * `bench:dispatch` paired with a baseline commit's own `bench:dispatch`, in
 * one run: machines and their load differ, so the ratio is the figure.
 *
 * Checks the baseline (default 55390d7, the end of the engine issue; or
 * BASE_COMMIT) out into a temporary detached worktree, installs it offline
 * from the local pnpm store, then runs the baseline's bench and this tree's
 * alternately, each in its own process (ROUNDS rounds, default 2, at least
 * 2). The worktree is removed at the end, also on failure.
 *
 * The last line is JSON: {"dialsRatio","cpuRatio","weekRatio", ...raw figures}
 * with ratios mine / base over the medians of each side.
 */
import { execFileSync, spawnSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"

interface Figures {
  readonly dialsPerSec: number
  readonly cpuMicrosPerDial: number
  readonly simulatedWeekSeconds: number
}

const root = resolve(import.meta.dirname, "..")
const baseCommit = process.env.BASE_COMMIT ?? "55390d7"
const rounds = Math.max(2, Number(process.env.ROUNDS ?? 2))
const pnpm = ["-y", "pnpm@10"]

const git = (...args: Array<string>) => execFileSync("git", args, { cwd: root, stdio: ["ignore", "pipe", "inherit"] })

/** Runs `pnpm bench:dispatch` in `cwd` and parses its last JSON line. */
const benchIn = (cwd: string, label: string): Figures => {
  const run = spawnSync("npx", [...pnpm, "--silent", "bench:dispatch"], { cwd, encoding: "utf8", maxBuffer: 1 << 26 })
  if (run.status !== 0) throw new Error(`${label} bench:dispatch failed (${run.status}): ${run.stderr}`)
  const line = run.stdout.trim().split("\n").reverse().find((l) => l.startsWith("{"))
  if (line === undefined) throw new Error(`${label} bench:dispatch printed no JSON line:\n${run.stdout}`)
  const figures = JSON.parse(line) as Figures
  console.log(`${label}: ${line}`)
  return figures
}

const median = (values: ReadonlyArray<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

const round2 = (x: number) => Math.round(x * 100) / 100
const round3 = (x: number) => Math.round(x * 1000) / 1000

const main = () => {
  const worktree = join(mkdtempSync(join(tmpdir(), "outdial-base-")), "wt")
  let added = false
  const cleanup = () => {
    if (added) {
      try {
        git("worktree", "remove", "--force", worktree)
      } catch {
        rmSync(worktree, { recursive: true, force: true })
        git("worktree", "prune")
      }
      added = false
    }
    rmSync(resolve(worktree, ".."), { recursive: true, force: true })
  }
  // Ctrl-C and kills still remove the worktree.
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      cleanup()
      process.exit(130)
    })
  }
  try {
    git("worktree", "add", "--detach", worktree, baseCommit)
    added = true
    const install = (mode: string) =>
      spawnSync("npx", [...pnpm, "install", "--frozen-lockfile", mode], { cwd: worktree, stdio: "inherit" }).status === 0
    if (!install("--offline") && !install("--prefer-offline")) throw new Error(`could not install ${baseCommit}`)

    const base: Array<Figures> = []
    const mine: Array<Figures> = []
    for (let i = 0; i < rounds; i++) {
      // Alternate which side goes first, so a drift in load favours neither.
      if (i % 2 === 0) {
        base.push(benchIn(worktree, `base ${baseCommit} #${i + 1}`))
        mine.push(benchIn(root, `mine #${i + 1}`))
      } else {
        mine.push(benchIn(root, `mine #${i + 1}`))
        base.push(benchIn(worktree, `base ${baseCommit} #${i + 1}`))
      }
    }
    const m = (runs: ReadonlyArray<Figures>, key: keyof Figures) => median(runs.map((r) => r[key]))
    console.log(JSON.stringify({
      dialsRatio: round3(m(mine, "dialsPerSec") / m(base, "dialsPerSec")),
      cpuRatio: round3(m(mine, "cpuMicrosPerDial") / m(base, "cpuMicrosPerDial")),
      weekRatio: round3(m(mine, "simulatedWeekSeconds") / m(base, "simulatedWeekSeconds")),
      baseCommit,
      rounds,
      mine: { dialsPerSec: m(mine, "dialsPerSec"), cpuMicrosPerDial: round2(m(mine, "cpuMicrosPerDial")), simulatedWeekSeconds: round2(m(mine, "simulatedWeekSeconds")) },
      base: { dialsPerSec: m(base, "dialsPerSec"), cpuMicrosPerDial: round2(m(base, "cpuMicrosPerDial")), simulatedWeekSeconds: round2(m(base, "simulatedWeekSeconds")) },
      mineRuns: mine,
      baseRuns: base
    }))
  } finally {
    cleanup()
  }
}

try {
  main()
} catch (error) {
  console.error(error)
  process.exit(1)
}
