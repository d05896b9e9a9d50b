/**
 * Answers in CSV: a client asks with `format=csv` in the query or
 * `Accept: text/csv`, and gets `text/csv` in UTF-8 with a byte order mark
 * (so spreadsheets read accents right; the importer skips it), as a file
 * download. A long export is written chunk by chunk as the client reads it:
 * a chunk waits for the socket to drain, so memory holds one page however
 * large the batch.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { Request, Response } from "express"

const bom = "\uFEFF"

/**
 * Whether the client asked for CSV rather than JSON.
 *
 * @since 0.1.0
 * @category negotiation
 */
export const wanted = (request: Request): boolean => {
  const format = request.query.format
  if (format === "csv") return true
  if (format !== undefined) return false
  const accept = request.get("accept") ?? ""
  return /(^|,)\s*text\/csv\b/i.test(accept) && !/(^|,)\s*application\/json\b/i.test(accept)
}

const head = (response: Response, status: number, filename: string) =>
  response.status(status).set({
    "content-type": "text/csv; charset=utf-8",
    "content-disposition": `attachment; filename="${filename.replace(/[^\w.-]/g, "_")}"`,
    "x-content-type-options": "nosniff"
  })

/**
 * Sends `csv` whole.
 *
 * @since 0.1.0
 * @category responses
 */
export const send = (response: Response, status: number, filename: string, csv: string): void =>
  void head(response, status, filename).send(bom + csv)

const write = (response: Response, chunk: string) =>
  Effect.callback<void>((resume) => {
    if (response.write(chunk)) return resume(Effect.void)
    const done = () => {
      response.off("drain", done)
      response.off("close", done)
      resume(Effect.void)
    }
    response.on("drain", done)
    // A client gone away never drains: the caller is interrupted meanwhile.
    response.on("close", done)
  })

/**
 * Writes `chunks` as they come, each after the previous one drained, then
 * ends the response. A failure after the first byte can no longer change
 * the status: the connection is cut, so the client sees a broken download
 * rather than a file that looks complete.
 *
 * @since 0.1.0
 * @category responses
 */
export const stream = <E>(
  response: Response,
  filename: string,
  chunks: Stream.Stream<string, E>
): Effect.Effect<void, E> =>
  Effect.gen(function*() {
    head(response, 200, filename)
    yield* write(response, bom)
    yield* Stream.runForEach(chunks, (chunk) => chunk === "" ? Effect.void : write(response, chunk))
    response.end()
  }).pipe(Effect.tapCause(() => Effect.sync(() => response.destroy())))
