/**
 * Uploads never leak: after a hundred uploads refused before their file is
 * read, refused for their size or type, abandoned mid-file by the client or
 * stalled until the server gives up on them, the spool folder is empty and
 * the process holds no descriptor it did not hold before (read from
 * /proc/self/fd, where a descriptor on a deleted spool file still shows).
 */
import { readdirSync, readlinkSync } from "node:fs"
import { connect } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Server from "./server.ts"
import { maxFileBytes, organizationId, otherOrganizationId } from "./server.ts"

const idleMillis = 300

/** Regular files and deleted files this process holds open; sockets, pipes and devices aside. */
const openFiles = (): Array<string> =>
  readdirSync("/proc/self/fd").flatMap((fd) => {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`)
      return target.startsWith("/") && !target.startsWith("/dev/") && !target.startsWith("/proc/") ? [target] : []
    } catch {
      return [] // closed between the listing and the read
    }
  }).sort()

const until = async (condition: () => boolean, millis = 10_000) => {
  const deadline = Date.now() + millis
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
}

const csv = (rows: number) => `phone\n${Array.from({ length: rows }, (_, i) => `+49151${20_000_000 + i}`).join("\n")}\n`

const upload = (fields: Record<string, string>, file: { name: string; text: string | Uint8Array }) => {
  const data = new FormData()
  for (const [key, value] of Object.entries(fields)) data.append(key, value)
  data.append("file", new Blob([file.text]), file.name)
  return data
}

describe("uploads and resources", () => {
  let server: Server.TestServer
  let draft: string
  beforeAll(async () => {
    server = await Server.start(undefined, { uploadIdleMillis: idleMillis })
    const created = await fetch(`${server.url}/batches`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-organization-id": organizationId },
      body: JSON.stringify({ name: "Draft", agentId: "agent_sales", draft: true, contacts: [{ phone: "+4915120000001" }] })
    })
    draft = ((await created.json()) as { batchJobId: string }).batchJobId
  }, 60_000)
  afterAll(async () => {
    await server?.close()
  })

  const post = async (path: string, body: FormData, org = organizationId) => {
    const response = await fetch(`${server.url}${path}`, { method: "POST", headers: { "x-organization-id": org }, body })
    await response.arrayBuffer()
    return response.status
  }

  /** Sends the head of a multipart upload on a raw socket, then hangs up (`abandon`) or goes quiet. */
  const partialUpload = (abandon: boolean) =>
    new Promise<void>((resolve) => {
      const socket = connect(Number(new URL(server.url).port), "127.0.0.1")
      const head = "--b\r\ncontent-disposition: form-data; name=\"file\"; filename=\"c.csv\"\r\ncontent-type: text/csv\r\n\r\n"
      socket.on("error", () => {})
      socket.on("close", () => resolve())
      socket.write(
        `POST /api/v1/batches/validate HTTP/1.1\r\nhost: localhost\r\nx-organization-id: ${organizationId}\r\n` +
          `content-type: multipart/form-data; boundary=b\r\ncontent-length: 1000000\r\n\r\n${head}${csv(2_000)}`,
        () => {
          // Once the server has begun spooling the file, the client goes away or stalls.
          void until(() => readdirSync(server.spoolDirectory).length > 0, 2_000).then(() => {
            if (abandon) socket.destroy()
          })
        }
      )
    })

  it("leaves no descriptor and no spool file after 100 refused, oversized, abandoned and stalled uploads", async () => {
    const before = openFiles()
    const statuses: Array<number> = []
    const small = { name: "c.csv", text: csv(3) }
    for (let round = 0; round < 10; round++) {
      // Refused before the file is read: a bad setting, an unknown batch, another tenant's batch.
      statuses.push(await post("/batches", upload({ name: "x", agentId: "agent_sales", concurrentCallLimit: "999" }, small)))
      statuses.push(await post("/batches/batch_unknown/contacts", upload({}, small)))
      statuses.push(await post(`/batches/${draft}/contacts`, upload({}, small), otherOrganizationId))
      statuses.push(await post("/batches", upload({ name: "x", agentId: "agent_missing" }, small)))
      // Refused for its type, and for its size (the server stops reading at the limit).
      statuses.push(await post("/batches/validate", upload({}, { name: "c.png", text: new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0]) })))
      statuses.push(await post("/batches/validate", upload({}, { name: "big.csv", text: csv(maxFileBytes / 10) })))
      statuses.push(await post("/batches/validate", upload({}, { name: "big.csv", text: csv(maxFileBytes / 10) })))
      // Abandoned mid-file by the client, and stalled past the idle limit.
      await partialUpload(true)
      await partialUpload(true)
      await partialUpload(false)
    }
    expect(statuses.filter((status) => status === 400)).toHaveLength(20)
    expect(statuses.filter((status) => status === 404)).toHaveLength(20)
    expect(statuses.filter((status) => status === 415)).toHaveLength(10)
    expect(statuses.filter((status) => status === 413)).toHaveLength(20)
    await until(() => readdirSync(server.spoolDirectory).length === 0)
    expect(readdirSync(server.spoolDirectory)).toEqual([])
    await until(() => openFiles().length <= before.length)
    const after = openFiles()
    expect(after.filter((target) => target.includes(server.spoolDirectory) || target.endsWith("(deleted)"))).toEqual(
      before.filter((target) => target.endsWith("(deleted)"))
    )
    expect(after).toEqual(before)
    // The server still answers.
    const alive = await fetch(`${server.url}/batches`, { headers: { "x-organization-id": organizationId } })
    expect(alive.status).toBe(200)
  }, 120_000)
})
