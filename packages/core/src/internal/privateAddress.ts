/**
 * Whether an address is one a tenant's webhook must not reach by default:
 * loopback, private, link-local, carrier-grade NAT, multicast or
 * unspecified (the host's own network, its cloud metadata service).
 */
import { isIPv4, isIPv6 } from "node:net"

const v4Blocked: ReadonlyArray<readonly [number, number]> = [
  [0x00000000, 8], // 0.0.0.0/8
  [0x0a000000, 8], // 10/8
  [0x64400000, 10], // 100.64/10
  [0x7f000000, 8], // 127/8
  [0xa9fe0000, 16], // 169.254/16 (cloud metadata)
  [0xac100000, 12], // 172.16/12
  [0xc0a80000, 16], // 192.168/16
  [0xc6120000, 15], // 198.18/15
  [0xe0000000, 3] // 224/4 multicast and 240/4 reserved
]

const v4Number = (address: string) => address.split(".").reduce((n, part) => n * 256 + Number(part), 0)

const isBlockedV4 = (address: string) => {
  const n = v4Number(address)
  return v4Blocked.some(([base, bits]) => Math.floor(n / 2 ** (32 - bits)) === Math.floor(base / 2 ** (32 - bits)))
}

/** `address` an IP literal (brackets allowed around IPv6); other text is not an address and answers false. */
export const isPrivateAddress = (input: string): boolean => {
  const address = input.startsWith("[") && input.endsWith("]") ? input.slice(1, -1) : input
  if (isIPv4(address)) return isBlockedV4(address)
  if (!isIPv6(address)) return false
  const lower = address.toLowerCase()
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower)
  if (mapped !== null) return isBlockedV4(mapped[1]!)
  const mappedHex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower)
  if (mappedHex !== null) {
    const [high, low] = [parseInt(mappedHex[1]!, 16), parseInt(mappedHex[2]!, 16)]
    return isBlockedV4(`${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`)
  }
  return lower === "::1" || lower === "::" || /^f[cd]/.test(lower) || /^fe[89ab]/.test(lower) || /^ff/.test(lower)
}

/** A host name that always means this machine. */
export const isLocalName = (hostname: string): boolean => {
  const lower = hostname.toLowerCase().replace(/\.$/, "")
  return lower === "localhost" || lower.endsWith(".localhost")
}

export const isIpLiteral = (hostname: string): boolean => {
  const address = hostname.startsWith("[") && hostname.endsWith("]") ? hostname.slice(1, -1) : hostname
  return isIPv4(address) || isIPv6(address)
}
